"""Forged, stale, replayed and truncated Slack requests and Rootly webhooks: every one refused, none with an effect.

A genuine request of each kind goes first (its effects are the baseline; replays copy its exact bytes and headers),
then every forgery of it. Nothing more may reach Rootly or Slack afterwards.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import requests

from bot.render.ids import Action, Block, Callback
from tests import guarantees
from tests.conftest import SIGNING_SECRET
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.slack_requests import SLASH_COMMAND, sign
from tests.test_alert_messages_e2e import WEBHOOK_SECRET, created_event
from tests.test_guarantee_idempotency import home_opened

GUARANTEE = "No one in who does not belong"
FORM = "application/x-www-form-urlencoded"


def effects(rootly: RootlyFake, slack: SlackFake) -> tuple[int, int, int]:
    """Everything the bot can do to the world: Rootly requests, Slack Web API calls, response-URL posts."""
    api_calls = sum(len(slack.calls(m)) for m in slack._methods)
    return len(rootly.requests), api_calls, len(slack.responses())


def settle(rootly: RootlyFake, slack: SlackFake, quiet: float = 0.6, timeout: float = 10) -> tuple[int, int, int]:
    """The effect counts once nothing has changed for ``quiet`` seconds (the bot works after acking)."""
    deadline = time.monotonic() + timeout
    last, since = effects(rootly, slack), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = effects(rootly, slack)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


Forgery = tuple[str, bytes, dict[str, str]]


def slack_forgeries(body: bytes, content_type: str, genuine_headers: dict[str, str]) -> list[Forgery]:
    now = int(time.time())
    ok = sign(SIGNING_SECRET, body, now)
    ct = {"Content-Type": content_type}
    v1 = ok["X-Slack-Signature"].replace("v0=", "v1=")
    huge = body + b"&pad=" + b"x" * 1_048_576  # signed correctly: refused for its size alone
    return [
        ("wrong secret", body, ct | sign("not-the-signing-secret", body, now)),
        ("unsigned", body, ct),
        ("no timestamp", body, ct | {"X-Slack-Signature": ok["X-Slack-Signature"]}),
        ("stale (6 min old)", body, ct | sign(SIGNING_SECRET, body, now - 360)),
        ("from the future (+6 min)", body, ct | sign(SIGNING_SECRET, body, now + 360)),
        ("replayed", body, genuine_headers),
        ("replayed again", body, genuine_headers),
        ("truncated", body[: len(body) // 2], ct | ok),
        ("truncated by one byte", body[:-1], ct | ok),
        ("tampered", _flip(body), ct | ok),
        ("signature of another body", body, ct | sign(SIGNING_SECRET, body + b"&x=1", now)),
        ("malformed signature", body, ct | {**ok, "X-Slack-Signature": "v0=zz"}),
        ("wrong signature version", body, ct | {**ok, "X-Slack-Signature": v1}),
        ("malformed timestamp", body, ct | {**ok, "X-Slack-Request-Timestamp": "yesterday"}),
        ("oversized", huge, ct | sign(SIGNING_SECRET, huge, now)),
    ]


def _flip(body: bytes) -> bytes:
    """The body with one byte in the middle changed (a bit flipped in transit, or an edit)."""
    middle = len(body) // 2
    return body[:middle] + bytes([body[middle] ^ 0x01]) + body[middle + 1 :]


def webhook_forgeries(body: bytes, genuine: dict[str, str]) -> list[Forgery]:
    now = int(time.time())

    def signed(payload: bytes, at: int, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
        sig = hmac.new(secret.encode(), str(at).encode() + payload, hashlib.sha256).hexdigest()
        return {"Content-Type": "application/json", "X-Rootly-Signature": f"t={at},v1={sig}"}

    ok = signed(body, now)
    return [
        ("wrong secret", body, signed(body, now, "not-the-secret")),
        ("unsigned", body, {"Content-Type": "application/json"}),
        ("stale (10 min old)", body, signed(body, now - 600)),
        ("from the future (+10 min)", body, signed(body, now + 600)),
        ("replayed", body, genuine),
        ("replayed again", body, genuine),
        ("truncated", body[: len(body) // 2], ok),
        ("tampered", _flip(body), ok),
        ("malformed header", body, {**ok, "X-Rootly-Signature": "t=abc,v1=zz"}),
        ("signature without time", body, {**ok, "X-Rootly-Signature": ok["X-Rootly-Signature"].split(",")[1]}),
        ("oversized", body + b" " * 1_048_576, signed(body + b" " * 1_048_576, now)),
    ]


def test_forged_stale_replayed_and_truncated_requests_are_all_refused(
    make_bot, rootly: RootlyFake, slack: SlackFake
) -> None:  # type: ignore[no-untyped-def]
    alert = rootly.add_alert(summary="Disk", status="triggered")
    outcomes: list[tuple[str, str, int]] = []
    with make_bot(ROOTLY_WEBHOOK_SECRET=WEBHOOK_SECRET, FEED_POLL_SECONDS="0") as bot:
        events = f"{bot.url}/slack/events"
        bot.sender.slash("feed on")
        kinds: dict[str, tuple[bytes, str]] = {
            "slash command": (
                urlencode(
                    {**SLASH_COMMAND, "response_url": slack.response_url(), "text": f"note {alert['id']} genuine"}
                ).encode(),
                FORM,
            ),
            "button": (_click_body(alert["id"], slack.response_url()), FORM),
            "view submission": (_note_submission_body(alert["id"]), FORM),
            "event": (home_opened("EvGENUINE1"), "application/json"),
        }
        for kind, (body, content_type) in kinds.items():
            genuine = {"Content-Type": content_type, **sign(SIGNING_SECRET, body)}
            first = requests.post(events, data=body, headers=genuine, timeout=10)
            assert first.status_code == 200, (kind, first.text)
            before = settle(rootly, slack)
            for name, forged, headers in slack_forgeries(body, content_type, genuine):
                resp = requests.post(events, data=forged, headers=headers, timeout=10)
                outcomes.append((f"Slack {kind}", name, resp.status_code))
                assert resp.status_code in (401, 413), (kind, name, resp.status_code, resp.text)
                assert "invalid request" in resp.text or "too large" in resp.text  # no detail beyond that
            assert settle(rootly, slack) == before, f"a forged {kind} had an effect"

        payload = created_event(rootly.add_alert(summary="Card declines", status="triggered"))
        body = json.dumps(payload).encode()
        webhook = f"{bot.url}/rootly/webhooks"
        at = int(time.time())
        sig = hmac.new(WEBHOOK_SECRET.encode(), str(at).encode() + body, hashlib.sha256).hexdigest()
        genuine = {"Content-Type": "application/json", "X-Rootly-Signature": f"t={at},v1={sig}"}
        assert requests.post(webhook, data=body, headers=genuine, timeout=10).status_code == 202
        slack.wait_calls("chat.postMessage")
        before = settle(rootly, slack)
        for name, forged, headers in webhook_forgeries(body, genuine):
            resp = requests.post(webhook, data=forged, headers=headers, timeout=10)
            outcomes.append(("Rootly webhook", name, resp.status_code))
            replay = name.startswith("replayed")
            # A replay of a genuine delivery inside the window is Rootly redelivering: answered, never handled.
            expected = {200} if replay else {401, 413}
            assert resp.status_code in expected, (name, resp.status_code, resp.text)
            if replay:
                assert resp.json() == {"status": "duplicate"}
        assert settle(rootly, slack) == before, "a forged webhook had an effect"

    refused = len(outcomes)
    guarantees.record(
        GUARANTEE,
        f"forged/stale/replayed/truncated requests ({refused}: Slack ×4 kinds, webhooks) → refused",
        f"{refused} of {refused} (100%)",
    )
    guarantees.record(GUARANTEE, "… their side effects (Rootly calls, Slack calls, replies)", 0)


def _click_body(alert_id: str, response_url: str) -> bytes:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": "U111", "username": "alice", "name": "alice", "team_id": "T111"},
        "api_app_id": "A111",
        "token": "verification_token",
        "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C111"},
        "trigger_id": "4916855695380.genuine",
        "team": {"id": "T111", "domain": "test"},
        "channel": {"id": "C111", "name": "oncall"},
        "response_url": response_url,
        "actions": [{"action_id": Action.ACKNOWLEDGE.value, "value": f"rootly:{alert_id}", "type": "button"}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def _note_submission_body(alert_id: str) -> bytes:
    value: Callable[[str], dict[str, Any]] = lambda text: {"type": "plain_text_input", "value": text}  # noqa: E731
    payload = {
        "type": "view_submission",
        "team": {"id": "T111", "domain": "test"},
        "user": {"id": "U111", "username": "alice", "name": "alice", "team_id": "T111"},
        "api_app_id": "A111",
        "trigger_id": "111.222.genuine",
        "view": {
            "id": "VGENUINE",
            "type": "modal",
            "callback_id": Callback.NOTE_MODAL.value,
            "private_metadata": json.dumps({"ref": f"rootly:{alert_id}", "channel": "C111"}),
            "state": {"values": {Block.NOTE_INPUT: {Action.NOTE_TEXT: value("a genuine note")}}},
        },
    }
    return urlencode({"payload": json.dumps(payload)}).encode()
