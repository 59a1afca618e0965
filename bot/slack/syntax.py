"""The ``/rootly`` command language: text in, a typed command out. Pure; the listener decides what to do."""

from __future__ import annotations

import re
from dataclasses import dataclass

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


Command = Help | Acknowledge | Resolve | AddNote | Invalid

USAGE = {
    "ack": "/rootly ack <alert>",
    "resolve": "/rootly resolve <alert> [message]",
    "note": "/rootly note <alert> <text>",
    "help": "/rootly help",
}
_ALIASES = {"acknowledge": "ack", "ack": "ack", "resolve": "resolve", "note": "note", "help": "help", "?": "help"}
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
