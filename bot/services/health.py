"""What ``/healthz`` says about the bot's dependencies, learnt from the calls the bot makes anyway.

Readiness depends on the database alone: without it nothing can be queued or remembered, so a replica without it
should get no traffic. Rootly, ilert and Slack are reported, not required: during a Rootly outage the bot keeps
accepting work into the outbox, and failing readiness then would take away the very replica that is queueing it.
Nothing is probed actively: each dependency's state is the outcome of its most recent real call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

OK, FAILING, RATE_LIMITED, UNKNOWN = "ok", "failing", "rate_limited", "unknown"

Observe = Callable[[str, str | None], None]  # (state, detail)


@dataclass
class Reachability:
    state: str = UNKNOWN
    since: datetime | None = None  # when the current state began
    last_ok: datetime | None = None
    detail: str | None = None  # the last failure, in the words the client used (never a token)
    failures: int = 0  # consecutive

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "since": _iso(self.since),
            "last_ok": _iso(self.last_ok),
            "detail": self.detail,
            "consecutive_failures": self.failures,
        }


class DependencyHealth:
    """Thread-safe record of each dependency's last outcome; clients report through :meth:`observer`."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._deps: dict[str, Reachability] = {}

    def track(self, name: str) -> None:
        """Show ``name`` (as unknown) before its first call, so the body lists every configured dependency."""
        with self._lock:
            self._deps.setdefault(name, Reachability())

    def observer(self, name: str) -> Observe:
        self.track(name)
        return lambda state, detail=None: self.record(name, state, detail)

    def record(self, name: str, state: str, detail: str | None = None) -> None:
        now = self._clock()
        with self._lock:
            dep = self._deps.setdefault(name, Reachability())
            if dep.state != state:
                dep.state, dep.since = state, now
            if state == OK:
                dep.last_ok, dep.failures = now, 0
            else:
                dep.failures += 1
                dep.detail = (detail or "")[:300] or None

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {name: dep.as_dict() for name, dep in sorted(self._deps.items())}

    def degraded(self) -> list[str]:
        with self._lock:
            return sorted(name for name, dep in self._deps.items() if dep.state in (FAILING, RATE_LIMITED))


def _iso(when: datetime | None) -> str | None:
    return when.isoformat(timespec="seconds") if when else None
