"""Deliveries already seen, by key, in the database, so the answer is the same on every replica.

Slack Events API retries (``X-Slack-Retry-Num``) carry the event's ``event_id`` again; a replayed Slack request
carries a signature already used. Both are remembered here, in the ``webhook_events`` table that already keeps
Rootly's webhook ids once (a primary key: the first insert wins, on any replica), under prefixed keys so the three
never collide. Rows older than any retry or replay window are pruned on a timer.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError

from bot.store.db import Database
from bot.store.schema import webhook_events

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


# Slack refuses (and slack_sdk's SignatureVerifier rejects) a request timestamp more than 5 minutes from now, so a
# signature can be replayed for at most that long; 30 s more covers clock skew between Slack and this host.
REPLAY_WINDOW = 330.0


class MemorySeen:
    """The same question answered in this process only, for keys that need not outlive a few minutes.

    SQLite is the single-replica set-up, where the process is the whole deployment: there a replayed signature
    is caught without a database write on every request's acknowledgement path (with many clicks at once those
    writes queue behind each other; bench/ack_latency.py measured it). Keys expire after ``ttl`` seconds.
    """

    def __init__(
        self, ttl: float = REPLAY_WINDOW, max_items: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        # Key → expiry, in insertion order, which is expiry order (one ttl for all): expired keys are dropped from
        # the front as new ones arrive, so memory follows the last ``ttl`` seconds of traffic, not the whole run
        # (a TTLCache only forgets a key when it is read again, and signatures never are: RSS grew steadily under
        # bench/sustained.py's 50 requests a second).
        # Keys are kept as their 64-bit hash: a tenth of the memory of the signature strings, and two signatures
        # colliding within the window (about 1 in 10^10 at 50 requests a second) would only refuse one request.
        self._seen: dict[int, float] = {}
        self._ttl, self._max_items, self._clock = ttl, max_items, clock
        self._lock = threading.Lock()

    def first(self, key: str) -> bool:
        now = self._clock()
        digest = hash(key)
        with self._lock:
            for oldest, expires in list(itertools.islice(self._seen.items(), 64)):
                if expires > now:
                    break
                del self._seen[oldest]
            if self._seen.get(digest, now) > now:
                return False
            self._seen.pop(digest, None)
            if len(self._seen) >= self._max_items:
                self._seen.pop(next(iter(self._seen)))
            self._seen[digest] = now + self._ttl
            return True

    def __len__(self) -> int:
        return len(self._seen)
