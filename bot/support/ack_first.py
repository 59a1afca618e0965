"""Acknowledgements first: follow-up work is held, briefly, while Slack requests are being answered.

A burst of clicks is answered on the server's threads while the work pool starts the Rootly calls of the clicks
already acknowledged. In CPython both compete for one interpreter lock, so every job that starts mid-burst delays the
acknowledgements still queued behind it (measured in ``bench/ack_latency.py``: a mixed burst of clicks and commands
answered at about 2.5 × a bare Bolt app's p99 before this gate). Slack's 3-second deadline applies to the
acknowledgements; the follow-ups answer through ``response_url`` and ``chat.update``, which have no such deadline.
So a job is started once no Slack request has been in flight for ``settle``, or ``max_delay`` after it was handed
over, whatever the traffic: under steady load nothing waits longer than that.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

MAX_DELAY = 0.25  # seconds a job may wait for a quiet moment; well under what a person notices in a follow-up
SETTLE = 0.02  # seconds without a Slack request in flight that make a quiet moment


class AckFirst:
    """How it holds work, cheaply for the request path: a job handed over mid-request is only appended to a queue,
    with no thread woken. One watcher thread, running only while jobs are held, hands them to the pool once no
    request has been in flight for ``settle`` (or as each one's ``max_delay`` runs out).

    Earlier versions let every job take a pool thread at once and wait there for the quiet: each hand-over then woke
    a pool thread (and the watcher) in the middle of the burst, to contend for the interpreter lock with the request
    threads only to go back to sleep. That doubled the futex calls of a burst of 100 against a bare Bolt app
    (``strace -c``, bench/README.md); before that, waking every waiting job each time the requests in flight dropped
    to zero was a sixth of the request threads' time under the lock (py-spy --gil)."""

    def __init__(self, max_delay: float = MAX_DELAY, settle: float = SETTLE) -> None:
        self.max_delay = max_delay
        self.settle = settle
        self._lock = threading.Lock()
        self._watch = threading.Condition(self._lock)  # the watcher sleeps on it while nothing is held
        self._in_flight = 0
        self._last_answered = float("-inf")
        self._held: deque[tuple[float, Callable[[], None]]] = deque()  # (latest start, start), in hand-over order
        self._watcher: threading.Thread | None = None

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Around the handling of one Slack request, from its arrival to its acknowledgement."""
        with self._lock:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
                self._last_answered = time.monotonic()

    def after_acks(self, start: Callable[[], None]) -> None:
        """Call ``start`` now if no Slack request is being answered (and nothing is held before it), otherwise from
        the watcher thread once quiet, or ``max_delay`` from now at the latest. ``start`` should only hand work to a
        pool: the watcher calls the starts one after the other."""
        now = time.monotonic()
        with self._lock:
            if not self._held and not self._in_flight and now >= self._last_answered + self.settle:
                held = False
            else:
                held = True
                self._held.append((now + self.max_delay, start))
                if len(self._held) == 1:  # the watcher sleeps without a timeout only while nothing is held
                    if self._watcher is None:
                        self._watcher = threading.Thread(target=self._watch_quiet, name="ack-first", daemon=True)
                        self._watcher.start()
                    self._watch.notify()
        if not held:
            start()

    def flush(self) -> int:
        """Start everything held now (shutting down: the pool is about to take no more work); returns how many."""
        with self._lock:
            due = [start for _, start in self._held]
            self._held.clear()
        self._start(due)
        return len(due)

    def held(self) -> int:
        """How many jobs wait for a quiet moment now."""
        with self._lock:
            return len(self._held)

    def _watch_quiet(self) -> None:
        while True:
            with self._lock:
                due = self._due()
                while not due:
                    if not self._held:
                        self._watch.wait()  # until the next hand-over that has to be held
                    else:
                        now = time.monotonic()
                        quiet_at = now + self.settle if self._in_flight else self._last_answered + self.settle
                        self._watch.wait(max(0.0, min(self._held[0][0], quiet_at) - now))
                    due = self._due()
            self._start(due)

    def _due(self) -> list[Callable[[], None]]:
        """What may start now, taken off the queue (called with the lock held)."""
        now = time.monotonic()
        if not self._held:
            return []
        if not self._in_flight and now >= self._last_answered + self.settle:
            due = [start for _, start in self._held]  # quiet: everything held goes at once
            self._held.clear()
            return due
        due = []
        while self._held and self._held[0][0] <= now:  # hand-over order is deadline order (one max_delay)
            due.append(self._held.popleft()[1])
        return due

    @staticmethod
    def _start(due: list[Callable[[], None]]) -> None:
        for start in due:
            try:
                start()
            except Exception:  # one start's failure must not strand the others, nor stop the watcher
                log.exception("could not start held follow-up work")
