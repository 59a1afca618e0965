"""Acknowledge, resolve and annotate alerts on behalf of a Slack user, whichever backend owns the alert."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from bot.backends import AlertBackend, Backends
from bot.domain import Actor, Alert, AlertChanges, AlertEdit, AlertRef
from bot.domain.refs import ParsedRef
from bot.domain.results import ActionResult, Verb
from bot.services.people import People
from bot.support import errors

log = logging.getLogger(__name__)


Target = ParsedRef | AlertRef
Claim = Callable[[str, str, float], str | None]  # (key, owner, ttl) → None when taken, else the holder


class AlertActions:
    """Each action takes what the person pointed at: a typed reference (``ParsedRef``, looked up first) or the
    exact alert a button carries (``AlertRef``, acted on directly, which saves a call on the hot path)."""

    def __init__(
        self,
        backends: Backends,
        people: People,
        *,
        attribution_notes: bool = True,
        claim: Claim | None = None,
        claim_seconds: float = 30.0,
    ) -> None:
        self.backends = backends
        self.people = people
        self.attribution_notes = attribution_notes
        self.claim = claim
        self.claim_seconds = claim_seconds

    def _duplicate(self, verb: Verb, ref: AlertRef, slack_user_id: str, user_name: str | None) -> ActionResult | None:
        """A second click (or a Slack retry) on the same action within seconds: do not repeat it; say who did."""
        if self.claim is None:
            return None
        holder = self.claim(f"{verb.value}:{ref.encode()}", slack_user_id, self.claim_seconds)
        if holder is None:
            return None
        backend = self.backends.get(ref.backend)
        actor = self.people.actor(slack_user_id, backend, user_name)
        alert = backend.get_alert(ref.id)
        who = "you" if holder == slack_user_id else f"<@{holder}>"
        return ActionResult(
            verb, alert, actor, _now(), done=False, warnings=(f"This was just done by {who}; not repeated.",)
        )

    def _locate(self, target: Target) -> tuple[AlertBackend, Alert]:
        if isinstance(target, AlertRef):
            backend = self.backends.get(target.backend)
            return backend, backend.get_alert(target.id)
        return self.backends.find_alert(target)

    def acknowledge(self, target: Target, slack_user_id: str, user_name: str | None = None) -> ActionResult:
        if isinstance(target, AlertRef):
            # A button: act at once; Rootly refuses (400) when the state no longer allows it.
            if duplicate := self._duplicate(Verb.ACKNOWLEDGE, target, slack_user_id, user_name):
                return duplicate
            backend = self.backends.get(target.backend)
            alert_id = target.id
        else:
            backend, alert = self.backends.find_alert(target)
            if not alert.can_acknowledge:
                actor = self.people.actor(slack_user_id, backend, user_name)
                return ActionResult(Verb.ACKNOWLEDGE, alert, actor, _now(), done=False)
            alert_id = alert.ref.id
        actor = self.people.actor(slack_user_id, backend, user_name)
        try:
            updated = backend.acknowledge(alert_id)
        except errors.Conflict:
            # Someone else changed it between what the person saw and now: explain from the fresh state.
            return ActionResult(Verb.ACKNOWLEDGE, backend.get_alert(alert_id), actor, _now(), done=False)
        warnings = self._attribute(backend, updated, actor, f"Acknowledged in Slack by {actor.name}")
        return ActionResult(Verb.ACKNOWLEDGE, updated, actor, _now(), done=True, warnings=warnings)

    def resolve(
        self, target: Target, slack_user_id: str, message: str | None = None, user_name: str | None = None
    ) -> ActionResult:
        # Always read first: Rootly answers 200 to resolving a resolved alert, so only the state read before
        # tells a stale click from a real resolution (and keeps a false "resolved by you" off the timeline).
        if isinstance(target, AlertRef) and (
            duplicate := self._duplicate(Verb.RESOLVE, target, slack_user_id, user_name)
        ):
            return duplicate
        backend, alert = self._locate(target)
        actor = self.people.actor(slack_user_id, backend, user_name)
        if not alert.can_resolve:
            return ActionResult(Verb.RESOLVE, alert, actor, _now(), done=False)
        text = message.strip() if message and message.strip() else None
        resolution = text or f"Resolved in Slack by {actor.name}"
        if text and not backend.notes_on_resolved:
            resolution = f"{text}\n\n— {actor.name} (via Slack)"  # no note after it, so it says who
        try:
            updated = backend.resolve(alert.ref.id, resolution)
        except errors.Conflict:
            return ActionResult(Verb.RESOLVE, backend.get_alert(alert.ref.id), actor, _now(), done=False)
        note = f"Resolved in Slack by {actor.name}" + (f": {text}" if text else "")
        warnings = self._attribute(backend, updated, actor, note) if backend.notes_on_resolved else ()
        return ActionResult(Verb.RESOLVE, updated, actor, _now(), done=True, warnings=warnings)

    def add_note(self, target: Target, slack_user_id: str, text: str, user_name: str | None = None) -> ActionResult:
        backend, alert = self._locate(target)
        actor = self.people.actor(slack_user_id, backend, user_name)
        details = note_details(text, actor)
        warnings: tuple[str, ...] = ()
        if actor.backend_user is None:
            warnings = (f"Your name is not attached as the author: {actor.unmatched_reason}.",)
        note = backend.add_note(alert.ref.id, details, actor.backend_user)
        return ActionResult(Verb.NOTE, alert, actor, _now(), done=True, note=note, warnings=warnings)

    def snooze(self, ref: AlertRef, slack_user_id: str, minutes: int, user_name: str | None = None) -> ActionResult:
        return self._rootly_action(
            Verb.SNOOZE,
            ref,
            slack_user_id,
            user_name,
            lambda b: b.snooze(ref.id, minutes),
            f"Snoozed for {_span(minutes)}",
        )

    def escalate(self, ref: AlertRef, slack_user_id: str, user_name: str | None = None) -> ActionResult:
        return self._rootly_action(
            Verb.ESCALATE, ref, slack_user_id, user_name, lambda b: b.escalate(ref.id), "Escalated"
        )

    def set_noise(self, ref: AlertRef, slack_user_id: str, noise: bool, user_name: str | None = None) -> ActionResult:
        verb = Verb.NOISE if noise else Verb.NOT_NOISE
        text = "Marked as noise" if noise else "Marked as not noise"
        return self._rootly_action(verb, ref, slack_user_id, user_name, lambda b: b.set_noise(ref.id, noise), text)

    def update(
        self, target: Target, slack_user_id: str, changes: AlertChanges, user_name: str | None = None
    ) -> ActionResult:
        backend, alert = self._locate(target)
        actor = self.people.actor(slack_user_id, backend, user_name)
        updated, said = backend.update(alert, changes)
        if not said:
            return ActionResult(Verb.UPDATE, alert, actor, _now(), done=False, warnings=("Nothing to change.",))
        warnings = self._attribute(backend, updated, actor, f"Updated in Slack by {actor.name}: {'; '.join(said)}")
        return ActionResult(Verb.UPDATE, updated, actor, _now(), done=True, warnings=warnings, changes=tuple(said))

    def edit(
        self, ref: AlertRef, slack_user_id: str, edit: AlertEdit, names: dict[str, str], user_name: str | None = None
    ) -> ActionResult:
        """The edit form: read the alert as it is now, PATCH only what differs, note who did it."""
        backend, alert = self._locate(ref)
        actor = self.people.actor(slack_user_id, backend, user_name)
        updated, said = backend.edit(alert, edit, names)
        if not said:
            return ActionResult(Verb.UPDATE, alert, actor, _now(), done=False, warnings=("Nothing to change.",))
        warnings = self._attribute(backend, updated, actor, f"Edited in Slack by {actor.name}: {'; '.join(said)}")
        return ActionResult(Verb.UPDATE, updated, actor, _now(), done=True, warnings=warnings, changes=tuple(said))

    def _rootly_action(
        self,
        verb: Verb,
        ref: AlertRef,
        slack_user_id: str,
        user_name: str | None,
        call: Callable[[AlertBackend], Alert],
        past: str,
    ) -> ActionResult:
        if duplicate := self._duplicate(verb, ref, slack_user_id, user_name):
            return duplicate
        backend = self.backends.get(ref.backend)
        actor = self.people.actor(slack_user_id, backend, user_name)
        try:
            updated = call(backend)
        except errors.Conflict as exc:
            alert = backend.get_alert(ref.id)
            return ActionResult(verb, alert, actor, _now(), done=False, warnings=(exc.message,))
        warnings = self._attribute(backend, updated, actor, f"{past} in Slack by {actor.name}")
        return ActionResult(verb, updated, actor, _now(), done=True, warnings=warnings)

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


def note_details(text: str, actor: Actor) -> str:
    """A note's text as written to the backend: without a backend user it is added by the API key's user, so it
    says who wrote it in Slack (how an unconfirmed note is recognised later, too)."""
    details = text.strip()
    return details if actor.backend_user is not None else f"{details}\n\n— {actor.name} (via Slack)"


def _now() -> datetime:
    return datetime.now(UTC)


def _span(minutes: int) -> str:
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"
