"""``/rootly digest …``: text in, a typed digest command out. Pure.

The schedule words (times, intervals, cron fields, zones) are parsed by :mod:`bot.digests.schedule`; filters by
:func:`bot.slack.syntax.parse_filters`, as ``/rootly alerts`` does. Every refusal names the part it could not use.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.digests.schedule import Cron, Kind, ScheduleError, looks_like_zone, parse_clock, parse_interval, parse_zone
from bot.digests.service import DigestRequest
from bot.digests.store import Empty
from bot.domain import AlertFilters
from bot.render.ids import DEFAULT_COMMAND
from bot.slack.syntax import FILTER_SYNTAX, FilterError, Invalid, parse_filters

_OPEN_QUOTES = {'"': '"', "“": "”", "„": "“", "'": "'", "‘": "’"}
_CLOSE_QUOTES = {'"', "”", "“", "'", "’"}
_UNIT_WORDS = {
    "s", "sec", "secs", "second", "seconds", "m", "min", "mins", "minute", "minutes",
    "h", "hr", "hrs", "hour", "hours", "d", "day", "days",
}  # fmt: skip


class DigestCommand:
    """Base of the ``/rootly digest …`` commands."""


@dataclass(frozen=True)
class DigestSubscribe(DigestCommand):
    request: DigestRequest


@dataclass(frozen=True)
class DigestList(DigestCommand):
    pass


@dataclass(frozen=True)
class DigestOff(DigestCommand):
    subscription_id: int | None  # None: every digest of the channel


@dataclass(frozen=True)
class DigestNow(DigestCommand):
    filters: AlertFilters


@dataclass(frozen=True)
class Token:
    text: str
    quoted: bool = False


class _Problem(ValueError):
    pass


def tokenize(text: str) -> list[Token]:
    """Words, where a quoted run (straight or typographic quotes, as Slack clients may send) is one word."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        if text[i] in _OPEN_QUOTES:
            close = _OPEN_QUOTES[text[i]]
            end = next((j for j in range(i + 1, n) if text[j] == close or text[j] in _CLOSE_QUOTES), -1)
            if end == -1:
                raise _Problem(f"The quote before `{text[i + 1 : i + 40]}` is never closed.")
            tokens.append(Token(text[i + 1 : end].strip(), quoted=True))
            i = end + 1
            continue
        j = i
        while j < n and not text[j].isspace():
            j += 1
        tokens.append(Token(text[i:j]))
        i = j
    return tokens


def parse_digest(text: str, command: str = DEFAULT_COMMAND) -> DigestCommand | Invalid:
    """``command``: the configured slash command, for the examples in refusals."""
    try:
        tokens = tokenize(text)
        return _parse(tokens, command)
    except (_Problem, ScheduleError, FilterError) as exc:
        return Invalid("digest", str(exc))


def _parse(tokens: list[Token], command: str) -> DigestCommand:
    if not tokens:
        raise _Problem('Say when: `daily 09:00`, `weekdays 09:00`, `every 4h` or `cron "0 9 * * 1-5"`.')
    verb, args = tokens[0].text.lower(), tokens[1:]
    if verb == "list":
        _nothing_after(args, "list")
        return DigestList()
    if verb in ("off", "stop", "remove"):
        return _parse_off(args, command)
    if verb == "now":
        return DigestNow(parse_filters([t.text for t in args]))
    if verb in ("daily", "weekdays"):
        if not args:
            raise _Problem(f"Say at what time: `{command} digest {verb} 09:00`.")
        kind = Kind.DAILY if verb == "daily" else Kind.WEEKDAYS
        return _subscribe(kind, parse_clock(args[0].text), args[1:])
    if verb == "every":
        if not args:
            raise _Problem(f"Say how often: `{command} digest every 4h` (or `30m`, `1d`).")
        if len(args) > 1 and args[0].text.isdigit() and args[1].text.lower() in _UNIT_WORDS:
            return _subscribe(Kind.EVERY, str(parse_interval(args[0].text + args[1].text)), args[2:])
        return _subscribe(Kind.EVERY, str(parse_interval(args[0].text)), args[1:])
    if verb == "cron":
        return _parse_cron(args, command)
    raise _Problem(f"I don't know `digest {tokens[0].text[:40]}`.")


def _parse_cron(args: list[Token], command: str) -> DigestCommand:
    if not args:
        raise _Problem(f'Give the cron expression in quotes: `{command} digest cron "0 9 * * 1-5"`.')
    if args[0].quoted:
        expression, rest = args[0].text, args[1:]
    else:  # five bare fields are understood too
        fields = []
        for token in args:
            if len(fields) == 5 or ":" in token.text or looks_like_zone(token.text):
                break
            fields.append(token.text)
        expression, rest = " ".join(fields), args[len(fields) :]
    cron = Cron.parse(expression)
    return _subscribe(Kind.CRON, cron.text, rest)


def _subscribe(kind: Kind, spec: str, rest: list[Token]) -> DigestSubscribe:
    zone: str | None = None
    empty = Empty.SKIP
    filter_words: list[str] = []
    for token in rest:
        word = token.text
        lower = word.lower()
        if lower.startswith("empty:"):
            value = lower.partition(":")[2]
            if value not in (Empty.SKIP, Empty.NOTE):
                raise _Problem(f"`{word[:40]}`: `empty:` takes `skip` (post nothing) or `note` (post one line).")
            empty = Empty(value)
        elif ":" in word:
            filter_words.append(word)
        elif looks_like_zone(word):
            if zone is not None:
                raise _Problem(f"Two time zones (`{zone}` and `{word[:40]}`): give one.")
            zone = parse_zone(word)
        else:
            raise _Problem(
                f"I don't understand `{word[:40]}` here. After the schedule come an optional time zone (`Area/City`),"
                f" filters {FILTER_SYNTAX} and `empty:skip` or `empty:note`."
            )
    return DigestSubscribe(DigestRequest(kind, spec, zone, parse_filters(filter_words), empty))


def _parse_off(args: list[Token], command: str) -> DigestOff:
    if not args:
        return DigestOff(None)
    _nothing_after(args[1:], "off <id>")
    raw = args[0].text.lstrip("#")
    if not raw.isdigit():
        raise _Problem(f"`{args[0].text[:40]}` is not a digest id: `{command} digest list` shows them (`#3` or `3`).")
    return DigestOff(int(raw))


def _nothing_after(args: list[Token], what: str) -> None:
    if args:
        raise _Problem(f"`digest {what}` takes nothing more (I got `{args[0].text[:40]}`).")
