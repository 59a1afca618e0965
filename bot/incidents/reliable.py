"""Status changes and timeline entries that cannot reach Rootly now go to the outbox (the same one as alert notes),
are delivered later, once, re-render the incident's messages, and are reported to the person.

Transient failures (5xx, timeouts, 429 past the budget) are queued before the person hears "queued"; refusals are
told at once. A status change is safe to repeat: it reads the incident first, so a transition that landed is not
applied twice. A timeline entry after an ambiguous failure is looked for on the timeline before it is sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.incidents.actions import IncidentActions, IncidentResult, Verb
from bot.incidents.live import IncidentMessages
from bot.render.text import link
from bot.services.reliable import Origin
from bot.store.outbox import OutboxItem, OutboxStore
from bot.support import errors
from bot.support.timestamps import parse_time

log = logging.getLogger(__name__)

TRANSIENT = (errors.Unavailable, errors.RateLimited)
KINDS = {f"incident_{verb.value}": verb for verb in (Verb.MITIGATE, Verb.RESOLVE, Verb.CANCEL, Verb.NOTE)}
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class IncidentQueued:
    verb: Verb
    incident: str  # what to call it in the reply
    reason: str
    item_id: int
    typed: str | None = None


def target_of(incident_id: str) -> str:
    """``rootly:incident:<id>``: grouped with Rootly's items, so an outage is probed once a pass for both."""
    return f"rootly:incident:{incident_id}"


class ReliableIncidentActions:
    def __init__(self, actions: IncidentActions, store: OutboxStore) -> None:
        self.actions = actions
        self.store = store

    def transition(
        self, verb: Verb, incident_id: str, origin: Origin, message: str | None = None, label: str | None = None
    ) -> IncidentResult | IncidentQueued:
        return self._run(
            verb,
            incident_id,
            origin,
            {"message": message},
            lambda: self.actions.transition(verb, incident_id, origin.slack_user_id, message, origin.user_name),
            message,
            label,
        )

    def add_note(
        self, incident_id: str, origin: Origin, text: str, *, signed: bool = True, label: str | None = None
    ) -> IncidentResult | IncidentQueued:
        return self._run(
            Verb.NOTE,
            incident_id,
            origin,
            {"text": text, "signed": signed},
            lambda: self.actions.add_note(incident_id, origin.slack_user_id, text, origin.user_name, signed=signed),
            text,
            label,
        )

    def _run(
        self,
        verb: Verb,
        incident_id: str,
        origin: Origin,
        extra: dict[str, Any],
        call: Callable[[], IncidentResult],
        typed: str | None,
        label: str | None,
    ) -> IncidentResult | IncidentQueued:
        try:
            return call()
        except TRANSIENT as exc:
            ambiguous = isinstance(exc, errors.Unavailable) and exc.ambiguous
            payload = {
                "slack_user_id": origin.slack_user_id,
                "user_name": origin.user_name,
                "channel": origin.channel,
                "response_url": origin.response_url,
                "queued_at": datetime.now(UTC).isoformat(),
                "label": label or incident_id,
                **extra,
            }
            item_id = self.store.enqueue(
                f"incident_{verb.value}", target_of(incident_id), payload, check_first=ambiguous
            )
            log.info("queued incident %s on %s as outbox item %s: %s", verb.value, incident_id, item_id, exc.message)
            return IncidentQueued(verb, label or incident_id, exc.message, item_id, typed)


class IncidentOutboxKinds:
    """How the outbox delivers incident items (``OutboxDelivery.kinds``). ``actions`` must not claim: an item
    continues a click that already holds its claim."""

    def __init__(
        self,
        actions: IncidentActions,
        messages: IncidentMessages,
        deliver: Callable[[dict[str, Any], dict[str, Any]], None],
    ) -> None:
        self.actions = actions
        self.messages = messages
        self.deliver = deliver

    def attempt(self, item: OutboxItem) -> IncidentResult | None:
        verb = KINDS[item.kind]
        incident_id = item.target.removeprefix("rootly:incident:")
        payload = item.payload
        user, name = str(payload.get("slack_user_id") or ""), payload.get("user_name")
        if verb is Verb.NOTE:
            text = str(payload.get("text") or "")
            if item.check_first and self._landed(incident_id, text, payload):
                return None
            result = self.actions.add_note(incident_id, user, text, name, signed=bool(payload.get("signed", True)))
        else:
            result = self.actions.transition(verb, incident_id, user, payload.get("message"), name)
        if result.done:
            self.messages.refresh(result.incident, result.stamp)
        return result

    def _landed(self, incident_id: str, text: str, payload: dict[str, Any]) -> bool:
        wanted = text.strip()
        queued = parse_time(payload.get("queued_at"))
        since = queued - CLOCK_SKEW if queued else None
        return any(
            event.text.strip().startswith(wanted)
            and (since is None or event.created_at is None or event.created_at >= since)
            for event in self.actions.rootly.incident_events(incident_id)
        )

    def notify(self, payload: dict[str, Any], result: IncidentResult | None, error: str | None) -> None:
        self.deliver(payload, outbox_message(payload, result, error))


def outbox_message(payload: dict[str, Any], result: IncidentResult | None, error: str | None) -> dict[str, Any]:
    label = str(payload.get("label") or "the incident")
    if error is not None:
        typed = payload.get("text") or payload.get("message")
        text = f"⚠️ What you queued for {label} could not be delivered: {error}."
        if typed:
            text += f"\nWhat you typed:\n```{str(typed)[:2500]}```"
        return {"text": text}
    if result is None:
        return {"text": f"✅ Your timeline entry on {label} had landed after all; it was not added twice."}
    if not result.done:
        return {"text": f"Your queued action on {label} was not needed: {result.reason}"}
    incident = result.incident
    return {"text": f"✅ Delivered: {result.verb.value} on {link(incident.url, incident.label)} (Rootly is back)."}
