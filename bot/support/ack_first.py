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
    def __init__(self, max_delay: float = MAX_DELAY, settle: float = SETTLE) -> None:
        self.max_delay = max_delay
        self.settle = settle
        self._quiet = threading.Condition()
        self._in_flight = 0
        self._last_answered = float("-inf")

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Around the handling of one Slack request, from its arrival to its acknowledgement."""
        with self._quiet:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._quiet:
                self._in_flight -= 1
                self._last_answered = time.monotonic()
                if not self._in_flight:
                    self._quiet.notify_all()

    def deadline(self) -> float:
        """When a job handed over now stops waiting (``time.monotonic``)."""
        return time.monotonic() + self.max_delay

    def wait_quiet(self, deadline: float) -> None:
        """Return once no Slack request has been in flight for ``settle`` seconds, or at ``deadline``."""
        with self._quiet:
            while True:
                now = time.monotonic()
                if now >= deadline:
                    return
                if not self._in_flight:
                    unsettled = self._last_answered + self.settle - now
                    if unsettled <= 0:
                        return
                    self._quiet.wait(min(unsettled, deadline - now))
                else:
                    self._quiet.wait(deadline - now)
