"""The outbox: actions Rootly or ilert could not take yet, kept in the database until they land.

An item is written before the person is told "queued", so a crash or restart loses nothing. Delivery leases an
item with a conditional UPDATE, so any number of replicas can deliver and each item is attempted by one at a time;
a replica that dies mid-delivery lets its lease expire and another picks the item up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update

from bot.store.db import Database
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


class OutboxStore:
    def __init__(self, db: Database) -> None:
        self.engine = db.engine

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
        with self.engine.connect() as conn:
            ids = [row.id for row in conn.execute(select(outbox.c.id).where(due).order_by(outbox.c.id).limit(limit))]
        leased: list[OutboxItem] = []
        for item_id in ids:
            with self.engine.begin() as conn:
                taken = conn.execute(
                    update(outbox)
                    .where(outbox.c.id == item_id, due)
                    .values(status=LEASED, lease_until=now + timedelta(seconds=lease_seconds))
                ).rowcount
                if not taken:
                    continue  # another replica leased it first
                row = conn.execute(select(outbox).where(outbox.c.id == item_id)).one()
            leased.append(
                OutboxItem(
                    row.id,
                    row.kind,
                    row.target,
                    json.loads(row.payload),
                    row.attempts,
                    bool(row.check_first),
                    row.created_at,
                )
            )
        return leased

    def delivered(self, item_id: int) -> None:
        self._finish(item_id, DELIVERED, None)

    def failed(self, item_id: int, error: str) -> None:
        self._finish(item_id, FAILED, error)

    def retry_later(self, item_id: int, error: str, delay: float, *, check_first: bool) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id == item_id)
                .values(
                    status=PENDING,
                    attempts=outbox.c.attempts + 1,
                    last_error=error[:500],
                    next_attempt_at=_now() + timedelta(seconds=delay),
                    check_first=check_first,
                )
            )

    def _finish(self, item_id: int, status: str, error: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id == item_id)
                .values(status=status, attempts=outbox.c.attempts + 1, last_error=error, finished_at=_now())
            )

    def depth(self) -> int:
        """Items not yet delivered or given up on (for health and metrics)."""
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(outbox).where(outbox.c.status.in_((PENDING, LEASED)))
                ).scalar_one()
            )

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))
            return {status: int(n) for status, n in rows}
