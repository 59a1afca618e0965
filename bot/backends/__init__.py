"""The one interface every alert backend offers, and the registry of those configured.

Slack surfaces talk to :class:`AlertBackend` only, so each works with Rootly, ilert or both.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

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
from bot.domain.refs import ParsedRef
from bot.domain.timeline import TimelineEvent
from bot.support import errors


class AlertBackend(Protocol):
    kind: Backend
    display_name: str
    # Whether a note can still be added once the alert is resolved (ilert takes comments on open alerts only).
    notes_on_resolved: bool

    def get_alert(self, alert_id: str) -> Alert: ...

    def list_open_alerts(self, filters: AlertFilters, *, limit: int) -> AlertPage: ...

    def acknowledge(self, alert_id: str) -> Alert: ...

    def resolve(self, alert_id: str, message: str | None = None) -> Alert: ...

    def add_note(self, alert_id: str, text: str, author: Person | None) -> Note: ...

    def notes(self, alert_id: str) -> list[Note]:
        """Notes already on the alert: how an ambiguous write is checked before it is sent again."""
        ...

    def find_user(self, email: str) -> Person | None: ...

    def alert_events(self, alert_id: str) -> list[TimelineEvent]:
        """What happened to the alert that its Slack threads tell (acknowledged, notes…), oldest first."""
        ...

    def trigger(self, request: TriggerRequest) -> Triggered: ...

    # Rootly-only actions; other backends raise errors.Unsupported.
    def set_noise(self, alert_id: str, noise: bool) -> Alert: ...

    def snooze(self, alert_id: str, minutes: int) -> Alert: ...

    def escalate(self, alert_id: str) -> Alert: ...

    def update(self, alert: Alert, changes: AlertChanges) -> tuple[Alert, list[str]]: ...

    def edit(self, alert: Alert, edit: AlertEdit, names: dict[str, str]) -> tuple[Alert, list[str]]: ...


class UnknownAlert(errors.NotFound):
    """No configured backend knows the reference."""


class Backends:
    """The configured backends, in the order references are tried."""

    def __init__(self, backends: Iterable[AlertBackend]) -> None:
        self._by_kind: dict[Backend, AlertBackend] = {b.kind: b for b in backends}

    def __bool__(self) -> bool:
        return bool(self._by_kind)

    def __iter__(self) -> Iterator[AlertBackend]:
        return iter(self._by_kind.values())

    def get(self, kind: Backend) -> AlertBackend:
        try:
            return self._by_kind[kind]
        except KeyError:
            raise errors.BackendError(f"{kind.value} is not configured for this bot", backend=kind.value) from None

    def candidates(self, ref: ParsedRef) -> list[AlertBackend]:
        """Backends that may own the reference: the hinted one first, if configured, then the rest."""
        if ref.backend in self._by_kind:
            return [self._by_kind[ref.backend]]  # type: ignore[index]
        return list(self._by_kind.values())

    def find_alert(self, ref: ParsedRef) -> tuple[AlertBackend, Alert]:
        """The alert the reference names; :class:`UnknownAlert` says which backends were asked."""
        asked: list[str] = []
        for backend in self.candidates(ref):
            asked.append(backend.display_name)
            try:
                return backend, backend.get_alert(ref.id)
            except errors.NotFound:
                continue
        raise UnknownAlert(f"No alert `{ref.id}` in {' or '.join(asked) or 'any configured backend'}.", status=404)
