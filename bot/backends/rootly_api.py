"""The Rootly-only interface: what services and features may ask of Rootly beyond :class:`AlertBackend`.

Named as such because only Rootly has these (an alert event feed, catalogs, incidents, service owners). Callers
depend on this Protocol, never on ``bot.backends.rootly`` itself; :class:`bot.backends.rootly.client.RootlyClient`
implements it, and tests may pass anything shaped alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.domain import (
    Alert,
    AlertFilters,
    AlertPage,
    CatalogItem,
    CatalogKind,
    CatalogPage,
    EventPage,
    Incident,
    NewIncident,
    Service,
)


class RootlyApi(Protocol):
    def get_alert(self, alert_id: str) -> Alert: ...

    def list_alerts(self, filters: AlertFilters, *, limit: int = ..., include: tuple[str, ...] = ()) -> AlertPage: ...

    def owned_services(self, user_id: str, *, max_pages: int = ...) -> list[Service]: ...

    def alert_event_feed(
        self, cursor: str | None, *, since: datetime | None = None, page_size: int = ...
    ) -> EventPage: ...

    def catalog(self, kind: CatalogKind, *, size: int = ...) -> CatalogPage: ...

    def search_catalog(
        self, kind: CatalogKind, text: str, *, limit: int = ..., max_pages: int = ...
    ) -> list[CatalogItem]: ...

    def list_incidents(
        self,
        *,
        search: str | None = None,
        statuses: tuple[str, ...] = (),
        label: tuple[str, str] | None = None,
        created_since: datetime | None = None,
        limit: int = ...,
    ) -> list[Incident]: ...

    def create_incident(self, new: NewIncident) -> Incident: ...

    def add_incident_event(self, incident_id: str, text: str, *, visibility: str = "internal") -> None: ...
