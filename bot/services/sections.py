"""Asking the features' section providers (see :mod:`bot.domain.sections`), all at once and within a deadline.

Each provider runs on a small pool of its own, started before the caller reads its own data, so the sections cost no
extra wall time when they are faster than the digest's or tab's own reads. A provider that raises, or is not done
by the deadline, becomes a section that says it could not be read; its thread finishes (or times out on its HTTP
call) on its own, and nobody waits for it.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

from bot.domain.sections import InfoSection, SectionProvider
from bot.support import errors

log = logging.getLogger(__name__)

T = TypeVar("T")
TIMEOUT = 8.0  # seconds a section may take before the digest or tab goes out without it
TIMED_OUT = "it did not answer in time"


class Pending:
    """Sections being read; :meth:`collect` waits for them until the deadline, in the providers' order."""

    def __init__(self, started: list[tuple[str, Future[InfoSection | None]]], deadline: float) -> None:
        self.started = started
        self.deadline = deadline

    def collect(self) -> list[InfoSection]:
        found: list[InfoSection] = []
        for title, future in self.started:
            try:
                section = future.result(timeout=max(0.0, self.deadline - time.monotonic()))
            except TimeoutError:
                log.warning("section %r did not answer in time; shown as unavailable", title)
                section = InfoSection.failed(title, TIMED_OUT)
            except errors.BackendError as exc:
                section = InfoSection.failed(title, exc.message)
            except Exception as exc:
                log.warning("section %r failed: %s", title, exc, exc_info=True)
                section = InfoSection.failed(title, "something went wrong while reading it")
            if section is not None:
                found.append(section)
        return found


class Sections(Generic[T]):
    def __init__(
        self, providers: Sequence[SectionProvider[T]] = (), *, pool: ThreadPoolExecutor, timeout: float = TIMEOUT
    ) -> None:
        self.providers = list(providers)
        self.pool = pool
        self.timeout = timeout

    def add(self, provider: SectionProvider[T]) -> None:
        self.providers.append(provider)

    def start(self, arg: T) -> Pending:
        """Start every provider now (each in a copy of the caller's context, so its log lines keep the request id)."""
        deadline = time.monotonic() + self.timeout
        started = []
        for provider in self.providers:
            context = contextvars.copy_context()
            started.append((provider.title, self.pool.submit(context.run, provider.read, arg)))
        return Pending(started, deadline)

    def read(self, arg: T) -> list[InfoSection]:
        return self.start(arg).collect()


def section_pool(workers: int = 8) -> ThreadPoolExecutor:
    """The threads sections are read on, apart from the work pool so a slow provider never delays a click."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sections")
