"""Proactive pacing of what the bot posts into Slack channels: about one message a second per channel.

Why: Slack lets an app post about one ``chat.postMessage`` a second per channel (short bursts tolerated) and answers
429 beyond that. Waiting out 429s (bot/slack/adapters/resilience.py) works but costs a refused call each time and,
during an alert storm, parks thread after thread in ``Retry-After`` sleeps. One token bucket per channel, shared by
every thread of the process, holds a post back until the channel can take it instead.

How:
- ``per_second`` tokens a second per channel, at most ``burst`` saved up; posts and updates of bot messages both take
  one (conservative: Slack documents the per-channel limit for posts, and an update in a storm is no less visible).
- :meth:`ChannelPace.acquire` waits for a token, at most ``max_wait`` seconds (then the call goes anyway and the
  429 fallback takes over rather than a thread waiting without end).
- Background posters (feeds) call :meth:`ChannelPace.wait_ready` with a ``reserve``: they wait until a token more
  than they need is saved up, so a person's click re-rendering a message in the same channel never queues behind
  a storm's posts.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class ChannelPace:
    def __init__(
        self,
        per_second: float = 1.0,
        burst: int = 2,
        *,
        max_wait: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_second = per_second
        self.burst = max(1, burst)
        self.max_wait = max_wait
        self._clock = clock
        self._cond = threading.Condition()
        self._buckets: dict[str, tuple[float, float]] = {}  # channel → (tokens, when counted)
        self.waits = 0  # calls that waited (for benchmarks)

    def _tokens(self, channel: str, now: float) -> float:
        tokens, at = self._buckets.get(channel, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - at) * self.per_second)

    def delay(self, channel: str, reserve: int = 0) -> float:
        """Seconds until ``channel`` has ``1 + reserve`` tokens (0: now)."""
        with self._cond:
            now = self._clock()
            missing = 1.0 + min(reserve, self.burst - 1) - self._tokens(channel, now)
            return max(0.0, missing / self.per_second)

    def acquire(self, channel: str) -> float:
        """Take a token for one post or update in ``channel``, waiting for it; returns the seconds waited."""
        started = self._clock()
        deadline = started + self.max_wait
        waited = False
        with self._cond:
            while True:
                now = self._clock()
                tokens = self._tokens(channel, now)
                if tokens >= 1.0 or now >= deadline:
                    self._buckets[channel] = (max(0.0, tokens - 1.0), now)
                    break
                if not waited:
                    waited = True
                    self.waits += 1
                self._cond.wait(timeout=min((1.0 - tokens) / self.per_second, deadline - now))
            self._prune(now)
        return self._clock() - started

    def wait_ready(self, channel: str, reserve: int = 1) -> None:
        """Wait (without taking anything) until ``channel`` has a token beyond ``reserve``: for background posting."""
        deadline = self._clock() + self.max_wait
        while True:
            wait = self.delay(channel, reserve)
            if wait <= 0 or self._clock() >= deadline:
                return
            time.sleep(min(wait, 1.0))

    def _prune(self, now: float) -> None:
        """Forget channels whose bucket is full again, so the map stays as small as the channels posted to lately."""
        if len(self._buckets) > 1000:
            full = self.burst / self.per_second
            for channel in [c for c, (_, at) in self._buckets.items() if now - at > full]:
                del self._buckets[channel]


# Set on the feed poster's thread: its group-message updates are paced like posts, so a storm's growing message
# does not add a burst of chat.update to the channel. A person's click re-rendering a message is not held back.
_updates_paced: contextvars.ContextVar[bool] = contextvars.ContextVar("updates_paced", default=False)


@contextmanager
def pacing_updates() -> Iterator[None]:
    token = _updates_paced.set(True)
    try:
        yield
    finally:
        _updates_paced.reset(token)


def updates_paced() -> bool:
    return _updates_paced.get()
