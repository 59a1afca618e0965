"""The thread story's coalescer: one run per key after the delay, touches absorbed, a bounded number of threads
however many alerts are being told at once."""

from __future__ import annotations

import threading
from collections.abc import Hashable

from bot.threads.jobs import WORKERS, Coalescer
from tests.waiting import wait_until


def test_touches_within_the_delay_make_one_run_per_key_on_a_bounded_pool() -> None:
    runs: list[Hashable] = []
    lock = threading.Lock()

    def run(key: Hashable) -> bool:
        with lock:
            runs.append(key)
        return True

    before = threading.active_count()
    coalescer = Coalescer(run, delay=0.3)
    try:
        for _ in range(3):  # every alert touched three times within its delay
            for key in range(300):
                coalescer.touch(key)
        # 300 alerts waiting: one timer thread, not one thread each.
        assert threading.active_count() - before <= 2
        wait_until(lambda: len(runs) == 300, timeout=30, message="not every alert was told")
        assert sorted(runs) == list(range(300))  # once each
        assert threading.active_count() - before <= WORKERS + 1
    finally:
        coalescer.close()


def test_closing_cancels_what_is_waiting() -> None:
    ran = threading.Event()
    coalescer = Coalescer(lambda key: ran.set() or True, delay=0.5)
    coalescer.touch("a")
    coalescer.close()
    assert not ran.wait(1.0)
