"""Digest subscriptions and the per-slot claims that make exactly one replica post each digest.

A run row is inserted before anything is posted; ``(subscription_id, slot_key)`` is unique, so whichever replica
inserts first owns the slot and every other one gets an IntegrityError and moves on. Every state change is a
conditional UPDATE (``WHERE owner = me AND status = 'claimed'``, or ``WHERE expires_at < now`` for a take-over), so
two replicas can never both believe they hold a claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, delete, desc, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from bot.digests.schedule import Kind, Schedule
from bot.domain import AlertFilters
from bot.store.alerts import filters_from_json, filters_to_json
from bot.store.db import Database
from bot.store.leases import LeaseTable
from bot.store.schema import digest_runs, digest_subscriptions


class Empty(StrEnum):
    """What a digest does when nothing is open."""

    SKIP = "skip"
    NOTE = "note"


class RunStatus(StrEnum):
    CLAIMED = "claimed"
    POSTED = "posted"
    SKIPPED = "skipped"  # nothing open and empty:skip
    FAILED = "failed"  # Slack refused it for good (channel gone, bot removed)
    LOST = "lost"  # claimed, never finished, and too late to post when the claim expired


@dataclass(frozen=True)
class DigestSubscription:
    id: int
    channel: str
    schedule: Schedule
    filters: AlertFilters
    empty: Empty
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class DigestRun:
    id: int
    subscription_id: int
    slot_key: str
    slot_at: datetime
    status: RunStatus
    owner: str
    attempts: int
    claimed_at: datetime
    expires_at: datetime
    ts: str | None = None
    detail: str | None = None


def utc(at: datetime) -> datetime:
    """Everything is stored in UTC: SQLite keeps a datetime's wall-clock fields and drops its zone (a slot in
    Europe/Berlin would come back an hour off), and hands back naive datetimes."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _subscription(row: Row) -> DigestSubscription:
    anchor = utc(row.anchor) if row.anchor is not None else None
    return DigestSubscription(
        id=row.id,
        channel=row.channel,
        schedule=Schedule(Kind(row.kind), row.spec, row.timezone, anchor),
        filters=filters_from_json(row.filters),
        empty=Empty(row.empty),
        created_by=row.created_by,
        created_at=utc(row.created_at),
    )


def _run(row: Row) -> DigestRun:
    return DigestRun(
        id=row.id,
        subscription_id=row.subscription_id,
        slot_key=row.slot_key,
        slot_at=utc(row.slot_at),
        status=RunStatus(row.status),
        owner=row.owner,
        attempts=row.attempts,
        claimed_at=utc(row.claimed_at),
        expires_at=utc(row.expires_at),
        ts=row.ts,
        detail=row.detail,
    )


class DigestStore:
    def __init__(self, db: Database) -> None:
        self.engine = db.engine
        # A claim is a lease on its run row, renewed while the slot is worked on (see bot/support/leases.py).
        self.leases = LeaseTable(
            self.engine, digest_runs, digest_runs.c.expires_at, held=[digest_runs.c.status == RunStatus.CLAIMED.value]
        )

    # subscriptions ------------------------------------------------------------------------------------------------
    def add(
        self,
        channel: str,
        schedule: Schedule,
        filters: AlertFilters,
        empty: Empty,
        created_by: str,
        now: datetime,
    ) -> DigestSubscription:
        with self.engine.begin() as conn:
            new_id = conn.execute(
                insert(digest_subscriptions)
                .values(
                    channel=channel,
                    kind=schedule.kind.value,
                    spec=schedule.spec,
                    timezone=schedule.timezone,
                    filters=filters_to_json(filters),
                    empty=empty.value,
                    anchor=utc(schedule.anchor) if schedule.anchor else None,
                    created_by=created_by,
                    created_at=utc(now),
                )
                .returning(digest_subscriptions.c.id)
            ).scalar_one()
        found = self.get(new_id)
        assert found is not None
        return found

    def get(self, subscription_id: int) -> DigestSubscription | None:
        found = self._subscriptions(digest_subscriptions.c.id == subscription_id)
        return found[0] if found else None

    def for_channel(self, channel: str) -> list[DigestSubscription]:
        return self._subscriptions(digest_subscriptions.c.channel == channel)

    def all(self) -> list[DigestSubscription]:
        return self._subscriptions(None)

    def _subscriptions(self, where: ColumnElement[bool] | None) -> list[DigestSubscription]:
        query = select(digest_subscriptions).order_by(digest_subscriptions.c.id)
        if where is not None:
            query = query.where(where)
        with self.engine.connect() as conn:
            return [_subscription(row) for row in conn.execute(query)]

    def remove(self, subscription_id: int) -> bool:
        with self.engine.begin() as conn:
            # Runs go first: SQLite enforces the foreign key, but a connection may predate PRAGMA foreign_keys.
            conn.execute(delete(digest_runs).where(digest_runs.c.subscription_id == subscription_id))
            return (
                conn.execute(delete(digest_subscriptions).where(digest_subscriptions.c.id == subscription_id)).rowcount
                > 0
            )

    def fingerprint(self) -> tuple[int, int]:
        """(count, highest id): changes whenever any replica adds or removes a subscription, for cheap resyncs."""
        with self.engine.connect() as conn:
            row = conn.execute(select(func.count(), func.coalesce(func.max(digest_subscriptions.c.id), 0))).one()
        return int(row[0]), int(row[1])

    # runs (claims) ------------------------------------------------------------------------------------------------
    def claim(
        self, subscription_id: int, slot_key: str, slot_at: datetime, owner: str, ttl: float, now: datetime
    ) -> DigestRun | None:
        """The run for this slot if this caller is the first to ask, on any replica; None when already claimed."""
        try:
            with self.engine.begin() as conn:
                run_id = conn.execute(
                    insert(digest_runs)
                    .values(
                        subscription_id=subscription_id,
                        slot_key=slot_key,
                        slot_at=utc(slot_at),
                        status=RunStatus.CLAIMED.value,
                        owner=owner,
                        attempts=1,
                        claimed_at=utc(now),
                        expires_at=utc(now) + timedelta(seconds=ttl),
                    )
                    .returning(digest_runs.c.id)
                ).scalar_one()
        except IntegrityError:
            return None
        return self.run(run_id)

    def run(self, run_id: int) -> DigestRun | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(digest_runs).where(digest_runs.c.id == run_id)).first()
        return _run(row) if row else None

    def run_for(self, subscription_id: int, slot_key: str) -> DigestRun | None:
        query = select(digest_runs).where(
            digest_runs.c.subscription_id == subscription_id, digest_runs.c.slot_key == slot_key
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _run(row) if row else None

    def _mine(self, run_id: int, owner: str) -> ColumnElement[bool]:
        return and_(
            digest_runs.c.id == run_id,
            digest_runs.c.owner == owner,
            digest_runs.c.status == RunStatus.CLAIMED.value,
        )

    def renew_lease(self, run_id: int, held_until: datetime, ttl: float, now: datetime) -> datetime | None:
        """Extend a claim still held (``held_until`` is its current end); the new end, or None when it was lost."""
        return self.leases.renew(run_id, utc(held_until), ttl, utc(now))

    def renew(self, run_id: int, owner: str, ttl: float, now: datetime) -> bool:
        """Extend our claim before posting; False when it expired and another replica took it over."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(digest_runs).where(self._mine(run_id, owner)).values(expires_at=now + timedelta(seconds=ttl))
            ).rowcount
        return changed == 1

    def finish(
        self,
        run_id: int,
        owner: str,
        status: RunStatus,
        now: datetime,
        *,
        ts: str | None = None,
        detail: str | None = None,
    ) -> bool:
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(digest_runs)
                .where(self._mine(run_id, owner))
                .values(status=status.value, finished_at=now, ts=ts, detail=(detail or None) and detail[:1000])
            ).rowcount
        return changed == 1

    def release(self, run_id: int, owner: str, detail: str, now: datetime) -> bool:
        """Give the claim up after a transient failure: it expires at once, so the next sweep (any replica) retries."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(digest_runs).where(self._mine(run_id, owner)).values(expires_at=now, detail=detail[:1000])
            ).rowcount
        return changed == 1

    def expired(self, now: datetime, limit: int = 100) -> list[DigestRun]:
        """Claims whose holder neither finished nor renewed in time: crashed, killed, or stuck."""
        query = (
            select(digest_runs)
            .where(digest_runs.c.status == RunStatus.CLAIMED.value, digest_runs.c.expires_at < now)
            .order_by(digest_runs.c.slot_at)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_run(row) for row in conn.execute(query)]

    def take_over(self, run: DigestRun, owner: str, ttl: float, now: datetime) -> DigestRun | None:
        """Atomically become the holder of an expired claim; None when another replica got there first."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(digest_runs)
                .where(
                    digest_runs.c.id == run.id,
                    digest_runs.c.status == RunStatus.CLAIMED.value,
                    digest_runs.c.owner == run.owner,
                    digest_runs.c.attempts == run.attempts,
                    digest_runs.c.expires_at < now,
                )
                .values(owner=owner, attempts=run.attempts + 1, expires_at=now + timedelta(seconds=ttl))
            ).rowcount
        return self.run(run.id) if changed == 1 else None

    def give_up(self, run: DigestRun, detail: str, now: datetime) -> bool:
        """Mark an expired claim lost (too late to post); True for the one replica that did it, which logs it."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(digest_runs)
                .where(
                    digest_runs.c.id == run.id,
                    digest_runs.c.status == RunStatus.CLAIMED.value,
                    digest_runs.c.attempts == run.attempts,
                    digest_runs.c.expires_at < now,
                )
                .values(status=RunStatus.LOST.value, finished_at=now, detail=detail[:1000])
            ).rowcount
        return changed == 1

    def last_delivered(self, subscription_id: int) -> DigestRun | None:
        """The newest slot that was posted or skipped: where the next digest's window starts."""
        query = (
            select(digest_runs)
            .where(
                digest_runs.c.subscription_id == subscription_id,
                digest_runs.c.status.in_([RunStatus.POSTED.value, RunStatus.SKIPPED.value]),
            )
            .order_by(desc(digest_runs.c.slot_at))
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _run(row) if row else None

    def runs(self, subscription_id: int | None = None) -> list[DigestRun]:
        query = select(digest_runs).order_by(digest_runs.c.slot_at, digest_runs.c.id)
        if subscription_id is not None:
            query = query.where(digest_runs.c.subscription_id == subscription_id)
        with self.engine.connect() as conn:
            return [_run(row) for row in conn.execute(query)]

    def prune(self, before: datetime) -> int:
        """Forget finished runs older than ``before`` (the table would otherwise grow by one row a slot)."""
        with self.engine.begin() as conn:
            return conn.execute(
                delete(digest_runs).where(
                    digest_runs.c.status != RunStatus.CLAIMED.value, digest_runs.c.slot_at < before
                )
            ).rowcount
