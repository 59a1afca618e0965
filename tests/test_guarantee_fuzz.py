"""Fuzzing every way in: slash command text, button values, view submissions, whole interaction payloads and
webhook bodies, random and hostile (oversized, malformed JSON, wrong types, unicode, Slack markup, injection
strings), all correctly signed so they reach the code behind the signature check.

Every case must get an answer below 500, no listener may fail (nothing logged at ERROR), nothing the bot then sends
may break Rootly's contract or Slack's limits, and a person who typed or clicked something gets a clear answer.
``GUARANTEE_FUZZ_EXAMPLES`` sets the examples per surface (default 100); the runs are derandomized, so CI is stable.
The long run (10,000 a surface, about an hour on 2 cores) is ``GUARANTEE_FUZZ_EXAMPLES=10000 .venv/bin/python -m
pytest tests/test_guarantee_fuzz.py -o timeout=0 -p no:randomly -s`` (see bench/README.md, *Fuzzing at size*).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import Settings
from bot.render.ids import Action, Block, Callback
from tests import guarantees
from tests.conftest import BOT_TOKEN, ROOTLY_TOKEN, BotServer, RunningBot, bot_env
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.fuzz_surfaces import NASTY  # the hostile strings of the long fuzz run too
from tests.test_alert_messages_e2e import WEBHOOK_SECRET, signed_webhook
from tests.waiting import wait_until

GUARANTEE = "Fuzzing"
FUZZ = settings(
    max_examples=guarantees.FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

WORDS = [
    "ack",
    "resolve",
    "note",
    "alerts",
    "alerts here",
    "update",
    "trigger",
    "digest",
    "digest daily",
    "digest cron",
    "feed",
    "feed on",
    "incident",
    "help",
]
text = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=200),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=2000, max_size=12000),
)
command_text = st.one_of(st.builds(lambda w, t: f"{w} {t}", st.sampled_from(WORDS), text), text)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
ALERT_BUTTONS = [Action.ACKNOWLEDGE, Action.RESOLVE, Action.ADD_NOTE, Action.DECLARE_INCIDENT]


class ErrorLog(logging.Handler):
    """Everything the bot, Bolt or waitress logs at ERROR: an unhandled exception anywhere behind a request."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self._lock2 = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("bot", "slack_bolt", "waitress")):
            with self._lock2:
                self.records.append(record)


class Fuzz:
    """One bot for the whole module (hypothesis runs many examples against it), its fakes, and counters."""

    def __init__(self, tmp: Path) -> None:
        self.rootly = RootlyFake(token=ROOTLY_TOKEN).start()
        self.slack = SlackFake(bot_token=BOT_TOKEN).start()
        self.slack.add_user("U111", "alice@example.com", "Alice Example")
        env = bot_env(tmp, self.rootly, self.slack, ROOTLY_WEBHOOK_SECRET=WEBHOOK_SECRET, FEED_POLL_SECONDS="0")
        self.server = BotServer(Settings.from_env(env), self.slack.response_url())
        self.bot: RunningBot = self.server.__enter__()
        self.alert = self.rootly.add_alert(summary="Fuzzed alert", status="triggered")
        self.cases: dict[str, int] = {}
        self.errors = ErrorLog()
        logging.getLogger().addHandler(self.errors)

    def visible(self) -> int:
        """What a person could see: replies, opened or updated views, messages."""
        methods = (
            "views.open",
            "views.update",
            "views.publish",
            "chat.postMessage",
            "chat.update",
            "chat.postEphemeral",
        )
        return len(self.slack.responses()) + sum(len(self.slack.calls(m)) for m in methods)

    def answered_after(self, before: int, timeout: float = 10.0) -> bool:
        try:
            return wait_until(lambda: self.visible() > before, timeout, 0.01)
        except AssertionError:
            return False

    def count(self, surface: str) -> None:
        self.cases[surface] = self.cases.get(surface, 0) + 1

    def close(self) -> None:
        logging.getLogger().removeHandler(self.errors)
        self.server.__exit__(None, None, None)
        self.rootly.stop()
        self.slack.stop()


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzz]:
    state = Fuzz(tmp_path_factory.mktemp("fuzz"))
    try:
        yield state
    finally:
        time.sleep(0.5)  # let background work finish before the last checks
        state.close()
    total = sum(state.cases.values())
    guarantees.record(
        GUARANTEE,
        "cases tried (" + ", ".join(f"{k} {v}" for k, v in state.cases.items()) + ")",
        total,
    )
    failures = [f"{r.name}: {r.getMessage()[:200]}\n{_where(r)}" for r in state.errors.records]
    guarantees.record(
        GUARANTEE,
        "5xx answers / unhandled exceptions / contract or Slack-limit violations",
        f"0 / {len(failures)} / {len(state.rootly.violations) + len(state.slack.violations)}",
    )
    print("\n\n".join(failures))
    assert failures == []
    assert state.rootly.violations == [] and state.slack.violations == []


@FUZZ
@given(typed=command_text)
def test_slash_command_text(fuzz: Fuzz, typed: str) -> None:
    fuzz.count("slash")
    before = fuzz.visible()
    resp = fuzz.bot.sender.slash(typed)
    assert resp.status_code == 200, resp.text
    # Bolt answers a text-only ack as text/plain, which Slack shows like an ephemeral message.
    answer = resp.json().get("text") if resp.headers["Content-Type"].startswith("application/json") else resp.text
    assert answer or fuzz.answered_after(before), f"no answer to /rootly {typed[:80]!r}"


@FUZZ
@given(action=st.sampled_from(ALERT_BUTTONS), value=st.one_of(text, st.builds(lambda t: f"rootly:{t}", text)))
def test_button_values(fuzz: Fuzz, action: Action, value: str) -> None:
    fuzz.count("buttons")
    before = fuzz.visible()
    resp = fuzz.bot.sender.click(action, value[:2000])
    assert resp.status_code == 200, resp.text
    assert fuzz.answered_after(before), f"no answer to {action} with {value[:80]!r}"


@FUZZ
@given(
    callback=st.sampled_from([Callback.NOTE_MODAL.value, Callback.INCIDENT_MODAL.value]),
    metadata=st.one_of(text, st.builds(json.dumps, json_values), st.just('{"ref": "rootly:nope"}')),
    typed=text,
)
def test_view_submissions(fuzz: Fuzz, callback: str, metadata: str, typed: str) -> None:
    fuzz.count("views")
    block, action = (
        (Block.NOTE_INPUT, Action.NOTE_TEXT)
        if callback == Callback.NOTE_MODAL
        else (Block.INCIDENT_TITLE, Action.INCIDENT_TITLE)
    )
    view = {"id": f"V{abs(hash((metadata, typed))) % 10**8}", "type": "modal", "callback_id": callback}
    view["private_metadata"] = metadata[:3000]
    values = {block: {action: {"type": "plain_text_input", "value": typed[:3000]}}}
    resp = fuzz.bot.sender.submit_view(view, values)
    assert resp.status_code == 200, resp.text
    if resp.content:  # errors beside a field, or the modal updated with progress or an outcome
        assert resp.json().get("response_action") in ("errors", "update", "clear"), resp.text


@FUZZ
@given(
    kind=st.sampled_from(["block_actions", "view_submission", "message_action", "block_suggestion", "shortcut"]),
    payload=st.dictionaries(
        st.sampled_from(["user", "actions", "view", "container", "channel", "message", "callback_id", "team"]),
        json_values,
        max_size=6,
    ),
)
def test_interaction_payloads_of_the_wrong_shape(fuzz: Fuzz, kind: str, payload: dict[str, Any]) -> None:
    fuzz.count("payloads")
    resp = fuzz.bot.sender.interactive({"type": kind, "team": {"id": "T111"}, **payload})
    assert resp.status_code < 500, resp.text


@FUZZ
@given(
    event=st.one_of(
        st.fixed_dictionaries(
            {"type": st.just("app_home_opened"), "user": st.one_of(st.just("U111"), text), "tab": st.just("home")},
            optional={"channel": text, "event_ts": text, "view": json_values},
        ),
        st.dictionaries(st.sampled_from(["type", "user", "tab", "channel", "text", "ts"]), json_values, max_size=5),
    ),
    envelope=st.dictionaries(st.sampled_from(["team_id", "api_app_id", "event_id", "event_time"]), json_values),
)
def test_events_api_callbacks(fuzz: Fuzz, event: dict[str, Any], envelope: dict[str, Any]) -> None:
    """Events API deliveries (``event_callback``): the one the bot subscribes to (``app_home_opened``) with
    fuzzed fields, and events of any shape."""
    fuzz.count("events")
    body = {"token": "x", "team_id": "T111", "api_app_id": "A111", **envelope, "type": "event_callback"}
    body["event"] = event
    body.setdefault("event_id", f"Ev{abs(hash(json.dumps(event, sort_keys=True, default=str))) % 10**10}")
    resp = fuzz.bot.sender.post(json.dumps(body).encode(), "application/json")
    assert resp.status_code < 500, resp.text


@FUZZ
@given(body=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_form_bodies_that_are_not_slack_shaped(fuzz: Fuzz, body: bytes) -> None:
    fuzz.count("raw bodies")
    for content_type in ("application/x-www-form-urlencoded", "application/json"):
        resp = fuzz.bot.sender.post(body, content_type)
        assert resp.status_code < 500, resp.text
    resp = fuzz.bot.sender.post(
        urlencode({"payload": body.decode("utf-8", "replace")}).encode(), "application/x-www-form-urlencoded"
    )
    assert resp.status_code < 500, resp.text


@FUZZ
@given(payload=st.one_of(json_values, st.fixed_dictionaries({"event": json_values, "data": json_values})))
def test_webhook_bodies(fuzz: Fuzz, payload: Any) -> None:
    fuzz.count("webhooks")
    resp = signed_webhook(fuzz.bot.url, payload)
    assert resp.status_code in (200, 202, 400), resp.text
    assert isinstance(resp.json(), dict)


def test_webhook_bodies_that_are_not_json(fuzz: Fuzz) -> None:
    for body in (b"", b"{", b"\xff\xfe", b"[]", b"null", b"x" * 100_000):
        fuzz.count("webhooks")
        import hashlib
        import hmac

        ts = str(int(time.time()))
        sig = hmac.new(WEBHOOK_SECRET.encode(), ts.encode() + body, hashlib.sha256).hexdigest()
        resp = requests.post(
            f"{fuzz.bot.url}/rootly/webhooks", data=body, headers={"X-Rootly-Signature": f"t={ts},v1={sig}"}, timeout=10
        )
        assert resp.status_code == 400, resp.text


def _where(record: logging.LogRecord) -> str:
    """The bot's own frames of a logged exception, to find the failing listener from the test report."""
    if not record.exc_info:
        return ""
    trace = logging.Formatter().formatException(record.exc_info).splitlines()
    return "\n".join(line for line in trace if "/bot/" in line or not line.startswith("  "))[-1500:]
