"""Global middleware called as ``(req, resp, next)``, without Bolt's keyword injection.

Bolt calls a function registered with ``app.use`` through ``build_required_kwargs``, which builds some thirty
candidate arguments (each payload view, ``say``, ``respond``, …) on every call to pick the few the function names.
On the acknowledgement path that was about a tenth of a request's CPU for the bot's middlewares alone
(bench/README.md, "Bolt's keyword injection and a click's percent-decoding"). A ``Middleware`` subclass is called
directly, so the bot's middlewares are registered through :func:`use` and read what they need from the request.
"""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

Next = Callable[[], BoltResponse]
Handler = Callable[[BoltRequest, BoltResponse, Next], BoltResponse | None]


class Direct(Middleware):
    """One function as a Bolt middleware, with Bolt's own contract: call ``next()`` to go on, or return an answer."""

    def __init__(self, func: Handler) -> None:
        self.func = func

    def process(self, *, req: BoltRequest, resp: BoltResponse, next: Next) -> BoltResponse | None:
        return self.func(req, resp, next)

    @property
    def name(self) -> str:
        return f"Direct({self.func.__module__}.{self.func.__qualname__})"


def use(app: App) -> Callable[[Handler], Handler]:
    """``@use(app)`` registers a global middleware of signature ``(req, resp, next)``, in order of registration."""

    def register(func: Handler) -> Handler:
        app.use(Direct(func))
        return func

    return register
