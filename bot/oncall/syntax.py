"""The text after ``/rootly oncall`` and ``/rootly page``, as typed commands. Pure: no I/O, no Slack."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_TAKE_MINUTES = 60
MAX_TAKE_MINUTES = 7 * 24 * 60
SUMMARY_MAX = 255  # Rootly's and ilert's summaries are short titles

# ``{command}`` is the configured slash command (SLACK_COMMAND): fill it with :func:`usage`.
USAGE = {
    "oncall": "{command} oncall [here] [team|schedule|escalation policy|service] · {command} oncall take <schedule> "
    "[for 2h] · {command} oncall follow <schedule|escalation policy> [mention] · {command} oncall unfollow [name] · "
    "{command} oncall following",
    "page": "{command} page <team|user|escalation policy|service> <summary>  "
    '(quote names with spaces: "Platform team")',
}


def usage(name: str, command: str) -> str:
    return USAGE[name].format(command=command)


@dataclass(frozen=True)
class ShowOnCall:
    query: str | None = None  # a team, schedule, escalation policy or service; None: this channel's team, or all
    here: bool = False  # post it to the channel instead of answering the asker alone


@dataclass(frozen=True)
class TakePager:
    schedule: str
    minutes: int = DEFAULT_TAKE_MINUTES


@dataclass(frozen=True)
class Follow:
    name: str
    mention: bool = False


@dataclass(frozen=True)
class Unfollow:
    name: str | None = None  # None: everything this channel follows


@dataclass(frozen=True)
class Following:
    pass


@dataclass(frozen=True)
class Page:
    target: str
    summary: str


@dataclass(frozen=True)
class Invalid:
    command: str  # "oncall" or "page"
    problem: str
    typed: str | None = None


OnCallCommand = ShowOnCall | TakePager | Follow | Unfollow | Following | Invalid
PageCommand = Page | Invalid

_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})
_DURATION = re.compile(r"^(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?$", re.I)


def _words(text: str) -> list[str] | None:
    """Words, with ``"quoted names"`` kept whole; None when a quote is not closed. Apostrophes are letters."""
    text = text.translate(_QUOTES)
    if text.count('"') % 2:
        return None
    return [a or b for a, b in re.findall(r'"([^"]*)"|(\S+)', text)]


def parse_duration(text: str) -> int | None:
    """``2h``, ``30m``, ``1h30m``, ``1d`` → minutes; None when it is not a duration."""
    match = _DURATION.match(text.strip().replace(" ", ""))
    if not match or not any(match.groups()):
        return None
    days, hours, minutes = (int(g or 0) for g in match.groups())
    return days * 1440 + hours * 60 + minutes


def parse_oncall(rest: str) -> OnCallCommand:
    words = _words(rest)
    if words is None:
        return Invalid("oncall", "A quote is not closed.", typed=rest.strip() or None)
    verb = words[0].lower() if words else ""
    if verb == "take":
        return _parse_take(words[1:])
    if verb == "follow":
        mention = bool(words) and words[-1].lower() == "mention"
        name = " ".join(words[1 : len(words) - 1 if mention else len(words)]).strip()
        if not name:
            return Invalid("oncall", "Follow which schedule or escalation policy?")
        return Follow(name, mention)
    if verb == "unfollow":
        return Unfollow(" ".join(words[1:]).strip() or None)
    if verb == "following" and len(words) == 1:
        return Following()
    here = any(w.lower() == "here" for w in words)
    query = " ".join(w for w in words if w.lower() != "here").strip()
    return ShowOnCall(query or None, here)


def _parse_take(words: list[str]) -> OnCallCommand:
    minutes = DEFAULT_TAKE_MINUTES
    lowered = [w.lower() for w in words]
    if "for" in lowered:
        at = len(lowered) - 1 - lowered[::-1].index("for")
        duration = " ".join(words[at + 1 :])
        parsed = parse_duration(duration) if duration else None
        if parsed is None:
            shown = duration[:40] or "for"
            return Invalid("oncall", f"`{shown}` is not a duration: write it like `for 2h` or `for 30m`.")
        minutes, words = parsed, words[:at]
    name = " ".join(words).strip()
    if not name:
        return Invalid("oncall", "Take the pager for which schedule? Name it after `take`, e.g. `take primary for 2h`.")
    if not 1 <= minutes <= MAX_TAKE_MINUTES:
        return Invalid("oncall", "An override lasts from 1 minute to 7 days.")
    return TakePager(name, minutes)


def parse_page(rest: str) -> PageCommand:
    text = rest.translate(_QUOTES).strip()
    if not text:
        return Invalid("page", "Page whom? Name a team, user, escalation policy or service, then the summary.")
    quoted = re.match(r'"([^"]*)"\s*(.*)$', text, re.S)
    if text.startswith('"') and not quoted:
        return Invalid("page", "A quote is not closed.", typed=rest.strip())
    target, summary = (quoted.group(1), quoted.group(2)) if quoted else [*text.split(None, 1), ""][:2]
    target, summary = target.strip(), " ".join(summary.split())
    if not summary:
        return Invalid("page", f"Say what is wrong after `{target[:60]}`: the summary tells them why they are paged.")
    if len(summary) > SUMMARY_MAX:
        return Invalid(
            "page", f"The summary is {len(summary)} characters; keep it under {SUMMARY_MAX}.", typed=rest.strip()
        )
    return Page(target, summary)
