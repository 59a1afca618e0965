"""Deliveries already seen, by key, in the database, so the answer is the same on every replica.

Slack Events API retries (``X-Slack-Retry-Num``) carry the event's ``event_id`` again; a replayed Slack request
carries a signature already used. Both are remembered here, in the ``webhook_events`` table that already keeps
Rootly's webhook ids once (a primary key: the first insert wins, on any replica), under prefixed keys so the three
never collide. Rows older than any retry or replay window are pruned on a timer.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError

from bot.store.db import Database
from bot.store.schema import webhook_events
from bot.support.cache import TTLCache

SLACK_EVENT = "slack-event:"
SLACK_SIGNATURE = "slack-sig:"


class SeenStore:
    def __init__(self, db: Database) -> None:
        self.engine = db.engine

    def first(self, key: str) -> bool:
        """True the first time ``key`` is offered, on any replica; False ever after (until pruned)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(webhook_events).values(event_id=key[:128], received_at=datetime.now(UTC)))
            return True
        except IntegrityError:
            return False

    def forget(self, key: str) -> None:
        """Let ``key`` be handled again (its first handling failed, so a retry should not be dropped)."""
        with self.engine.begin() as conn:
            conn.execute(delete(webhook_events).where(webhook_events.c.event_id == key[:128]))

    def prune(self, prefix: str, older_than: timedelta) -> int:
        cutoff = datetime.now(UTC) - older_than
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    delete(webhook_events).where(
                        webhook_events.c.event_id.like(f"{prefix}%"), webhook_events.c.received_at < cutoff
                    )
                ).rowcount
            )


class MemorySeen:
    """The same question answered in this process only, for keys that need not outlive a few minutes.

    SQLite is the single-replica set-up, where the process is the whole deployment: there a replayed signature
    is caught without a database write on every request's acknowledgement path (with many clicks at once those
    writes queue behind each other; bench/ack_latency.py measured it). Keys expire after ``ttl`` seconds.
    """

    def __init__(self, ttl: float = 600.0, max_items: int = 100_000) -> None:
        self._seen = TTLCache[str, bool](ttl, max_items=max_items)
        self._lock = threading.Lock()

    def first(self, key: str) -> bool:
        with self._lock:
            if self._seen.get(key):
                return False
            self._seen.put(key, True)
            return True
