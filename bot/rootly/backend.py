"""Rootly as an :class:`bot.backends.AlertBackend`."""

from __future__ import annotations

from bot.domain import Alert, AlertFilters, AlertPage, Backend, Note, Person
from bot.rootly.client import RootlyClient


class RootlyBackend:
    kind = Backend.ROOTLY
    display_name = "Rootly"

    def __init__(self, client: RootlyClient) -> None:
        self.client = client

    def get_alert(self, alert_id: str) -> Alert:
        return self.client.get_alert(alert_id)

    def list_open_alerts(self, filters: AlertFilters, *, limit: int) -> AlertPage:
        return self.client.list_alerts(filters, limit=limit)

    def acknowledge(self, alert_id: str) -> Alert:
        return self.client.acknowledge_alert(alert_id)

    def resolve(self, alert_id: str, message: str | None = None) -> Alert:
        return self.client.resolve_alert(alert_id, message)

    def add_note(self, alert_id: str, text: str, author: Person | None) -> Note:
        return self.client.add_alert_note(alert_id, text, author.id if author else None)

    def find_user(self, email: str) -> Person | None:
        return self.client.find_user_by_email(email)
