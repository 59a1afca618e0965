"""What happened to an alert, one entry at a time, in words any backend can supply (Rootly alert events, ilert
log entries): what alert threads in Slack tell."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Happening(StrEnum):
    """The kinds of alert events a thread shows; everything else (notifications, routing…) stays in the backend."""

    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    SNOOZED = "snoozed"
    ESCALATED = "escalated"
    RETRIGGERED = "retriggered"
    NOISE = "noise"
    NOT_NOISE = "not_noise"
    NOTE = "note"
    INCIDENT = "incident"


@dataclass(frozen=True)
class TimelineEvent:
    """One event on an alert. ``id`` is the backend's own id of the event: what "posted once" is keyed by."""

    id: str
    what: Happening
    at: datetime | None = None
    by: str | None = None  # the person's (or integration's) name, when the backend says
    by_id: str | None = None  # the backend user id, when there is one
    text: str | None = None  # a note's text, a resolution message
    level: int | None = None  # escalation level
    target: str | None = None  # who or what was escalated to
    incident_title: str | None = None
    incident_url: str | None = None
