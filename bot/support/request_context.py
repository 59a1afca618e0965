"""The request id: one short id per Slack request, on every log line written while handling it.

Why a context variable: a click is handled on a server thread (the acknowledgement) and then on a work-pool thread
(the Rootly calls). The id is set where the request enters (the WSGI app in HTTP mode, the Socket Mode handler),
each in a fresh copy of the context so nothing leaks into the next request on the same thread, and the work pool
runs every job in a copy of the context that submitted it, so the Rootly call lines carry the same id as the Slack
request line. ``bot.support.logs`` adds it to every record.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def current() -> str | None:
    """The id of the request being handled here, if any."""
    return _request_id.get()


def new_id() -> str:
    return uuid.uuid4().hex[:12]


def ensure() -> str:
    """The current id, or a new one set for the rest of this context (listeners reached without an entry point)."""
    found = _request_id.get()
    if found:
        return found
    fresh = new_id()
    _request_id.set(fresh)
    return fresh


def in_new_request(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` as one request: a fresh id, in a copy of the context that is dropped afterwards."""

    def run() -> T:
        _request_id.set(new_id())
        return fn(*args, **kwargs)

    return contextvars.copy_context().run(run)


def carried(fn: Callable[..., T]) -> Callable[..., T]:
    """``fn`` bound to a copy of the caller's context: run on another thread, it logs the caller's request id."""
    context = contextvars.copy_context()

    def run(*args: Any, **kwargs: Any) -> T:
        return context.run(fn, *args, **kwargs)

    return run
