"""Slack messages as plain text for Rootly: mentions resolved to names, links kept, entities unescaped. Pure.

Rootly shows incident titles, summaries and timeline events as text, where ``<@U024BE7LH>`` or ``&lt;`` mean
nothing to a reader. Names are looked up through the callables given, so this module does no I/O itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

Lookup = Callable[[str], str]

_TOKEN = re.compile(r"<([^<>\n]+)>")
_SPECIAL = {"here": "@here", "channel": "@channel", "everyone": "@everyone"}
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class ThreadMessage:
    """One Slack message of a thread, as the timeline copy needs it."""

    ts: str
    text: str
    user_id: str | None = None  # None for bot and integration messages
    author: str | None = None  # the name Slack shows for bot messages (``username``, ``bot_profile.name``)
    files: tuple[str, ...] = ()  # names of attached files

    @property
    def at(self) -> datetime:
        try:
            return datetime.fromtimestamp(float(self.ts), UTC)
        except ValueError:
            return datetime.fromtimestamp(0, UTC)


def slack_to_text(text: str, *, user_name: Lookup, channel_name: Lookup) -> str:
    """``<@U1>`` → ``@Alice``, ``<#C1|ops>`` → ``#ops``, ``<https://x|label>`` → ``label (https://x)``, and so on.

    Code blocks, emoji shortcodes (``:fire:``) and line breaks are kept as written: they read well as text.
    """

    def replace(match: re.Match[str]) -> str:
        body = match.group(1)
        target, _, label = body.partition("|")
        if target.startswith("@"):
            return "@" + (label or user_name(target[1:]))
        if target.startswith("#"):
            return "#" + (label or channel_name(target[1:]))
        if target.startswith("!"):
            name = target[1:].split("^", 1)[0]
            if name in _SPECIAL:
                return _SPECIAL[name]
            if name == "subteam":
                return label if label.startswith("@") else f"@{label or 'group'}"
            return label or name  # <!date^…|fallback> and anything newer: the fallback Slack shows
        if target.startswith("mailto:"):
            return label or target.removeprefix("mailto:")
        if label and label != target:
            return f"{label} ({target})"
        return target

    converted = _TOKEN.sub(replace, text or "")
    return converted.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def bounded(text: str, limit: int, marker: str = "…") -> str:
    return text if len(text) <= limit else text[: max(0, limit - len(marker))] + marker


def title_from(text: str, limit: int) -> str:
    """A title from a message: its first line with words in it, without quote marks, fences or bold stars."""
    for raw in text.splitlines():
        line = raw.strip().lstrip(">").replace("```", "").replace("`", "").replace("*", "")
        line = _WHITESPACE.sub(" ", line).strip().lstrip("•-").strip()
        if line:
            return bounded(line, limit)
    return ""


def timeline_entry(message: ThreadMessage, name: str, text: str, limit: int) -> str:
    """``[HH:MMZ] Name: text`` (UTC, so every reader of the timeline sees the same clock), within ``limit``."""
    body = text.strip()
    if message.files:
        attached = ", ".join(message.files)
        body = f"{body} [file: {attached}]" if body else f"[file: {attached}]"
    return bounded(f"[{message.at:%H:%M}Z] {name}: {body or '(no text)'}", limit)
