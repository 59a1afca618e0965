"""Rootly API calls the bot makes, each returning domain objects. Transport concerns live in ``http``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from bot.backends.rootly import incident_mapping, mapping
from bot.backends.rootly.http import MAX_PAGE_SIZE, JsonApiSession
from bot.domain import (
    Alert,
    AlertFilters,
    AlertPage,
    CatalogItem,
    CatalogKind,
    CatalogPage,
    EventPage,
    Incident,
    IncidentEvent,
    IncidentRole,
    NewIncident,
    Note,
    Person,
    Service,
    Urgency,
)
from bot.domain.limits import INCIDENT_TITLE_MAX, NOTE_MAX_CHARS
from bot.support import errors

FEED_PAGE_SIZE = 50  # /v1/alert_events allows at most 50 a page
# Lists whose ``GET`` offers ``filter[search]`` (the contract's incident types list has only exact name/slug filters).
SEARCHABLE_CATALOGS = frozenset(set(CatalogKind) - {CatalogKind.INCIDENT_TYPES})


class RootlyClient:
    def __init__(self, http: JsonApiSession) -> None:
        self.http = http

    @classmethod
    def create(cls, base_url: str, token: str, **kw: Any) -> RootlyClient:
        return cls(JsonApiSession(base_url, token, backend="Rootly", **kw))

    # users -----------------------------------------------------------------------------------------------
    def me(self) -> Person:
        return mapping.person(self.http.request("GET", "/v1/users/me")["data"])

    def find_user_by_email(self, email: str) -> Person | None:
        """Rootly's email filter, then an exact case-insensitive compare (the filter may match loosely)."""
        wanted = email.strip().lower()
        if not wanted:
            return None
        body = self.http.request("GET", "/v1/users", params={"filter[email]": wanted, "page[size]": 10})
        for item in body.get("data") or ():
            found = mapping.person(item)
            if (found.email or "").strip().lower() == wanted:
                return found
        return None

    # alerts ----------------------------------------------------------------------------------------------
    def get_alert(self, alert_id: str) -> Alert:
        """By UUID or short id: Rootly's ``GET /v1/alerts/{id}`` accepts both."""
        return mapping.alert(self.http.request("GET", f"/v1/alerts/{_segment(alert_id)}")["data"])

    def list_alerts(
        self, filters: AlertFilters, *, limit: int = MAX_PAGE_SIZE, include: tuple[str, ...] = ()
    ) -> AlertPage:
        """Up to ``limit`` alerts, newest first, with Rootly's total count for "and N more". ``include`` asks for
        related data lists leave out (``responders``: who is on each alert, for the App Home)."""
        params = _filter_params(filters) | {"include": ",".join(include)}
        alerts: list[Alert] = []
        total = 0
        for body in self.http.pages("/v1/alerts", params, page_size=min(limit, MAX_PAGE_SIZE)):
            total = int((body.get("meta") or {}).get("total_count") or 0)
            alerts.extend(mapping.alert(item) for item in body.get("data") or ())
            if len(alerts) >= limit:
                break
        alerts.sort(key=lambda a: a.created_at, reverse=True)
        return AlertPage(alerts=tuple(alerts[:limit]), total=max(total, len(alerts)))

    def iter_alerts(self, filters: AlertFilters) -> Iterator[Alert]:
        for body in self.http.pages("/v1/alerts", _filter_params(filters)):
            yield from (mapping.alert(item) for item in body.get("data") or ())

    def acknowledge_alert(self, alert_id: str) -> Alert:
        return mapping.alert(self.http.request("POST", f"/v1/alerts/{_segment(alert_id)}/acknowledge")["data"])

    def resolve_alert(self, alert_id: str, message: str | None = None) -> Alert:
        attributes = {"resolution_message": message} if message else {}
        body = {"data": {"type": "alerts", "attributes": attributes}}
        return mapping.alert(self.http.request("POST", f"/v1/alerts/{_segment(alert_id)}/resolve", body=body)["data"])

    def update_alert(self, alert_id: str, attributes: dict[str, Any]) -> Alert:
        """PATCH only what changed (the caller computes the difference)."""
        body = {"data": {"type": "alerts", "attributes": attributes}}
        return mapping.alert(self.http.request("PATCH", f"/v1/alerts/{_segment(alert_id)}", body=body)["data"])

    def create_alert(self, attributes: dict[str, Any]) -> Alert:
        """POST /v1/alerts. Not retried here: the caller's ``deduplication_key`` is what makes a repeat safe."""
        body = {"data": {"type": "alerts", "attributes": attributes}}
        return mapping.alert(self.http.request("POST", "/v1/alerts", body=body)["data"])

    def alert_urgencies(self) -> list[Urgency]:
        """Every urgency, in Rootly's order (few; one page)."""
        body = self.http.request("GET", "/v1/alert_urgencies", params={"page[size]": MAX_PAGE_SIZE})
        found = [mapping.urgency(item) for item in body.get("data") or ()]
        return sorted(found, key=lambda u: (u.position is None, u.position or 0))

    def find_service(self, slug_or_name: str) -> Service | None:
        """By slug, then by name (case-insensitive), using Rootly's own filters."""
        wanted = slug_or_name.strip().lower()
        for key in ("filter[slug]", "filter[name]"):
            body = self.http.request("GET", "/v1/services", params={key: slug_or_name.strip(), "page[size]": 20})
            for item in body.get("data") or ():
                found = mapping.service(item)
                if wanted in ((found.slug or "").lower(), found.name.lower()):
                    return found
        return None

    def owned_services(self, user_id: str, *, max_pages: int = 5) -> list[Service]:
        """Services whose owners include this Rootly user (``owner_user_ids``); the API cannot filter on owners, so
        the first ``max_pages`` pages are read and matched here."""
        owned: list[Service] = []
        for body in self.http.pages("/v1/services", max_pages=max_pages):
            for item in body.get("data") or ():
                owners = (item.get("attributes") or {}).get("owner_user_ids") or ()
                if str(user_id) in {str(owner) for owner in owners}:
                    owned.append(mapping.service(item))
        return owned

    def snooze_alert(self, alert_id: str, minutes: int) -> Alert:
        body = {"data": {"type": "alerts", "attributes": {"delay_minutes": int(minutes)}}}
        return mapping.alert(self.http.request("POST", f"/v1/alerts/{_segment(alert_id)}/snooze", body=body)["data"])

    def escalate_alert(self, alert_id: str) -> Alert:
        body = {"data": {"type": "alerts", "attributes": {}}}
        return mapping.alert(self.http.request("POST", f"/v1/alerts/{_segment(alert_id)}/escalate", body=body)["data"])

    def add_alert_note(self, alert_id: str, details: str, user_id: str | None = None) -> Note:
        if not details.strip():
            raise errors.Invalid("a note needs some text", fields={"details": "empty"})
        if len(details) > NOTE_MAX_CHARS:
            raise errors.Invalid(
                f"a note can be at most {NOTE_MAX_CHARS:,} characters (this one has {len(details):,})",
                fields={"details": "too long"},
            )
        attributes: dict[str, Any] = {"kind": "note", "details": details}
        if user_id is not None and str(user_id).isdigit():
            attributes["user_id"] = int(user_id)
        body = {"data": {"type": "alert_events", "attributes": attributes}}
        return mapping.note(self.http.request("POST", f"/v1/alerts/{_segment(alert_id)}/events", body=body)["data"])

    def alert_event_feed(self, cursor: str | None, *, since: datetime | None = None, page_size: int = 50) -> EventPage:
        """One page of Rootly's cross-alert event feed, oldest first, from ``cursor`` (or from ``since``)."""
        params: dict[str, str | int | None] = {"page[size]": min(page_size, FEED_PAGE_SIZE), "sort": "created_at"}
        if cursor:
            params["page[after]"] = cursor
        elif since is not None:
            params["filter[created_at][gte]"] = since.astimezone(UTC).isoformat().replace("+00:00", "Z")
        body = self.http.request("GET", "/v1/alert_events", params=params)
        events = tuple(mapping.event(item) for item in body.get("data") or ())
        return EventPage(events, (body.get("meta") or {}).get("next_cursor") or cursor)

    def alert_notes(self, alert_id: str, *, max_pages: int = 5) -> list[Note]:
        """Notes on an alert, for checking whether an ambiguous write landed."""
        notes: list[Note] = []
        pages = self.http.pages(
            f"/v1/alerts/{_segment(alert_id)}/events", {"filter[kind]": "note"}, max_pages=max_pages
        )
        for body in pages:
            notes.extend(mapping.note(item) for item in body.get("data") or ())
        return notes

    def alert_events(self, alert_id: str, *, max_pages: int = 5) -> list[dict[str, Any]]:
        """Every event on an alert (``GET /v1/alerts/{id}/events``), oldest first, as Rootly's resources: the
        caller keeps the ones it tells (see ``bot.backends.rootly.timeline``)."""
        events: list[dict[str, Any]] = []
        for body in self.http.pages(f"/v1/alerts/{_segment(alert_id)}/events", {}, max_pages=max_pages):
            events.extend(item for item in body.get("data") or () if isinstance(item, dict))
        return events

    # incidents ---------------------------------------------------------------------------------------------
    def create_incident(self, new: NewIncident) -> Incident:
        """``POST /v1/incidents``, exactly once: Rootly has no idempotency key, so nothing here repeats it. A timeout
        or dropped connection raises ``errors.Unavailable(ambiguous=True)``; the caller looks the incident up
        (:meth:`list_incidents` by label) before it offers to try again.
        """
        title = new.title.strip()
        if not title:
            raise errors.Invalid("an incident needs a title", fields={"title": "empty"})
        if len(title) > INCIDENT_TITLE_MAX:
            raise errors.Invalid(
                f"Title is too long (at most {INCIDENT_TITLE_MAX} characters, this one has {len(title)})",
                fields={"title": "too long"},
            )
        attributes = incident_mapping.new_incident_attributes(new)
        body = {"data": {"type": "incidents", "attributes": attributes | {"title": title}}}
        return incident_mapping.incident(self.http.request("POST", "/v1/incidents", body=body)["data"])

    def list_incidents(
        self,
        *,
        search: str | None = None,
        statuses: tuple[str, ...] = (),
        label: tuple[str, str] | None = None,
        created_since: datetime | None = None,
        limit: int = 20,
        severities: tuple[str, ...] = (),
        teams: tuple[str, ...] = (),
        slack_channel_id: str | None = None,
        sequential_id: int | None = None,
        updated_since: datetime | None = None,
        services: tuple[str, ...] = (),
    ) -> list[Incident]:
        """Newest first, one page (at most 100); ``label`` is ``(key, value)``: ``filter[labels]=key:value``;
        ``services`` are slugs (``filter[services]``)."""
        params: dict[str, str | int | None] = {
            "filter[search]": search,
            "filter[status]": ",".join(statuses),
            "filter[labels]": f"{label[0]}:{label[1]}" if label else None,
            "filter[created_at][gte]": _iso(created_since) if created_since else None,
            "filter[severity]": ",".join(severities),
            "filter[teams]": ",".join(teams),
            "filter[services]": ",".join(services),
            "filter[slack_channel_id]": slack_channel_id,
            "filter[sequential_id]": str(sequential_id) if sequential_id is not None else None,
            "filter[updated_at][gte]": _iso(updated_since) if updated_since else None,
            "sort": "-created_at",
            "page[size]": max(1, min(limit, MAX_PAGE_SIZE)),
        }
        body = self.http.request("GET", "/v1/incidents", params=params)
        return [incident_mapping.incident(item) for item in body.get("data") or ()]

    def get_incident(self, key: str) -> Incident:
        """By UUID or slug, with its role assignments (``include=roles``), so the commander can be shown."""
        body = self.http.request("GET", f"/v1/incidents/{_segment(key)}", params={"include": "roles"})
        return incident_mapping.incident(body["data"], list(body.get("included") or ()))

    def mitigate_incident(self, incident_id: str, message: str | None = None) -> Incident:
        return self._transition(incident_id, "mitigate", "mitigation_message", message)

    def resolve_incident(self, incident_id: str, message: str | None = None) -> Incident:
        return self._transition(incident_id, "resolve", "resolution_message", message)

    def cancel_incident(self, incident_id: str, message: str | None = None) -> Incident:
        return self._transition(incident_id, "cancel", "cancellation_message", message)

    def _transition(self, incident_id: str, verb: str, field: str, message: str | None) -> Incident:
        attributes = {field: message} if message else {}
        body = {"data": {"type": "incidents", "attributes": attributes}}
        path = f"/v1/incidents/{_segment(incident_id)}/{verb}"
        return incident_mapping.incident(self.http.request("PUT", path, body=body)["data"])

    def update_incident(self, incident_id: str, attributes: dict[str, Any]) -> Incident:
        """``PUT /v1/incidents/{id}`` with only what changes (``severity_id``, ``title``, ``summary``)."""
        body = {"data": {"type": "incidents", "attributes": attributes}}
        return incident_mapping.incident(
            self.http.request("PUT", f"/v1/incidents/{_segment(incident_id)}", body=body)["data"]
        )

    def add_incident_event(self, incident_id: str, text: str, *, visibility: str = "internal") -> IncidentEvent:
        """One entry on the incident's timeline. Like any POST it is not repeated on an ambiguous failure."""
        if not text.strip():
            raise errors.Invalid("a timeline entry needs some text", fields={"event": "empty"})
        if len(text) > NOTE_MAX_CHARS:
            raise errors.Invalid(
                f"a timeline entry can be at most {NOTE_MAX_CHARS:,} characters (this one has {len(text):,})",
                fields={"event": "too long"},
            )
        body = {"data": {"type": "incident_events", "attributes": {"event": text, "visibility": visibility}}}
        found = self.http.request("POST", f"/v1/incidents/{_segment(incident_id)}/events", body=body)
        return incident_mapping.incident_event(found.get("data") or {})

    def incident_events(self, incident_id: str, *, max_pages: int = 5) -> list[IncidentEvent]:
        """The timeline, for checking whether an ambiguous write landed."""
        events: list[IncidentEvent] = []
        for body in self.http.pages(f"/v1/incidents/{_segment(incident_id)}/events", max_pages=max_pages):
            events.extend(incident_mapping.incident_event(item) for item in body.get("data") or ())
        return events

    def incident_roles(self) -> list[IncidentRole]:
        """Every enabled role, in Rootly's order (few; one page)."""
        params = {"filter[enabled]": "true", "page[size]": MAX_PAGE_SIZE, "sort": "position"}
        body = self.http.request("GET", "/v1/incident_roles", params=params)
        return [incident_mapping.incident_role(item) for item in body.get("data") or ()]

    def assign_incident_role(self, incident_id: str, role_id: str, user_id: str) -> Incident:
        body = {"data": {"type": "incidents", "attributes": {"incident_role_id": role_id, "user_id": str(user_id)}}}
        path = f"/v1/incidents/{_segment(incident_id)}/assign_role_to_user"
        return incident_mapping.incident(self.http.request("POST", path, body=body)["data"])

    def create_incident_action_item(
        self, incident_id: str, summary: str, *, description: str | None = None, assignee_id: str | None = None
    ) -> str:
        """A task on the incident; returns its id."""
        attributes: dict[str, Any] = {"summary": summary, "kind": "task", "status": "open"}
        if description:
            attributes["description"] = description
        if assignee_id is not None and str(assignee_id).isdigit():
            attributes["assigned_to_user_id"] = int(assignee_id)
        body = {"data": {"type": "incident_action_items", "attributes": attributes}}
        found = self.http.request("POST", f"/v1/incidents/{_segment(incident_id)}/action_items", body=body)
        return str((found.get("data") or {}).get("id") or "")

    def search_users(self, text: str, *, limit: int = 10) -> list[Person]:
        """Users whose name or email matches (Rootly's ``filter[search]``), for ``@name`` in commands."""
        params = {"filter[search]": text.strip(), "page[size]": max(1, min(limit, MAX_PAGE_SIZE))}
        body = self.http.request("GET", "/v1/users", params=params)
        return [mapping.person(item) for item in body.get("data") or ()]

    def catalog(self, kind: CatalogKind, *, size: int = MAX_PAGE_SIZE) -> CatalogPage:
        """The first page of a list, ordered by Rootly's ``position`` where it has one, and Rootly's total count."""
        body = self.http.request("GET", f"/v1/{kind.value}", params={"page[number]": 1, "page[size]": size})
        total = (body.get("meta") or {}).get("total_count")
        items = _by_position([incident_mapping.catalog_item(item) for item in body.get("data") or ()])
        return CatalogPage(tuple(items), total if isinstance(total, int) else None)

    def search_catalog(
        self, kind: CatalogKind, text: str, *, limit: int = MAX_PAGE_SIZE, max_pages: int = 10
    ) -> list[CatalogItem]:
        """Items whose name matches ``text``: Rootly's ``filter[search]`` where the list has it; otherwise the first
        ``max_pages`` pages are read and matched here (incident types: few, and no search filter in the API).
        """
        wanted = text.strip()
        if kind in SEARCHABLE_CATALOGS:
            params = {"filter[search]": wanted, "page[number]": 1, "page[size]": max(1, min(limit, MAX_PAGE_SIZE))}
            body = self.http.request("GET", f"/v1/{kind.value}", params=params)
            return _by_position([incident_mapping.catalog_item(item) for item in body.get("data") or ()])[:limit]
        found: list[CatalogItem] = []
        for body in self.http.pages(f"/v1/{kind.value}", max_pages=max_pages):
            for item in (incident_mapping.catalog_item(x) for x in body.get("data") or ()):
                if wanted.lower() in item.name.lower() or wanted.lower() in (item.slug or "").lower():
                    found.append(item)
        return _by_position(found)[:limit]


def _segment(value: str) -> str:
    """A path segment: references are validated before they get here, but never let one change the path."""
    return quote(value.strip(), safe="")


def _filter_params(filters: AlertFilters) -> dict[str, str]:
    # Only non-empty filters are sent; JsonApiSession drops empty ones again as a second guard.
    return {
        "filter[status]": ",".join(filters.statuses),
        "filter[services]": ",".join(filters.services),
        "filter[source]": ",".join(filters.sources),
        "filter[labels]": ",".join(filters.labels),
    }


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _by_position(items: list[CatalogItem]) -> list[CatalogItem]:
    """Rootly's own order (``position``); items without one keep the API's order, after the others."""
    return sorted(items, key=lambda item: (item.position is None, item.position or 0))
