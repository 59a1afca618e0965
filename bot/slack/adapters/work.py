"""Slow work, off Slack's acknowledgement path.

Bolt runs listeners on a small thread pool; a listener that waits on Rootly holds a worker, and once all are held
the next request is not even acknowledged within Slack's 3 seconds. Listeners therefore ``ack()`` and hand the
backend call to this pool, so their thread is free in milliseconds whatever Rootly's latency. Every error is
caught here and turned into a message for the person: a listener never raises after acking.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.domain.refs import BadReference
from bot.render import replies
from bot.store.reconnect import is_database_down
from bot.support import errors, request_context
from bot.support.ack_first import AckFirst

log = logging.getLogger(__name__)

Message = dict[str, Any]
Reply = Callable[..., Any]


class WorkPool:
    def __init__(self, threads: int, ack_first: AckFirst | None = None) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="work")
        self._threads = threads
        # Jobs start once the Slack requests in flight are answered (bot.support.ack_first); the entry points
        # (the WSGI app, Socket Mode) mark those requests with ``answering()``.
        self.ack_first = ack_first or AckFirst()
        self._lock = threading.Lock()
        self._pending: set[Future[Any]] = set()
        self._closed = False

    def _track(self, future: Future[Any]) -> Future[Any]:
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._untrack)
        return future

    def _untrack(self, future: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)

    def warm(self, timeout: float = 5.0) -> int:
        """Start every thread of the pool now; returns how many run. ``ThreadPoolExecutor`` starts a thread per
        submit until it has them all, and each start waits for the new thread to run: in the first burst after
        start-up those waits fell on the request threads, before their acknowledgement (bench/ack_latency.py,
        round 1). All threads must be busy at once for the executor to start each one, hence the barrier."""
        threads = self._threads
        everyone = threading.Barrier(threads, timeout=timeout)

        def hold() -> None:
            with contextlib.suppress(threading.BrokenBarrierError):
                everyone.wait()

        for future in [self._executor.submit(hold) for _ in range(threads)]:
            future.result(timeout + 1)
        return len(self._executor._threads)

    def busy(self) -> int:
        """Jobs handed over and not finished yet (waiting or running)."""
        with self._lock:
            return len(self._pending)

    def drain(self, timeout: float) -> bool:
        """Accept no more work and wait up to ``timeout`` s for what was accepted; True when all of it finished."""
        self._closed = True
        self.ack_first.flush()  # what waits for a quiet moment is accepted work too: it starts now
        self._executor.shutdown(wait=False)
        with self._lock:
            pending = set(self._pending)
        if not pending:
            return True
        log.info("waiting up to %.0f s for %d job(s) to finish", timeout, len(pending))
        _, not_done = wait(pending, timeout=timeout)
        if not_done:
            log.error("%d job(s) did not finish before shutdown", len(not_done))
        return not not_done

    def submit(
        self, job: Callable[[], Message | None], reply: Reply, *, subject: str = "it", typed: str | None = None
    ) -> Future[None]:
        """Run ``job``; send what it returns (or an explanation of its failure) through ``reply``."""
        return self._start(lambda: self._run(job, reply, subject, typed))

    def call(self, fn: Callable[[], Any]) -> Future[Any]:
        """Plain background work with no person waiting (errors are logged)."""

        def run() -> Any:
            try:
                return fn()
            except Exception:
                log.exception("background work failed")
                return None

        return self._start(run)

    def _start(self, fn: Callable[[], Any]) -> Future[Any]:
        """``fn`` on a pool thread once the acknowledgements in flight are out (bot.support.ack_first), in the
        submitter's context, so its log lines carry the Slack request's id (bot.support.request_context). The future
        is made here, not by the executor, because the job reaches the executor only when it may start."""
        if self._closed:
            raise RuntimeError("cannot take new work: shutting down")
        future: Future[Any] = Future()
        run = request_context.carried(fn)

        def go() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(run())
            except BaseException as exc:  # whatever it was, whoever waits on the future hears of it
                future.set_exception(exc)

        def start() -> None:
            try:
                self._executor.submit(go)
            except RuntimeError as exc:  # handed over just as the pool shut down
                if future.set_running_or_notify_cancel():
                    log.error("follow-up work dropped: handed over as the pool shut down")
                    future.set_exception(exc)

        self._track(future)
        self.ack_first.after_acks(start)
        return future

    def _run(self, job: Callable[[], Message | None], reply: Reply, subject: str, typed: str | None) -> None:
        try:
            message = job()
        except BadReference as exc:
            message = replies.problem(str(exc), typed=typed)
        except errors.BackendError as exc:
            log.info("backend refused %s: %s (%s)", subject, exc.message, type(exc).__name__)
            message = replies.backend_error(exc, subject=subject, typed=typed)
        except SlackApiError as exc:
            code = str(exc.response.get("error") or "unknown_error")
            log.warning("Slack refused %s: %s", subject, code)
            message = replies.slack_refused(code, typed=typed)
        except Exception as exc:
            reference = uuid.uuid4().hex[:8]
            log.exception("unexpected error handling %s (reference %s)", subject, reference)
            down = is_database_down(exc)
            message = (replies.database_down if down else replies.unexpected)(reference, typed=typed)
        if message is None:
            return
        try:
            reply(**message)
        except Exception:
            log.exception("could not deliver the reply about %s", subject)
