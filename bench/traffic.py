"""Requests the benchmarks send the bot besides ``bench.ack_latency``'s mix: feed posts by signed Rootly webhook,
clicks on the alert messages the bot posted, slash commands with any text.

Clicks carry the posted message (its ``ts`` and blocks), as Slack sends them, so the bot re-renders that very message
with ``chat.update``; the payload's shape is ``bench.ack_latency.block_actions``'s.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

from bench.ack_latency import Planned, block_actions
from tests.slack_requests import SLASH_COMMAND

WEBHOOK_SECRET = "bench-webhook-secret-0123456789"
CHANNEL = "C111"


def slash(user: str, text: str, response_url: str, kind: str = "slash") -> Planned:
    """``/rootly <text>`` typed by ``user`` in :data:`CHANNEL`."""
    form = {**SLASH_COMMAND, "user_id": user, "user_name": user.lower(), "text": text, "response_url": response_url}
    return Planned(kind, urlencode(form).encode())


def click(
    user: str, message: dict[str, Any], action_id: str, value: str, response_url: str, kind: str = "button"
) -> Planned:
    """A click on ``message`` (as the Slack fake holds it); ``value`` is the option's value for a menu."""
    payload = block_actions(user, value.rpartition("|")[2].removeprefix("rootly:"), response_url)
    action = payload["actions"][0]
    action["action_id"] = action_id
    if "|" in value:  # a menu: the chosen option, not a button value
        del action["value"]
        action |= {"type": "static_select", "selected_option": {"value": value, "text": {"type": "plain_text"}}}
    else:
        action["value"] = value
    payload["container"]["message_ts"] = message["ts"]
    payload["message"] |= {"ts": message["ts"], "text": message.get("text", ""), "blocks": message.get("blocks", [])}
    return Planned(kind, urlencode({"payload": json.dumps(payload)}).encode())


def webhook(port: int, alert_id: str, event_type: str = "alert.created") -> int:
    """One Rootly webhook delivery naming ``alert_id``, signed as Rootly signs; the bot's status code."""
    body = json.dumps(
        {
            "event": {"id": str(uuid.uuid4()), "type": event_type, "issued_at": "2025-01-01T00:00:00Z"},
            "data": {"id": alert_id},
        }
    ).encode()
    ts = str(int(time.time()))
    signature = hmac.new(WEBHOOK_SECRET.encode(), ts.encode() + body, hashlib.sha256).hexdigest()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Content-Type": "application/json", "X-Rootly-Signature": f"t={ts},v1={signature}"}
        conn.request("POST", "/rootly/webhooks", body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def buttons(message: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """``(action_id, value)`` of every button and option on a message."""
    for block in message.get("blocks") or ():
        for element in block.get("elements") or ():
            if element.get("value"):
                yield element["action_id"], element["value"]
            for option in element.get("options") or ():
                yield element["action_id"], option["value"]


def alert_of(message: dict[str, Any]) -> str | None:
    """The Rootly alert id a posted alert message is about (from its Acknowledge/Resolve button)."""
    for _, value in buttons(message):
        if value.startswith("rootly:"):
            return value.removeprefix("rootly:")
    return None


def wait_until(predicate: Callable[[], bool], timeout: float, poll: float = 0.05) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return predicate()
