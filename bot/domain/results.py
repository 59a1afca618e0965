"""What an action on an alert came to, for renderers and services alike: done, unchanged, or queued."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.domain import Actor, Alert, Note


class Verb(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    NOTE = "note"
    SNOOZE = "snooze"
    ESCALATE = "escalate"
    NOISE = "noise"
    NOT_NOISE = "not_noise"
    UPDATE = "update"


@dataclass(frozen=True)
class ActionResult:
    """What happened, for the renderer: the alert as the backend now has it, who acted, and any caveats."""

    verb: Verb
    alert: Alert
    actor: Actor
    at: datetime
    done: bool  # False when the alert's state made the action unnecessary or impossible
    note: Note | None = None
    warnings: tuple[str, ...] = field(default=())
    changes: tuple[str, ...] = ()  # for updates: what changed, in words


@dataclass(frozen=True)
class Queued:
    verb: Verb
    target: str  # what the person called the alert
    reason: str
    item_id: int
    typed: str | None = None
    ambiguous: bool = False
    backend: str = "Rootly"
