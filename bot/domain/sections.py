"""Extra sections that features add to digests and to the App Home, without either knowing the features.

A feature (on call, incidents…) registers a :class:`SectionProvider` in ``bot.app``: digests ask theirs with a
:class:`DigestScope`, the App Home asks its own with the Slack user id. A provider answers an :class:`InfoSection`
(a title and a few lines of mrkdwn), or None when it has nothing to say there. One that raises or is too slow is
shown as a section that could not be read; the rest of the digest or tab still shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.domain import AlertFilters

T = TypeVar("T")


@dataclass(frozen=True)
class InfoSection:
    """A titled part of a digest or the App Home. ``title`` is plain words; ``lines`` and ``more`` are mrkdwn the
    provider escaped. ``failure`` set: the section could not be read, and says why in plain words."""

    title: str
    lines: tuple[str, ...] = ()
    more: str | None = None  # after the lines: "and 4 more — open in Rootly"
    failure: str | None = None

    @classmethod
    def failed(cls, title: str, why: str) -> InfoSection:
        return cls(title, failure=why)


@dataclass(frozen=True)
class DigestScope:
    """What a digest section is about: the channel it is posted in and the alert filters it shows."""

    channel: str
    filters: AlertFilters


@dataclass(frozen=True)
class SectionProvider(Generic[T]):
    """A feature's section: ``title`` names it when ``read`` fails, so the failure is never anonymous."""

    title: str
    read: Callable[[T], InfoSection | None]
