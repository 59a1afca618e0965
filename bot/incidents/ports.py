"""What the incidents feature needs from Slack and from Rootly, as protocols, so its services import neither.

``bot.incidents.conversations.SlackConversations`` implements :class:`Conversations` on the Web API;
``bot.backends.rootly.client.RootlyClient`` implements :class:`RootlyIncidentApi`; tests may pass anything alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from bot.domain import CatalogKind, CatalogPage, Incident, IncidentEvent, IncidentRole, Person
from bot.incidents.thread_text import ThreadMessage


class NotInChannel(Exception):
    """Slack refused to read or post because the bot is not a member of the conversation (``not_in_channel``)."""


class Conversations(Protocol):
    def thread(self, channel: str, thread_ts: str, limit: int) -> tuple[list[ThreadMessage], bool]:
        """The thread's messages, oldest first, at most ``limit``; and whether there were more.

        Raises :class:`NotInChannel` when the bot cannot read the conversation.
        """
        ...

    def permalink(self, channel: str, ts: str) -> str | None: ...

    def channel_name(self, channel: str) -> str: ...

    def post(self, channel: str, message: dict[str, Any], thread_ts: str | None = None) -> str:
        """Post (in the thread when ``thread_ts`` is given); returns the new message's ts."""
        ...

    def update(self, channel: str, ts: str, message: dict[str, Any]) -> None: ...

    def ephemeral(self, channel: str, user: str, message: dict[str, Any]) -> None: ...


class RootlyIncidentApi(Protocol):
    """What working on incidents needs from Rootly, and nothing else: Rootly-only (incidents are Rootly's), so it
    is named as such. ``bot.backends.rootly.client.RootlyClient`` satisfies it structurally; every method raises
    ``bot.support.errors.BackendError`` subclasses.
    """

    def get_incident(self, key: str) -> Incident:
        """By UUID or slug, with role assignments."""
        ...

    def list_incidents(
        self,
        *,
        search: str | None = None,
        statuses: tuple[str, ...] = (),
        label: tuple[str, str] | None = None,
        created_since: datetime | None = None,
        limit: int = 20,
        severities: tuple[str, ...] = (),
        teams: tuple[str, ...] = (),
        slack_channel_id: str | None = None,
        sequential_id: int | None = None,
        updated_since: datetime | None = None,
    ) -> list[Incident]: ...

    def mitigate_incident(self, incident_id: str, message: str | None = None) -> Incident: ...

    def resolve_incident(self, incident_id: str, message: str | None = None) -> Incident: ...

    def cancel_incident(self, incident_id: str, message: str | None = None) -> Incident: ...

    def update_incident(self, incident_id: str, attributes: dict[str, Any]) -> Incident: ...

    def add_incident_event(self, incident_id: str, text: str, *, visibility: str = "internal") -> IncidentEvent: ...

    def incident_events(self, incident_id: str, *, max_pages: int = 5) -> list[IncidentEvent]: ...

    def incident_roles(self) -> list[IncidentRole]: ...

    def assign_incident_role(self, incident_id: str, role_id: str, user_id: str) -> Incident: ...

    def create_incident_action_item(
        self, incident_id: str, summary: str, *, description: str | None = None, assignee_id: str | None = None
    ) -> str: ...

    def catalog(self, kind: CatalogKind, *, size: int = 100) -> CatalogPage: ...

    def search_users(self, text: str, *, limit: int = 10) -> list[Person]: ...

    def find_user_by_email(self, email: str) -> Person | None: ...
