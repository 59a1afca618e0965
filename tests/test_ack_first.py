"""Follow-up work waits while Slack requests are being answered, and never longer than its deadline."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bot.slack.adapters.work import WorkPool
from bot.support.ack_first import AckFirst
from tests.waiting import wait_until


@contextmanager
def gated_pool(threads: int, **gate: Any) -> Iterator[tuple[AckFirst, WorkPool]]:
    """A work pool behind its own gate, drained afterwards."""
    ack_first = AckFirst(**gate)
    pool = WorkPool(threads, ack_first)
    try:
        yield ack_first, pool
    finally:
        pool.drain(5)


def test_a_job_waits_for_the_requests_in_flight_to_be_answered() -> None:
    with gated_pool(2, max_delay=30.0) as (gate, pool):
        started = threading.Event()
        answered = threading.Event()
        order: list[str] = []
        with gate.answering():
            pool.call(lambda: (order.append("job"), started.set()))
            # The job may not start while the request is in flight, whatever the pool's idle threads.
            assert not started.wait(0.3)
            order.append("ack")
            answered.set()
        assert started.wait(5)
        assert order == ["ack", "job"]


def test_a_job_runs_at_its_deadline_under_endless_traffic() -> None:
    with gated_pool(1, max_delay=0.2) as (gate, pool):
        done = threading.Event()
        with gate.answering():
            begun = time.monotonic()
            pool.submit(lambda: done.set(), reply=lambda **_: None)
            # Still in flight: the job must run anyway once its deadline has passed.
            assert done.wait(5)
            assert time.monotonic() - begun >= 0.15


def test_nested_requests_keep_jobs_waiting_until_the_last_is_answered() -> None:
    with gated_pool(1, max_delay=30.0) as (gate, pool):
        ran = threading.Event()
        with gate.answering():
            with gate.answering():
                pool.call(ran.set)
            assert not ran.wait(0.3)  # one request still in flight
        assert ran.wait(5)


def test_a_job_waits_for_the_quiet_to_settle_not_an_instant_between_two_requests() -> None:
    with gated_pool(1, max_delay=30.0, settle=0.3) as (gate, pool):
        ran_at: list[float] = []
        with gate.answering():
            pool.call(lambda: ran_at.append(time.monotonic()))
        answered = time.monotonic()
        with gate.answering():  # the next request of the same burst, right after
            pass
        last_answered = time.monotonic()
        wait_until(lambda: ran_at, timeout=10, message="the job never ran")
        assert ran_at[0] >= last_answered + 0.25 and ran_at[0] > answered


def test_warming_starts_every_thread_of_the_pool_before_any_request() -> None:
    pool = WorkPool(6)
    try:
        assert pool.warm() == 6
        ran = threading.Event()
        pool.call(ran.set)
        assert ran.wait(5)  # warmed threads take work as usual
        assert pool.warm() == 6  # again: still six, none added
    finally:
        pool.drain(5)


def test_jobs_handed_over_mid_request_are_held_off_the_pool_then_run_in_order() -> None:
    with gated_pool(4, max_delay=30.0) as (gate, pool):
        order: list[int] = []
        lock = threading.Lock()

        def job(n: int) -> None:
            with lock:
                order.append(n)

        with gate.answering():
            futures = [pool.call(lambda n=n: job(n)) for n in range(3)]
            # Held in the gate's queue: no pool thread was woken for them, none has started.
            assert gate.held() == 3
            assert not any(f.running() or f.done() for f in futures)
            assert pool.busy() == 3  # accepted work all the same (drain waits for it)
        wait_until(lambda: all(f.done() for f in futures), timeout=5, message="held jobs never ran")
        assert gate.held() == 0
        assert sorted(order) == [0, 1, 2]


def test_background_work_with_no_request_in_flight_is_not_held() -> None:
    with gated_pool(1, max_delay=30.0, settle=30.0) as (gate, pool):
        future = pool.call(lambda: "ran")
        assert gate.held() == 0
        assert future.result(timeout=5) == "ran"


def test_drain_starts_held_work_at_once_and_refuses_new_work() -> None:
    gate = AckFirst(max_delay=30.0)
    pool = WorkPool(2, gate)
    ran = threading.Event()
    with gate.answering():  # a request still in flight at shutdown: its job must not wait 30 s, nor be lost
        pool.call(ran.set)
        begun = time.monotonic()
        assert pool.drain(5)
        assert ran.is_set() and time.monotonic() - begun < 5
        try:
            pool.call(ran.set)
        except RuntimeError:
            pass
        else:
            raise AssertionError("a drained pool took new work")


def test_a_held_job_cancelled_before_it_starts_never_runs() -> None:
    with gated_pool(1, max_delay=30.0) as (gate, pool):
        ran = threading.Event()
        with gate.answering():
            future = pool.call(ran.set)
            assert future.cancel()
        later = pool.call(lambda: "after")  # runs once quiet: the cancelled one was skipped, not run
        assert later.result(timeout=5) == "after"
        assert not ran.is_set()


def test_a_job_that_raises_reaches_whoever_waits_on_its_future() -> None:
    with gated_pool(1, max_delay=30.0) as (gate, pool):
        with gate.answering():
            future = pool.submit(lambda: (_ for _ in ()).throw(SystemExit(3)), reply=lambda **_: None)
        try:
            future.result(timeout=5)
        except SystemExit as exc:
            assert exc.code == 3
        else:
            raise AssertionError("the job's SystemExit was swallowed")
