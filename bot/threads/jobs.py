"""Coalescing: many changes to one alert within a few seconds become one run of the story for it.

A storm (ten notes in three seconds, a webhook and a poll for the same click) costs one ``listAlertEvents`` and
one thread reply per thread instead of one each; and the story never runs on a button's request thread, so thread
replies never delay the answer to a click.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)

Run = Callable[[Hashable], bool]  # True when done; False to be run again later (a thread busy on another replica)
WORKERS = 16  # stories told at once: each is a Rootly read and a Slack post, most of it waiting on the network


class _Later:
    """Calls made ``delay`` seconds from now, started by one timer thread on a small pool.

    Why not ``threading.Timer``: one thread per alert being told meant, at 50 actions a second, ~150 threads born
    and dying every few seconds; the thread count and the allocator's per-thread arenas (RSS) grew with traffic
    (bench/sustained.py). A heap and one thread is all the scheduling this needs.
    """

    def __init__(self, workers: int = WORKERS) -> None:
        self._due: list[tuple[float, int, Callable[..., Any], tuple[Any, ...], threading.Event]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="thread-story")
        self._closed = False
        threading.Thread(target=self._loop, name="thread-story-timer", daemon=True).start()

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> threading.Event:
        """Schedule ``fn(*args)``; setting the returned event cancels it."""
        cancelled = threading.Event()
        with self._changed:
            heapq.heappush(self._due, (time.monotonic() + delay, next(self._order), fn, args, cancelled))
            self._changed.notify()
        return cancelled

    def _loop(self) -> None:
        with self._changed:
            while not self._closed:
                if not self._due:
                    self._changed.wait()
                    continue
                wait = self._due[0][0] - time.monotonic()
                if wait > 0:
                    self._changed.wait(wait)
                    continue
                _, _, fn, args, cancelled = heapq.heappop(self._due)
                if not cancelled.is_set():
                    self._pool.submit(fn, *args)

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._due.clear()
            self._changed.notify()
        self._pool.shutdown(wait=False, cancel_futures=True)


class Coalescer:
    """Runs ``run(key)`` ``delay`` seconds after the first touch; touches while waiting are absorbed, and a touch
    while running schedules exactly one more run. At most one run per key at a time."""

    def __init__(self, run: Run, *, delay: float, retry_delay: float = 2.0, max_retries: int = 15) -> None:
        self.run = run
        self.delay = delay
        self.retry_delay = retry_delay
        self.max_retries = max_retries
        self._lock = threading.Lock()
        self._later = _Later()
        self._waiting: dict[Hashable, threading.Event] = {}  # key → its scheduled run's cancel switch
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
        self._waiting[key] = self._later.call_later(delay, self._fire, key)

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
            for cancelled in self._waiting.values():
                cancelled.set()
            self._waiting.clear()
        self._later.close()
