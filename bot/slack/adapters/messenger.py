"""The Messenger port on Slack's Web API (chat.postMessage / chat.update)."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient


class SlackMessenger:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post(self, channel: str, message: dict[str, Any]) -> str:
        resp = self.client.chat_postMessage(channel=channel, unfurl_links=False, unfurl_media=False, **message)
        return str(resp["ts"])

    def update(self, channel: str, ts: str, message: dict[str, Any]) -> None:
        self.client.chat_update(channel=channel, ts=ts, **message)
