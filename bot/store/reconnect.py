"""Riding out a database restart: connecting again is always safe to retry, so it is, briefly.

While PostgreSQL restarts (a failover, an upgrade, ``pg_ctl restart``) new connections are refused for a second or
two. ``pool_pre_ping`` already replaces pooled connections the restart killed; this retries opening a connection for
up to :data:`CONNECT_BUDGET` seconds, so a request arriving during the restart waits for it instead of failing, and
still leaves time inside Slack's 3 seconds to answer. Statements are not retried by the engine: one that was sent
may have been carried out, and only its caller knows whether repeating it is harmless; callers whose statements are
(a claim guarded by a unique key, a conditional UPDATE) wrap them in :func:`retry_busy`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger(__name__)

T = TypeVar("T")

CONNECT_BUDGET = 1.5  # seconds spent retrying a refused connection (Slack's deadline is 3 s)
CONNECT_TIMEOUT = 2  # seconds for one connection attempt (libpq's connect_timeout; whole seconds)


def retry_connections(engine: Engine, budget: float | None = None) -> None:
    """Retry a refused connection for ``budget`` seconds (default :data:`CONNECT_BUDGET`, read at each connect).

    After a connect spent its whole budget in vain, connects fail at once (one attempt, no waiting) until one
    succeeds or a budget's time has passed: a request that needs the database twice must not wait twice, or its
    answer misses Slack's 3 s while the database stays down (measured with bench/pg_restart.py --down 3).
    """
    gave_up_at = [float("-inf")]

    @event.listens_for(engine, "do_connect")
    def connect(dialect: Any, _record: Any, cargs: tuple[Any, ...], cparams: dict[str, Any]) -> Any:
        allowed = CONNECT_BUDGET if budget is None else budget
        started = time.monotonic()
        deadline, delay = started + (0.0 if started - gave_up_at[0] < allowed else allowed), 0.1
        while True:
            try:
                connection = dialect.loaded_dbapi.connect(*cargs, **cparams)
                gave_up_at[0] = float("-inf")
                return connection
            except dialect.loaded_dbapi.OperationalError:
                if time.monotonic() + delay > deadline:
                    if deadline > started:
                        gave_up_at[0] = time.monotonic()
                    raise
                log.info("the database refused a connection; retrying in %.1f s", delay)
                time.sleep(delay)
                delay = min(delay * 2, 0.4)


def is_database_down(error: BaseException) -> bool:
    """The database could not be reached or dropped the connection (not a bad query or a constraint)."""
    return isinstance(error, OperationalError) or (isinstance(error, DBAPIError) and error.connection_invalidated)


BUSY_ATTEMPTS = 4  # SQLite under a storm: "database is locked" clears within a few writers' turns
BUSY_DELAY = 0.05  # seconds before the second attempt; doubled each time (0.05, 0.1, 0.2: 0.35 s at most)


def retry_busy(fn: Callable[[], T], what: str, attempts: int = BUSY_ATTEMPTS, delay: float = BUSY_DELAY) -> T:
    """Run ``fn`` again, a few times with a short backoff, while the database is busy or unreachable (SQLite's
    "database is locked", a dropped connection). Only for statements that are safe to repeat; the last error is
    raised for the caller to fall back on."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:
            if attempt == attempts or not is_database_down(exc):
                raise
            log.info("the database was busy (%s) %s; retrying in %.2f s", exc.__class__.__name__, what, delay)
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")
