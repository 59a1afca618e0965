"""What declaring an incident needs from Slack, as a protocol, so the services never import Slack.

``bot.incidents.conversations.SlackConversations`` implements it on the Web API; tests may pass anything shaped alike.
"""

from __future__ import annotations

from typing import Any, Protocol

from bot.incidents.thread_text import ThreadMessage


class NotInChannel(Exception):
    """Slack refused to read or post because the bot is not a member of the conversation (``not_in_channel``)."""


class Conversations(Protocol):
    def thread(self, channel: str, thread_ts: str, limit: int) -> tuple[list[ThreadMessage], bool]:
        """The thread's messages, oldest first, at most ``limit``; and whether there were more.

        Raises :class:`NotInChannel` when the bot cannot read the conversation.
        """
        ...

    def permalink(self, channel: str, ts: str) -> str | None: ...

    def channel_name(self, channel: str) -> str: ...

    def post(self, channel: str, message: dict[str, Any], thread_ts: str | None = None) -> str:
        """Post (in the thread when ``thread_ts`` is given); returns the new message's ts."""
        ...

    def update(self, channel: str, ts: str, message: dict[str, Any]) -> None: ...

    def ephemeral(self, channel: str, user: str, message: dict[str, Any]) -> None: ...
