"""Correctly signed Slack requests, as Slack sends them, for end-to-end tests.

Payload shapes follow the genuine samples in ``../shared/slack-payloads/`` (slash command form fields,
``payload=`` form bodies for interactivity); ``test_slack_requests.py`` checks they stay in step with them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from typing import Any
from urllib.parse import urlencode

import requests

SLASH_COMMAND: dict[str, str] = {
    "token": "verification_token",
    "team_id": "T111",
    "team_domain": "test-domain",
    "channel_id": "C111",
    "channel_name": "oncall",
    "user_id": "U111",
    "user_name": "alice",
    "command": "/rootly",
    "text": "",
    "api_app_id": "A111",
    "response_url": "",
    "trigger_id": "111.111.xxx",
}


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


class SlackSender:
    """Posts to the bot's ``/slack/events`` the way Slack does."""

    # Every (second, body) signed by any sender: replicas share one database, and with it the memory of signatures.
    _signed: set[tuple[int, str]] = set()  # noqa: RUF012 - shared on purpose
    _lock = threading.Lock()

    def __init__(self, events_url: str, signing_secret: str, response_url: str) -> None:
        self.events_url = events_url
        self.signing_secret = signing_secret
        self.response_url = response_url

    def _fresh_timestamp(self, body: bytes) -> int:
        """Now, or a second earlier for each identical body already signed at that second.

        Slack signs every delivery afresh and the bot refuses a signature it has seen (a replay); tests that send
        the same bytes twice in one second are two deliveries, so they get two signatures, as from Slack.
        """
        digest = hashlib.sha256(body).hexdigest()
        with self._lock:
            ts = int(time.time())
            while (ts, digest) in self._signed:
                ts -= 1
            self._signed.add((ts, digest))
            return ts

    def post(
        self, body: bytes, content_type: str, *, timestamp: int | None = None, headers: dict[str, str] | None = None
    ) -> requests.Response:
        ts = self._fresh_timestamp(body) if timestamp is None else timestamp
        all_headers = {"Content-Type": content_type, **sign(self.signing_secret, body, ts), **(headers or {})}
        return requests.post(self.events_url, data=body, headers=all_headers, timeout=10)

    def slash(self, text: str, *, timestamp: int | None = None, **fields: str) -> requests.Response:
        form = {**SLASH_COMMAND, "response_url": self.response_url, "text": text, **fields}
        return self.post(urlencode(form).encode(), "application/x-www-form-urlencoded", timestamp=timestamp)

    def interactive(self, payload: dict[str, Any], **kw: Any) -> requests.Response:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.post(body, "application/x-www-form-urlencoded", **kw)

    def click(
        self,
        action_id: str,
        value: str,
        *,
        user: str = "U111",
        channel: str = "C111",
        message: dict[str, Any] | None = None,
        ephemeral: bool = False,
        selected: bool = False,
        **kw: Any,
    ) -> requests.Response:
        """A button click (or a select/overflow choice with ``selected``) on a message, as block_actions."""
        ts = (message or {}).get("ts") or "1700000000.000100"
        action: dict[str, Any] = {"action_id": action_id, "block_id": "b", "action_ts": "1700000001.000200"}
        if selected:
            action |= {"type": "overflow", "selected_option": {"value": value, "text": {"type": "plain_text"}}}
        else:
            action |= {"type": "button", "value": value, "text": {"type": "plain_text", "text": "x"}}
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user, "username": "alice", "name": "alice", "team_id": "T111"},
            "api_app_id": "A111",
            "token": "verification_token",
            "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": ephemeral},
            "trigger_id": "4916855695380.xxx.yyy",
            "team": {"id": "T111", "domain": "test"},
            "channel": {"id": channel, "name": "oncall"},
            "state": {"values": {}},
            "response_url": self.response_url,
            "actions": [action],
        }
        if message is not None and not ephemeral:
            payload["message"] = {"type": "message", "ts": ts, "text": message.get("text", ""), **message}
        return self.interactive(payload, **kw)

    def submit_view(
        self, view: dict[str, Any], values: dict[str, dict[str, dict[str, Any]]], *, user: str = "U111", **kw: Any
    ) -> requests.Response:
        """Submit a modal the bot opened (as the Slack fake recorded it), with input ``values``."""
        payload = {
            "type": "view_submission",
            "team": {"id": "T111", "domain": "test"},
            "user": {"id": user, "username": "alice", "name": "alice", "team_id": "T111"},
            "api_app_id": "A111",
            "token": "verification_token",
            "trigger_id": "111.222.valid",
            "view": {**view, "state": {"values": values}},
            "response_urls": [],
        }
        return self.interactive(payload, **kw)
