"""Leases on database rows: a row is held until a time stored in it, and only while its holder keeps renewing.

Any table whose rows are worked on by one replica at a time (outbox items, digest slots, and later shift-change
claims) keeps its lease as one ``DateTime`` column. Renewing is a conditional UPDATE on the end the holder was last
given (plus the table's own "still held" conditions, such as a status), so a holder whose lease ran out and was taken
over cannot extend the new holder's lease: it learns it lost the row instead. Ends are compared exactly, so they
are computed here, once, and handed back to the holder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, ColumnElement, Engine, Table, update


def _now() -> datetime:
    return datetime.now(UTC)


class LeaseTable:
    """Renews leases on rows of ``table`` whose end is kept in ``until``."""

    def __init__(
        self,
        engine: Engine,
        table: Table,
        until: Column,
        *,
        held: Sequence[ColumnElement[bool]] = (),
        clock: Callable[[], datetime] = _now,
    ) -> None:
        # ``held``: the table's own conditions for "still being worked on" (a status), checked with the end.
        self.engine = engine
        self.table = table
        self.until = until
        self.held = tuple(held)
        self.clock = clock

    def holding(self, held_until: datetime) -> list[ColumnElement[bool]]:
        """Conditions true while the caller still holds the lease it was given (ending at ``held_until``)."""
        return [*self.held, self.until == held_until]

    def renew(self, row_id: int, held_until: datetime, seconds: float, now: datetime | None = None) -> datetime | None:
        """Extend a lease still held; its new end, or None when it was lost (taken over, finished, released)."""
        new_until = (now or self.clock()) + timedelta(seconds=seconds)
        with self.engine.begin() as conn:
            renewed = conn.execute(
                update(self.table)
                .where(self.table.c.id == row_id, *self.holding(held_until))
                .values({self.until.name: new_until})
            ).rowcount
        return new_until if renewed else None
