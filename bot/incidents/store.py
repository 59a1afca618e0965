"""Incident declarations keyed by their source: the claim taken before ``POST /v1/incidents`` and its outcome.

The row's primary key is the source (``thread:C1:1700.1``, ``alert:rootly:…``, ``view:V123``), so two replicas, a
double submit or a second person on the same thread can never both create: the first insert wins, the others read
what it is doing. Every change is a single conditional statement, so it is atomic on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.domain import Incident
from bot.store.db import Database
from bot.store.schema import declarations


class Status(StrEnum):
    PENDING = "pending"  # claimed; POST /v1/incidents in flight (or its replica died)
    DECLARED = "declared"  # Rootly created it; the incident is recorded
    UNCONFIRMED = "unconfirmed"  # the POST failed ambiguously and the incident was not found afterwards


@dataclass(frozen=True)
class Declaration:
    source_key: str
    status: Status
    token: str
    attempt: int
    owner: str
    view_id: str | None
    claimed_at: datetime
    incident: Incident | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    """SQLite hands datetimes back naive; they were written in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _row(row: Any) -> Declaration:
    incident = None
    if row.incident_id:
        incident = Incident(
            id=row.incident_id,
            title=row.incident_title or "",
            sequential_id=row.incident_number,
            url=row.incident_url,
            severity=row.severity,
            slack_channel_id=row.slack_channel_id,
            slack_channel_url=row.slack_channel_url,
        )
    return Declaration(
        source_key=row.source_key,
        status=Status(row.status),
        token=row.token,
        attempt=row.attempt,
        owner=row.owner,
        view_id=row.view_id,
        claimed_at=_aware(row.claimed_at),
        incident=incident,
    )


class DeclarationStore:
    def __init__(self, db: Database) -> None:
        self.engine = db.engine

    def get(self, key: str) -> Declaration | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(declarations).where(declarations.c.source_key == key)).first()
        return _row(row) if row else None

    def declared_in_channel(self, channel: str) -> Incident | None:
        """The newest incident declared from Slack whose own Slack channel (Rootly's) is ``channel``."""
        query = (
            select(declarations)
            .where(declarations.c.slack_channel_id == channel, declarations.c.status == Status.DECLARED.value)
            .order_by(declarations.c.declared_at.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _row(row).incident if row else None

    def claim(self, key: str, owner: str, token: str, view_id: str | None) -> Declaration | None:
        """Take ``key`` for a new declaration. ``None`` when taken now; otherwise the declaration already there."""
        values = {"source_key": key, "status": Status.PENDING.value, "token": token, "attempt": 1, "owner": owner}
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(declarations).values(**values, view_id=view_id, claimed_at=_now()))
            return None
        except IntegrityError:
            pass
        existing = self.get(key)
        if existing is None:  # released between our insert and read: try once more
            return self.claim(key, owner, token, view_id)
        return existing

    def take_over(self, found: Declaration, owner: str, view_id: str | None) -> bool:
        """Make a stale or unconfirmed claim ours, keeping its token (so a late incident from the earlier attempt
        is still found by the same label). False when someone else changed it first.
        """
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(declarations)
                .where(
                    declarations.c.source_key == found.source_key,
                    declarations.c.attempt == found.attempt,
                    declarations.c.status != Status.DECLARED.value,
                )
                .values(
                    status=Status.PENDING.value,
                    attempt=found.attempt + 1,
                    owner=owner,
                    view_id=view_id,
                    claimed_at=_now(),
                )
            ).rowcount
        return bool(changed)

    def complete(self, key: str, incident: Incident) -> None:
        """Record the incident Rootly created for ``key`` (whoever holds the claim: the incident exists now)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(declarations)
                .where(declarations.c.source_key == key)
                .values(
                    status=Status.DECLARED.value,
                    incident_id=incident.id,
                    incident_number=incident.sequential_id,
                    incident_title=incident.title,
                    incident_url=incident.url,
                    severity=incident.severity,
                    slack_channel_id=incident.slack_channel_id,
                    slack_channel_url=incident.slack_channel_url,
                    declared_at=_now(),
                )
            )

    def mark_unconfirmed(self, key: str, attempt: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(declarations)
                .where(
                    declarations.c.source_key == key,
                    declarations.c.attempt == attempt,
                    declarations.c.status == Status.PENDING.value,
                )
                .values(status=Status.UNCONFIRMED.value)
            )

    def release(self, key: str, attempt: int) -> None:
        """Give the source back after a failure that certainly created nothing, so trying again is allowed."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(declarations).where(
                    declarations.c.source_key == key,
                    declarations.c.attempt == attempt,
                    declarations.c.status != Status.DECLARED.value,
                )
            )
