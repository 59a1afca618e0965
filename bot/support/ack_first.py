"""Acknowledgements first: follow-up work waits, briefly, while Slack requests are being answered.

A burst of clicks is answered on the server's threads while the work pool starts the Rootly calls of the clicks
already acknowledged. In CPython both compete for one interpreter lock, so every job that starts mid-burst delays the
acknowledgements still queued behind it (measured in ``bench/ack_latency.py``: a mixed burst of clicks and commands
answered at about 2.5 × a bare Bolt app's p99 before this gate). Slack's 3-second deadline applies to the
acknowledgements; the follow-ups answer through ``response_url`` and ``chat.update``, which have no such deadline.
So a job waits until no Slack request is in flight, for at most ``max_delay`` after it was handed over, then runs
whatever the traffic: under steady load nothing waits longer than that.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

MAX_DELAY = 0.25  # seconds a job may wait for a quiet moment; well under what a person notices in a follow-up
SETTLE = 0.02  # seconds without a Slack request in flight that make a quiet moment


class AckFirst:
    """How it waits, cheaply for the request path: the jobs wait on one event, open while quiet. A request arriving
    closes it (no wake-up of anyone); one watcher thread, running only while jobs wait behind a closed gate, opens
    it once no request has been in flight for ``settle``. An earlier version woke every waiting job each time the
    requests in flight dropped to zero, which in a burst happens between any two requests: those wake-ups were a
    sixth of the request threads' time under the interpreter lock (py-spy --gil, bench/README.md)."""

    def __init__(self, max_delay: float = MAX_DELAY, settle: float = SETTLE) -> None:
        self.max_delay = max_delay
        self.settle = settle
        self._lock = threading.Lock()
        self._watch = threading.Condition(self._lock)  # the watcher sleeps on it while nothing waits
        self._open = threading.Event()
        self._open.set()
        self._in_flight = 0
        self._last_answered = float("-inf")
        self._waiting = 0
        self._watcher: threading.Thread | None = None

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Around the handling of one Slack request, from its arrival to its acknowledgement."""
        with self._lock:
            self._in_flight += 1
            if self._open.is_set():
                self._open.clear()
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
                self._last_answered = time.monotonic()

    def deadline(self) -> float:
        """When a job handed over now stops waiting (``time.monotonic``)."""
        return time.monotonic() + self.max_delay

    def wait_quiet(self, deadline: float) -> None:
        """Return once no Slack request has been in flight for ``settle`` seconds, or at ``deadline``."""
        if self._open.is_set():
            return
        with self._lock:
            self._waiting += 1
            if self._watcher is None:
                self._watcher = threading.Thread(target=self._watch_quiet, name="ack-first", daemon=True)
                self._watcher.start()
            self._watch.notify()
        try:
            self._open.wait(max(0.0, deadline - time.monotonic()))
        finally:
            with self._lock:
                self._waiting -= 1

    def _watch_quiet(self) -> None:
        with self._lock:
            while True:
                if self._open.is_set() or not self._waiting:
                    self._watch.wait()  # woken by the next job that has to wait
                    continue
                now = time.monotonic()
                unsettled = self._last_answered + self.settle - now
                if not self._in_flight and unsettled <= 0:
                    self._open.set()  # quiet: every waiting job goes at once
                    continue
                self._watch.wait(unsettled if not self._in_flight else self.settle)
