"""Who is on call, and paging: the on-call feature's domain (bot/oncall/).

Here rather than in the feature folder, so the Rootly and ilert clients can return them without importing the feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain import Alert, Backend, Person


class TargetKind(StrEnum):
    """What a person can name in ``/rootly oncall <name>`` and ``/rootly page <name>``."""

    TEAM = "team"
    SCHEDULE = "schedule"
    ESCALATION_POLICY = "escalation policy"
    SERVICE = "service"
    USER = "user"


@dataclass(frozen=True)
class OnCallTarget:
    """A team, schedule, escalation policy, service or user of one backend, as the directory lists it."""

    backend: Backend
    kind: TargetKind
    id: str
    name: str
    slug: str | None = None
    slack_channel_ids: tuple[str, ...] = ()  # teams: the channels Rootly lists for the team
    levels: int = 0  # escalation policies: how many levels it has (0: unknown)
    routing_key: str | None = None  # ilert escalation policies: where an event must be routed to page it
    email: str | None = None  # users
    member_ids: tuple[str, ...] = ()  # teams: their members' user ids (Rootly ``user_ids``)
    policy_ids: tuple[str, ...] = ()  # teams and services: the escalation policies alerting them pages

    @property
    def key(self) -> str:
        """Stable and short: ``rootly:schedule:<id>`` (button values, follow subscriptions)."""
        return f"{self.backend.value}:{self.kind.value.replace(' ', '_')}:{self.id}"


@dataclass(frozen=True)
class OnCallShift:
    """One person on call at one level of one escalation policy, from ``starts_at`` until ``ends_at``."""

    backend: Backend
    policy_id: str
    policy_name: str
    level: int
    person: Person
    starts_at: datetime
    ends_at: datetime
    schedule_id: str | None = None
    schedule_name: str | None = None
    override: bool = False
    shadow: bool = False


@dataclass(frozen=True)
class ShiftMark:
    """What a schedule's shift list says about a shift the on-call list cannot (Rootly ``listShifts``)."""

    schedule_id: str
    user_id: str
    starts_at: datetime
    ends_at: datetime
    override: bool
    shadow: bool


@dataclass(frozen=True)
class Paged:
    """The alert a page raised: Rootly returns it; ilert only accepts the event, known by its key."""

    backend: Backend
    key: str
    alert: Alert | None = None


@dataclass(frozen=True)
class OverrideShift:
    """An override the backend accepted: who takes ``schedule_id`` from ``starts_at`` to ``ends_at``."""

    id: str
    schedule_id: str
    user_id: str
    starts_at: datetime
    ends_at: datetime
