"""``/rootly incident …`` and ``/rootly incidents …``: the text after the command word, in, a typed command out.

Pure. ``/rootly incident <title>`` with any first word that is not a sub-command still declares an incident. Which
incident a sub-command means is decided later (:func:`bot.incidents.actions.IncidentActions.locate`): the first word
is a reference when it looks like one (a number, ``#42``, ``INC-42``, a UUID, a Rootly link, or a slug), and inside an
incident's own channel it may be left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain import OPEN_INCIDENT_STATUSES, IncidentFilters
from bot.slack.syntax import INCIDENT_SUBCOMMANDS as SUBCOMMANDS

USAGE = {
    "mitigate": "/rootly incident mitigate [<incident>] [message]",
    "resolve": "/rootly incident resolve [<incident>] [message]",
    "cancel": "/rootly incident cancel [<incident>] [message]",
    "severity": "/rootly incident severity [<incident>] <severity>",
    "note": "/rootly incident note [<incident>] <text>",
    "role": "/rootly incident role [<incident>] <role> @person",
    "task": "/rootly incident task [<incident>] <text>",
    "incidents": "/rootly incidents [severity:<name>] [status:<s>] [team:<slug>] [here]",
}
STATUSES = ("in_triage", "started", "detected", "acknowledged", "mitigated", "resolved", "closed", "cancelled")

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NUMBER = re.compile(r"(?:#|INC-)?(\d{1,9})", re.I)
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_URL = re.compile(r"https?://[^\s/]+/(?:[^\s]*/)?incidents/([^/?#\s]+)")
_LINK = re.compile(r"<([^<>|]+)(?:\|[^<>]*)?>")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_EMAIL = re.compile(r"<?(?:mailto:)?([^\s@<>|]+@[^\s@<>|]+\.[^\s@<>|]+)(?:\|[^>]*)?>?")
_HANDLE = re.compile(r"@([\w.\-]{1,80})")


@dataclass(frozen=True)
class IncidentRef:
    """What a person typed to name an incident: a number (``sequential_id``) or a key Rootly finds (UUID, slug)."""

    typed: str
    number: int | None = None
    key: str | None = None
    certain: bool = True  # False: a plain word that may be a slug, or the first word of the text


def parse_ref(word: str) -> IncidentRef | None:
    """``42``, ``#42``, ``INC-42``, a UUID, a Rootly link (``<link|label>`` too) or a slug; None otherwise."""
    raw = word.strip()
    if not raw:
        return None
    text = m.group(1) if (m := _LINK.fullmatch(raw)) else raw
    if m := _URL.match(text):
        segment = m.group(1)
        if number := re.match(r"(\d+)(?:-|$)", segment):
            return IncidentRef(raw, number=int(number.group(1)))
        return IncidentRef(raw, key=segment)
    if m := _NUMBER.fullmatch(text):
        return IncidentRef(raw, number=int(m.group(1)))
    if _UUID.fullmatch(text):
        return IncidentRef(raw, key=text.lower())
    if _SLUG.fullmatch(text):
        return IncidentRef(raw, key=text, certain=False)
    return None


@dataclass(frozen=True)
class PersonRef:
    """``<@U123>`` (a mention), an email, or ``@name`` (matched against Rootly's users)."""

    typed: str
    slack_user_id: str | None = None
    email: str | None = None
    name: str | None = None


def parse_person(word: str) -> PersonRef | None:
    if m := _MENTION.fullmatch(word):
        return PersonRef(word, slack_user_id=m.group(1))
    if m := _EMAIL.fullmatch(word):
        return PersonRef(word, email=m.group(1))
    if m := _HANDLE.fullmatch(word):
        return PersonRef(word, name=m.group(1))
    return None


@dataclass(frozen=True)
class Declare:
    title: str | None


@dataclass(frozen=True)
class ListIncidents:
    filters: IncidentFilters
    here: bool = False


@dataclass(frozen=True)
class Work:
    """A sub-command on one incident. ``ref`` is the first word when it can name an incident; ``rest`` the text
    after it; ``whole`` the text when no incident is named (inside an incident's own channel)."""

    verb: str
    ref: IncidentRef | None
    rest: str
    whole: str
    person: PersonRef | None = None

    def text(self, named: bool) -> str:
        return self.rest if named else self.whole


@dataclass(frozen=True)
class Invalid:
    verb: str
    problem: str
    typed: str | None = None

    @property
    def usage(self) -> str:
        return USAGE[self.verb]


IncidentCommand = Declare | ListIncidents | Work | Invalid


def parse(text: str, *, listing: bool = False) -> IncidentCommand:
    """``text`` is what follows ``incident`` (or ``incidents`` when ``listing``)."""
    if listing:
        return parse_listing(text)
    stripped = text.strip()
    head, _, tail = stripped.partition(" ")
    verb = head.lower()
    if verb not in SUBCOMMANDS:
        return Declare(" ".join(stripped.split()) or None)
    tail = tail.strip()
    if verb == "role":
        return _parse_role(tail)
    first, _, after = tail.partition(" ")
    ref = parse_ref(first) if first else None
    rest = after.strip() if ref is not None else tail
    work = Work(verb, ref, rest, tail)
    if verb in ("note", "task") and not tail:
        return Invalid(verb, f"The {verb} is empty: write it after the incident.")
    if verb == "severity":
        words = tail.split()
        if not words:
            return Invalid(verb, "Say which severity, e.g. `SEV1`.")
        if len(words) == 1:  # only the severity: this channel's incident
            return Work(verb, None, words[0], words[0])
        return Work(verb, ref, " ".join(words[1:]), " ".join(words))
    return work


def _parse_role(tail: str) -> IncidentCommand:
    words = tail.split()
    person = parse_person(words[-1]) if words else None
    if person is None or len(words) < 2:
        return Invalid(
            "role", "Name the role and the person last, e.g. `role 42 commander @alice`.", typed=tail or None
        )
    before = words[:-1]
    ref = parse_ref(before[0]) if len(before) > 1 else None
    rest = " ".join(before[1:]) if ref is not None else " ".join(before)
    return Work("role", ref, rest, " ".join(before), person)


def parse_listing(text: str) -> IncidentCommand:
    found: dict[str, list[str]] = {"status": [], "severity": [], "team": []}
    here = False
    for word in text.split():
        if word.lower() == "here":
            here = True
            continue
        key, sep, value = word.partition(":")
        key = key.lower()
        if not sep or key not in found or not value.strip(","):
            return Invalid(
                "incidents", f"`{word}` is not a filter. Filters: `severity:<name>` `status:<s>` `team:<slug>`."
            )
        values = [v for v in value.split(",") if v]
        if key == "status":
            bad = [v for v in values if v.lower() not in (*STATUSES, "open")]
            if bad:
                return Invalid("incidents", f"`{bad[0]}` is not a status. Statuses: {', '.join(STATUSES)}, open.")
            values = [s for v in values for s in (OPEN_INCIDENT_STATUSES if v.lower() == "open" else (v.lower(),))]
        found[key].extend(values)
    filters = IncidentFilters(
        statuses=tuple(dict.fromkeys(found["status"])) or OPEN_INCIDENT_STATUSES,
        severities=tuple(dict.fromkeys(found["severity"])),
        teams=tuple(dict.fromkeys(found["team"])),
    )
    return ListIncidents(filters, here)
