"""ilert as an :class:`bot.backends.AlertBackend`.

What ilert allows for attribution: accepting and resolving through REST are recorded as the API key's user (the
calls take no acting user), so the person who clicked in Slack is named only in comments: ``add_note`` puts the
author's name in the COMMENT's ``creator``, and ``resolve`` carries its message as a comment.
"""

from __future__ import annotations

import logging

from bot.backends.ilert import timeline
from bot.backends.ilert.client import IlertClient
from bot.domain import (
    Alert,
    AlertChanges,
    AlertEdit,
    AlertFilters,
    AlertPage,
    Backend,
    Note,
    Person,
    Triggered,
    TriggerRequest,
)
from bot.domain.timeline import TimelineEvent
from bot.support import errors

log = logging.getLogger(__name__)


class IlertBackend:
    kind = Backend.ILERT
    display_name = "ilert"
    notes_on_resolved = False  # the resolve message goes in as a comment before resolving instead

    def __init__(self, client: IlertClient) -> None:
        self.client = client

    def get_alert(self, alert_id: str) -> Alert:
        return self.client.get_alert(alert_id)

    def list_open_alerts(self, filters: AlertFilters, *, limit: int) -> AlertPage:
        return self.client.list_alerts(filters, limit=limit)

    def acknowledge(self, alert_id: str) -> Alert:
        """``PUT /alerts/{id}/accept``; an alert already accepted or resolved is a Conflict saying so."""
        return self.client.accept_alert(alert_id)

    def resolve(self, alert_id: str, message: str | None = None) -> Alert:
        """``PUT /alerts/{id}/resolve``, which takes no message: the message goes first as a comment, because
        ilert takes comments only on open alerts. A comment that fails never stops the resolve.
        """
        if message and message.strip():
            try:
                self.client.add_comment(alert_id, message)
            except errors.BackendError as exc:
                log.warning("ilert resolve message on %s not added: %s", alert_id, exc)
        return self.client.resolve_alert(alert_id)

    def add_note(self, alert_id: str, text: str, author: Person | None) -> Note:
        """A COMMENT event whose ``creator`` is the author's ilert name (ilert keeps no author id for comments)."""
        note = self.client.add_comment(alert_id, text, author.name if author else None)
        return Note(note.id, note.alert_id, note.details, author.id if author else None, note.created_at)

    def notes(self, alert_id: str) -> list[Note]:
        return self.client.alert_comments(alert_id)

    def find_user(self, email: str) -> Person | None:
        return self.client.find_user_by_email(email)

    def alert_events(self, alert_id: str) -> list[TimelineEvent]:
        """The alert's log entries that a thread tells, oldest first."""
        found = (timeline.timeline_event(entry) for entry in self.client.alert_log(alert_id))
        return [event for event in found if event is not None]

    def trigger(self, request: TriggerRequest) -> Triggered:
        """Raise an alert with an ``ALERT`` event (ilert queues it: the alert itself is not known yet)."""
        key = self.client.trigger(
            request.summary,
            details=request.details,
            priority=request.priority,
            alert_key=request.key,
            routing_key=request.route,
            links=request.links,
        )
        return Triggered(self.kind, key)

    # Rootly-only actions ---------------------------------------------------------------------------------------
    def set_noise(self, alert_id: str, noise: bool) -> Alert:
        raise errors.Unsupported("ilert alerts cannot be marked as noise", backend="ilert")

    def snooze(self, alert_id: str, minutes: int) -> Alert:
        raise errors.Unsupported("ilert alerts cannot be snoozed from here", backend="ilert")

    def escalate(self, alert_id: str) -> Alert:
        raise errors.Unsupported("escalating ilert alerts is not supported here", backend="ilert")

    def edit(self, alert: Alert, edit: AlertEdit, names: dict[str, str]) -> tuple[Alert, list[str]]:
        raise errors.Unsupported("ilert alerts cannot be edited from here: open the alert in ilert", backend="ilert")

    def update(self, alert: Alert, changes: AlertChanges) -> tuple[Alert, list[str]]:
        raise errors.Unsupported("ilert alerts cannot be edited from here: open the alert in ilert", backend="ilert")
