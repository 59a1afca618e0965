"""The ``Conversations`` port on Slack's Web API: read threads, permalinks and channel names; post and update."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.incidents.ports import NotInChannel
from bot.incidents.thread_text import ThreadMessage
from bot.support.cache import TTLCache

log = logging.getLogger(__name__)

# Slack answers these when the bot may not read a conversation: a public channel it has not joined
# (not_in_channel), or a private one it was never invited to, which it cannot even see (channel_not_found).
_NOT_A_MEMBER = ("not_in_channel", "channel_not_found")
_PAGE = 200  # Slack recommends at most 200 messages a conversations.replies page


def thread_message(raw: dict[str, Any]) -> ThreadMessage:
    """A Slack message object as the timeline copy needs it."""
    bot_name = (raw.get("bot_profile") or {}).get("name")
    files = tuple(str(f.get("name") or f.get("title") or "file") for f in raw.get("files") or () if isinstance(f, dict))
    return ThreadMessage(
        ts=str(raw.get("ts") or "0"),
        text=str(raw.get("text") or ""),
        user_id=raw.get("user") if not raw.get("username") else None,
        author=raw.get("username") or bot_name,
        files=files,
    )


class SlackConversations:
    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._channel_names: TTLCache[str, str] = TTLCache(3600.0)

    def thread(self, channel: str, thread_ts: str, limit: int) -> tuple[list[ThreadMessage], bool]:
        messages: list[ThreadMessage] = []
        cursor: str | None = None
        while True:
            try:
                page = self.client.conversations_replies(
                    channel=channel, ts=thread_ts, limit=min(_PAGE, limit), cursor=cursor
                )
            except SlackApiError as exc:
                error = str(exc.response.get("error") or "")
                if error in _NOT_A_MEMBER:
                    raise NotInChannel(error) from exc
                raise
            for raw in page.get("messages") or ():
                if len(messages) >= limit:
                    return messages, True
                messages.append(thread_message(raw))
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not page.get("has_more") or not cursor:
                return messages, False
            if len(messages) >= limit:
                return messages, True

    def permalink(self, channel: str, ts: str) -> str | None:
        try:
            return str(self.client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])
        except SlackApiError as exc:
            log.info("no permalink for %s/%s: %s", channel, ts, exc.response.get("error"))
            return None

    def channel_name(self, channel: str) -> str:
        cached = self._channel_names.get(channel)
        if cached:
            return cached
        try:
            name = str((self.client.conversations_info(channel=channel).get("channel") or {}).get("name") or channel)
        except SlackApiError:
            return channel
        self._channel_names.put(channel, name)
        return name

    def post(self, channel: str, message: dict[str, Any], thread_ts: str | None = None) -> str:
        extra = {"thread_ts": thread_ts} if thread_ts else {}
        resp = self.client.chat_postMessage(channel=channel, unfurl_links=False, unfurl_media=False, **extra, **message)
        return str(resp["ts"])

    def update(self, channel: str, ts: str, message: dict[str, Any]) -> None:
        self.client.chat_update(channel=channel, ts=ts, **message)

    def ephemeral(self, channel: str, user: str, message: dict[str, Any]) -> None:
        self.client.chat_postEphemeral(channel=channel, user=user, **message)
