"""Counting what people do from Slack (``rootly_bot_actions_total{kind, outcome}``) without touching the services.

A :class:`Metered` proxy stands in front of a service and counts the calls of the methods it is told about, by
what came of them; every other attribute passes through. The app puts proxies where the listeners reach the
services, and keeps the bare services for the outbox (whose retries of an action already counted must not count
again).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from bot.domain.refs import BadReference
from bot.domain.results import ActionResult, Queued
from bot.support import errors, metrics


def outcome_of(result: Any) -> str:
    """``done`` · ``unchanged`` (the state made it unnecessary, or a double click) · ``queued`` (in the outbox) ·
    for anything else a service returns (an incident declared, an alert raised), its class in snake case."""
    if isinstance(result, ActionResult):
        return "done" if result.done else "unchanged"
    if isinstance(result, Queued):
        return "queued"
    if isinstance(result, tuple) and result:  # (Triggered, posted) and the like
        result = result[0]
    return _snake(type(result).__name__) if result is not None else "done"


def failure_of(exc: BaseException) -> str:
    """``not_found``, ``unavailable``, ``rate_limited``, ``unauthorized``, ``invalid``, ``conflict``…, for a
    backend's refusal; ``bad_reference`` for what a person typed; ``error`` for a bug."""
    if isinstance(exc, BadReference):
        return "bad_reference"
    if isinstance(exc, errors.BackendError):
        return _snake(type(exc).__name__) if type(exc) is not errors.BackendError else "backend_error"
    return "error"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Metered:
    """``Metered(service, {"acknowledge": "acknowledge", "add_note": "note"})``: method name → action kind."""

    def __init__(self, inner: Any, kinds: Mapping[str, str]) -> None:
        self._inner = inner
        self._kinds = dict(kinds)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        kind = self._kinds.get(name)
        if kind is None or not callable(attribute):
            return attribute
        return _counted(kind, attribute)


def _counted(kind: str, call: Callable[..., Any]) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        try:
            result = call(*args, **kwargs)
        except Exception as exc:
            metrics.action(kind, failure_of(exc))
            raise
        metrics.action(kind, outcome_of(result))
        return result

    return counted


# What the listeners reach, and the kind each method counts as.
RELIABLE_KINDS = {"acknowledge": "acknowledge", "resolve": "resolve", "add_note": "note"}
DIRECT_KINDS = {"snooze": "snooze", "escalate": "escalate", "set_noise": "noise", "update": "update"}
TRIGGER_KINDS = {"trigger": "trigger"}
INCIDENT_KINDS = {"declare": "declare_incident"}
