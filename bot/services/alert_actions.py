"""Acknowledge, resolve and annotate alerts on behalf of a Slack user, whichever backend owns the alert."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from bot import errors
from bot.backends import AlertBackend, Backends
from bot.domain import Actor, Alert, Note
from bot.refs import ParsedRef
from bot.services.people import People

log = logging.getLogger(__name__)


class Verb(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    NOTE = "note"


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


class AlertActions:
    def __init__(self, backends: Backends, people: People, *, attribution_notes: bool = True) -> None:
        self.backends = backends
        self.people = people
        self.attribution_notes = attribution_notes

    def acknowledge(self, ref: ParsedRef, slack_user_id: str, user_name: str | None = None) -> ActionResult:
        backend, alert = self.backends.find_alert(ref)
        actor = self.people.actor(slack_user_id, backend, user_name)
        if not alert.can_acknowledge:
            return ActionResult(Verb.ACKNOWLEDGE, alert, actor, _now(), done=False)
        try:
            updated = backend.acknowledge(alert.ref.id)
        except errors.Conflict:
            # Someone else changed it between our read and our write: explain from the fresh state.
            return ActionResult(Verb.ACKNOWLEDGE, backend.get_alert(alert.ref.id), actor, _now(), done=False)
        warnings = self._attribute(backend, updated, actor, f"Acknowledged in Slack by {actor.name}")
        return ActionResult(Verb.ACKNOWLEDGE, updated, actor, _now(), done=True, warnings=warnings)

    def resolve(
        self, ref: ParsedRef, slack_user_id: str, message: str | None = None, user_name: str | None = None
    ) -> ActionResult:
        backend, alert = self.backends.find_alert(ref)
        actor = self.people.actor(slack_user_id, backend, user_name)
        if not alert.can_resolve:
            return ActionResult(Verb.RESOLVE, alert, actor, _now(), done=False)
        text = message.strip() if message and message.strip() else None
        try:
            updated = backend.resolve(alert.ref.id, text or f"Resolved in Slack by {actor.name}")
        except errors.Conflict:
            return ActionResult(Verb.RESOLVE, backend.get_alert(alert.ref.id), actor, _now(), done=False)
        note = f"Resolved in Slack by {actor.name}" + (f": {text}" if text else "")
        warnings = self._attribute(backend, updated, actor, note)
        return ActionResult(Verb.RESOLVE, updated, actor, _now(), done=True, warnings=warnings)

    def add_note(self, ref: ParsedRef, slack_user_id: str, text: str, user_name: str | None = None) -> ActionResult:
        backend, alert = self.backends.find_alert(ref)
        actor = self.people.actor(slack_user_id, backend, user_name)
        details = text.strip()
        warnings: tuple[str, ...] = ()
        if actor.backend_user is None:
            # Still add the note, by the API key's user, saying who wrote it in Slack.
            details = f"{details}\n\n— {actor.name} (via Slack)"
            warnings = (f"Your name is not attached as the author: {actor.unmatched_reason}.",)
        note = backend.add_note(alert.ref.id, details, actor.backend_user)
        return ActionResult(Verb.NOTE, alert, actor, _now(), done=True, note=note, warnings=warnings)

    def _attribute(self, backend: AlertBackend, alert: Alert, actor: Actor, text: str) -> tuple[str, ...]:
        """Leave a note saying who acted from Slack; its failure never undoes the action."""
        if not self.attribution_notes:
            return ()
        try:
            backend.add_note(alert.ref.id, text, actor.backend_user)
        except errors.BackendError as exc:
            log.warning("attribution note on %s failed: %s", alert.label, exc)
            return (f"The note saying you did this could not be added ({exc.message}).",)
        return ()


def _now() -> datetime:
    return datetime.now(UTC)
