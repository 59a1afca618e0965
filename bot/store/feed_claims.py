"""Feed claims: one row per (alert, channel), taken by the replica that queues the alert, so it is shown once.

A claim is a lease until its alert is shown: ``claimed_at`` is renewed by its ``owner`` while the alert waits in its
channel's queue (bot/services/feeds.py keeps a heartbeat on them), and ``posted_at`` is set when the post or group
row landed. A claim left unposted and not renewed for a lease length belongs to a replica that died (SIGKILL, OOM):
another replica takes it over with a conditional UPDATE (exactly one wins) and posts the alert. Before posting, the
poster renews its claims and posts only those still its own, so a replica that stalled past its lease and was taken
over does not post the alert a second time. Every statement here is safe to repeat, so each is retried while the
database is busy (:func:`bot.store.reconnect.retry_busy`).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Engine, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.domain import AlertRef, Backend
from bot.store.reconnect import retry_busy
from bot.store.schema import feed_posts

_CHUNK = 400  # alert ids per IN list: well under SQLite's 999 bound parameters
_LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)  # a claim handed back: stale at once


def _now() -> datetime:
    return datetime.now(UTC)


def replica_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"[:80]


@dataclass(frozen=True)
class StaleClaim:
    id: int
    ref: AlertRef
    channel: str
    owner: str | None


class FeedClaims:
    def __init__(self, engine: Engine, owner: str | None = None) -> None:
        self.engine = engine
        self.owner = owner or replica_id()

    def claim(self, ref: AlertRef, channel: str) -> bool:
        """True for exactly one caller per (alert, channel), whichever replica or source asks first.

        Retried while the database is busy: a repeat after an insert that did land finds the row and answers
        False, and that claim (ours, never queued, never renewed) is taken over by :meth:`stale` within a lease."""

        def insert_row() -> bool:
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        insert(feed_posts).values(
                            backend=ref.backend.value,
                            alert_id=ref.id,
                            channel=channel,
                            claimed_at=_now(),
                            owner=self.owner,
                        )
                    )
                return True
            except IntegrityError:
                return False

        return retry_busy(insert_row, f"claiming {ref.encode()} in {channel}")

    def release(self, ref: AlertRef, channel: str) -> None:
        """Undo our claim whose post failed, so a later delivery or poll tries again."""
        where = self._mine(channel, [ref.id], ref.backend)
        retry_busy(lambda: self._execute(delete(feed_posts).where(where)), f"releasing {ref.encode()}")

    def hand_back(self, ref: AlertRef, channel: str) -> None:
        """Leave our queued claim to another replica now (shutting down): it is stale at once, not in a lease."""
        where = self._mine(channel, [ref.id], ref.backend)
        statement = update(feed_posts).where(where).values(claimed_at=_LONG_AGO)
        retry_busy(lambda: self._execute(statement), f"handing back {ref.encode()}")

    def hold(self, channel: str, refs: Iterable[AlertRef]) -> set[AlertRef]:
        """Renew our claims on these queued alerts; the ones still ours (not posted, not taken over)."""
        held: set[AlertRef] = set()
        for backend, ids in _by_backend(refs):
            where = self._mine(channel, ids, backend)

            def renew(where: ColumnElement[bool] = where) -> list[str]:
                with self.engine.begin() as conn:
                    conn.execute(update(feed_posts).where(where).values(claimed_at=_now()))
                    return [row.alert_id for row in conn.execute(select(feed_posts.c.alert_id).where(where))]

            held |= {AlertRef(backend, alert_id) for alert_id in retry_busy(renew, f"renewing claims in {channel}")}
        return held

    def posted(self, channel: str, refs: Iterable[AlertRef]) -> None:
        """The alerts are shown in the channel: their claims are done, never taken over."""
        for backend, ids in _by_backend(refs):
            statement = update(feed_posts).where(self._mine(channel, ids, backend)).values(posted_at=_now())
            retry_busy(lambda statement=statement: self._execute(statement), f"marking posts in {channel}")

    def stale(self, lease_seconds: float, limit: int = 200) -> list[StaleClaim]:
        """Unposted claims not renewed for a lease length: their owner died (or could not queue them)."""
        cutoff = _now() - timedelta(seconds=lease_seconds)
        query = (
            select(
                feed_posts.c.id, feed_posts.c.backend, feed_posts.c.alert_id, feed_posts.c.channel, feed_posts.c.owner
            )
            .where(feed_posts.c.posted_at.is_(None), feed_posts.c.claimed_at < cutoff)
            .order_by(feed_posts.c.claimed_at)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [StaleClaim(r.id, AlertRef(Backend(r.backend), r.alert_id), r.channel, r.owner) for r in rows]

    def take_over(self, claim: StaleClaim, lease_seconds: float) -> bool:
        """Make a stale claim ours; the WHERE makes exactly one replica win it, and never a live owner's."""
        cutoff = _now() - timedelta(seconds=lease_seconds)
        statement = (
            update(feed_posts)
            .where(feed_posts.c.id == claim.id, feed_posts.c.posted_at.is_(None), feed_posts.c.claimed_at < cutoff)
            .values(owner=self.owner, claimed_at=_now())
        )
        return retry_busy(lambda: self._execute(statement), f"taking over {claim.ref.encode()}") > 0

    def _mine(self, channel: str, ids: list[str], backend: Backend) -> ColumnElement[bool]:
        return and_(
            feed_posts.c.owner == self.owner,
            feed_posts.c.posted_at.is_(None),
            feed_posts.c.channel == channel,
            feed_posts.c.backend == backend.value,
            feed_posts.c.alert_id.in_(ids),
        )

    def _execute(self, statement: object) -> int:
        with self.engine.begin() as conn:
            return conn.execute(statement).rowcount  # type: ignore[call-overload]


def _by_backend(refs: Iterable[AlertRef]) -> list[tuple[Backend, list[str]]]:
    ids: dict[Backend, list[str]] = {}
    for ref in refs:
        ids.setdefault(ref.backend, []).append(ref.id)
    return [(backend, chunk[i : i + _CHUNK]) for backend, chunk in ids.items() for i in range(0, len(chunk), _CHUNK)]
