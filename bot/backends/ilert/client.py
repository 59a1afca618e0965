"""ilert API calls the bot makes, each returning ``bot.domain`` objects.

Transport concerns live in ``bot.support.http``.

Two APIs behind one base URL (``ILERT_API_URL``, e.g. ``https://api.ilert.com/api``):

- REST, with the user API key as a bearer token: reading alerts, accepting and resolving them, finding users.
- The events API (``POST /events``), keyed by an alert source's integration key in the body and sent without the
  user's token: raising alerts (``ALERT``) and adding comments (``COMMENT``), the only way ilert takes a note.

Attribution: ``PUT /alerts/{id}/accept`` and ``/resolve`` take no body and no user parameter, so ilert records the
API key's own user as the one who accepted or resolved; there is no "on behalf of". Events are recorded as coming
from the alert source. A comment's ``creator`` is free text shown as the author's name, not a user id. So the acting
person's name can only ride along in comments (see :meth:`IlertClient.add_comment`).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from bot.backends.ilert import mapping
from bot.domain import Alert, AlertFilters, AlertPage, Note, Person
from bot.support import errors
from bot.support.http import ApiSession

log = logging.getLogger(__name__)

BACKEND = "ilert"
MAX_RESULTS = 100  # GET /alerts and /alerts/{id}/log-entries: max-results ≤ 100
SOURCES_PAGE = 50  # GET /alert-sources: max-results ≤ 50
SCAN_MAX = 1000  # alerts read at most when filters must be applied here (ilert cannot filter by them)
NOTE_MAX_CHARS = 10_000  # the same bound as Rootly notes: readable in Slack and in ilert
EVENT_ATTEMPTS = 3  # ALERT events with a key are idempotent, and ilert asks clients to retry 5xx and network errors
NONE_OPEN = "NONE_OPEN_FOR_KEY"
COMMENT_ENTRY = "AlertCommentAddedLogEntry"
DEFAULT_CREATOR = "rootly-chatops"


class IlertClient:
    def __init__(self, http: ApiSession, alert_source_key: str | None = None, *, ui_base: str | None = None) -> None:
        self.http = http
        self.alert_source_key = alert_source_key or None
        self.ui_base = ui_base
        self._lock = threading.Lock()
        self._source_keys: dict[int, str] | None = None
        self._sources_listed = False

    @classmethod
    def create(
        cls, base_url: str, api_token: str, alert_source_key: str | None, *, ui_url: str | None = None, **kw: Any
    ) -> IlertClient:
        """``kw`` goes to :class:`ApiSession` (timeout, rate_limit_budget, pool_size, sleep …)."""
        http = ApiSession(base_url, api_token, backend=BACKEND, **kw)
        return cls(http, alert_source_key, ui_base=(ui_url or mapping.ui_base_url(base_url)).rstrip("/"))

    # users -----------------------------------------------------------------------------------------------
    def me(self) -> Person:
        """The API key's user: the one ilert records for every REST action the bot takes."""
        return mapping.person(self.http.request("GET", "/users/current"))

    def find_user_by_email(self, email: str) -> Person | None:
        """``POST /users/search-email`` (POST keeps the address out of URLs and logs); 404 means nobody."""
        wanted = email.strip()
        if not wanted:
            return None
        try:
            found = self.http.request("POST", "/users/search-email", body={"email": wanted})
        except errors.NotFound:
            return None
        if (str(found.get("email") or "")).strip().lower() != wanted.lower():
            return None  # never attribute to someone the search matched loosely
        return mapping.person(found)

    # alerts (REST) ---------------------------------------------------------------------------------------
    def alert_data(self, alert_id: str) -> dict[str, Any]:
        """The alert as ilert sends it (the backend needs its ``alertKey`` and source, which the domain drops)."""
        return self.http.request("GET", _alert_path(alert_id))

    def get_alert(self, alert_id: str) -> Alert:
        return self._alert(self.alert_data(alert_id))

    def list_alerts(self, filters: AlertFilters, *, limit: int = MAX_RESULTS) -> AlertPage:
        """Up to ``limit`` alerts, newest first, with a total for "and N more".

        States and numeric alert source ids are filtered by ilert, and the total comes from ``/alerts/count``. Other
        filters (service, urgency, source names, labels) ilert cannot apply: then up to :data:`SCAN_MAX` alerts are
        read and the total is what matched among them.
        """
        states = states_for(filters.statuses)
        source_ids = [s for s in filters.sources if s.isdigit()]
        server_sources = source_ids if len(source_ids) == len(filters.sources) else []
        local = replace(filters, statuses=(), sources=() if server_sources else filters.sources)
        params: dict[str, Any] = {"states": states, "sources": server_sources}
        if not _needs_local_filter(local):
            size = max(1, min(limit, MAX_RESULTS))
            alerts = list(islice(self._iter(params, size), limit))
            return AlertPage(_newest_first(alerts)[:limit], max(self._count(params, len(alerts)), len(alerts)))
        matching = [a for a in islice(self._iter(params, MAX_RESULTS), SCAN_MAX) if _matches(local, a)]
        return AlertPage(_newest_first(matching)[:limit], len(matching))

    def iter_alerts(self, filters: AlertFilters) -> Iterator[Alert]:
        """Every alert in the filters' states, newest first, read lazily page by page."""
        states = states_for(filters.statuses)
        return self._iter({"states": states}, MAX_RESULTS)

    def count_alerts(self, states: Sequence[str], sources: Sequence[str] = ()) -> int:
        body = self.http.request("GET", "/alerts/count", params={"states": list(states), "sources": list(sources)})
        return int(body.get("count") or 0)

    def accept_alert(self, alert_id: str) -> Alert:
        """Accept as the API key's user (ilert has no acting-user parameter)."""
        return self._transition(alert_id, "accept", "ACCEPTED")

    def resolve_alert(self, alert_id: str) -> Alert:
        """Resolve as the API key's user; ilert's resolve takes no message (see ``IlertBackend.resolve``)."""
        return self._transition(alert_id, "resolve", "RESOLVED")

    def alert_comments(self, alert_id: str, *, max_pages: int = 5) -> list[Note]:
        """Comments on an alert from its log, for checking whether an ambiguous COMMENT landed."""
        notes: list[Note] = []
        path = f"{_alert_path(alert_id)}/log-entries"
        for start in range(0, max_pages * MAX_RESULTS, MAX_RESULTS):
            batch = self.http.request_json("GET", path, params={"start-index": start, "max-results": MAX_RESULTS})
            entries = batch if isinstance(batch, list) else []
            notes.extend(
                mapping.comment(e, alert_id.strip())
                for e in entries
                if isinstance(e, dict) and e.get("logEntryType") == COMMENT_ENTRY
            )
            if len(entries) < MAX_RESULTS:
                break
        return notes

    def alert_log(self, alert_id: str, *, max_pages: int = 5) -> list[dict[str, Any]]:
        """An alert's log entries (``GET /alerts/{id}/log-entries``), oldest first, as ilert sends them."""
        entries: list[dict[str, Any]] = []
        path = f"{_alert_path(alert_id)}/log-entries"
        for start in range(0, max_pages * MAX_RESULTS, MAX_RESULTS):
            batch = self.http.request_json("GET", path, params={"start-index": start, "max-results": MAX_RESULTS})
            page = [e for e in batch if isinstance(e, dict)] if isinstance(batch, list) else []
            entries.extend(page)
            if len(page) < MAX_RESULTS:
                break
        return entries

    def alert_sources(self) -> list[dict[str, Any]]:
        sources: list[dict[str, Any]] = []
        for start in range(0, 20 * SOURCES_PAGE, SOURCES_PAGE):
            params = {"start-index": start, "max-results": SOURCES_PAGE}
            batch = self.http.request_json("GET", "/alert-sources", params=params)
            items = [s for s in batch if isinstance(s, dict)] if isinstance(batch, list) else []
            sources.extend(items)
            if len(items) < SOURCES_PAGE:
                break
        return sources

    # events API ------------------------------------------------------------------------------------------
    def trigger(
        self,
        summary: str,
        *,
        details: str | None = None,
        priority: str | None = None,
        alert_key: str | None = None,
        routing_key: str | None = None,
        links: Iterable[tuple[str, str]] = (),
    ) -> str:
        """Raise an alert with an ``ALERT`` event and return its alertKey.

        A key is generated when none is given, so the event can be repeated safely: ilert appends a repeat to the
        open alert with that key instead of opening another. ``links`` are ``(href, text)`` pairs.
        """
        if not summary.strip():
            raise errors.Invalid("an alert needs a summary", fields={"summary": "empty"}, backend=BACKEND)
        key = (alert_key or f"rootly-chatops-{uuid.uuid4().hex}").strip()
        event: dict[str, Any] = {
            "integrationKey": self._own_source_key(),
            "eventType": "ALERT",
            "summary": summary.strip(),
            "alertKey": key,
        }
        if details:
            event["details"] = details
        if priority:
            event["priority"] = _priority(priority)
        if routing_key:
            event["routingKey"] = routing_key
        if link_list := [{"href": href, "text": text or href} for href, text in links if href]:
            event["links"] = link_list
        self._post_event(event, retries=EVENT_ATTEMPTS)
        return key

    def add_comment(self, alert_id: str, text: str, creator: str | None = None) -> Note:
        """Add a note as a ``COMMENT`` event on the alert's key: no REST call writes a comment.

        The alert is read first, for its key and source, and because a COMMENT goes to whichever alert is open with
        that key: if this one is resolved, another open alert sharing the key would get the note instead.
        A COMMENT is never repeated here (it is not idempotent); an ambiguous failure is for the caller to check
        with :meth:`alert_comments`.
        """
        details = text.strip()
        if not details:
            raise errors.Invalid("a note needs some text", fields={"details": "empty"}, backend=BACKEND)
        if len(details) > NOTE_MAX_CHARS:
            raise errors.Invalid(
                f"a note can be at most {NOTE_MAX_CHARS:,} characters (this one has {len(details):,})",
                fields={"details": "too long"},
                backend=BACKEND,
            )
        data = self.alert_data(alert_id)
        label = f"ilert alert {data.get('id', alert_id)}"
        key = str(data.get("alertKey") or "").strip()
        if not key:
            raise errors.Conflict(
                f"{label} has no alertKey, and ilert takes notes only on keyed alerts", backend=BACKEND
            )
        if data.get("status") == "RESOLVED":
            raise errors.Conflict(f"{label} is already closed; ilert takes notes only on open alerts", backend=BACKEND)
        event = {
            "integrationKey": self._source_key_for(data, label),
            "eventType": "COMMENT",
            "summary": str(data.get("summary") or "Comment"),
            "alertKey": key,
            "comments": [{"creator": (creator or "").strip() or DEFAULT_CREATOR, "content": details}],
        }
        self._post_event(event, retries=1)
        return Note(
            id=uuid.uuid4().hex, alert_id=str(data.get("id", alert_id)), details=details, created_at=datetime.now(UTC)
        )

    # internals -------------------------------------------------------------------------------------------
    def _alert(self, data: dict[str, Any]) -> Alert:
        return mapping.alert(data, ui_base=self.ui_base)

    def _iter(self, params: dict[str, Any], size: int, max_pages: int = 1000) -> Iterator[Alert]:
        """Alerts page by page (``start-index``/``max-results``) until a short page."""
        start = 0
        for _ in range(max_pages):
            query = {**params, "start-index": start, "max-results": size}
            batch = self.http.request_json("GET", "/alerts", params=query)
            items = [a for a in batch if isinstance(a, dict)] if isinstance(batch, list) else []
            yield from (self._alert(a) for a in items)
            if len(items) < size:
                return
            start += len(items)

    def _count(self, params: dict[str, Any], fallback: int) -> int:
        try:
            return self.count_alerts(params["states"], params["sources"])
        except errors.BackendError as exc:  # the list is what matters; a missing total must not lose it
            log.warning("ilert alert count failed, showing what was read: %s", exc)
            return fallback

    def _transition(self, alert_id: str, action: str, target: str) -> Alert:
        try:
            return self._alert(self.http.request("PUT", f"{_alert_path(alert_id)}/{action}"))
        except errors.Conflict as exc:
            state = self.alert_data(alert_id).get("status")
            if state in (target, "RESOLVED"):
                word = {"ACCEPTED": "acknowledged", "RESOLVED": "resolved"}[str(state)]
                raise errors.Conflict(
                    f"ilert alert {alert_id.strip()} is already {word}",
                    status=exc.status,
                    backend=BACKEND,
                    code=exc.code,
                ) from exc
            raise

    def _post_event(self, event: dict[str, Any], *, retries: int) -> None:
        """POST one event without the user's token; NONE_OPEN_FOR_KEY means the alert is already closed."""
        for attempt in range(1, retries + 1):
            try:
                self.http.request_json("POST", "/events", body=event, authenticated=False)
                return
            except errors.Conflict as exc:
                if exc.code == NONE_OPEN:
                    raise errors.Conflict(
                        f"ilert has no open alert with key {event.get('alertKey')!r}: it is already closed",
                        status=exc.status,
                        backend=BACKEND,
                        code=exc.code,
                    ) from exc
                raise
            except errors.Unavailable:
                if attempt >= retries:
                    raise
                log.info("ilert events API failed (attempt %d of %d); retrying", attempt, retries)
                self.http.sleep(0.5 * attempt)

    def _own_source_key(self) -> str:
        if not self.alert_source_key:
            raise errors.BackendError(
                "ILERT_ALERT_SOURCE_KEY is not set: ilert raises alerts and takes notes only through an alert "
                "source's integration key",
                backend=BACKEND,
            )
        return self.alert_source_key

    def _source_key_for(self, data: dict[str, Any], label: str) -> str:
        """The integration key of the alert's own source: an alertKey only means something within its source.

        Taken from the alert, else from ``GET /alert-sources``; when the key cannot see sources at all, the
        configured source is assumed (the bot's usual case: alerts it raised itself).
        """
        source = data.get("alertSource") if isinstance(data.get("alertSource"), dict) else {}
        if source.get("integrationKey"):
            return str(source["integrationKey"])
        source_id = source.get("id")
        keys = self._known_source_keys(refresh_for=source_id)
        if keys is None or source_id is None:
            return self._own_source_key()
        if source_id in keys:
            return keys[source_id]
        name = source.get("name") or source_id
        raise errors.Conflict(
            f"{label} came from alert source “{name}”, whose integration key this bot cannot see; ilert takes notes "
            "only as events on the alert's own source",
            backend=BACKEND,
        )

    def _known_source_keys(self, *, refresh_for: Any) -> dict[int, str] | None:
        """{source id: integration key}, listed once and again when a source is missing; None when not visible."""
        with self._lock:
            if self._sources_listed and (self._source_keys is None or refresh_for in self._source_keys):
                return self._source_keys
        try:
            sources = self.alert_sources()
        except (errors.Unauthorized, errors.NotFound):
            keys = None
        else:
            keys = {
                s["id"]: str(s["integrationKey"])
                for s in sources
                if s.get("id") is not None and s.get("integrationKey")
            }
            keys = keys or None  # listed, but keys withheld: as good as not visible
        with self._lock:
            self._source_keys, self._sources_listed = keys, True
        return keys


def states_for(statuses: Iterable[str]) -> list[str]:
    """The bot's status words as ilert states; nothing recognisable means ilert's open alerts."""
    states: list[str] = []
    for status in statuses:
        states.extend(s for s in mapping.STATES_FOR.get(status.strip().lower(), ()) if s not in states)
    return states or ["PENDING", "ACCEPTED"]


def _priority(value: str) -> str:
    upper = value.strip().upper()
    if upper not in ("HIGH", "LOW"):
        raise errors.Invalid(
            f"ilert priorities are HIGH or LOW, not {value!r}", fields={"priority": value}, backend=BACKEND
        )
    return upper


def _alert_path(alert_id: str) -> str:
    """ilert alert ids are numbers; anything else is not an ilert alert (and must never change the path)."""
    value = (alert_id or "").strip()
    if not value.isdigit():
        raise errors.NotFound(f"`{value}` is not an ilert alert id (they are numbers)", status=404, backend=BACKEND)
    return f"/alerts/{value}"


def _needs_local_filter(filters: AlertFilters) -> bool:
    return bool(filters.services or filters.urgencies or filters.sources or filters.labels)


def _matches(filters: AlertFilters, alert: Alert) -> bool:
    """Filters ilert cannot apply, applied to an alert in hand: each given filter must match (any of its values),
    case-insensitively; a service or source matches by name or alert source id. ilert alerts carry no labels.
    """
    wanted = {
        "services": {v.lower() for v in filters.services},
        "urgencies": {v.lower() for v in filters.urgencies},
        "sources": {v.lower() for v in filters.sources},
    }
    services = {x.lower() for s in alert.services for x in (s.id, s.name, s.slug or "")}
    urgency = {alert.urgency.id.lower(), alert.urgency.name.lower()} if alert.urgency else set()
    have = {"services": services, "urgencies": urgency, "sources": {alert.source.lower(), *services}}
    if filters.labels:
        return False
    return all(not values or values & have[name] for name, values in wanted.items())


def _newest_first(alerts: list[Alert]) -> tuple[Alert, ...]:
    return tuple(sorted(alerts, key=lambda a: (a.created_at, int(a.ref.id)), reverse=True))
