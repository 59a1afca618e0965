"""A fake of the Rootly API v1 as a real HTTP server, checked against Rootly's published OpenAPI contract.

Client tests talk to it over HTTP exactly as to api.rootly.com. Every request is checked against the contract (the
operation exists, query parameters are declared, typed and non-empty, the body matches its schema and media type,
the bearer token is right) and every answer the fake gives is validated too, so the fake cannot quietly drift from
Rootly. Problems land in :attr:`RootlyFake.violations`; a test with valid traffic asserts that list stays empty.

Where the contract is silent the fake follows what Rootly is known to do (500 on an empty ``filter[...]=``, page sizes
clamped to 100, rate-limit headers on every answer, uuid *or* short id for alerts) and names its own assumptions in
constants (:data:`NOTE_MAX_CHARS`, :data:`DEFAULT_PAGE_SIZE`).
"""

from __future__ import annotations

import copy
import itertools
import math
import random
import re
import string
import time
import uuid
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from tests.contracts import ROOTLY, load_contract
from tests.fakes.contract import ContractValidator
from tests.fakes.jsonapi import (
    CONTENT_TYPE,
    Fail,
    Getter,
    cursor_page,
    error_reply,
    iso,
    matches,
    page_int,
    paginate,
    parse_time,
    sort_items,
)
from tests.fakes.server import DropConnection, Recorded, Reply
from tests.fakes.validating import INVALID_JSON, ValidatingFake

NOTE_MAX_CHARS = 10_000  # the fake's assumed limit for an alert note: Rootly documents none, so the bot must cap
DEFAULT_PAGE_SIZE = 10  # assumed default when page[size] is absent
MAX_PAGE_SIZE = 100  # Rootly clamps larger page[size] values to this
FEED_MAX_PAGE_SIZE = 50  # GET /v1/alert_events: "Page size (max 50)."
RATE_LIMIT = 3000  # Rootly's default: 3000 reads and 3000 writes per API key per 60 s sliding window
RATE_WINDOW = 60.0
ESCALATION_LEVELS = 3  # levels of the fake's one escalation policy
ERRORS_LIST = "#/components/schemas/errors_list"
# Statuses Rootly may send from any operation, checked against errors_list where the operation does not document
# them. 404 is among them because Rails answers 404 for any unknown record, while the contract leaves it out of some
# {id} operations (PATCH /v1/alerts/{id}, GET/POST /v1/alerts/{alert_id}/events, POST /v1/incidents/{id}/events).
# 422 likewise: Rails answers it for any write its model refuses, while the contract documents only 200/404 for the
# incident transitions (PUT /v1/incidents/{id}/mitigate|resolve|cancel), which Rootly refuses from a closed state.
ANYWHERE = {"401": ERRORS_LIST, "404": ERRORS_LIST, "422": ERRORS_LIST, "429": ERRORS_LIST, "5XX": ERRORS_LIST}
# The incident states each transition starts from (the fake's model of Rootly's: an incident that is over stays over).
TRANSITIONS = {
    "mitigate": ("in_triage", "started", "detected", "acknowledged"),
    "resolve": ("in_triage", "started", "detected", "acknowledged", "mitigated"),
    "cancel": ("in_triage", "started", "detected", "acknowledged", "mitigated"),
}
_PAST = {"mitigate": "mitigated", "resolve": "resolved", "cancel": "cancelled"}
_MESSAGE = {"mitigate": "mitigation_message", "resolve": "resolution_message", "cancel": "cancellation_message"}

_LOAD: Any = object()  # "load the contract from tests.contracts"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CATALOG = {  # URL segment → JSON:API type
    "services": "services",
    "environments": "environments",
    "teams": "groups",
    "incident_types": "incident_types",
    "severities": "severities",
    "alert_urgencies": "alert_urgencies",
    "incident_roles": "incident_roles",
}


def _label_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _refs(items: Iterable[dict[str, Any]]) -> set[str]:
    """What a ``filter[services]=...`` may name: slug or id."""
    return {str(x.get(k)) for x in items for k in ("slug", "id") if x.get(k)}


def _jsonapi_refs(items: Iterable[dict[str, Any]]) -> set[str]:
    return _refs({"id": x["data"]["id"], **x["data"]["attributes"]} for x in items)


_ALERT_FIELDS: dict[str, Getter] = {
    "status": lambda a: {a["status"]},
    "source": lambda a: {a["source"]},
    "services": lambda a: _refs(a["services"]),
    "environments": lambda a: _refs(a["environments"]),
    "groups": lambda a: _refs(a["groups"]),
    "labels": lambda a: {f"{x['key']}:{_label_value(x['value'])}" for x in a.get("labels") or []},
}
_INCIDENT_FIELDS: dict[str, Getter] = {
    "status": lambda i: {str(i["status"])},
    "kind": lambda i: {i["kind"]},
    "private": lambda i: {_label_value(i["private"])},
    "sequential_id": lambda i: {str(i["sequential_id"])},
    "severity": lambda i: {i["severity"]["data"]["attributes"]["slug"]} if i["severity"] else set(),
    "severity_id": lambda i: {i["severity"]["data"]["id"]} if i["severity"] else set(),
    "services": lambda i: _jsonapi_refs(i["services"]),
    "service_ids": lambda i: {x["data"]["id"] for x in i["services"]},
    "environments": lambda i: _jsonapi_refs(i["environments"]),
    "environment_ids": lambda i: {x["data"]["id"] for x in i["environments"]},
    "teams": lambda i: _jsonapi_refs(i["groups"]),
    "team_ids": lambda i: {x["data"]["id"] for x in i["groups"]},
    "types": lambda i: _jsonapi_refs(i["incident_types"]),
    "type_ids": lambda i: {x["data"]["id"] for x in i["incident_types"]},
    "labels": lambda i: {f"{k}:{_label_value(v)}" for k, v in (i.get("labels") or {}).items()},
    "user_id": lambda i: {str(i["user"]["data"]["id"])} if i.get("user") else set(),
    "slack_channel_id": lambda i: {str(i.get("slack_channel_id"))},
}
_USER_FIELDS: dict[str, Getter] = {"email": lambda u: {u["email"].lower()}}
_CATALOG_FIELDS: dict[str, Getter] = {
    k: (lambda a, k=k: {str(a.get(k))}) for k in ("name", "slug", "color", "severity")
} | {"enabled": lambda a: {_label_value(a.get("enabled"))}}


_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile(pattern), name)
    for method, pattern, name in [
        ("GET", r"/v1/users/me", "_get_me"),
        ("GET", r"/v1/users", "_list_users"),
        ("GET", r"/v1/users/(?P<key>[^/]+)", "_get_user"),
        ("GET", r"/v1/alerts", "_list_alerts"),
        ("POST", r"/v1/alerts", "_create_alert"),
        ("GET", r"/v1/alerts/(?P<key>[^/]+)", "_get_alert"),
        ("PATCH", r"/v1/alerts/(?P<key>[^/]+)", "_update_alert"),
        ("POST", r"/v1/alerts/(?P<key>[^/]+)/(?P<action>acknowledge|resolve|snooze|escalate)", "_alert_action"),
        ("GET", r"/v1/alerts/(?P<key>[^/]+)/events", "_list_alert_events"),
        ("POST", r"/v1/alerts/(?P<key>[^/]+)/events", "_create_alert_event"),
        ("GET", r"/v1/alert_events", "_alert_event_feed"),
        ("GET", r"/v1/(?P<kind>" + "|".join(_CATALOG) + ")", "_list_catalog"),
        ("GET", r"/v1/incidents", "_list_incidents"),
        ("POST", r"/v1/incidents", "_create_incident"),
        ("POST", r"/v1/incidents/(?P<key>[^/]+)/events", "_create_incident_event"),
        # on call
        ("GET", r"/v1/oncalls", "_list_oncalls"),
        ("GET", r"/v1/schedules", "_list_schedules"),
        ("GET", r"/v1/escalation_policies", "_list_policies"),
        ("GET", r"/v1/shifts", "_list_shifts"),
        ("POST", r"/v1/schedules/(?P<key>[^/]+)/override_shifts", "_create_override"),
        ("GET", r"/v1/incidents/(?P<key>[^/]+)/events", "_list_incident_events"),
        ("GET", r"/v1/incidents/(?P<key>[^/]+)", "_get_incident"),
        ("PUT", r"/v1/incidents/(?P<key>[^/]+)", "_update_incident"),
        ("PUT", r"/v1/incidents/(?P<key>[^/]+)/(?P<verb>mitigate|resolve|cancel)", "_incident_transition"),
        ("POST", r"/v1/incidents/(?P<key>[^/]+)/assign_role_to_user", "_assign_role"),
        ("POST", r"/v1/incidents/(?P<key>[^/]+)/action_items", "_create_action_item"),
    ]
]


class RootlyFake(ValidatingFake):
    """Rootly API v1 on 127.0.0.1: in-memory users, catalog, alerts, alert events and incidents.

    Seed state with ``add_*``; inject faults with :attr:`latency`, :meth:`script`, :meth:`rate_limited` and
    :meth:`unavailable`; read what happened from :attr:`requests`, :attr:`alerts`, :meth:`notes`, :attr:`incidents`
    and :attr:`violations`.
    """

    def __init__(self, token: str = "rootly-test-token", contract: dict[str, Any] | None = _LOAD) -> None:
        self.contract: dict[str, Any] | None = load_contract(ROOTLY) if contract is _LOAD else contract
        super().__init__(ContractValidator.shared(self.contract, anywhere=ANYWHERE) if self.contract else None)
        self.token = token
        self.rate_limit: int = RATE_LIMIT
        self._calls: dict[str, deque[float]] = {"read": deque(), "write": deque()}
        self._seq = itertools.count(1)
        self._order: dict[str, int] = {}  # resource id → creation sequence (stable sort, cursors)
        self.users: dict[int, dict[str, Any]] = {}
        self.catalog: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in _CATALOG}
        self.alerts: dict[str, dict[str, Any]] = {}
        self.alert_events: list[dict[str, Any]] = []
        self.incidents: dict[str, dict[str, Any]] = {}
        self.incident_events: dict[str, list[dict[str, Any]]] = {}
        self.incident_alerts: dict[str, list[str]] = {}  # incident id → alert ids attached at creation
        self.incident_roles: dict[str, list[tuple[str, int]]] = {}  # incident id → (role id, user id) assigned
        self.action_items: dict[str, list[dict[str, Any]]] = {}  # incident id → action items created
        self.snoozed_until: dict[str, str] = {}
        self.escalations: dict[str, list[int]] = {}
        # on call: schedules, escalation policies (with their number of levels), on-call entries, shifts
        self.oncall_enabled = True  # False: listOncalls answers 404, as for an organisation without Rootly On-Call
        self.override_refusal: str | None = None  # set: createOverrideShift answers 422 with this message
        self.schedules: dict[str, dict[str, Any]] = {}
        self.policies: dict[str, dict[str, Any]] = {}
        self.policy_levels: dict[str, int] = {}
        self.oncalls: list[dict[str, Any]] = []
        self.shifts: list[dict[str, Any]] = []
        self.me_id = self.add_user("bot@example.com", "Rootly Bot", user_id=1)
        for position, name in enumerate(("High", "Medium", "Low"), 1):
            self.add_urgency(name, position)
        for position, level in enumerate(("critical", "high", "medium", "low")):
            self.add_severity(f"SEV{position}", level, position + 1)
        self.add_environment("Production", "production")
        self.add_environment("Staging", "staging")
        self.add_incident_type("Default", "default")
        self.commander_role = self.add_incident_role("Commander", "commander")
        self.add_incident_role("Communications Lead", "communications-lead")

    def __enter__(self) -> RootlyFake:
        self.start()
        return self

    # seeding -------------------------------------------------------------------------------------------------
    def add_user(self, email: str, full_name: str | None = None, user_id: int | None = None) -> int:
        """A user of the organisation; Rootly user ids are integers (strings only in JSON:API ``id``)."""
        with self._state:
            if any(u["email"].lower() == email.lower() for u in self.users.values()):
                raise ValueError(f"user {email} exists")
            user_id = user_id if user_id is not None else max(self.users, default=0) + 1
            full_name = full_name or email.split("@")[0].replace(".", " ").title()
            first, _, last = full_name.partition(" ")
            now = iso()
            self.users[user_id] = {
                "email": email,
                "first_name": first,
                "last_name": last or None,
                "full_name": full_name,
                "full_name_with_team": None,
                "time_zone": "Etc/UTC",
                "created_at": now,
                "updated_at": now,
            }
            return user_id

    def _add_catalog(self, kind: str, name: str, slug: str | None, **extra: Any) -> str:
        with self._state:
            item_id, now = str(uuid.uuid4()), iso()
            attrs = {"name": name, "slug": slug or re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")}
            attrs |= {"description": None, "color": None, "position": len(self.catalog[kind]) + 1}
            self.catalog[kind][item_id] = attrs | extra | {"created_at": now, "updated_at": now}
            return item_id

    def add_service(self, name: str, slug: str | None = None) -> str:
        """A service (uuid id returned); alerts name services by slug, as ``filter[services]`` does."""
        return self._add_catalog("services", name, slug)

    def add_environment(self, name: str, slug: str | None = None) -> str:
        """An environment; Production and Staging exist by default."""
        return self._add_catalog("environments", name, slug)

    def add_team(
        self,
        name: str,
        slug: str | None = None,
        slack_channels: Iterable[tuple[str, str]] = (),
        members: Iterable[int] = (),
    ) -> str:
        """A team (JSON:API type ``groups``, alert attribute ``groups``); ``slack_channels`` as (id, name) pairs,
        ``members`` as Rootly user ids (``user_ids``)."""
        channels = [{"id": cid, "name": cname} for cid, cname in slack_channels]
        extra: dict[str, Any] = {"slack_channels": channels} if channels else {}
        if members:
            extra["user_ids"] = list(members)
        return self._add_catalog("teams", name, slug, **extra)

    def add_incident_type(self, name: str, slug: str | None = None) -> str:
        """An incident type; "Default" exists by default."""
        return self._add_catalog("incident_types", name, slug)

    def add_severity(self, name: str, severity: str = "medium", position: int | None = None) -> str:
        """A severity (slug = lower-cased name); SEV0..SEV3 exist by default at positions 1..4."""
        item = self._add_catalog("severities", name, name.lower(), severity=severity)
        if position is not None:
            self.catalog["severities"][item]["position"] = position
        return item

    def add_incident_role(self, name: str, slug: str | None = None, *, enabled: bool = True) -> str:
        """An incident role; Commander and Communications Lead exist by default."""
        item = self._add_catalog(
            "incident_roles", name, slug, enabled=enabled, optional=False, allow_multi_user_assignment=False
        )
        del self.catalog["incident_roles"][item]["color"]
        return item

    def add_incident(self, title: str, *, status: str = "started", **attrs: Any) -> dict[str, Any]:
        """Seed an incident as Rootly's UI would create it (through the API, validated); returns the stored one."""
        body = {"data": {"type": "incidents", "attributes": {"title": title, "status": status, **attrs}}}
        created = self.call("POST", "/v1/incidents", body)["data"]
        return self.incidents[created["id"]]

    def add_urgency(self, name: str, position: int) -> str:
        """An alert urgency; High/Medium/Low exist by default at positions 1..3, High is the alerts' default."""
        item = self._add_catalog("alert_urgencies", name, None, description=f"{name} urgency", position=position)
        del self.catalog["alert_urgencies"][item]["slug"]  # urgencies have no slug in Rootly
        return item

    def _find_catalog(self, kind: str, key: str) -> tuple[str, dict[str, Any]]:
        """By id, slug or name (seeding and filters name things the way a human does)."""
        for item_id, attrs in self.catalog[kind].items():
            if key in (item_id, attrs.get("slug"), attrs["name"]):
                return item_id, attrs
        raise Fail(422, f"Unknown {kind.rstrip('s')}", f"{key!r} does not exist")

    def _embedded(self, kind: str, keys: Iterable[str]) -> list[dict[str, Any]]:
        return [{"id": item_id, **attrs} for item_id, attrs in (self._find_catalog(kind, k) for k in keys)]

    def _jsonapi(self, kind: str, keys: Iterable[str]) -> list[dict[str, Any]]:
        return [self._resource(kind, item_id, attrs) for item_id, attrs in (self._find_catalog(kind, k) for k in keys)]

    @staticmethod
    def _resource(kind: str, item_id: str, attrs: dict[str, Any]) -> dict[str, Any]:
        return {"data": {"id": item_id, "type": _CATALOG[kind], "attributes": copy.deepcopy(attrs)}}

    def add_alert(self, **attrs: Any) -> dict[str, Any]:
        """Seed an alert and return its stored JSON:API resource.

        ``services``/``environments``/``groups`` take slugs (or ids), ``urgency`` an urgency name, ``labels`` a dict
        or ``[{key, value}]``, timestamps a datetime or ISO string; any other alert attribute is set as given.
        """
        with self._state:
            try:
                resource = self._new_alert(attrs, source="datadog")
            except Fail as exc:
                raise ValueError(exc.reply.body) from exc
            self._alert_event(resource, "informational", "created", source=resource["attributes"]["source"])
            return resource

    def _new_alert(self, attrs: dict[str, Any], source: str) -> dict[str, Any]:
        attrs = dict(attrs)
        created = iso(attrs.pop("created_at", None))
        short_id = attrs.pop("short_id", None) or self._short_id()
        services = self._embedded("services", attrs.pop("services", ()))
        environments = self._embedded("environments", attrs.pop("environments", ()))
        groups = self._embedded("teams", attrs.pop("groups", ()))
        urgency = self._embedded("alert_urgencies", [attrs.pop("urgency", None) or "High"])[0]
        labels = attrs.pop("labels", None) or []
        if isinstance(labels, dict):
            labels = [{"key": k, "value": v} for k, v in labels.items()]
        alert: dict[str, Any] = dict.fromkeys(_ALERT_NULLS) | {k: [] for k in _ALERT_EMPTY_LISTS}
        alert |= {"short_id": short_id, "noise": "not_noise", "source": source, "status": "triggered"}
        alert |= {"summary": "Something is wrong", "is_group_leader_alert": False, "labels": labels, "data": {}}
        alert |= {"services": services, "service_ids": [x["id"] for x in services]}
        alert |= {"environments": environments, "environment_ids": [x["id"] for x in environments]}
        alert |= {"groups": groups, "group_ids": [x["id"] for x in groups]}
        alert |= {"alert_urgency": urgency, "alert_urgency_id": urgency["id"]}
        alert |= {"url": f"https://rootly.com/account/alerts/{short_id}"}
        alert |= {"started_at": created, "created_at": created, "updated_at": created}
        alert |= {k: iso(v) if isinstance(v, datetime) else v for k, v in attrs.items()}
        if self.validator and (problems := self.validator.errors("#/components/schemas/alert", alert)):
            raise Fail(422, "Invalid alert", "; ".join(problems))
        resource = {"id": str(uuid.uuid4()), "type": "alerts", "attributes": alert}
        self.alerts[resource["id"]] = resource
        self._order[resource["id"]] = next(self._seq)
        return resource

    def _short_id(self) -> str:
        taken = {a["attributes"]["short_id"] for a in self.alerts.values()}
        while (candidate := "".join(random.choices(string.ascii_lowercase + string.digits, k=6))) in taken:
            pass
        return candidate

    def get_alert(self, id_or_short_id: str) -> dict[str, Any] | None:
        """The stored alert resource (live: later requests change it), or None."""
        with self._state:
            try:
                return self._find_alert(id_or_short_id)
            except Fail:
                return None

    def _find_alert(self, key: str) -> dict[str, Any]:
        """Rootly accepts the uuid or the short id wherever an alert id goes."""
        found = self.alerts.get(key) or next(
            (a for a in self.alerts.values() if a["attributes"]["short_id"] == key), None
        )
        if found is None:
            raise Fail(404, "Not found", f"alert {key!r} does not exist")
        return found

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """What another tool, or Rootly's own UI, does: change state through the API, validated like the bot's calls."""
        resp = requests.request(
            method,
            f"{self.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/vnd.api+json"},
            timeout=5,
        )
        assert resp.status_code < 300, resp.text
        return resp.json()

    def notes(self, alert_id: str) -> list[tuple[str, int | None]]:
        """The notes on an alert as (details, user_id) in the order they were added."""
        with self._state:
            alert = self._find_alert(alert_id)
            return [
                (e["attributes"]["details"], e["attributes"]["user_id"])
                for e in self.alert_events
                if e["attributes"]["alert_id"] == alert["id"] and e["attributes"]["kind"] == "note"
            ]

    # fault injection -----------------------------------------------------------------------------------------
    @staticmethod
    def rate_limited(reset_in: float = 1.0) -> Reply:
        """A 429 as Rootly sends it; ``X-RateLimit-Reset`` is an epoch second, rounded up so waiting suffices."""
        headers = {
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Used": str(RATE_LIMIT),
            "X-RateLimit-Reset": str(math.ceil(time.time() + reset_in)),
        }
        return Reply(429, {"errors": [{"title": "Rate limit exceeded", "status": "429"}]}, headers, CONTENT_TYPE)

    @staticmethod
    def unavailable(status: int = 503) -> Reply:
        """An outage answer (errors_list body) to script."""
        return error_reply(status)

    def _count_call(self, method: str) -> tuple[bool, dict[str, str]]:
        """Count the call in its sliding window (reads and writes apart); (over the limit?, rate-limit headers).
        A call over the limit is not counted and not processed.
        """
        now = time.time()
        with self._state:
            window = self._calls["read" if method in ("GET", "HEAD", "OPTIONS") else "write"]
            while window and window[0] <= now - RATE_WINDOW:
                window.popleft()
            over = len(window) >= self.rate_limit
            if not over:
                window.append(now)
            return over, {
                "X-RateLimit-Limit": str(self.rate_limit),
                "X-RateLimit-Remaining": str(max(0, self.rate_limit - len(window))),
                "X-RateLimit-Used": str(len(window)),
                "X-RateLimit-Reset": str(math.ceil((window[0] if window else now) + RATE_WINDOW)),
            }

    # HTTP ----------------------------------------------------------------------------------------------------
    def handle(self, req: Recorded) -> Reply:
        body = self.request_json(req)
        if self.validator is not None:
            self._violate(self._check_request(req, body))
        over, limits = self._count_call(req.method)
        scripted = self.take_script(req)
        if scripted == "drop":
            raise DropConnection
        if isinstance(scripted, Reply):
            return Reply(scripted.status, scripted.body, limits | scripted.headers, scripted.content_type)
        if scripted == "timeout":
            time.sleep(self.timeout_sleep)
        reply = error_reply(429, "Rate limit exceeded") if over else self._dispatch(req, body)
        self._violate(self.response_problems(req, reply))
        reply.headers = limits | reply.headers
        return reply

    def _check_request(self, req: Recorded, body: Any) -> list[str]:
        problems = self.request_problems(req, body)
        # A missing or non-bearer header breaks the contract; a well-formed wrong token is only a 401 (a revoked key
        # is a situation to test, not a client bug).
        auth = req.headers.get("authorization")
        if auth is None or not re.fullmatch(r"Bearer \S+", auth):
            why = "missing" if auth is None else "not 'Bearer <token>'"
            problems.append(f"{req.method} {req.path}: Authorization header is {why}")
        return problems

    def _dispatch(self, req: Recorded, body: Any) -> Reply:
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return error_reply(401, "Unauthorized")
        if any(k.startswith("filter[") and "" in v for k, v in req.query.items()):
            return error_reply(500, "Internal Server Error")  # what Rootly does with filter[status]=
        if body is INVALID_JSON:
            return error_reply(400, "Bad Request", "the body is not JSON")
        for method, pattern, name in _ROUTES:
            if method == req.method and (m := pattern.fullmatch(req.path)):
                try:
                    with self._state:
                        return getattr(self, name)(req, body, **m.groupdict())
                except Fail as fail:
                    return fail.reply
        return error_reply(404, "Not found", f"the fake has no {req.method} {req.path}")

    def _ok(self, body: dict[str, Any], status: int = 200) -> Reply:
        return Reply(status, copy.deepcopy(body), content_type=CONTENT_TYPE)

    @staticmethod
    def _attributes(body: Any, kind: str, required: bool = True) -> dict[str, Any]:
        data = body.get("data") if isinstance(body, dict) else None
        if data is None and not required:
            return {}
        if not isinstance(data, dict) or data.get("type") != kind or not isinstance(data.get("attributes"), dict):
            raise Fail(422, "Invalid request", f"expected data.type={kind!r} and data.attributes")
        return data["attributes"]

    # pagination ----------------------------------------------------------------------------------------------
    def _listing(self, req: Recorded, kind: str, items: list[tuple[str, dict[str, Any]]]) -> Reply:
        page, links, meta = paginate(self.url, req, items, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        data = [{"id": str(i), "type": kind, "attributes": a} for i, a in page]
        return self._ok({"data": data, "links": links, "meta": meta})

    # users ---------------------------------------------------------------------------------------------------
    def _user_resource(self, user_id: int) -> dict[str, Any]:
        return {"data": {"id": str(user_id), "type": "users", "attributes": self.users[user_id]}}

    def _flat(self, user_id: int) -> dict[str, Any]:
        """A ``user_flat_response`` (alert responders); it also fits ``alert_event_user``."""
        user = self.users[user_id]
        flat = {k: user[k] for k in ("email", "first_name", "last_name", "full_name", "time_zone")}
        extra = {"preferred_name": None, "created_at": user["created_at"], "updated_at": user["updated_at"]}
        return {"id": user_id, "name": user["full_name"], **flat, **extra}

    def _get_me(self, req: Recorded, body: Any) -> Reply:
        return self._ok(self._user_resource(self.me_id))

    def _get_user(self, req: Recorded, body: Any, key: str) -> Reply:
        if not key.isdigit() or int(key) not in self.users:
            raise Fail(404, "Not found", f"user {key!r} does not exist")
        return self._ok(self._user_resource(int(key)))

    def _list_users(self, req: Recorded, body: Any) -> Reply:
        users = [
            (i, u)
            for i, u in sorted(self.users.items())
            if matches(u, req.query, _USER_FIELDS, _USER_SEARCH, {"email"})
        ]
        return self._listing(req, "users", sort_items(users, (req.query.get("sort") or ["id"])[-1] or "id"))

    # catalog -------------------------------------------------------------------------------------------------
    def _list_catalog(self, req: Recorded, body: Any, kind: str) -> Reply:
        items = [(i, a) for i, a in self.catalog[kind].items() if matches(a, req.query, _CATALOG_FIELDS, _NAME)]
        items.sort(key=lambda x: (x[1].get("position") or 0, x[1]["name"]))
        return self._listing(req, _CATALOG[kind], items)

    # alerts --------------------------------------------------------------------------------------------------
    @staticmethod
    def _alert_out(alert: dict[str, Any], include: set[str]) -> dict[str, Any]:
        """List answers carry responders/notified_users only when included, as the contract says."""
        hidden = {"responders", "notified_users"} - include
        return {**alert, "attributes": {k: v for k, v in alert["attributes"].items() if k not in hidden}}

    def _sorted_alerts(self) -> list[dict[str, Any]]:
        key = lambda a: (parse_time(a["attributes"]["created_at"]), self._order[a["id"]])  # noqa: E731
        return sorted(self.alerts.values(), key=key, reverse=True)

    def _list_alerts(self, req: Recorded, body: Any) -> Reply:
        include = set(",".join(req.query.get("include", [])).split(","))
        alerts = [a for a in self._sorted_alerts() if matches(a["attributes"], req.query, _ALERT_FIELDS, _SUMMARY)]
        if "page[after]" in req.query:  # cursor paging, newest first by creation
            size = min(max(page_int(req.query.get("page[size]"), DEFAULT_PAGE_SIZE), 1), MAX_PAGE_SIZE)
            seq_of = lambda a: self._order[a["id"]]  # noqa: E731
            page, links, meta = cursor_page(self.url, req, alerts, seq_of, size, descending=True, totals=True)
        else:
            page, links, meta = paginate(self.url, req, alerts, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        return self._ok({"data": [self._alert_out(a, include) for a in page], "links": links, "meta": meta})

    def _get_alert(self, req: Recorded, body: Any, key: str) -> Reply:
        return self._ok({"data": self._find_alert(key)})

    def _create_alert(self, req: Recorded, body: Any) -> Reply:
        attrs = dict(self._attributes(body, "alerts"))
        if not str(attrs.get("summary") or "").strip():
            raise Fail(422, "Summary can't be blank")
        key = attrs.get("deduplication_key")
        for alert in self._sorted_alerts() if key else []:
            if alert["attributes"]["deduplication_key"] == key and alert["attributes"]["status"] != "resolved":
                return self._ok({"data": alert}, 201)  # same key while open: the existing alert
        seeded = {k: v for k, v in attrs.items() if k in _CREATE_KEEP}
        seeded["services"] = attrs.get("service_ids") or []
        seeded["environments"] = attrs.get("environment_ids") or []
        seeded["groups"] = attrs.get("group_ids") or []
        seeded["urgency"] = attrs.get("alert_urgency_id")
        seeded["source"] = attrs.get("source") or "api"
        alert = self._new_alert(seeded, source="api")
        alert["attributes"]["notified_users"] = [
            copy.deepcopy(self.users[u]) for u in self._paged_users(attrs) if u in self.users
        ]
        self._alert_event(alert, "informational", "created")
        return self._ok({"data": alert}, 201)

    def _paged_users(self, attrs: dict[str, Any]) -> list[int]:
        """Who Rootly notifies for an alert's notification target: a user, or level 1 of the escalation policies
        of the target (a policy, or the policies listing the team or service), as on call now."""
        kind, target = attrs.get("notification_target_type"), str(attrs.get("notification_target_id") or "")
        if kind == "User":
            return [int(target)] if target.isdigit() else []
        field = {"EscalationPolicy": None, "Group": "group_ids", "Service": "service_ids"}
        if kind not in field:
            return []
        now = datetime.now(UTC)
        found: list[int] = []
        for entry in self._effective_oncalls():
            policy = self.policies[entry["policy_id"]]
            hit = entry["policy_id"] == target if field[kind] is None else target in policy[field[kind]]
            if hit and entry["level"] == 1 and entry["starts"] <= now < entry["ends"] and entry["user_id"] not in found:
                found.append(entry["user_id"])
        return found

    def _update_alert(self, req: Recorded, body: Any, key: str) -> Reply:
        alert = self._find_alert(key)
        attrs, current = self._attributes(body, "alerts"), alert["attributes"]
        for field_name, kind, target in _LINKS:
            if attrs.get(field_name) is not None:
                current[target] = self._embedded(kind, attrs[field_name])
                current[field_name] = [x["id"] for x in current[target]]
        if attrs.get("alert_urgency_id"):
            current["alert_urgency"] = self._embedded("alert_urgencies", [attrs["alert_urgency_id"]])[0]
            current["alert_urgency_id"] = attrs["alert_urgency_id"]
        noise_before = current.get("noise")
        current |= {k: v for k, v in attrs.items() if k in _UPDATE_KEEP}
        current["updated_at"] = iso()
        self._alert_event(alert, "informational", "updated")
        if current.get("noise") != noise_before:  # Rootly records (un)marking as noise as an event of its own
            marked = "marked" if current.get("noise") == "noise" else "not_marked"
            self._alert_event(alert, "noise", marked, user_id=self.me_id)
        return self._ok({"data": alert})

    def _alert_action(self, req: Recorded, body: Any, key: str, action: str) -> Reply:
        alert = self._find_alert(key)
        a = alert["attributes"]
        attrs = self._attributes(body, "alerts", required=False)
        now = iso()
        if action == "acknowledge":
            if a["status"] != "triggered":
                raise Fail(400, f"Cannot acknowledge {a['status']} alert")
            a["status"] = "acknowledged"
        elif action == "resolve":
            if a["status"] == "resolved":  # 400 is not documented for resolve: resolving twice is a no-op
                return self._ok({"data": alert})
            a |= {"status": "resolved", "ended_at": now}
            if attrs.get("resolve_related_incidents"):
                for incident in self.incidents.values():
                    if alert["id"] in self.incident_alerts.get(incident["id"], []):
                        incident["attributes"] |= {"status": "resolved", "resolved_at": now, "updated_at": now}
        elif action == "snooze":
            minutes = attrs.get("delay_minutes")
            if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 10080:
                raise Fail(400, "Invalid delay_minutes", "delay_minutes must be an integer from 1 to 10080")
            if a["status"] == "resolved":
                raise Fail(422, "Cannot snooze resolved alert")
            a["status"] = "acknowledged"
            self.snoozed_until[alert["id"]] = iso(datetime.now(UTC) + timedelta(minutes=minutes))
        elif action == "escalate":
            policy, level = attrs.get("escalation_policy_id"), attrs.get("escalation_policy_level")
            if policy is not None and not _UUID.fullmatch(str(policy)):
                raise Fail(400, "Malformed escalation_policy_id")
            if a["status"] == "resolved" and policy is None:
                raise Fail(422, "escalation_policy_id is required to escalate a resolved alert")
            history = self.escalations.setdefault(alert["id"], [])
            level = level if level is not None else (1 if policy else (history[-1] if history else 0) + 1)
            if not isinstance(level, int) or level > ESCALATION_LEVELS:
                raise Fail(422, "escalation_policy_level exceeds max", f"max is {ESCALATION_LEVELS}")
            history.append(level)
            a |= {"status": "triggered", "ended_at": None}
        a["updated_at"] = now
        if action != "escalate" and self.me_id not in {r["id"] for r in a["responders"]}:
            a["responders"].append(self._flat(self.me_id))
        past = {"acknowledge": "acknowledged", "resolve": "resolved", "snooze": "snoozed", "escalate": "escalated"}
        self._alert_event(alert, "action", past[action], details=attrs.get("resolution_message"), user_id=self.me_id)
        return self._ok({"data": alert})

    # alert events --------------------------------------------------------------------------------------------
    def _alert_event(
        self,
        alert: dict[str, Any],
        kind: str,
        action: str,
        details: str | None = None,
        user_id: int | None = None,
        source: str = "api",
    ) -> dict[str, Any]:
        now = iso()
        user = self._flat(user_id) if user_id is not None else None
        attrs = {"alert_id": alert["id"], "kind": kind, "action": action, "source": source, "user_id": user_id}
        attrs |= {"details": details, "user": user, "incident": None, "schedule": None, "escalation_level": None}
        attrs |= {"escalation_target_type": None, "escalation_target": None, "slack_channel": None}
        attrs |= {"incident_ids": [], "created_at": now, "updated_at": now}
        event = {"id": str(uuid.uuid4()), "type": "alert_events", "attributes": attrs}
        self._order[event["id"]] = next(self._seq)
        self.alert_events.append(event)
        return event

    def _attached(self, alert: dict[str, Any], incident: dict[str, Any], user_id: int | None) -> None:
        event = self._alert_event(alert, "action", "attached", user_id=user_id)
        keep = ("id", "sequential_id", "title", "slug", "kind", "status", "private", "url", "created_at", "updated_at")
        event["attributes"]["incident"] = {k: incident[k] for k in keep} | {"description": None, "duration": None}
        event["attributes"]["incident"] |= {"started_at": incident.get("started_at")}
        event["attributes"]["incident_ids"] = [incident["id"]]

    def act_in_rootly(
        self, alert_key: str, what: str, user_id: int | None = None, details: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """A change made in Rootly itself (its UI, another integration) by ``user_id``: the alert's state changes
        and its event is recorded as Rootly records it. ``what``: acknowledged, resolved, snoozed, escalated,
        retriggered, noise, not_noise, note, or incident (``title=``). Returns the event resource.
        """
        with self._state:
            alert = self._find_alert(alert_key)
            a, now = alert["attributes"], iso()
            a["updated_at"] = now
            if what == "note":
                return self._alert_event(alert, "note", "created", details, user_id, source="web")
            if what in ("noise", "not_noise"):
                a["noise"] = "noise" if what == "noise" else "not_noise"
                return self._alert_event(alert, "noise", "marked" if what == "noise" else "not_marked", None, user_id)
            if what == "incident":
                title = extra.get("title") or "Incident from Rootly"
                sequential_id = len(self.incidents) + 1
                slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
                incident = {"id": str(uuid.uuid4()), "sequential_id": sequential_id, "title": title, "slug": slug}
                incident |= {"kind": "normal", "status": "started", "private": False, "started_at": now}
                incident |= {"url": f"https://rootly.com/account/incidents/{sequential_id}-{slug}"}
                incident |= {"created_at": now, "updated_at": now}
                self._attached(alert, incident, user_id)
                return self.alert_events[-1]
            status = {"acknowledged": "acknowledged", "resolved": "resolved", "snoozed": "acknowledged"}.get(what)
            if what in ("escalated", "retriggered"):
                status = "triggered"
            if status is None:
                raise ValueError(f"unknown change {what!r}")
            a["status"] = status
            a["ended_at"] = now if status == "resolved" else None
            event = self._alert_event(alert, "action", what, details, user_id, source="web")
            if what == "escalated":
                event["attributes"]["escalation_level"] = extra.get("level", 2)
            return event

    def _list_alert_events(self, req: Recorded, body: Any, key: str) -> Reply:
        alert = self._find_alert(key)
        fields = {"kind": lambda e: {e["kind"]}, "action": lambda e: {e["action"]}}
        events = [e for e in self.alert_events if e["attributes"]["alert_id"] == alert["id"]]
        events = [e for e in events if matches(e["attributes"], req.query, fields)]
        page, links, meta = paginate(self.url, req, events, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        return self._ok({"data": page, "links": links, "meta": meta})

    def _create_alert_event(self, req: Recorded, body: Any, key: str) -> Reply:
        alert = self._find_alert(key)
        attrs = self._attributes(body, "alert_events")
        details, user_id = attrs.get("details"), attrs.get("user_id")
        if attrs.get("kind") != "note":
            raise Fail(422, "Kind is not included in the list", "only notes can be created")
        if not isinstance(details, str) or not details.strip():
            raise Fail(422, "Details can't be blank")
        if len(details) > NOTE_MAX_CHARS:
            raise Fail(422, f"Details is too long (maximum is {NOTE_MAX_CHARS} characters)")
        if user_id is not None and (not isinstance(user_id, int) or user_id not in self.users):
            raise Fail(422, "User not found", f"user_id {user_id!r} is not a user of this organisation")
        return self._ok({"data": self._alert_event(alert, "note", "created", details, user_id)}, 201)

    def _alert_event_feed(self, req: Recorded, body: Any) -> Reply:
        """The cursor feed: ``next_cursor`` is the last item's cursor, or the one given when nothing is new, so a
        poller can always pass it back.
        """
        fields = {
            "kind": lambda e: {e["kind"]},
            "action": lambda e: {e["action"]},
            "alert_id": lambda e: {e["alert_id"]},
        }
        newest_first = req.query.get("sort", [""])[-1] == "-created_at"
        events = [e for e in self.alert_events if matches(e["attributes"], req.query, fields)]
        size = min(max(page_int(req.query.get("page[size]"), DEFAULT_PAGE_SIZE), 1), FEED_MAX_PAGE_SIZE)
        seq_of = lambda e: self._order[e["id"]]  # noqa: E731
        page, links, meta = cursor_page(self.url, req, events, seq_of, size, descending=newest_first, keep_cursor=True)
        return self._ok({"data": page, "links": links, "meta": meta})

    # incidents -----------------------------------------------------------------------------------------------
    def _find_incident(self, key: str) -> dict[str, Any]:
        for incident in self.incidents.values():
            a = incident["attributes"]
            if key in (incident["id"], a["slug"], str(a["sequential_id"])):
                return incident
        raise Fail(404, "Not found", f"incident {key!r} does not exist")

    def _list_incidents(self, req: Recorded, body: Any) -> Reply:
        found = [
            (i["id"], i)
            for i in self.incidents.values()
            if matches(i["attributes"], req.query, _INCIDENT_FIELDS, _TITLE)
        ]
        found = sort_items(
            [(k, i["attributes"]) for k, i in found], (req.query.get("sort") or [""])[-1] or "-created_at"
        )
        return self._listing(req, "incidents", found)

    def _create_incident(self, req: Recorded, body: Any) -> Reply:
        attrs = self._attributes(body, "incidents")
        user_id = int(attrs.get("user_id") or self.me_id)
        if user_id not in self.users:
            raise Fail(422, "User not found")
        alert_ids = [self._find_alert(k)["id"] for k in attrs.get("alert_ids") or []]
        sequential_id = len(self.incidents) + 1
        title = attrs.get("title") or f"Incident {sequential_id}"
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
        now = iso()
        status = attrs.get("status") or "started"
        incident_id = str(uuid.uuid4())
        incident: dict[str, Any] = {k: v for k, v in attrs.items() if k in _INCIDENT_KEEP}
        incident |= {
            "id": incident_id,
            "sequential_id": sequential_id,
            "title": title,
            "slug": slug,
            "kind": attrs.get("kind") or "normal",
            "private": bool(attrs.get("private")),
            "status": status,
            "source": "api",
            "url": f"https://rootly.com/account/incidents/{sequential_id}-{slug}",
            "short_url": None,
            "user": self._user_resource(user_id),
            "severity": self._jsonapi("severities", [attrs["severity_id"]])[0] if attrs.get("severity_id") else None,
            "environments": self._jsonapi("environments", attrs.get("environment_ids") or []),
            "incident_types": self._jsonapi("incident_types", attrs.get("incident_type_ids") or []),
            "services": self._jsonapi("services", attrs.get("service_ids") or []),
            "functionalities": [],
            "groups": self._jsonapi("teams", attrs.get("group_ids") or []),
            "labels": attrs.get("labels") or {},
            "started_at": attrs.get("started_at") or now,
            "created_at": now,
            "updated_at": now,
        }
        self.incidents[incident_id] = {"id": incident_id, "type": "incidents", "attributes": incident}
        self.incident_alerts[incident_id] = alert_ids
        for alert_id in alert_ids:  # each attached alert's timeline says so
            self._attached(self.alerts[alert_id], incident, user_id)
        self._order[incident_id] = next(self._seq)
        return self._ok({"data": self.incidents[incident_id]}, 201)

    def _create_incident_event(self, req: Recorded, body: Any, key: str) -> Reply:
        incident = self._find_incident(key)
        attrs = self._attributes(body, "incident_events")
        if not str(attrs.get("event") or "").strip():
            raise Fail(422, "Event can't be blank")
        now = iso()
        event = {"event": attrs["event"], "visibility": attrs.get("visibility") or "internal", "occurred_at": now}
        resource = {"id": str(uuid.uuid4()), "type": "incident_events", "attributes": event | {"created_at": now}}
        resource["attributes"]["updated_at"] = now
        self.incident_events.setdefault(incident["id"], []).append(resource)
        return self._ok({"data": resource}, 201)

    # on call: seeding -----------------------------------------------------------------------------------------------
    def add_schedule(self, name: str) -> str:
        with self._state:
            schedule_id, now = str(uuid.uuid4()), iso()
            self.schedules[schedule_id] = {
                "name": name,
                "description": None,
                "all_time_coverage": True,
                "owner_group_ids": [],
                "owner_user_id": self.me_id,
                "created_at": now,
                "updated_at": now,
            }
            return schedule_id

    def _list_incident_events(self, req: Recorded, body: Any, key: str) -> Reply:
        incident = self._find_incident(key)
        events = [(e["id"], e["attributes"]) for e in self.incident_events.get(incident["id"], [])]
        return self._listing(req, "incident_events", events)

    def _incident_out(self, incident: dict[str, Any], req: Recorded) -> dict[str, Any]:
        body: dict[str, Any] = {"data": incident}
        if "roles" in ",".join(req.query.get("include") or []):
            body["included"] = [
                self._assignment(incident["id"], r, u) for r, u in self.incident_roles.get(incident["id"], [])
            ]
        return body

    def _assignment(self, incident_id: str, role_id: str, user_id: int) -> dict[str, Any]:
        role = {
            "data": {"id": role_id, "type": "incident_roles", "attributes": self.catalog["incident_roles"][role_id]}
        }
        attrs = {"incident_role": role, "user": self._user_resource(user_id), "incident_id": incident_id}
        return {"id": f"{incident_id}:{role_id}", "type": "incident_role_assignments", "attributes": attrs}

    def _get_incident(self, req: Recorded, body: Any, key: str) -> Reply:
        return self._ok(self._incident_out(self._find_incident(key), req))

    def _touch(self, incident: dict[str, Any], **changes: Any) -> None:
        incident["attributes"] |= changes | {"updated_at": iso()}

    def _update_incident(self, req: Recorded, body: Any, key: str) -> Reply:
        incident = self._find_incident(key)
        attrs = self._attributes(body, "incidents")
        changes = {k: v for k, v in attrs.items() if k in _INCIDENT_UPDATE_KEEP}
        if "severity_id" in attrs:
            changes["severity"] = (
                self._jsonapi("severities", [attrs["severity_id"]])[0] if attrs["severity_id"] else None
            )
        if "title" in changes and not str(changes["title"] or "").strip():
            raise Fail(422, "Title can't be blank")
        self._touch(incident, **changes)
        return self._ok({"data": incident})

    def _incident_transition(self, req: Recorded, body: Any, key: str, verb: str) -> Reply:
        incident = self._find_incident(key)
        attrs = self._attributes(body, "incidents")
        status = incident["attributes"]["status"]
        if status not in TRANSITIONS[verb]:
            raise Fail(422, f"Cannot {verb} a {status} incident", f"the incident is {status}")
        past = _PAST[verb]
        self._touch(
            incident,
            status=past,
            **{f"{past}_at": iso(), _MESSAGE[verb]: attrs.get(_MESSAGE[verb]), f"{past}_by": self._flat(self.me_id)},
        )
        return self._ok({"data": incident})

    def _assign_role(self, req: Recorded, body: Any, key: str) -> Reply:
        incident = self._find_incident(key)
        attrs = self._attributes(body, "incidents")
        role_id, user = str(attrs.get("incident_role_id") or ""), str(attrs.get("user_id") or "")
        if role_id not in self.catalog["incident_roles"]:
            raise Fail(404, "Not found", f"incident role {role_id!r} does not exist")
        if not user.isdigit() or int(user) not in self.users:
            raise Fail(404, "Not found", f"user {user!r} does not exist")
        held = [(r, u) for r, u in self.incident_roles.get(incident["id"], []) if r != role_id]
        self.incident_roles[incident["id"]] = [*held, (role_id, int(user))]
        self._touch(incident)
        return self._ok({"data": incident})

    def _create_action_item(self, req: Recorded, body: Any, key: str) -> Reply:
        incident = self._find_incident(key)
        attrs = self._attributes(body, "incident_action_items")
        if not str(attrs.get("summary") or "").strip():
            raise Fail(422, "Summary can't be blank")
        now = iso()
        item = {
            "summary": attrs["summary"],
            "description": attrs.get("description"),
            "kind": attrs.get("kind") or "task",
            "assigned_to": None,
            "assigned_to_group_ids": [],
            "priority": attrs.get("priority") or "medium",
            "status": attrs.get("status") or "open",
            "due_date": None,
            "created_at": now,
            "updated_at": now,
        }
        resource = {"id": str(uuid.uuid4()), "type": "incident_action_items", "attributes": item}
        self.action_items.setdefault(incident["id"], []).append(resource)
        return self._ok({"data": resource}, 201)

    def add_escalation_policy(
        self, name: str, levels: int = 1, teams: Iterable[str] = (), services: Iterable[str] = ()
    ) -> str:
        """``teams``/``services`` are ids (or slugs, looked up)."""
        with self._state:
            policy_id, now = str(uuid.uuid4()), iso()
            self.policies[policy_id] = {
                "name": name,
                "description": None,
                "repeat_count": 1,
                "created_by_user_id": self.me_id,
                "last_updated_by_user_id": self.me_id,
                "group_ids": [self._find_catalog("teams", t)[0] for t in teams],
                "service_ids": [self._find_catalog("services", s)[0] for s in services],
                "created_at": now,
                "updated_at": now,
            }
            self.policy_levels[policy_id] = levels
            return policy_id

    def add_oncall(
        self,
        policy_id: str,
        level: int,
        user_id: int,
        starts: datetime,
        ends: datetime,
        schedule_id: str | None = None,
        shadow: bool = False,
    ) -> None:
        """Someone on call at ``level`` of a policy (through ``schedule_id`` when given, which also gets the shift)."""
        with self._state:
            entry = {"policy_id": policy_id, "level": level, "user_id": user_id, "starts": starts, "ends": ends}
            self.oncalls.append(entry | {"schedule_id": schedule_id})
            if schedule_id is not None:
                self._add_shift(schedule_id, user_id, starts, ends, override=False, shadow=shadow)

    def _add_shift(
        self, schedule_id: str, user_id: int, starts: datetime, ends: datetime, *, override: bool, shadow: bool
    ) -> dict[str, Any]:
        now = iso()
        shift = {
            "schedule_id": schedule_id,
            "rotation_id": None,
            "starts_at": iso(starts),
            "ends_at": iso(ends),
            "is_override": override,
            "is_shadow": shadow,
            "user_id": user_id,
            "created_at": now,
            "updated_at": now,
        }
        resource = {"id": str(uuid.uuid4()), "type": "shifts", "attributes": shift}
        self.shifts.append(resource)
        return resource

    # on call: HTTP --------------------------------------------------------------------------------------------------
    def _effective_oncalls(self) -> list[dict[str, Any]]:
        """Entries with overrides applied: an override replaces the person on its schedule while it lasts."""
        overrides = [s["attributes"] for s in self.shifts if s["attributes"]["is_override"]]
        out = []
        for entry in self.oncalls:
            for o in overrides:
                o_start, o_end = parse_time(o["starts_at"]), parse_time(o["ends_at"])
                if entry["schedule_id"] == o["schedule_id"] and o_start < entry["ends"] and entry["starts"] < o_end:
                    out.append(entry | {"user_id": o["user_id"], "starts": o_start, "ends": o_end})
                    break
            else:
                out.append(entry)
        return out

    def _list_oncalls(self, req: Recorded, body: Any) -> Reply:
        if not self.oncall_enabled:
            raise Fail(404, "Not found", "Rootly On-Call is not enabled for this organisation")
        q = {k: ",".join(v).split(",") for k, v in req.query.items()}
        since = parse_time(q["since"][0]) if "since" in q else datetime.now(UTC)
        until = parse_time(q["until"][0]) if "until" in q else since
        found = []
        for entry in self._effective_oncalls():
            policy = self.policies[entry["policy_id"]]
            if not (entry["starts"] <= until and since < entry["ends"]):
                continue
            checks = {
                "filter[escalation_policy_ids]": {entry["policy_id"]},
                "filter[schedule_ids]": {entry["schedule_id"]},
                "filter[user_ids]": {str(entry["user_id"])},
                "filter[group_ids]": set(policy["group_ids"]),
                "filter[service_ids]": set(policy["service_ids"]),
            }
            if all(not set(q[k]) or set(q[k]) & have for k, have in checks.items() if k in q):
                found.append(entry)
        data, users = [], set()
        for n, entry in enumerate(found):
            schedule = self.schedules.get(entry["schedule_id"] or "")
            attrs = {
                "escalation_policy_id": entry["policy_id"],
                "escalation_policy_name": self.policies[entry["policy_id"]]["name"],
                "escalation_level": entry["level"],
                "schedule_id": entry["schedule_id"],
                "schedule_name": schedule["name"] if schedule else None,
                "user_id": entry["user_id"],
                "starts_at": iso(entry["starts"]),
                "ends_at": iso(entry["ends"]),
            }
            rel = {"user": {"data": {"id": str(entry["user_id"]), "type": "users"}}}
            data.append({"id": f"oncall-{n}", "type": "on_call_resources", "attributes": attrs, "relationships": rel})
            users.add(entry["user_id"])
        reply: dict[str, Any] = {"data": data}
        if "user" in ",".join(req.query.get("include", [])).split(","):
            reply["included"] = [self._user_resource(u)["data"] for u in sorted(users)]
        return self._ok(reply)

    def _list_schedules(self, req: Recorded, body: Any) -> Reply:
        items = sorted(self.schedules.items(), key=lambda x: x[1]["name"])
        return self._listing(req, "schedules", items)

    def _list_policies(self, req: Recorded, body: Any) -> Reply:
        items = sorted(self.policies.items(), key=lambda x: x[1]["name"])
        page, links, meta = paginate(self.url, req, items, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        reply: dict[str, Any] = {
            "data": [{"id": i, "type": "escalation_policies", "attributes": a} for i, a in page],
            "links": links,
            "meta": meta,
        }
        if "escalation_policy_levels" in req.query.get("include", []):
            now = iso()
            reply["included"] = [
                {
                    "id": f"{i}-level-{n}",
                    "type": "escalation_levels",
                    "attributes": {"escalation_policy_id": i, "position": n, "delay": 5, "created_at": now},
                }
                for i, _ in page
                for n in range(1, self.policy_levels[i] + 1)
            ]
        return self._ok(reply)

    def _list_shifts(self, req: Recorded, body: Any) -> Reply:
        wanted = set(req.query.get("schedule_ids[]", []))
        start = parse_time(req.query["from"][0]) if "from" in req.query else None
        end = parse_time(req.query["to"][0]) if "to" in req.query else None
        found = []
        for shift in self.shifts:
            a = shift["attributes"]
            if wanted and a["schedule_id"] not in wanted:
                continue
            if (start and parse_time(a["ends_at"]) <= start) or (end and parse_time(a["starts_at"]) > end):
                continue
            found.append({"id": shift["id"], "type": "shifts", "attributes": {k: a[k] for k in _SHIFT_FIELDS}})
        page, links, meta = paginate(self.url, req, found, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        return self._ok({"data": page, "links": links, "meta": meta})

    def _create_override(self, req: Recorded, body: Any, key: str) -> Reply:
        if key not in self.schedules:
            raise Fail(404, "Not found", f"schedule {key!r} does not exist")
        attrs = self._attributes(body, "shifts")
        if self.override_refusal:
            raise Fail(422, self.override_refusal)
        user_id = attrs.get("user_id")
        if user_id not in self.users:
            raise Fail(422, "User must exist")
        starts, ends = parse_time(attrs["starts_at"]), parse_time(attrs["ends_at"])
        if ends <= starts:
            raise Fail(422, "Ends at must be after starts at")
        shift = self._add_shift(key, user_id, starts, ends, override=True, shadow=False)
        out = {k: v for k, v in shift["attributes"].items() if k != "is_shadow"}
        return self._ok({"data": {"id": shift["id"], "type": "shifts", "attributes": out}}, 201)


_SHIFT_FIELDS = ("schedule_id", "rotation_id", "starts_at", "ends_at", "is_override", "is_shadow", "user_id")
_USER_SEARCH = ("email", "full_name")
_NAME = ("name", "slug")
_SUMMARY = ("summary", "description")
_TITLE = ("title", "summary")
_LINKS = [
    ("service_ids", "services", "services"),
    ("environment_ids", "environments", "environments"),
    ("group_ids", "teams", "groups"),
]
_ALERT_NULLS = [
    "description",
    "external_id",
    "external_url",
    "group_leader_alert_id",
    "notification_target_type",
    "notification_target_id",
    "deduplication_key",
    "ended_at",
]
_ALERT_EMPTY_LISTS = [
    "functionalities",
    "functionality_ids",
    "alert_field_values",
    "responders",
    "notified_users",
    "alerting_targets",
]
_CREATE_KEEP = {
    "summary",
    "description",
    "status",
    "noise",
    "labels",
    "data",
    "external_id",
    "external_url",
    "deduplication_key",
    "started_at",
    "ended_at",
    "notification_target_type",
    "notification_target_id",
}
_UPDATE_KEEP = _CREATE_KEEP - {"status", "notification_target_type", "notification_target_id"} | {"source"}
_INCIDENT_KEEP = {"summary", "public_title", "slack_channel_id", "slack_channel_name", "slack_channel_url"}
_INCIDENT_UPDATE_KEEP = {"title", "summary", "public_title"}
