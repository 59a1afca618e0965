"""The one way tests wait for the bot: it answers Slack at once and works afterwards, so effects arrive later."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 10.0,
    interval: float = 0.02,
    message: str = "condition not met in time",
) -> T:
    """Poll ``predicate`` until it returns something truthy and return that; AssertionError with ``message`` (and
    the timeout) when it has not within ``timeout`` seconds. The predicate is asked once more at the deadline, so a
    slow last poll does not turn a success into a failure."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{message} (waited {timeout:g} s)")
        time.sleep(interval)
