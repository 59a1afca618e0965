"""Rootly as an :class:`bot.backends.AlertBackend`."""

from __future__ import annotations

import itertools

from bot.backends.rootly import timeline
from bot.backends.rootly.alert_edit import plan_edit, plan_update
from bot.backends.rootly.client import RootlyClient
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

# How many alerts an urgency-filtered list reads at most (10 pages of 100).
URGENCY_SCAN_MAX = 1000


class RootlyBackend:
    kind = Backend.ROOTLY
    display_name = "Rootly"
    notes_on_resolved = True

    def __init__(self, client: RootlyClient) -> None:
        self.client = client

    def get_alert(self, alert_id: str) -> Alert:
        return self.client.get_alert(alert_id)

    def list_open_alerts(self, filters: AlertFilters, *, limit: int) -> AlertPage:
        if not filters.urgencies:
            return self.client.list_alerts(filters, limit=limit)
        # Rootly has no urgency filter: read the (otherwise filtered) alerts and keep the matching ones.
        scanned = itertools.islice(self.client.iter_alerts(filters), URGENCY_SCAN_MAX)
        matching = [a for a in scanned if filters.matches(a)]
        matching.sort(key=lambda a: a.created_at, reverse=True)
        return AlertPage(tuple(matching[:limit]), len(matching))

    def acknowledge(self, alert_id: str) -> Alert:
        return self.client.acknowledge_alert(alert_id)

    def resolve(self, alert_id: str, message: str | None = None) -> Alert:
        return self.client.resolve_alert(alert_id, message)

    def add_note(self, alert_id: str, text: str, author: Person | None) -> Note:
        return self.client.add_alert_note(alert_id, text, author.id if author else None)

    def notes(self, alert_id: str) -> list[Note]:
        return self.client.alert_notes(alert_id)

    def find_user(self, email: str) -> Person | None:
        return self.client.find_user_by_email(email)

    def alert_events(self, alert_id: str) -> list[TimelineEvent]:
        """The alert's events that a thread tells, oldest first."""
        found = (timeline.timeline_event(item) for item in self.client.alert_events(alert_id))
        return [event for event in found if event is not None]

    def set_noise(self, alert_id: str, noise: bool) -> Alert:
        return self.client.update_alert(alert_id, {"noise": "noise" if noise else "not_noise"})

    def snooze(self, alert_id: str, minutes: int) -> Alert:
        return self.client.snooze_alert(alert_id, minutes)

    def escalate(self, alert_id: str) -> Alert:
        return self.client.escalate_alert(alert_id)

    def update(self, alert: Alert, changes: AlertChanges) -> tuple[Alert, list[str]]:
        """PATCH only what differs; returns the updated alert and what changed, in words."""
        urgencies = self.client.alert_urgencies() if changes.urgency is not None else []
        services = None
        if changes.services is not None:
            services = []
            for name in changes.services:
                found = self.client.find_service(name)
                if found is None:
                    raise errors.Invalid(f"Rootly has no service '{name}' (use its slug or name).")
                services.append(found)
        attrs, said = plan_update(alert, changes, urgencies=urgencies, services=services)
        if not attrs:
            return alert, []
        return self.client.update_alert(alert.ref.id, attrs), said

    def trigger(self, request: TriggerRequest) -> Triggered:
        """POST /v1/alerts with the request's key as ``deduplication_key``, so the same key twice is one alert."""
        attributes: dict[str, object] = {"summary": request.summary, "deduplication_key": request.key}
        description = request.details or ""
        if request.links:
            description += "\n\n" + "\n".join(f"{text}: {href}" for href, text in request.links)
            attributes["external_url"] = request.links[0][0]
        if description.strip():
            attributes["description"] = description.strip()
        if request.priority:
            urgencies = self.client.alert_urgencies()
            if urgencies:  # Rootly orders urgencies most urgent first
                chosen = urgencies[0] if request.priority == "high" else urgencies[-1]
                attributes["alert_urgency_id"] = chosen.id
        return Triggered(self.kind, request.key, self.client.create_alert(attributes))

    def edit(self, alert: Alert, edit: AlertEdit, names: dict[str, str]) -> tuple[Alert, list[str]]:
        """The edit form's values: PATCH what differs from the alert as it is now."""
        attrs, said = plan_edit(alert, edit, names=names)
        if not attrs:
            return alert, []
        return self.client.update_alert(alert.ref.id, attrs), said
