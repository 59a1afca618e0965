"""The ThreadPoster port on Slack's Web API: replies in threads (chat.postMessage with thread_ts) and reactions."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError


class SlackThreads:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def reply(self, channel: str, thread_ts: str, message: dict[str, Any], *, broadcast: bool = False) -> str:
        extra = {"reply_broadcast": True} if broadcast else {}
        resp = self.client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, unfurl_links=False, unfurl_media=False, **extra, **message
        )
        return str(resp["ts"])

    def react(self, channel: str, ts: str, name: str) -> None:
        try:
            self.client.reactions_add(channel=channel, timestamp=ts, name=name)
        except SlackApiError as exc:
            if exc.response.get("error") != "already_reacted":
                raise
