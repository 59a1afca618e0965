"""The outbox: actions Rootly or ilert could not take yet, kept in the database until they land.

An item is written before the person is told "queued", so a crash or restart loses nothing. Delivery leases an
item with a conditional UPDATE, so any number of replicas can deliver and each item is attempted by one at a time;
a replica that dies mid-delivery lets its lease expire and another picks the item up, marked ``check_first``: the
dead replica may have sent it, so a note is looked for before it is sent again. Finishing an item is conditional on
still holding its lease, so a replica whose lease ran out cannot overwrite what the new holder did.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, insert, not_, or_, select, true, update

from bot.store.db import Database
from bot.store.leases import LeaseTable
from bot.store.schema import outbox

PENDING, LEASED, DELIVERED, FAILED = "pending", "leased", "delivered", "failed"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class OutboxItem:
    id: int
    kind: str  # "note" | "acknowledge" | "resolve"
    target: str  # an encoded AlertRef, or the reference the person typed
    payload: dict[str, Any]
    attempts: int
    check_first: bool  # an earlier attempt may have landed: look before sending again
    created_at: datetime
    lease_until: datetime | None = None  # this caller's lease: finishing is conditional on it

    @property
    def backend(self) -> str:
        """The backend the item goes to (``rootly``, ``ilert``), or ``any`` when the reference did not say."""
        return backend_of(self.target)


def backend_of(target: str) -> str:
    """``rootly:ID`` (a button's AlertRef) or ``ref:rootly:ID`` / ``ref::ID`` (what a person typed)."""
    head, _, rest = target.partition(":")
    if head == "ref":
        head = rest.partition(":")[0]
    return head or "any"


def _first_of_its_alert() -> ColumnElement[bool]:
    """No older item for the same alert is still waiting or in flight: one alert's items go one at a time, in the
    order they were queued (an acknowledgement before the resolution that followed it), whatever the parallelism."""
    earlier = outbox.alias("earlier")
    return ~exists().where(
        earlier.c.target == outbox.c.target, earlier.c.id < outbox.c.id, earlier.c.status.in_((PENDING, LEASED))
    )


def _not_going_to(backends: Collection[str]) -> ColumnElement[bool]:
    """Items for none of ``backends`` (a backend that just failed is not tried again in the same pass)."""
    clauses: list[ColumnElement[bool]] = []
    for name in backends:
        if name == "any":
            clauses.append(not_(outbox.c.target.like("ref::%")))
        else:
            clauses += [not_(outbox.c.target.like(f"{name}:%")), not_(outbox.c.target.like(f"ref:{name}:%"))]
    return and_(true(), *clauses)


class OutboxStore:
    def __init__(self, db: Database) -> None:
        self.engine = db.engine
        self.leases = LeaseTable(self.engine, outbox, outbox.c.lease_until, held=[outbox.c.status == LEASED])
        # One leaser at a time in this process: parallel deliverers would all read the same first due items and
        # race to update them, and on SQLite the losers sleep in its busy handler (up to 100 ms a turn) while a
        # backlog waits. Other replicas still race in the UPDATE, which stays the guard against a double lease.
        self._leasing = threading.Lock()

    def enqueue(self, kind: str, target: str, payload: dict[str, Any], *, check_first: bool) -> int:
        now = _now()
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(outbox).values(
                    kind=kind,
                    target=target,
                    payload=json.dumps(payload),
                    status=PENDING,
                    attempts=0,
                    check_first=check_first,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            return int(result.inserted_primary_key[0])

    def lease_due(self, *, limit: int = 20, lease_seconds: float = 120.0) -> list[OutboxItem]:
        """Items whose time has come (or whose lease ran out), each leased to this caller alone."""
        now = _now()
        due = or_(
            and_(outbox.c.status == PENDING, outbox.c.next_attempt_at <= now),
            and_(outbox.c.status == LEASED, outbox.c.lease_until < now),
        )
        due = and_(due, _first_of_its_alert())
        with self.engine.connect() as conn:
            ids = [row.id for row in conn.execute(select(outbox.c.id).where(due).order_by(outbox.c.id).limit(limit))]
        leased: list[OutboxItem] = []
        for item_id in ids:
            item = self._take(item_id, due, now + timedelta(seconds=lease_seconds))
            if item is not None:
                leased.append(item)
        return leased

    def lease_next(
        self, *, lease_seconds: float = 120.0, skip: Collection[str] = (), candidates: int = 5
    ) -> OutboxItem | None:
        """The next due item (oldest due first), leased to this caller alone; None when nothing is due.

        Leasing one item at a time, just before it is attempted, keeps every lease far longer than one attempt, so
        a slow backend cannot let a lease run out while the item still waits in this caller's batch. Only the first
        waiting item of each alert is due (:func:`_first_of_its_alert`), checked again in the leasing UPDATE, so
        parallel deliverers never hold two items of one alert. ``candidates``: how many due items to try in turn
        when others are leasing at the same time (about the number of parallel deliverers).
        """
        now = _now()
        due = and_(
            or_(
                and_(outbox.c.status == PENDING, outbox.c.next_attempt_at <= now),
                and_(outbox.c.status == LEASED, outbox.c.lease_until < now),
            ),
            _not_going_to(skip),
            _first_of_its_alert(),
        )
        query = select(outbox.c.id).where(due).order_by(outbox.c.next_attempt_at, outbox.c.id).limit(candidates)
        with self._leasing:
            with self.engine.connect() as conn:
                ids = [row.id for row in conn.execute(query)]
            for item_id in ids:
                item = self._take(item_id, due, now + timedelta(seconds=lease_seconds))
                if item is not None:
                    return item
        return None

    def _take(self, item_id: int, due: ColumnElement[bool], until: datetime) -> OutboxItem | None:
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(outbox)
                .where(outbox.c.id == item_id, due)
                .values(
                    status=LEASED,
                    lease_until=until,
                    # A lease that ran out was held by a replica that died or hung mid-attempt: it may have sent it.
                    check_first=case((outbox.c.status == LEASED, True), else_=outbox.c.check_first),
                )
            ).rowcount
            if not taken:
                return None  # another replica leased it first
            row = conn.execute(select(outbox).where(outbox.c.id == item_id)).one()
        return OutboxItem(
            row.id,
            row.kind,
            row.target,
            json.loads(row.payload),
            row.attempts,
            bool(row.check_first),
            row.created_at,
            until,
        )

    def delivered(self, item_id: int, lease_until: datetime | None = None) -> bool:
        return self._finish(item_id, DELIVERED, None, lease_until)

    def failed(self, item_id: int, error: str, lease_until: datetime | None = None) -> bool:
        return self._finish(item_id, FAILED, error, lease_until)

    def retry_later(
        self, item_id: int, error: str, delay: float, *, check_first: bool, lease_until: datetime | None = None
    ) -> bool:
        with self.engine.begin() as conn:
            return bool(
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id == item_id, *_holding(lease_until))
                    .values(
                        status=PENDING,
                        attempts=outbox.c.attempts + 1,
                        last_error=error[:500],
                        next_attempt_at=_now() + timedelta(seconds=delay),
                        check_first=check_first,
                    )
                ).rowcount
            )

    def renew(self, item_id: int, held: datetime, seconds: float) -> datetime | None:
        """Extend a lease still held (``held`` is its current end); the new end, or None when it was lost."""
        return self.leases.renew(item_id, held, seconds)

    def expedite(self) -> int:
        """Make every waiting item due now: one landed, so the backend is back and backoff only delays the rest."""
        now = _now()
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    update(outbox)
                    .where(outbox.c.status == PENDING, outbox.c.next_attempt_at > now)
                    .values(next_attempt_at=now)
                ).rowcount
            )

    def _finish(self, item_id: int, status: str, error: str | None, lease_until: datetime | None) -> bool:
        """False when the lease was lost meanwhile (another replica took the item over): nothing is written."""
        with self.engine.begin() as conn:
            return bool(
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id == item_id, *_holding(lease_until))
                    .values(status=status, attempts=outbox.c.attempts + 1, last_error=error, finished_at=_now())
                ).rowcount
            )

    def depth(self) -> int:
        """Items not yet delivered or given up on (for health and metrics)."""
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(outbox).where(outbox.c.status.in_((PENDING, LEASED)))
                ).scalar_one()
            )

    def oldest_waiting(self) -> datetime | None:
        """When the oldest undelivered item was queued (for health: how long Rootly has been owed something)."""
        with self.engine.connect() as conn:
            when = conn.execute(
                select(func.min(outbox.c.created_at)).where(outbox.c.status.in_((PENDING, LEASED)))
            ).scalar_one()
        return None if when is None else (when if when.tzinfo else when.replace(tzinfo=UTC))

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))
            return {status: int(n) for status, n in rows}


def _holding(lease_until: datetime | None) -> list[ColumnElement[bool]]:
    """Conditions that hold while the caller still owns the lease it was given (none when it gave no lease)."""
    if lease_until is None:
        return []
    return [outbox.c.status == LEASED, outbox.c.lease_until == lease_until]
