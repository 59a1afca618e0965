"""``/rootly threads on|off|status`` and which Slack messages are thread replies that may become notes. Pure."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from bot.slack.syntax import Invalid


class ThreadsCommand:
    """Base of the ``/rootly threads …`` commands."""


@dataclass(frozen=True)
class ThreadsOn(ThreadsCommand):
    pass


@dataclass(frozen=True)
class ThreadsOff(ThreadsCommand):
    pass


@dataclass(frozen=True)
class ThreadsStatus(ThreadsCommand):
    pass


def parse_threads(rest: str) -> ThreadsCommand | Invalid:
    word = rest.strip().lower()
    if word in ("on", "enable", "yes"):
        return ThreadsOn()
    if word in ("off", "disable", "no"):
        return ThreadsOff()
    if word in ("", "status"):
        return ThreadsStatus()
    return Invalid("threads", f"`{rest.strip()[:40]}` is not something threads can be: say `on`, `off` or `status`.")


@dataclass(frozen=True)
class ThreadReply:
    """A person's reply in a thread: what may become a note."""

    channel: str
    thread_ts: str
    ts: str
    user: str
    text: str


# Subtypes that are still a person's new message (a reply also sent to the channel, a reply with a file).
_PERSON_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})
_SHORTCODE = re.compile(r":[a-z0-9_+\-']+:", re.I)
_EMOJI_JOINERS = {"\u200d", "\ufe0f", "\ufe0e", "\u20e3"}


def only_emoji(text: str) -> bool:
    """``:+1:``, ``👍🏽``, ``✅ ✅``: a reaction typed as a reply, not a note."""
    rest = _SHORTCODE.sub("", text)
    rest = "".join(
        ch
        for ch in rest
        if not ch.isspace() and ch not in _EMOJI_JOINERS and unicodedata.category(ch) not in ("So", "Sk")
    )
    rest = "".join(ch for ch in rest if not 0x1F3FB <= ord(ch) <= 0x1F3FF)  # skin tones
    return rest == "" and text.strip() != ""


def skipped(text: str) -> bool:
    """Replies that stay in Slack: empty, only emoji, or starting with ``//`` (a side remark)."""
    stripped = text.strip()
    return not stripped or stripped.startswith("//") or only_emoji(stripped)


def thread_reply(event: dict[str, Any]) -> ThreadReply | None:
    """The reply in an Events API ``message`` event, or None for anything that must not become a note: the bot's
    or another bot's messages, edits, deletions, top-level messages, direct messages, and skipped replies."""
    if event.get("type") != "message" or event.get("subtype") not in _PERSON_SUBTYPES:
        return None
    if event.get("bot_id") or event.get("bot_profile") or not event.get("user"):
        return None
    if event.get("channel_type") not in (None, "channel", "group"):
        return None
    ts, thread_ts = str(event.get("ts") or ""), str(event.get("thread_ts") or "")
    if not ts or not thread_ts or ts == thread_ts:
        return None
    text = str(event.get("text") or "")
    if skipped(text):
        return None
    return ThreadReply(str(event.get("channel") or ""), thread_ts, ts, str(event["user"]), text.strip())
