"""The ``/rootly`` command language: text in, a typed command out. Pure; the listener decides what to do."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from bot.domain import AlertChanges, AlertFilters, Backend
from bot.domain.refs import BadReference, ParsedRef, parse_alert_reference
from bot.render.ids import DEFAULT_COMMAND


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
class UpdateAlert:
    ref: ParsedRef
    changes: AlertChanges


@dataclass(frozen=True)
class Trigger:
    summary: str
    details: str | None = None
    priority: str | None = None
    key: str | None = None
    route: str | None = None
    backend: Backend | None = None


@dataclass(frozen=True)
class FeedOn:
    filters: AlertFilters


@dataclass(frozen=True)
class FeedOff:
    pass


@dataclass(frozen=True)
class FeedList:
    pass


# ``/rootly incident <word> …`` words that work on an existing incident (bot.incidents.syntax parses them); any other
# first word is the title of a new incident. Here, so the policy middleware can tell declaring apart.
INCIDENT_SUBCOMMANDS = ("mitigate", "resolve", "cancel", "severity", "note", "role", "task")


def declares_incident(rest: str) -> bool:
    """Whether ``/rootly incident <rest>`` declares a new incident (rather than working on one)."""
    return (rest.split(" ", 1)[0].lower() if rest.strip() else "") not in INCIDENT_SUBCOMMANDS


Command = (
    Help | Acknowledge | Resolve | AddNote | ListAlerts | UpdateAlert | Trigger | FeedOn | FeedOff | FeedList | Invalid
)

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


# The syntax of each command, ``{command}`` standing for the configured slash command (SLACK_COMMAND).
USAGE = {
    "ack": "{command} ack <alert>",
    "resolve": "{command} resolve <alert> [message]",
    "note": "{command} note <alert> <text>",
    "alerts": "{command} alerts [here] [service:<slug>] [urgency:<name>] [source:<name>] [status:<s>]",
    "feed": "{command} feed on [filters] | {command} feed off | {command} feed list",
    "update": '{command} update <alert> [urgency:<name>] [service:<slug>] [label:<k>=<v>] [noise:yes|no] [summary:"…"]',
    "trigger": "{command} trigger <summary> [--details …] [--priority high|low] [--key <key>] [--route <routingKey>] "
    "[--to rootly|ilert]",
    "incident": "{command} incident [title] · {command} incident mitigate|resolve|cancel|severity|note|role|task "
    "<incident> …",
    "incidents": "{command} incidents [severity:<name>] [status:<status>] [team:<name>] [here]",
    "digest": '{command} digest daily 09:00 [Area/City] | weekdays 09:00 | every 4h | cron "0 9 * * 1-5" [Area/City] '
    "[filters] [empty:skip|note] · {command} digest list | off [id] | now [filters]",
    "oncall": "{command} oncall [here] [team|schedule|escalation policy|service] · take <schedule> [for 2h] · "
    "follow <schedule|escalation policy> [mention] · unfollow [name] · following",
    "page": "{command} page <team|user|escalation policy|service> <summary>",
    "threads": "{command} threads on | off | status",
    "help": "{command} help",
}


def usage(name: str, command: str) -> str:
    """The syntax of command ``name`` as the person types it, under the configured ``command`` name."""
    return USAGE[name].format(command=command)


_ALIASES = {
    "acknowledge": "ack",
    "ack": "ack",
    "resolve": "resolve",
    "note": "note",
    "alerts": "alerts",
    "list": "alerts",
    "feed": "feed",
    "update": "update",
    "edit": "update",
    "trigger": "trigger",
    "page": "page",  # on call (bot/oncall/): page a team, user, escalation policy or service
    "oncall": "oncall",
    "on-call": "oncall",
    "incident": "incident",
    "incidents": "incidents",  # the incidents feature lists them (bot/incidents/)
    "declare": "incident",
    "digest": "digest",
    "digests": "digest",
    "threads": "threads",
    "thread": "threads",
    "help": "help",
    "?": "help",
}
# What this module parses; the other names above are feature folders' words, which the command listener hands to
# the feature (``Services.subcommands``) before this parser sees them.
CORE_COMMANDS = frozenset({"ack", "resolve", "note", "alerts", "feed", "update", "trigger", "help"})
_HEAD = re.compile(r"^\s*(\S+)(?:\s+(.*))?$", re.S)


def canonical(word: str) -> str:
    """A command word with its aliases folded (``declare`` → ``incident``, ``digests`` → ``digest``)."""
    return _ALIASES.get(word.lower(), word.lower())


def split_word(text: str) -> tuple[str, str]:
    """The first word and the rest of the text."""
    match = _HEAD.match(text or "")
    if not match:
        return "", ""
    return match.group(1), (match.group(2) or "")


def parse(text: str, command: str = DEFAULT_COMMAND) -> Command:
    """``command`` is the configured slash command's name, for the syntax that refusals show."""
    word, rest = split_word(text)
    if not word:
        return Help()
    name = _ALIASES.get(word.lower())
    if name is None:
        return Help(unknown=word)
    if name == "help":
        topic, _ = split_word(rest)
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
    if name == "update":
        return _parse_update(rest)
    if name == "trigger":
        return _parse_trigger(rest)
    if name not in CORE_COMMANDS:  # a feature's word, reached only when that feature is not set up
        return Help(unknown=word)
    ref_text, remainder = split_word(rest)
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


_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})
_YES = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}


def _parse_update(rest: str) -> Command:
    # Slack clients often turn quotes into typographic ones.
    rest = rest.translate(_QUOTES)
    try:
        words = shlex.split(rest)
    except ValueError:
        return Invalid("update", "A quote is not closed.", typed=rest.strip() or None)
    if not words:
        return Invalid("update", "Which alert?")
    try:
        ref = parse_alert_reference(words[0])
    except BadReference as exc:
        return Invalid("update", str(exc))
    summary = urgency = None
    noise: bool | None = None
    services: list[str] = []
    set_labels: list[tuple[str, str]] = []
    remove_labels: list[str] = []
    for word in words[1:]:
        key, sep, value = word.partition(":")
        key = key.lower()
        if not sep:
            return Invalid("update", f"`{word[:60]}` is not a change; write it as `key:value`.")
        if key == "summary" and value.strip():
            summary = value
        elif key == "urgency" and value.strip():
            urgency = value.strip()
        elif key in ("service", "services"):
            services.extend(v.strip() for v in value.split(",") if v.strip())
        elif key == "label" and "=" in value:
            label_key, _, label_value = value.partition("=")
            if not label_key.strip():
                return Invalid("update", "A label needs a key: `label:team=payments`.")
            if label_value.strip():
                set_labels.append((label_key.strip(), label_value.strip()))
            else:
                remove_labels.append(label_key.strip())
        elif key == "noise" and value.lower() in _YES:
            noise = _YES[value.lower()]
        else:
            return Invalid("update", f"I can't change `{word[:60]}`.")
    changes = AlertChanges(
        summary=summary,
        urgency=urgency,
        services=tuple(services) if services else None,
        set_labels=tuple(set_labels),
        remove_labels=tuple(remove_labels),
        noise=noise,
    )
    if not changes:
        return Invalid("update", "Say what to change.")
    return UpdateAlert(ref, changes)


_TRIGGER_FLAGS = ("details", "priority", "key", "route", "to")
SUMMARY_MAX = 255  # ilert's and Rootly's summaries are short titles; details carry the rest


def _parse_trigger(rest: str) -> Command:
    try:
        words = shlex.split(rest.translate(_QUOTES))
    except ValueError:
        return Invalid("trigger", "A quote is not closed.", typed=rest.strip() or None)
    parts: dict[str, list[str]] = {"summary": []}
    current = "summary"
    for word in words:
        if word.startswith("--"):
            flag = word[2:].lower()
            if flag not in _TRIGGER_FLAGS:
                return Invalid("trigger", f"`{word[:40]}` is not an option.", typed=rest.strip() or None)
            current = flag
            parts.setdefault(flag, [])
            continue
        parts[current].append(word)
    summary = " ".join(parts["summary"]).strip()
    if not summary:
        return Invalid("trigger", "Say what is wrong: the summary comes first.", typed=rest.strip() or None)
    if len(summary) > SUMMARY_MAX:
        return Invalid(
            "trigger",
            f"The summary is {len(summary)} characters; keep it under {SUMMARY_MAX} and put the rest in --details.",
            typed=rest.strip(),
        )
    priority = " ".join(parts.get("priority", [])).lower() or None
    if priority not in (None, "high", "low"):
        return Invalid("trigger", "--priority is `high` or `low`.", typed=rest.strip())
    target = " ".join(parts.get("to", [])).lower() or None
    if target not in (None, "rootly", "ilert"):
        return Invalid("trigger", "--to is `rootly` or `ilert`.", typed=rest.strip())
    return Trigger(
        summary=summary,
        details=" ".join(parts.get("details", [])) or None,
        priority=priority,
        key=" ".join(parts.get("key", [])) or None,
        route=" ".join(parts.get("route", [])) or None,
        backend=Backend(target) if target else None,
    )


def parse_labels(text: str) -> tuple[tuple[tuple[str, str], ...], list[str]]:
    """``key=value`` lines → labels, and the lines that are not of that form (to show beside the field)."""
    labels: dict[str, str] = {}
    bad: list[str] = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            bad.append(line.strip()[:40])
            continue
        labels[key.strip()] = value.strip()
    return tuple(labels.items()), bad
