"""What services need from Slack, as protocols, so services never import Slack (tests pass fakes or the real
Slack-backed implementations from ``bot.slack``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Profile:
    slack_user_id: str
    name: str
    email: str | None


class Directory(Protocol):
    def profile(self, slack_user_id: str) -> Profile: ...


class Messenger(Protocol):
    """Posting and editing bot messages in channels."""

    def post(self, channel: str, message: dict) -> str:
        """Post; returns the message ts."""
        ...

    def update(self, channel: str, ts: str, message: dict) -> None: ...
