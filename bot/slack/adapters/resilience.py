"""How the Slack Web API client behaves under rate limits, and how /healthz learns whether Slack answers.

slack_sdk's own rate-limit handler sleeps for whatever ``Retry-After`` says, on whichever thread made the call.
Listeners answer Slack on the request thread (``process_before_response``), and some of them call Slack before
returning (``views.open`` needs the 3-second trigger): a 429 storm would then park every request thread in a sleep
and the bot would stop answering anything. So calls bound to a trigger, and the policy look-ups made while a person
waits, are never waited out (the trigger expires anyway; the person is told), and no wait is longer than
:data:`MAX_WAIT` seconds.

Retry handlers see every answer the client gets (slack_sdk consults them on success too), and Bolt copies them to
the client it makes for each request, so a handler that only records and never retries sees all Slack traffic.
"""

from __future__ import annotations

import contextlib
import random
import time
from typing import Any

from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.services.health import FAILING, OK, RATE_LIMITED, Observe
from bot.support import metrics

MAX_WAIT = 30.0
# Methods never waited out: the trigger_id they carry expires in 3 s, or a person's request is waiting on them.
NO_WAIT = frozenset({"views.open", "views.push", "usergroups.list", "usergroups.users.list"})


def api_method(request: HttpRequest) -> str:
    return request.url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]


def retry_after(response: HttpResponse) -> float | None:
    for name, values in response.headers.items():
        if name.lower() == "retry-after" and values:
            try:
                return float(values[0])
            except (TypeError, ValueError):
                return None
    return None


class BoundedRateLimitHandler(RetryHandler):
    """Waits out a 429 like slack_sdk's handler, except for :data:`NO_WAIT` methods and waits over ``max_wait``."""

    def __init__(self, max_retry_count: int = 3, max_wait: float = MAX_WAIT) -> None:
        super().__init__(max_retry_count)
        self.max_wait = max_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429 or api_method(request) in NO_WAIT:
            return False
        wait = retry_after(response)
        return wait is None or wait <= self.max_wait

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        wait = (retry_after(response) if response is not None else None) or 1.0
        metrics.rate_limit_wait("slack", min(wait, self.max_wait))
        time.sleep(min(wait, self.max_wait) + random.random())
        state.next_attempt_requested = True
        state.increment_current_attempt()


class SlackObserver(RetryHandler):
    """Records each answer for /healthz and never asks for a retry; put it first in the client's handlers."""

    def __init__(self, observe: Observe) -> None:
        super().__init__(max_retry_count=0)
        self.observe = observe

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        with contextlib.suppress(Exception):  # bookkeeping must never break a call
            self.observe(*_state_of(response, error))
        return False

    def _can_retry(self, **_: Any) -> bool:  # pragma: no cover - can_retry is overridden
        return False


def _state_of(response: HttpResponse | None, error: Exception | None) -> tuple[str, str | None]:
    if response is None:
        return FAILING, f"Slack could not be reached ({type(error).__name__ if error else 'no answer'})"
    if response.status_code == 429:
        return RATE_LIMITED, "Slack answered 429"
    if response.status_code >= 500:
        return FAILING, f"Slack answered {response.status_code}"
    return OK, None
