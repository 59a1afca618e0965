"""Plain data the bot works with, whichever backend it came from. No I/O here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Backend(StrEnum):
    ROOTLY = "rootly"
    ILERT = "ilert"


class AlertStatus(StrEnum):
    """Rootly's alert states; ilert's are mapped onto them (PENDING → triggered, ACCEPTED → acknowledged)."""

    OPEN = "open"
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    DEFERRED = "deferred"
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, value: str | None) -> AlertStatus:
        try:
            return cls((value or "").lower())
        except ValueError:
            return cls.UNKNOWN


_ALERT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass(frozen=True)
class AlertRef:
    """Which alert, on which backend: what buttons carry as ``backend:id``."""

    backend: Backend
    id: str

    def encode(self) -> str:
        return f"{self.backend.value}:{self.id}"

    @classmethod
    def decode(cls, value: str) -> AlertRef:
        """Raises ValueError for anything the bot did not render: alert ids are uuids, short ids or numbers."""
        backend, sep, alert_id = value.partition(":")
        if not sep or not _ALERT_ID.fullmatch(alert_id):
            raise ValueError(f"not an alert reference: {value[:100]!r}")
        return cls(Backend(backend), alert_id)


@dataclass(frozen=True)
class Person:
    """A user of a backend (Rootly users have integer ids)."""

    id: str
    name: str
    email: str | None = None


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    slug: str | None = None


@dataclass(frozen=True)
class Urgency:
    id: str
    name: str
    position: int | None = None


@dataclass(frozen=True)
class Alert:
    ref: AlertRef
    short_id: str
    summary: str
    status: AlertStatus
    source: str
    created_at: datetime
    url: str | None = None
    description: str | None = None
    urgency: Urgency | None = None
    services: tuple[Service, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    started_at: datetime | None = None
    ended_at: datetime | None = None
    updated_at: datetime | None = None
    responders: tuple[Person, ...] = ()
    noise: bool | None = None
    environments: tuple[Service, ...] = ()
    groups: tuple[Service, ...] = ()  # Rootly calls teams "groups" on alerts
    notified: tuple[Person, ...] = ()  # who the backend paged (Rootly ``notified_users``), when it says

    @property
    def can_acknowledge(self) -> bool:
        """Rootly only acknowledges triggered alerts ("cannot acknowledge open alert")."""
        return self.status is AlertStatus.TRIGGERED

    @property
    def can_resolve(self) -> bool:
        return self.status is not AlertStatus.RESOLVED

    @property
    def label(self) -> str:
        """How people name the alert: its short id where it has one."""
        return self.short_id or self.ref.id


@dataclass(frozen=True)
class AlertPage:
    alerts: tuple[Alert, ...]
    total: int


@dataclass(frozen=True)
class Note:
    id: str
    alert_id: str
    details: str
    author_id: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class AlertChanges:
    """What a person asked to change on an alert, by name; the backend resolves names to ids."""

    summary: str | None = None
    urgency: str | None = None
    services: tuple[str, ...] | None = None  # replaces the alert's services
    set_labels: tuple[tuple[str, str], ...] = ()
    remove_labels: tuple[str, ...] = ()
    noise: bool | None = None

    def __bool__(self) -> bool:
        return (
            any((self.summary, self.urgency, self.services is not None, self.set_labels, self.remove_labels))
            or self.noise is not None
        )


@dataclass(frozen=True)
class AlertEdit:
    """What the edit form holds, by id; a field left ``None`` was not on the form and stays as it is."""

    summary: str | None = None
    description: str | None = None
    urgency_id: str | None = None
    service_ids: tuple[str, ...] | None = None
    environment_ids: tuple[str, ...] | None = None
    group_ids: tuple[str, ...] | None = None
    labels: tuple[tuple[str, str], ...] | None = None


@dataclass(frozen=True)
class TriggerRequest:
    """An alert raised by hand. ``key`` groups repeats: the same key twice is one alert, on either backend."""

    summary: str
    key: str
    details: str | None = None
    priority: str | None = None  # "high" | "low"
    route: str | None = None  # ilert routing key
    links: tuple[tuple[str, str], ...] = ()  # (href, text)


@dataclass(frozen=True)
class Triggered:
    """What a backend says after raising: Rootly returns the alert; ilert queues the event (202) under the key."""

    backend: Backend
    key: str
    alert: Alert | None = None


@dataclass(frozen=True)
class AlertEvent:
    """One entry of an alert's timeline: what happened (``action``: created, acknowledged, resolved…)."""

    id: str
    alert_id: str
    kind: str
    action: str
    created_at: datetime | None = None


@dataclass(frozen=True)
class EventPage:
    events: tuple[AlertEvent, ...]
    cursor: str | None


@dataclass(frozen=True)
class Actor:
    """The Slack user behind an action, and the backend user it maps to (when one does)."""

    slack_user_id: str
    name: str
    email: str | None = None
    backend_user: Person | None = None
    unmatched_reason: str | None = None


@dataclass(frozen=True)
class AlertFilters:
    """What a person asked to see; empty values are never sent to an API."""

    statuses: tuple[str, ...] = ("open", "triggered")
    services: tuple[str, ...] = ()
    urgencies: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    labels: tuple[str, ...] = field(default=())

    def matches(self, alert: Alert) -> bool:
        """The same filters, applied to an alert in hand (feeds, and urgency, which Rootly cannot filter on)."""
        if self.statuses and alert.status.value not in self.statuses:
            return False
        if self.services and not {s.slug or s.name for s in alert.services} & set(self.services):
            names = {s.name.lower() for s in alert.services}
            if not names & {x.lower() for x in self.services}:
                return False
        if self.urgencies and (alert.urgency is None or alert.urgency.name.lower() not in _lower(self.urgencies)):
            return False
        if self.sources and alert.source.lower() not in _lower(self.sources):
            return False
        if self.labels:
            have = {f"{k}:{v}".lower() for k, v in alert.labels}
            if not _lower(self.labels) <= have:
                return False
        return True

    def describe(self) -> str:
        """In words, for replies: "status triggered, service api"."""
        parts = []
        for name, values in (
            ("status", self.statuses),
            ("service", self.services),
            ("urgency", self.urgencies),
            ("source", self.sources),
            ("label", self.labels),
        ):
            if values:
                parts.append(f"{name} {' or '.join(values)}")
        return ", ".join(parts) or "all alerts"


def _lower(values: tuple[str, ...]) -> set[str]:
    return {v.lower() for v in values}


@dataclass(frozen=True)
class SubscriptionLine:
    """Something a person set up in a channel (a digest, a feed, a follow), as the App Home lists it.

    Each feature describes its own subscriptions, so the Home tab lists them without knowing the features."""

    channel: str
    created_by: str | None
    label: str  # mrkdwn: "Digest *#3*", "Feed"
    text: str  # mrkdwn: what it does


@dataclass(frozen=True)
class FeedSubscription:
    """A channel that gets a message for each new alert matching ``filters``."""

    id: int
    channel: str
    filters: AlertFilters
    created_by: str


class CatalogKind(StrEnum):
    """Rootly's lists an incident is classified with; the value is the list's URL segment (``/v1/<value>``)."""

    SEVERITIES = "severities"
    INCIDENT_TYPES = "incident_types"
    SERVICES = "services"
    TEAMS = "teams"
    ENVIRONMENTS = "environments"


@dataclass(frozen=True)
class CatalogItem:
    """One severity, incident type, service, team or environment: what a picker offers (by id, shown by name)."""

    id: str
    name: str
    slug: str | None = None
    position: int | None = None


@dataclass(frozen=True)
class CatalogPage:
    """The first items of a list and Rootly's count of all of them (``None`` when Rootly did not say)."""

    items: tuple[CatalogItem, ...]
    total: int | None


# Rootly's incident states, as its transitions see them: active ones can be mitigated, resolved or cancelled; a
# mitigated one resolved or cancelled; the rest are over.
ACTIVE_INCIDENT_STATUSES = ("in_triage", "started", "detected", "acknowledged")
OPEN_INCIDENT_STATUSES = (*ACTIVE_INCIDENT_STATUSES, "mitigated")
CLOSED_INCIDENT_STATUSES = ("resolved", "closed", "cancelled", "completed")


@dataclass(frozen=True)
class IncidentRole:
    """A role people take in an incident (Commander, Communications lead…)."""

    id: str
    name: str
    slug: str | None = None


@dataclass(frozen=True)
class RoleAssignment:
    role: str  # the role's name
    person: Person
    role_slug: str | None = None


@dataclass(frozen=True)
class Incident:
    id: str
    title: str
    sequential_id: int | None = None
    url: str | None = None
    status: str | None = None
    severity: str | None = None  # the severity's name
    private: bool = False
    slack_channel_id: str | None = None
    slack_channel_url: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    created_at: datetime | None = None
    slug: str | None = None
    severity_id: str | None = None
    summary: str | None = None
    started_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    cancelled_at: datetime | None = None
    updated_at: datetime | None = None
    roles: tuple[RoleAssignment, ...] | None = None  # None: not read (Rootly sends them only when asked)

    @property
    def label(self) -> str:
        """How people name it: ``INC-123``, or its id before Rootly numbered it."""
        return f"INC-{self.sequential_id}" if self.sequential_id is not None else self.id

    @property
    def is_open(self) -> bool:
        return (self.status or "started") in OPEN_INCIDENT_STATUSES

    @property
    def can_mitigate(self) -> bool:
        return (self.status or "started") in ACTIVE_INCIDENT_STATUSES

    @property
    def can_resolve(self) -> bool:
        return self.is_open

    @property
    def can_cancel(self) -> bool:
        return self.is_open

    @property
    def commander(self) -> Person | None:
        """Whoever holds a role named like "commander" (Rootly's default lead role), if read and assigned."""
        for assignment in self.roles or ():
            if "commander" in f"{assignment.role} {assignment.role_slug or ''}".lower():
                return assignment.person
        return None

    @property
    def opened_at(self) -> datetime | None:
        return self.started_at or self.created_at


@dataclass(frozen=True)
class IncidentEvent:
    """One entry of an incident's timeline."""

    id: str
    text: str
    created_at: datetime | None = None


@dataclass(frozen=True)
class IncidentFilters:
    """``/rootly incidents`` filters; empty values are never sent."""

    statuses: tuple[str, ...] = OPEN_INCIDENT_STATUSES
    severities: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = []
        for name, values in (("status", self.statuses), ("severity", self.severities), ("team", self.teams)):
            if values and not (name == "status" and values == OPEN_INCIDENT_STATUSES):
                parts.append(f"{name} {' or '.join(values)}")
        return ", ".join(parts) or "open incidents"


@dataclass(frozen=True)
class NewIncident:
    """What a person asked Rootly to create; empty values are left out of the request."""

    title: str
    summary: str | None = None
    severity_id: str | None = None
    incident_type_ids: tuple[str, ...] = ()
    service_ids: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()
    environment_ids: tuple[str, ...] = ()
    private: bool = False
    parent_incident_id: str | None = None
    alert_ids: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()


# What a form offers to pick from one of Rootly's catalogs (severities, services, teams…).
@dataclass(frozen=True)
class Picker:
    kind: CatalogKind
    items: tuple[CatalogItem, ...]  # every item when static; the first page when searched
    searched: bool  # offered as an external select: too many for one list, or of unknown size
    failed: bool = False  # Rootly did not answer: searched as typed, and the form says so


@dataclass(frozen=True)
class Pickers:
    by_kind: dict[CatalogKind, Picker]

    def __getitem__(self, kind: CatalogKind) -> Picker:
        return self.by_kind[kind]

    @property
    def failed(self) -> list[CatalogKind]:
        return [kind for kind, picker in self.by_kind.items() if picker.failed]
