"""Coalescing: many changes to one alert within a few seconds become one run of the story for it.

A storm (ten notes in three seconds, a webhook and a poll for the same click) costs one ``listAlertEvents`` and
one thread reply per thread instead of one each; and the story never runs on a button's request thread, so thread
replies never delay the answer to a click.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)

Run = Callable[[Hashable], bool]  # True when done; False to be run again later (a thread busy on another replica)


class Coalescer:
    """Runs ``run(key)`` ``delay`` seconds after the first touch; touches while waiting are absorbed, and a touch
    while running schedules exactly one more run. At most one run per key at a time."""

    def __init__(self, run: Run, *, delay: float, retry_delay: float = 2.0, max_retries: int = 15) -> None:
        self.run = run
        self.delay = delay
        self.retry_delay = retry_delay
        self.max_retries = max_retries
        self._lock = threading.Lock()
        self._waiting: dict[Hashable, threading.Timer] = {}
        self._running: set[Hashable] = set()
        self._again: set[Hashable] = set()
        self._retries: dict[Hashable, int] = {}
        self._closed = False

    def touch(self, key: Hashable) -> None:
        with self._lock:
            if self._closed or key in self._waiting:
                return
            if key in self._running:
                self._again.add(key)
                return
            self._schedule(key, self.delay)

    def _schedule(self, key: Hashable, delay: float) -> None:
        timer = threading.Timer(delay, self._fire, args=(key,))
        timer.daemon = True
        timer.name = "thread-story"
        self._waiting[key] = timer
        timer.start()

    def _fire(self, key: Hashable) -> None:
        with self._lock:
            self._waiting.pop(key, None)
            if self._closed:
                return
            self._running.add(key)
        done = False
        try:
            done = self.run(key)
        except Exception:
            log.warning("thread story for %s failed; the next change tells it", key, exc_info=True)
            done = True  # no busy retry loop on a persistent failure
        with self._lock:
            self._running.discard(key)
            if self._closed:
                return
            if not done and self._retries.get(key, 0) < self.max_retries:
                self._retries[key] = self._retries.get(key, 0) + 1
                self._again.discard(key)
                self._schedule(key, self.retry_delay)
                return
            self._retries.pop(key, None)
            if key in self._again:
                self._again.discard(key)
                self._schedule(key, self.delay)

    def pending(self) -> int:
        with self._lock:
            return len(self._waiting) + len(self._running)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for timer in self._waiting.values():
                timer.cancel()
            self._waiting.clear()
