"""Rootly as an :class:`bot.backends.AlertBackend`."""

from __future__ import annotations

import itertools

from bot.domain import Alert, AlertFilters, AlertPage, Backend, Note, Person
from bot.rootly.client import RootlyClient

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

    def find_user(self, email: str) -> Person | None:
        return self.client.find_user_by_email(email)

    def set_noise(self, alert_id: str, noise: bool) -> Alert:
        return self.client.update_alert(alert_id, {"noise": "noise" if noise else "not_noise"})

    def snooze(self, alert_id: str, minutes: int) -> Alert:
        return self.client.snooze_alert(alert_id, minutes)

    def escalate(self, alert_id: str) -> Alert:
        return self.client.escalate_alert(alert_id)
