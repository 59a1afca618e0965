"""One alert as a Slack message: what it is, the state it is in, who touched it last, and what can be done now.

Buttons are derived from the alert's state alone (Grafana OnCall's rule), so re-rendering from whatever the API
returned after an action is always right, never stale.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    BlockElement,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    MarkdownTextObject,
    Option,
    OverflowMenuElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.blocks import Block as SlackBlock

from bot.domain import Alert, AlertRef, AlertStatus, Backend
from bot.render.ids import Action, Block
from bot.render.text import (
    code,
    escape_bounded,
    join_bounded,
    link,
    slack_date,
    status_emoji,
    truncate,
    within_message_limits,
)

BACKEND_NAMES = {Backend.ROOTLY: "Rootly", Backend.ILERT: "ilert"}
# Slack caps option values in overflow menus at 75 characters (select menus allow more; we use the stricter one).
OPTION_VALUE_MAX = 75
LINE_SUMMARY_MAX = 150
_LABEL_MAX = 64
_KEY_MAX = 40
_VALUE_MAX = 80
_DESCRIPTION_LINES = 8
_CONFIRM_SUMMARY_MAX = 100
_MENTION = re.compile(r"^<@[UW][A-Z0-9]+>$")


@dataclass(frozen=True)
class Stamp:
    """Who did what last, shown on the message so the channel sees it without opening the alert.

    ``actor`` is a Slack mention (``<@U123>``) or a plain name; anything but a mention is escaped.
    """

    verb: str
    actor: str
    at: datetime
    detail: str | None = None  # a note's first words, so the channel sees what was noted without opening Rootly


class OverflowVerb(StrEnum):
    """What a menu option on a Rootly alert asks for; the value is ``<verb>|<backend>:<id>``."""

    EDIT = "edit"
    MARK_NOISE = "noise"
    MARK_NOT_NOISE = "not_noise"
    SNOOZE_15 = "snooze:15"
    SNOOZE_60 = "snooze:60"
    SNOOZE_240 = "snooze:240"
    ESCALATE = "escalate"

    @property
    def snooze_minutes(self) -> int | None:
        kind, _, minutes = self.value.partition(":")
        return int(minutes) if kind == "snooze" else None


_MENU_LABELS = {
    OverflowVerb.EDIT: "Edit alert",
    OverflowVerb.MARK_NOISE: "Mark as noise",
    OverflowVerb.MARK_NOT_NOISE: "Mark as not noise",
    OverflowVerb.SNOOZE_15: "Snooze 15 min",
    OverflowVerb.SNOOZE_60: "Snooze 1 h",
    OverflowVerb.SNOOZE_240: "Snooze 4 h",
    OverflowVerb.ESCALATE: "Escalate",
}
_SNOOZES = (OverflowVerb.SNOOZE_15, OverflowVerb.SNOOZE_60, OverflowVerb.SNOOZE_240)


def overflow_value(verb: OverflowVerb, ref: AlertRef) -> str:
    return f"{verb.value}|{ref.encode()}"


def parse_overflow_value(value: str) -> tuple[OverflowVerb, AlertRef]:
    """Read back an overflow or snooze option's value; ``ValueError`` for anything the bot did not render."""
    verb, sep, ref = (value or "").partition("|")
    if not sep:
        raise ValueError(f"not an alert menu value: {value!r}")
    try:
        return OverflowVerb(verb), AlertRef.decode(ref)
    except ValueError as exc:
        raise ValueError(f"not an alert menu value: {value!r}") from exc


@dataclass(frozen=True)
class _Bounds:
    """Characters (after escaping) each part of the message may take; halved until the message fits."""

    summary: int = 1000
    description: int = 600
    labels: int = 800
    names: int = 300

    def halved(self) -> _Bounds:
        return _Bounds(self.summary // 2, self.description // 2, self.labels // 2, self.names // 2)


def alert_message(
    alert: Alert, *, stamp: Stamp | None = None, backend_label: bool = False, can_declare: bool = True
) -> dict[str, Any]:
    """The alert as ``{"text", "blocks"}`` for chat.postMessage / chat.update, within Slack's limits.

    Non-ASCII text takes up to 12 characters of JSON a character, so the text bounds shrink until it fits.
    """
    bounds = _Bounds()
    while True:
        blocks = [b.to_dict() for b in _alert_blocks(alert, bounds, stamp, backend_label, can_declare)]
        if within_message_limits(blocks) or bounds.summary < 50:
            return {"text": _fallback(alert), "blocks": blocks}
        bounds = bounds.halved()


def alert_line(alert: Alert, summary_max: int = LINE_SUMMARY_MAX) -> str:
    """One compact mrkdwn line for lists, digests and modals: emoji, linked id, summary, status, start."""
    return (
        f"{status_emoji(alert.status)} *{_id_link(alert)}* {escape_bounded(_one_line(alert.summary), summary_max)}"
        f" · *{alert.status.value}* · {slack_date(started(alert))}"
    )


def alert_actions_block(
    alert: Alert, *, can_declare: bool = True, block_id: str = Block.ALERT_ACTIONS.value
) -> ActionsBlock:
    """The buttons the alert's state allows, each carrying ``backend:id``, and the menus for Rootly alerts.

    Every surface that shows an alert (its own message, list and digest rows, the App Home) uses this, so the same
    state offers the same actions everywhere; lists show fewer rows rather than fewer actions.
    """
    value = alert.ref.encode()
    elements: list[BlockElement] = []
    if alert.can_acknowledge:
        elements.append(
            ButtonElement(text="Acknowledge", action_id=Action.ACKNOWLEDGE.value, value=value, style="primary")
        )
    if alert.can_resolve:
        elements.append(
            ButtonElement(text="Resolve", action_id=Action.RESOLVE.value, value=value, confirm=_resolve_confirm(alert))
        )
    elements.append(ButtonElement(text="Add note", action_id=Action.ADD_NOTE.value, value=value))
    if can_declare and _live(alert):
        elements.append(ButtonElement(text="Declare incident", action_id=Action.DECLARE_INCIDENT.value, value=value))
    elements.extend(_rootly_menus(alert))
    return ActionsBlock(block_id=block_id, elements=elements)


def _live(alert: Alert) -> bool:
    """Not resolved yet: incidents may still be declared from it, and snoozing still means something."""
    return alert.status is not AlertStatus.RESOLVED


def started(alert: Alert) -> datetime:
    return alert.started_at or alert.created_at


def services_text(alert: Alert, limit: int) -> str:
    return join_bounded([escape_bounded(s.name, _VALUE_MAX) for s in alert.services], limit)


def stamp_line(stamp: Stamp) -> str:
    actor = stamp.actor if _MENTION.match(stamp.actor) else escape_bounded(stamp.actor, 100)
    line = f"✅ {escape_bounded(stamp.verb, 40)} by {actor} · {slack_date(stamp.at)}"
    if stamp.detail:
        line += "\n> " + escape_bounded(" ".join(stamp.detail.split()), 300)
    return line


def _alert_blocks(
    alert: Alert, bounds: _Bounds, stamp: Stamp | None, backend_label: bool, can_declare: bool
) -> Iterator[SlackBlock]:
    headline = f"{status_emoji(alert.status)} *{_id_link(alert)}* {escape_bounded(alert.summary, bounds.summary)}"
    yield SectionBlock(block_id=Block.ALERT_SUMMARY.value, text=MarkdownTextObject(text=headline))
    yield SectionBlock(fields=[MarkdownTextObject(text=f) for f in _fields(alert, bounds, backend_label)])
    if alert.labels:
        yield ContextBlock(elements=[MarkdownTextObject(text=_labels_text(alert, bounds.labels))])
    if alert.description and alert.description.strip():
        yield SectionBlock(text=MarkdownTextObject(text=_excerpt(alert.description, bounds.description)))
    if stamp is not None:
        yield ContextBlock(elements=[MarkdownTextObject(text=stamp_line(stamp))])
    yield alert_actions_block(alert, can_declare=can_declare)


def _fields(alert: Alert, bounds: _Bounds, backend_label: bool) -> list[str]:
    """Label/value pairs for the section's fields (at most 10, each far below 2,000 characters)."""
    pairs = [("Status", f"{status_emoji(alert.status)} {alert.status.value.capitalize()}")]
    if alert.urgency:
        pairs.append(("Urgency", escape_bounded(alert.urgency.name, _VALUE_MAX)))
    if alert.services:
        pairs.append(("Services", services_text(alert, bounds.names)))
    if alert.source:
        pairs.append(("Source", escape_bounded(alert.source, _VALUE_MAX)))
    pairs.append(("Started", slack_date(started(alert))))
    if alert.status is AlertStatus.RESOLVED and alert.ended_at:
        pairs.append(("Resolved", slack_date(alert.ended_at)))
    # While it rings, the people on it are the ones paged (Rootly's notified users, else its responders).
    paged = (alert.notified or alert.responders) if alert.status is AlertStatus.TRIGGERED else ()
    if paged or alert.responders:
        names = [escape_bounded(p.name, _VALUE_MAX) for p in paged or alert.responders]
        pairs.append(("Paged" if paged else "Responders", join_bounded(names, bounds.names)))
    if backend_label:
        pairs.append(("Backend", BACKEND_NAMES[alert.ref.backend]))
    return [f"*{label}*\n{value}" for label, value in pairs]


def _labels_text(alert: Alert, limit: int) -> str:
    """``key=value`` chips in label order, as many as fit, then "+K more"."""
    items = [
        code(f"{escape_bounded(_one_line(k), _KEY_MAX)}={escape_bounded(_one_line(v), _VALUE_MAX)}")
        for k, v in alert.labels
    ]
    return "🏷️ " + join_bounded(items, limit, sep="  ")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _excerpt(description: str, limit: int) -> str:
    """The description's first lines as a quote: enough to judge the alert, never a wall of text."""
    lines = [line for line in description.strip().splitlines() if line.strip()][:_DESCRIPTION_LINES]
    text = escape_bounded("\n".join(lines), limit)
    return "\n".join("> " + line for line in text.splitlines())


def _id_link(alert: Alert) -> str:
    return link(alert.url, truncate(alert.label, _LABEL_MAX))


def _fallback(alert: Alert) -> str:
    """Notification text: escaped too, or a ``<!channel>`` in a summary would ping the channel."""
    return escape_bounded(f"{alert.status.value.capitalize()} alert {alert.label}: {alert.summary}", 500)


def _resolve_confirm(alert: Alert) -> ConfirmObject:
    summary = truncate(alert.summary, _CONFIRM_SUMMARY_MAX)
    return ConfirmObject(
        title="Resolve this alert?",
        text=PlainTextObject(text=f"{truncate(alert.label, _LABEL_MAX)}: {summary}\nIt will be resolved for everyone."),
        confirm="Resolve",
        deny="Cancel",
    )


def _rootly_menus(alert: Alert) -> list[BlockElement]:
    """Snooze (while not resolved) and the overflow menu, for Rootly alerts whose values fit Slack's 75 characters.

    Slack allows at most five overflow options, so the three snooze lengths get a select menu of their own.
    """
    ref = alert.ref
    if ref.backend is not Backend.ROOTLY or max(len(overflow_value(v, ref)) for v in OverflowVerb) > OPTION_VALUE_MAX:
        return []
    menus: list[BlockElement] = []
    if _live(alert):
        menus.append(
            StaticSelectElement(placeholder="Snooze…", action_id=Action.SNOOZE.value, options=_options(_SNOOZES, ref))
        )
    noise = OverflowVerb.MARK_NOT_NOISE if alert.noise else OverflowVerb.MARK_NOISE
    menus.append(
        OverflowMenuElement(
            action_id=Action.OVERFLOW.value, options=_options((OverflowVerb.EDIT, noise, OverflowVerb.ESCALATE), ref)
        )
    )
    return menus


def _options(verbs: tuple[OverflowVerb, ...], ref: AlertRef) -> list[Option]:
    return [Option(value=overflow_value(v, ref), text=_MENU_LABELS[v]) for v in verbs]
