"""The ``/rootly`` command language: text in, a typed command out. Pure; the listener decides what to do."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain import AlertFilters
from bot.refs import BadReference, ParsedRef, parse_alert_reference


@dataclass(frozen=True)
class Help:
    topic: str | None = None
    unknown: str | None = None  # what the person typed that was not a command


@dataclass(frozen=True)
class Acknowledge:
    ref: ParsedRef


@dataclass(frozen=True)
class Resolve:
    ref: ParsedRef
    message: str | None


@dataclass(frozen=True)
class AddNote:
    ref: ParsedRef
    text: str


@dataclass(frozen=True)
class Invalid:
    """Understood which command, but not its arguments: say what is wrong and show the syntax."""

    command: str
    problem: str
    typed: str | None = None  # text worth handing back so it is not lost


@dataclass(frozen=True)
class ListAlerts:
    filters: AlertFilters
    here: bool = False  # post to the channel for everyone instead of an ephemeral list


@dataclass(frozen=True)
class FeedOn:
    filters: AlertFilters


@dataclass(frozen=True)
class FeedOff:
    pass


@dataclass(frozen=True)
class FeedList:
    pass


Command = Help | Acknowledge | Resolve | AddNote | ListAlerts | FeedOn | FeedOff | FeedList | Invalid

STATUSES = ("open", "triggered", "acknowledged", "resolved", "deferred")
FILTER_SYNTAX = "`service:<slug>` `urgency:<name>` `source:<name>` `status:<open|triggered|acknowledged|resolved>`"


class FilterError(ValueError):
    """A filter word the bot cannot use; the message names it and the accepted forms."""


def parse_filters(words: list[str], *, default_statuses: tuple[str, ...] = ("open", "triggered")) -> AlertFilters:
    """``service:api status:triggered,open urgency:High`` → AlertFilters; repeated keys add values."""
    found: dict[str, list[str]] = {"status": [], "service": [], "urgency": [], "source": [], "label": []}
    for word in words:
        key, sep, value = word.partition(":")
        key = key.lower()
        if key == "services":
            key = "service"
        if not sep or key not in found:
            raise FilterError(f"I don't understand the filter `{word[:60]}`. Filters: {FILTER_SYNTAX}.")
        values = [v.strip() for v in value.split(",") if v.strip()]
        if not values:
            raise FilterError(f"The filter `{word[:60]}` has no value.")
        if key == "status":
            bad = [v for v in values if v.lower() not in STATUSES]
            if bad:
                raise FilterError(f"`{bad[0][:40]}` is not an alert status. Use one of: {', '.join(STATUSES)}.")
            values = [v.lower() for v in values]
        if key == "label" and any("=" not in v and ":" not in v for v in values):
            raise FilterError("A label filter is written `label:key=value`.")
        found[key].extend(values)
    return AlertFilters(
        statuses=tuple(dict.fromkeys(found["status"])) or default_statuses,
        services=tuple(dict.fromkeys(found["service"])),
        urgencies=tuple(dict.fromkeys(found["urgency"])),
        sources=tuple(dict.fromkeys(found["source"])),
        labels=tuple(v.replace("=", ":", 1) for v in dict.fromkeys(found["label"])),
    )


USAGE = {
    "ack": "/rootly ack <alert>",
    "resolve": "/rootly resolve <alert> [message]",
    "note": "/rootly note <alert> <text>",
    "alerts": "/rootly alerts [here] [service:<slug>] [urgency:<name>] [source:<name>] [status:<s>]",
    "feed": "/rootly feed on [filters] | /rootly feed off | /rootly feed list",
    "help": "/rootly help",
}
_ALIASES = {
    "acknowledge": "ack",
    "ack": "ack",
    "resolve": "resolve",
    "note": "note",
    "alerts": "alerts",
    "list": "alerts",
    "feed": "feed",
    "help": "help",
    "?": "help",
}
_HEAD = re.compile(r"^\s*(\S+)(?:\s+(.*))?$", re.S)


def _split(text: str) -> tuple[str, str]:
    match = _HEAD.match(text or "")
    if not match:
        return "", ""
    return match.group(1), (match.group(2) or "")


def parse(text: str) -> Command:
    word, rest = _split(text)
    if not word:
        return Help()
    name = _ALIASES.get(word.lower())
    if name is None:
        return Help(unknown=word)
    if name == "help":
        topic, _ = _split(rest)
        return Help(topic=_ALIASES.get(topic.lower()) if topic else None)
    if name == "alerts":
        words = rest.split()
        here = any(w.lower() == "here" for w in words)
        try:
            return ListAlerts(parse_filters([w for w in words if w.lower() != "here"]), here=here)
        except FilterError as exc:
            return Invalid(name, str(exc))
    if name == "feed":
        return _parse_feed(rest.split())
    ref_text, remainder = _split(rest)
    try:
        ref = parse_alert_reference(ref_text)
    except BadReference as exc:
        return Invalid(name, str(exc), typed=remainder.strip() or None)
    if name == "ack":
        if remainder.strip():
            return Invalid(name, "`ack` takes one alert and nothing else.")
        return Acknowledge(ref)
    if name == "resolve":
        return Resolve(ref, remainder.strip() or None)
    if not remainder.strip():
        return Invalid(name, "The note is empty: write it after the alert.")
    return AddNote(ref, remainder.strip())


def _parse_feed(words: list[str]) -> Command:
    verb = words[0].lower() if words else ""
    if verb == "off" and len(words) == 1:
        return FeedOff()
    if verb == "list" and len(words) == 1:
        return FeedList()
    if verb == "on":
        try:
            return FeedOn(parse_filters(words[1:], default_statuses=()))
        except FilterError as exc:
            return Invalid("feed", str(exc))
    return Invalid("feed", "Say `on` (with optional filters), `off` or `list`.")
