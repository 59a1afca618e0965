"""A fake of the ilert API (REST and events API) as a real HTTP server, checked against ilert's OpenAPI contract.

The API lives under ``/api`` as on api.ilert.com: point clients at :attr:`IlertFake.api_url`. Every request is checked
against the contract (operation, parameters, body schema, media type) and so is every answer, so the fake cannot
drift from ilert; problems land in :attr:`IlertFake.violations`.

Where the contract is silent the fake follows what ilert is known to do and names its assumptions:
- errors are ``{"status", "message", "code"}`` (the API's documented error body; the ``RestError`` schema lists
  only status and message); a rejected API key is 403 ``KEY_ERROR``;
- ``ACCEPT``/``RESOLVE``/``COMMENT`` events with no open alert for their key answer 400 ``NONE_OPEN_FOR_KEY``;
- events are limited to :data:`EVENT_RATE_LIMIT` a minute per integration key (429 with ``Retry-After``);
- accepting an alert that is not pending, or resolving a resolved one, answers 400 with the codes in
  :data:`ALREADY` (ilert documents no answer for it);
- an ``ALERT`` event without an alertKey gets a generated one; a COMMENT needs a non-empty ``comments`` list;
- the list is newest first (by ``reportTime``); comments show in the alert's log as ``AlertCommentAddedLogEntry``
  with the comment's content as ``text``.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
import time
import uuid
from collections import deque
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from tests.contracts import ILERT, load_contract
from tests.fakes.contract import ContractValidator
from tests.fakes.jsonapi import iso, parse_time
from tests.fakes.server import DropConnection, Recorded, Reply
from tests.fakes.validating import INVALID_JSON, ValidatingFake

EVENT_RATE_LIMIT = 50  # events a minute per integration key
RATE_WINDOW = 60.0
DEFAULT_MAX_RESULTS = 50  # max-results default, as the contract says
MAX_RESULTS = 100
SOURCES_MAX_RESULTS = 50
OPEN = ("PENDING", "ACCEPTED")
ALREADY = {"ACCEPTED": "ALERT_ALREADY_ACCEPTED", "RESOLVED": "ALERT_ALREADY_RESOLVED"}  # the fake's assumption
REST_ERROR = "#/components/schemas/RestError"
# Statuses ilert may send from any operation with an error body, where the operation documents none.
ANYWHERE = {code: REST_ERROR for code in ("400", "401", "403", "404", "429", "5XX")}

_LOAD: Any = object()  # "load the contract from tests.contracts"
_JSON = "application/json"


class Fail(Exception):
    """Raised by a handler to answer with an ilert error body."""

    def __init__(self, status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.reply = error_reply(status, message, code, headers)


def error_reply(
    status: int, message: str | None = None, code: str | None = None, headers: dict[str, str] | None = None
) -> Reply:
    body: dict[str, Any] = {"status": status, "message": message or HTTPStatus(status).phrase}
    if code:
        body["code"] = code
    return Reply(status, body, dict(headers or {}), _JSON)


def _key(value: Any) -> str:
    """alertKeys are trimmed and compared case-insensitively."""
    return str(value or "").strip().casefold()


_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile(pattern), name)
    for method, pattern, name in [
        ("POST", r"/events", "_event"),
        ("GET", r"/alerts", "_list_alerts"),
        ("GET", r"/alerts/count", "_count_alerts"),
        ("GET", r"/alerts/(?P<alert_id>[^/]+)", "_get_alert"),
        ("PUT", r"/alerts/(?P<alert_id>[^/]+)/(?P<action>accept|resolve)", "_alert_action"),
        ("GET", r"/alerts/(?P<alert_id>[^/]+)/log-entries", "_log_entries"),
        ("POST", r"/users/search-email", "_search_email"),
        ("GET", r"/users/current", "_current_user"),
        ("GET", r"/alert-sources", "_list_sources"),
        # on call
        ("GET", r"/on-calls", "_list_oncalls"),
        ("GET", r"/schedules", "_list_schedules"),
        ("GET", r"/escalation-policies", "_list_policies"),
    ]
]


class IlertFake(ValidatingFake):
    """ilert on 127.0.0.1 under ``/api``: users, alert sources, alerts, their comments and logs, and events.

    Seed with :meth:`add_user`, :meth:`add_alert_source`, :meth:`add_alert`; inject faults with :attr:`latency`,
    :meth:`script`, :meth:`rate_limited`, :meth:`unavailable`; read what happened from :attr:`requests`,
    :attr:`alerts`, :meth:`comments`, :attr:`events` and :attr:`violations`.
    """

    def __init__(
        self,
        api_token: str = "ilert-test-token",
        source_key: str = "il1api-test-key",
        contract: dict[str, Any] | None = _LOAD,
    ) -> None:
        self.contract: dict[str, Any] | None = load_contract(ILERT) if contract is _LOAD else contract
        super().__init__(ContractValidator.shared(self.contract, anywhere=ANYWHERE) if self.contract else None)
        self.api_token = api_token
        self.event_rate_limit = EVENT_RATE_LIMIT
        self._ids = itertools.count(1001)
        self._entry_ids = itertools.count(1)
        self._event_calls: dict[str, deque[float]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.sources: dict[int, dict[str, Any]] = {}
        self.alerts: dict[int, dict[str, Any]] = {}
        self.log: dict[int, list[dict[str, Any]]] = {}
        self._comments: dict[int, list[dict[str, str]]] = {}
        self.events: list[dict[str, Any]] = []  # every event ilert accepted (202), in order
        self.schedules: dict[int, dict[str, Any]] = {}
        self.policies: dict[int, dict[str, Any]] = {}
        self.oncalls: list[dict[str, Any]] = []  # {"policy", "level", "user", "start", "end", "schedule"}
        self.me_id = self.add_user("bot@example.com", "Chatops", "Bot")
        self.source_id = self.add_alert_source("Chatops API", source_key)

    def __enter__(self) -> IlertFake:
        self.start()
        return self

    @property
    def api_url(self) -> str:
        """What ``ILERT_API_URL`` is set to."""
        return f"{self.url}/api"

    # seeding -------------------------------------------------------------------------------------------------
    def add_user(self, email: str, first_name: str, last_name: str) -> int:
        with self._state:
            if any(u["email"].lower() == email.lower() for u in self.users.values()):
                raise ValueError(f"user {email} exists")
            user_id = max(self.users, default=0) + 1
            now = iso()
            self.users[user_id] = {
                "id": user_id,
                "firstName": first_name,
                "lastName": last_name,
                "email": email,
                "timezone": "Europe/Berlin",
                "language": "en",
                "role": "USER",
                "createdAt": now,
                "updatedAt": now,
            }
            return user_id

    def add_alert_source(self, name: str, integration_key: str, integration_type: str = "API") -> int:
        """An alert source whose escalation policy pages the bot's own user first."""
        with self._state:
            source_id = max(self.sources, default=0) + 1
            policy = {
                "id": source_id,
                "name": f"{name} policy",
                "escalationRules": [{"escalationTimeout": 0, "users": [self._user_rel(self.me_id)]}],
            }
            self.sources[source_id] = {
                "id": source_id,
                "name": name,
                "integrationType": integration_type,
                "integrationKey": integration_key,
                "escalationPolicy": policy,
                "status": "ALL_RESOLVED",
                "active": True,
            }
            return source_id

    def add_alert(
        self, summary: str, state: str = "PENDING", priority: str = "HIGH", alert_key: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        """Seed an alert and return the stored object (live: later requests change it).

        ``details``, ``report_time`` (datetime or ISO), ``source_id``, ``responders`` (user ids) are understood;
        any other keyword is set as an ``Alert`` field as given. ``alert_key=None`` gives the alert a random key;
        pass ``alert_key=""`` for an alert without one (like those created by hand in ilert).
        """
        with self._state:
            source_id = kw.pop("source_id", self.source_id)
            report_time = kw.pop("report_time", None)
            responders = kw.pop("responders", None)
            key = uuid.uuid4().hex if alert_key is None else alert_key
            alert = self._new_alert(source_id, summary, priority, key, kw.pop("details", None), report_time)
            if responders is not None:
                alert["responders"] = [{"user": self._user_rel(u), "status": "PENDING"} for u in responders]
            alert.update(kw)
            if state != "PENDING":
                self._set_state(alert, state, self.me_id if state == "ACCEPTED" else None)
            self._check_alert(alert)
            return alert

    def add_schedule(self, name: str) -> int:
        with self._state:
            schedule_id = next(self._ids)
            self.schedules[schedule_id] = {
                "id": schedule_id,
                "name": name,
                "type": "RECURRING",
                "timezone": "Europe/Berlin",
            }
            return schedule_id

    def add_escalation_policy(self, name: str, levels: int = 1, routing_key: str | None = None) -> int:
        with self._state:
            policy_id = next(self._ids)
            rules = [{"escalationTimeout": 15, "users": [self._user_rel(self.me_id)]} for _ in range(levels)]
            self.policies[policy_id] = {"id": policy_id, "name": name, "escalationRules": rules}
            if routing_key:
                self.policies[policy_id]["routingKey"] = routing_key
            return policy_id

    def add_oncall(
        self, policy_id: int, level: int, user_id: int, start: Any, end: Any, schedule_id: int | None = None
    ) -> None:
        with self._state:
            self.oncalls.append(
                {
                    "policy": policy_id,
                    "level": level,
                    "user": user_id,
                    "start": start,
                    "end": end,
                    "schedule": schedule_id,
                }
            )

    def accept_as(self, alert_id: int | str, user_id: int) -> None:
        """What a responder does in ilert itself: accept the alert (its log says by whom)."""
        with self._state:
            self._set_state(self._find(str(alert_id)), "ACCEPTED", user_id)

    def comments(self, alert_id: int | str) -> list[dict[str, str]]:
        """The alert's comments as ``{"creator", "content"}``, oldest first."""
        with self._state:
            return copy.deepcopy(self._comments.get(int(alert_id), []))

    def alert(self, alert_id: int | str) -> dict[str, Any] | None:
        with self._state:
            return self.alerts.get(int(alert_id))

    # fault injection -----------------------------------------------------------------------------------------
    @staticmethod
    def rate_limited(retry_after: float = 1.0) -> Reply:
        """A 429 with ``Retry-After`` (seconds, rounded up so waiting suffices)."""
        return error_reply(429, "Too many requests", "RATE_LIMIT", {"Retry-After": str(math.ceil(retry_after))})

    @staticmethod
    def unavailable(status: int = 503) -> Reply:
        """An outage answer to script."""
        return error_reply(status)

    # HTTP ----------------------------------------------------------------------------------------------------
    def handle(self, req: Recorded) -> Reply:
        body = self.request_json(req)
        self._violate(self._request_problems(req, body))
        scripted = self.take_script(req)
        if scripted == "drop":
            raise DropConnection
        if isinstance(scripted, Reply):
            return scripted
        if scripted == "timeout":
            time.sleep(self.timeout_sleep)
        reply = self._dispatch(req, body)
        self._violate(self.response_problems(req, reply))
        return reply

    def _request_problems(self, req: Recorded, body: Any) -> list[str]:
        problems = self.request_problems(req, body)
        if not self.validating:
            return problems
        auth = req.headers.get("authorization")
        if req.path == "/api/events":
            if auth is not None:  # security: [] - and the user's key has no business in a monitoring-style call
                problems.append("POST /api/events: carries an Authorization header; the events API takes none")
        elif auth is None or not re.fullmatch(r"Bearer \S+", auth):
            why = "missing" if auth is None else "not 'Bearer <token>'"
            problems.append(f"{req.method} {req.path}: Authorization header is {why}")
        return problems

    def _dispatch(self, req: Recorded, body: Any) -> Reply:
        if not req.path.startswith("/api/"):
            return error_reply(404, f"the fake has no {req.method} {req.path}")
        path = req.path[len("/api") :]
        if path != "/events" and req.headers.get("authorization") != f"Bearer {self.api_token}":
            return error_reply(403, "The API key is invalid", "KEY_ERROR")
        if body is INVALID_JSON:
            return error_reply(400, "The body is not JSON", "BAD_REQUEST")
        for method, pattern, name in _ROUTES:
            if method == req.method and (m := pattern.fullmatch(path)):
                try:
                    with self._state:
                        return getattr(self, name)(req, body, **m.groupdict())
                except Fail as fail:
                    return fail.reply
        return error_reply(404, f"the fake has no {req.method} {req.path}")

    @staticmethod
    def _ok(body: Any, status: int = 200) -> Reply:
        return Reply(status, copy.deepcopy(body), content_type=_JSON)

    # alerts --------------------------------------------------------------------------------------------------
    def _new_alert(
        self, source_id: int, summary: str, priority: str | None, key: str, details: str | None, at: Any = None
    ) -> dict[str, Any]:
        source = self.sources[source_id]
        policy = source["escalationPolicy"]
        first = policy["escalationRules"][0].get("users") or []
        alert: dict[str, Any] = {
            "id": next(self._ids),
            "summary": summary,
            "reportTime": iso(at),
            "status": "PENDING",
            "alertSource": {k: source[k] for k in ("id", "name", "integrationType", "escalationPolicy")},
            "escalationPolicy": policy,
            "priority": priority or "HIGH",
            "alertKey": key,
            "responders": [{"user": dict(u), "status": "PENDING"} for u in first],
            "links": [],
            "images": [],
        }
        if details is not None:
            alert["details"] = details
        self.alerts[alert["id"]] = alert
        self._log(alert, "AlertReceivedLogEntry", f"Alert created: {summary}")
        return alert

    def _check_alert(self, alert: dict[str, Any]) -> None:
        if self.validator and (problems := self.validator.errors("#/components/schemas/Alert", alert)):
            raise ValueError(f"seeded alert breaks the contract: {problems}")

    def _set_state(self, alert: dict[str, Any], state: str, user_id: int | None) -> None:
        now = iso()
        alert["status"] = state
        if state == "ACCEPTED" and user_id is not None:
            mine = [r for r in alert["responders"] if r.get("user", {}).get("id") == user_id]
            if not mine:
                alert["responders"].append(mine_rel := {"user": self._user_rel(user_id), "status": "PENDING"})
                mine = [mine_rel]
            mine[0] |= {"status": "ACCEPTED", "acceptedAt": now}
        if state == "RESOLVED":
            alert["resolvedOn"] = now
        by = f"by {self.users[user_id]['email']}" if user_id is not None else "by an event"
        entry = "UserResponseLogEntry" if user_id is not None else "AlertSourceResponseLogEntry"
        self._log(alert, entry, f"Alert {state.lower()} {by}")

    def _log(self, alert: dict[str, Any], entry_type: str, text: str) -> None:
        entry = {
            "id": next(self._entry_ids),
            "timestamp": iso(),
            "logEntryType": entry_type,
            "text": text,
            "alertId": alert["id"],
        }
        self.log.setdefault(alert["id"], []).append(entry)

    def _user_rel(self, user_id: int) -> dict[str, Any]:
        user = self.users[user_id]
        return {"id": user_id, "firstName": user["firstName"], "lastName": user["lastName"]}

    def _find(self, alert_id: str) -> dict[str, Any]:
        try:
            return self.alerts[int(float(alert_id))]
        except (ValueError, KeyError):
            raise Fail(404, f"Alert {alert_id} not found", "NOT_FOUND") from None

    def _filtered(self, req: Recorded) -> list[dict[str, Any]]:
        states = set(req.query.get("states") or [])
        sources = {int(s) for s in req.query.get("sources") or [] if s.lstrip("-").isdigit()}
        found = [
            a
            for a in self.alerts.values()
            if (not states or a["status"] in states) and (not sources or a["alertSource"]["id"] in sources)
        ]
        return sorted(found, key=lambda a: (parse_time(a["reportTime"]), a["id"]), reverse=True)

    def _list_alerts(self, req: Recorded, body: Any) -> Reply:
        start = max(_int(req.query.get("start-index"), 0), 0)
        size = min(max(_int(req.query.get("max-results"), DEFAULT_MAX_RESULTS), 1), MAX_RESULTS)
        return self._ok(self._filtered(req)[start : start + size])

    def _count_alerts(self, req: Recorded, body: Any) -> Reply:
        return self._ok({"count": len(self._filtered(req))})

    def _get_alert(self, req: Recorded, body: Any, alert_id: str) -> Reply:
        return self._ok(self._find(alert_id))

    def _alert_action(self, req: Recorded, body: Any, alert_id: str, action: str) -> Reply:
        alert = self._find(alert_id)
        target = {"accept": "ACCEPTED", "resolve": "RESOLVED"}[action]
        if alert["status"] == "RESOLVED" or alert["status"] == target:
            state = alert["status"]
            raise Fail(400, f"Alert {alert['id']} is already {state.lower()}", ALREADY[state])
        self._set_state(alert, target, self.me_id)
        return self._ok(alert)

    def _log_entries(self, req: Recorded, body: Any, alert_id: str) -> Reply:
        alert = self._find(alert_id)
        start = max(_int(req.query.get("start-index"), 0), 0)
        size = min(max(_int(req.query.get("max-results"), DEFAULT_MAX_RESULTS), 1), MAX_RESULTS)
        return self._ok(self.log.get(alert["id"], [])[start : start + size])

    # users and sources ---------------------------------------------------------------------------------------
    def _search_email(self, req: Recorded, body: Any) -> Reply:
        wanted = str((body or {}).get("email") or "").strip().lower()
        for user in self.users.values():
            if user["email"].lower() == wanted:
                return self._ok(user)
        return Reply(404, b"", content_type=_JSON)  # documented without a body

    def _current_user(self, req: Recorded, body: Any) -> Reply:
        return self._ok(self.users[self.me_id])

    def _list_sources(self, req: Recorded, body: Any) -> Reply:
        start = max(_int(req.query.get("start-index"), 0), 0)
        size = min(max(_int(req.query.get("max-results"), SOURCES_MAX_RESULTS), 1), SOURCES_MAX_RESULTS)
        return self._ok(list(self.sources.values())[start : start + size])

    # events API ----------------------------------------------------------------------------------------------
    def _list_oncalls(self, req: Recorded, body: Any) -> Reply:
        q = req.query
        since = parse_time(q["from"][0]) if "from" in q else None
        until = parse_time(q["until"][0]) if "until" in q else since
        policies, schedules, users = _ids(q.get("policies")), _ids(q.get("schedules")), _ids(q.get("users"))
        found = []
        for entry in self.oncalls:
            start, end = parse_time(iso(entry["start"])), parse_time(iso(entry["end"]))
            if since is not None and not (start <= until and since < end):
                continue
            if (policies and entry["policy"] not in policies) or (schedules and entry["schedule"] not in schedules):
                continue
            if users and entry["user"] not in users:
                continue
            item = {
                "user": copy.deepcopy(self.users[entry["user"]]),
                "escalationPolicy": copy.deepcopy(self.policies[entry["policy"]]),
                "start": iso(entry["start"]),
                "end": iso(entry["end"]),
                "escalationLevel": entry["level"],
            }
            if entry["schedule"] is not None:
                schedule = self.schedules[entry["schedule"]]
                item["schedule"] = {k: schedule[k] for k in ("id", "name", "type")}
            found.append(item)
        return self._ok(found)

    def _list_schedules(self, req: Recorded, body: Any) -> Reply:
        start, size = _int(req.query.get("start-index"), 0), _int(req.query.get("max-results"), 20)
        return self._ok(copy.deepcopy(list(self.schedules.values())[start : start + size]))

    def _list_policies(self, req: Recorded, body: Any) -> Reply:
        start, size = _int(req.query.get("start-index"), 0), _int(req.query.get("max-results"), 50)
        return self._ok(copy.deepcopy(list(self.policies.values())[start : start + size]))

    def _event(self, req: Recorded, body: Any) -> Reply:
        if not isinstance(body, dict):
            raise Fail(400, "An event object is required", "BAD_REQUEST")
        integration_key = str(body.get("integrationKey") or "")
        source_id = next((i for i, s in self.sources.items() if s["integrationKey"] == integration_key), None)
        if source_id is None:
            raise Fail(400, "No alert source has this integration key", "INVALID_INTEGRATION_KEY")
        self._count_event(integration_key)
        event_type = body.get("eventType")
        if not str(body.get("summary") or "").strip():
            raise Fail(400, "summary is required", "BAD_REQUEST")
        key = _key(body.get("alertKey"))
        if event_type == "ALERT":
            self._alert_event(source_id, body, key)
        else:
            if not key:
                raise Fail(400, f"{event_type} events need an alertKey", "BAD_REQUEST")
            alert = self._open_alert(source_id, key)
            if alert is None:
                raise Fail(400, f"No open alert for key {body.get('alertKey')!r}", "NONE_OPEN_FOR_KEY")
            if event_type == "COMMENT":
                self._add_comments(alert, body.get("comments"))
            elif event_type == "ACCEPT" and alert["status"] == "PENDING":
                self._set_state(alert, "ACCEPTED", None)
            elif event_type == "RESOLVE":
                self._set_state(alert, "RESOLVED", None)
        self.events.append(copy.deepcopy(body))
        return Reply(202, b"", content_type=_JSON)

    def _count_event(self, integration_key: str) -> None:
        """The per-key sliding window; an event over the limit is not counted and not processed."""
        now = time.monotonic()
        window = self._event_calls.setdefault(integration_key, deque())
        while window and window[0] <= now - RATE_WINDOW:
            window.popleft()
        if len(window) >= self.event_rate_limit:
            wait = math.ceil(window[0] + RATE_WINDOW - now)
            raise Fail(429, "Too many events for this integration key", "RATE_LIMIT", {"Retry-After": str(wait)})
        window.append(now)

    def _open_alert(self, source_id: int, key: str) -> dict[str, Any] | None:
        return next(
            (
                a
                for a in self.alerts.values()
                if a["alertSource"]["id"] == source_id and _key(a.get("alertKey")) == key and a["status"] in OPEN
            ),
            None,
        )

    def _alert_event(self, source_id: int, body: dict[str, Any], key: str) -> None:
        alert = self._open_alert(source_id, key) if key else None
        if alert is not None:  # the same key while open: the event joins that alert's log
            self._log(alert, "AlertReceivedLogEntry", f"Event received: {body['summary']}")
        else:
            given = str(body.get("alertKey") or "").strip() or uuid.uuid4().hex
            alert = self._new_alert(source_id, body["summary"], body.get("priority"), given, body.get("details"))
            alert["links"] = [dict(link) for link in body.get("links") or []]
            alert["images"] = [dict(image) for image in body.get("images") or []]
        self._add_comments(alert, body.get("comments"), required=False)

    def _add_comments(self, alert: dict[str, Any], comments: Iterable[Any] | None, *, required: bool = True) -> None:
        items = [c for c in comments or [] if isinstance(c, dict) and str(c.get("content") or "").strip()]
        if required and not items:
            raise Fail(400, "COMMENT events need comments with content", "BAD_REQUEST")
        for item in items:
            comment = {"creator": str(item.get("creator") or ""), "content": str(item["content"])}
            self._comments.setdefault(alert["id"], []).append(comment)
            self._log(alert, "AlertCommentAddedLogEntry", comment["content"])


def _ids(values: list[str] | None) -> set[int]:
    return {int(float(v)) for v in values or () if v.strip()}


def _int(values: list[str] | None, default: int) -> int:
    try:
        return int(values[-1]) if values else default
    except ValueError:
        return default
