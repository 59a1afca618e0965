"""What the on-call feature needs from a backend.

``bot/backends/rootly/oncall.py`` and ``bot/backends/ilert/oncall.py`` implement it structurally (they do not import
this package), so the arrows keep pointing down."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.domain import Backend, Person
from bot.domain.oncall import OnCallShift, OnCallTarget, OverrideShift, Paged, ShiftMark


class OnCallSource(Protocol):
    @property
    def kind(self) -> Backend: ...

    @property
    def display_name(self) -> str: ...

    def directory(self) -> list[OnCallTarget]:
        """Every team, schedule, escalation policy and service people may name (the caller caches it)."""
        ...

    def on_call(self, target: OnCallTarget | None, since: datetime, until: datetime) -> list[OnCallShift]:
        """Who is on call between ``since`` and ``until`` (one API call), for ``target`` or for everyone.
        Raises ``errors.NotFound`` when the organisation has no on-call product."""
        ...

    def shift_marks(self, schedule_ids: Sequence[str], since: datetime, until: datetime) -> list[ShiftMark]:
        """Override and shadow flags of the schedules' shifts (empty where the backend has none)."""
        ...

    def find_user(self, email: str) -> Person | None: ...

    def page(self, target: OnCallTarget, summary: str, details: str, key: str) -> Paged:
        """Raise an alert addressed to ``target``; ``key`` makes a repeat the same alert."""
        ...

    def take(self, schedule_id: str, user_id: str, starts_at: datetime, ends_at: datetime) -> OverrideShift:
        """An override shift putting ``user_id`` on call; raises ``errors.Invalid`` when the backend refuses."""
        ...
