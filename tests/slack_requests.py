"""Correctly signed Slack requests, as Slack sends them, for end-to-end tests.

Payload shapes follow the genuine samples in ``../shared/slack-payloads/`` (slash command form fields,
``payload=`` form bodies for interactivity); ``test_slack_requests.py`` checks they stay in step with them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
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

    def __init__(self, events_url: str, signing_secret: str, response_url: str) -> None:
        self.events_url = events_url
        self.signing_secret = signing_secret
        self.response_url = response_url

    def post(
        self, body: bytes, content_type: str, *, timestamp: int | None = None, headers: dict[str, str] | None = None
    ) -> requests.Response:
        all_headers = {"Content-Type": content_type, **sign(self.signing_secret, body, timestamp), **(headers or {})}
        return requests.post(self.events_url, data=body, headers=all_headers, timeout=10)

    def slash(self, text: str, *, timestamp: int | None = None, **fields: str) -> requests.Response:
        form = {**SLASH_COMMAND, "response_url": self.response_url, "text": text, **fields}
        return self.post(urlencode(form).encode(), "application/x-www-form-urlencoded", timestamp=timestamp)

    def interactive(self, payload: dict[str, Any], **kw: Any) -> requests.Response:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.post(body, "application/x-www-form-urlencoded", **kw)
