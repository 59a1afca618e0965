"""Proactive pacing by the API's own ``X-RateLimit-*`` headers, shared by every thread of one :class:`ApiSession`.

Why: waiting out 429s (the fallback in :mod:`bot.support.http`) is per thread. With 32 workers, a burst of actions
spends the window's allowance in seconds and then every worker collects its own 429, waits, and retries into the same
wall: a 429 storm, with each retry counted against the key. Rootly says on every answer how much of the window is left
(``X-RateLimit-Remaining``) and when it frees up (``X-RateLimit-Reset``, epoch seconds), so one gate per session
reads that and holds requests back while the allowance is (nearly) used up, letting the API's limit set the pace.

How:
- Counts are kept per bucket, ``read`` (GET/HEAD/OPTIONS) and ``write`` (the rest): Rootly limits reads and writes
  apart, so a read's ``Remaining`` says nothing about writes.
- The estimate is what the last answer said, less the requests still in flight (they may not be counted in it yet)
  and less every request let through since; an answer from an older window (its reset is earlier) is ignored.
- "Low" means at most 1% of the limit or 2 left (:meth:`RateGate.reserve`). Then requests wait until the reset;
  after it, one request goes first (a probe) and its answer says how much the window freed, so a sliding window
  (a few calls freed a second) and a fixed one (all freed at once) are both followed without guessing.
- A wait longer than the caller's budget is not waited: :class:`bot.support.errors.RateLimited` is raised at once, as a
  429 past the budget is, so the action is queued in the outbox and the person hears so.
- 429 answers do not feed the estimate: they are the fallback, waited out by the thread that got one.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from bot.support import errors

log = logging.getLogger(__name__)

READS = frozenset({"GET", "HEAD", "OPTIONS"})
EPOCH_MIN = 1_000_000_000  # a reset above this is epoch seconds; below, seconds from now (RateLimit-Reset draft)
SAME_WINDOW = 0.5  # resets this close together name the same window (header values are whole seconds)


def bucket_of(method: str) -> str:
    """Rootly counts reads and writes separately (3,000 each per minute by default)."""
    return "read" if method.upper() in READS else "write"


def _header(headers: Mapping[str, str], *names: str) -> float | None:
    for name in names:
        raw = headers.get(name)
        if raw:
            try:
                return float(str(raw).split(",")[0].strip())
            except ValueError:
                continue
    return None


@dataclass(frozen=True)
class Allowance:
    """What one answer said about its window."""

    limit: int
    remaining: int
    reset_at: float  # epoch seconds

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], now: float) -> Allowance | None:
        """None unless the answer names all three: without a reset time there is nothing to wait for."""
        limit = _header(headers, "X-RateLimit-Limit", "RateLimit-Limit")
        remaining = _header(headers, "X-RateLimit-Remaining", "RateLimit-Remaining")
        reset = _header(headers, "X-RateLimit-Reset", "RateLimit-Reset")
        if limit is None or remaining is None or reset is None or limit <= 0:
            return None
        reset_at = reset if reset > EPOCH_MIN else now + reset
        return cls(int(limit), max(0, int(remaining)), reset_at)


@dataclass
class _Window:
    limit: int
    remaining: int  # estimate: the last answer's figure, less what is in flight and what was let through since
    reset_at: float


class Answer(Protocol):
    """What the gate reads of a response (``requests.Response`` has both)."""

    status_code: int
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Ticket:
    """One request let through; hand it back to :meth:`RateGate.release` with the answer."""

    bucket: str
    probe: bool


class RateGate:
    """The process-wide gate of one API session: every thread's requests pass :meth:`acquire` / :meth:`release`."""

    def __init__(
        self,
        backend: str,
        *,
        low_fraction: float = 0.01,
        low_min: int = 2,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.backend = backend
        self.low_fraction = low_fraction
        self.low_min = low_min
        self._clock = clock
        self._cond = threading.Condition()
        self._windows: dict[str, _Window] = {}
        self._in_flight: dict[str, int] = {"read": 0, "write": 0}
        self._probing: set[str] = set()
        self._announced: dict[str, float] = {}  # bucket → reset already logged, so one line per window
        self.waits = 0  # requests that waited (for tests and benchmarks)
        self.waited_seconds = 0.0

    def reserve(self, limit: int) -> int:
        """How much of the window is left unused: 1% of the limit or 2, whichever is more."""
        return max(self.low_min, math.ceil(limit * self.low_fraction))

    def acquire(self, method: str, budget: float) -> Ticket:
        """Wait until a request may go; raises :class:`errors.RateLimited` when that is more than ``budget`` s away."""
        bucket = bucket_of(method)
        started = self._clock()
        deadline = started + max(0.0, budget)
        waited = False
        with self._cond:
            while True:
                window = self._windows.get(bucket)
                now = self._clock()
                probe = False
                if window is None or window.remaining > self.reserve(window.limit):
                    if window is not None:
                        window.remaining -= 1
                    break
                if now >= window.reset_at and bucket not in self._probing:
                    self._probing.add(bucket)
                    probe = True
                    break
                # Low: wait for the reset, or (past it) for the probe's answer to say what the window freed.
                wake = window.reset_at if now < window.reset_at else deadline
                if wake > deadline or now >= deadline:
                    retry_after = max(1.0, window.reset_at - now)
                    raise errors.RateLimited(
                        f"{self.backend} is rate limiting this bot's API key",
                        retry_after=retry_after,
                        status=429,
                        backend=self.backend,
                    )
                if not waited:
                    waited = True
                    self.waits += 1
                    log.debug("%s %s request waits %.1f s for the rate-limit window", self.backend, bucket, wake - now)
                self._cond.wait(timeout=min(wake - now, 1.0) if wake > now else 0.05)
            self._in_flight[bucket] += 1
            if waited:
                self.waited_seconds += self._clock() - started
        return Ticket(bucket, probe)

    def release(self, ticket: Ticket, answer: Answer | None) -> None:
        """Record the answer (None: there was none) and wake the requests waiting on this bucket."""
        bucket = ticket.bucket
        status = answer.status_code if answer is not None else None
        headers = answer.headers if answer is not None else None
        with self._cond:
            self._in_flight[bucket] -= 1
            if ticket.probe:
                self._probing.discard(bucket)
            now = self._clock()
            window = self._windows.get(bucket)
            if status == 429 and ticket.probe and window is not None:
                # The API's clock is behind ours: the window has not reset there yet. Give it a second more
                # rather than let every waiting request probe into the same 429.
                window.reset_at = max(window.reset_at, now + 1.0)
            said = Allowance.from_headers(headers, now) if headers is not None and status != 429 else None
            if said is not None:
                self._learn(bucket, said, now)
            self._cond.notify_all()

    def _learn(self, bucket: str, said: Allowance, now: float) -> None:
        # Requests still in flight may not be counted in this answer yet: count them as spent.
        fresh = said.remaining - self._in_flight[bucket]
        window = self._windows.get(bucket)
        if window is None or said.reset_at > window.reset_at + SAME_WINDOW:
            window = self._windows[bucket] = _Window(said.limit, fresh, said.reset_at)
        elif said.reset_at >= window.reset_at - SAME_WINDOW:
            window.limit = said.limit
            window.remaining = min(window.remaining, fresh)
        else:
            return  # an answer from an older window, overtaken on the way back
        if window.remaining <= self.reserve(window.limit) and self._announced.get(bucket) != window.reset_at:
            self._announced[bucket] = window.reset_at
            log.info(
                "%s rate limit nearly used (%d of %d %ss left): holding %s requests %.1f s, until the window resets",
                self.backend,
                max(0, said.remaining),
                window.limit,
                bucket,
                bucket,
                max(0.0, window.reset_at - now),
            )
