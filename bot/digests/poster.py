"""Digests on Slack's Web API: one chat.postMessage per digest, carrying its slot in message metadata, and the
look-up a replica does before re-posting a slot whose first claimant died (conversations.history)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.digests.service import EVENT_TYPE, PostRefused

log = logging.getLogger(__name__)

# Answers that retrying the same post cannot change.
PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "invalid_blocks",
        "msg_blocks_too_long",
        "msg_too_long",
        "restricted_action",
    }
)
HISTORY_PAGES = 5


class SlackDigestPoster:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post(self, channel: str, message: dict[str, Any], metadata: dict[str, Any] | None = None) -> str:
        extra = {"metadata": metadata} if metadata else {}
        try:
            resp = self.client.chat_postMessage(
                channel=channel, unfurl_links=False, unfurl_media=False, **message, **extra
            )
        except SlackApiError as exc:
            code = str(exc.response.get("error") or "unknown_error")
            if code in PERMANENT:
                raise PostRefused(code) from exc
            raise
        return str(resp["ts"])

    def find_posted(self, channel: str, since: datetime, payload: dict[str, Any]) -> str | None:
        """Our digest for this slot, if the channel has it: newest messages first, until they predate ``since``."""
        cursor = None
        try:
            for _ in range(HISTORY_PAGES):
                resp = self.client.conversations_history(
                    channel=channel, include_all_metadata=True, limit=200, cursor=cursor
                )
                messages = resp.get("messages") or []
                for message in messages:
                    meta = message.get("metadata") or {}
                    if meta.get("event_type") == EVENT_TYPE and meta.get("event_payload") == payload:
                        return str(message.get("ts"))
                cursor = (resp.get("response_metadata") or {}).get("next_cursor")
                oldest = min((float(m.get("ts") or 0) for m in messages), default=0.0)
                if not resp.get("has_more") or not cursor or oldest < since.timestamp():
                    return None
        except SlackApiError as exc:
            # Without the history we cannot tell; posting again risks a duplicate, not posting risks a loss.
            code = exc.response.get("error")
            log.warning("could not read %s's history to check for a posted digest: %s", channel, code)
        return None
