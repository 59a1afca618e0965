"""Copying a thread to the timeline: order, rate limits waited out, uncertain writes never repeated."""

from __future__ import annotations

from typing import Any

from bot.incidents.thread_copy import ThreadCopier
from bot.incidents.thread_text import ThreadMessage
from bot.support import errors


class Timeline:
    """Rootly's incident events in memory; ``script`` holds errors for the next calls (None: succeed)."""

    def __init__(self, *script: errors.BackendError | None) -> None:
        self.script = list(script)
        self.events: list[tuple[str, str, str]] = []
        self.calls = 0

    def add_incident_event(self, incident_id: str, text: str, *, visibility: str = "internal") -> None:
        self.calls += 1
        failure = self.script.pop(0) if self.script else None
        if failure is not None:
            raise failure
        self.events.append((incident_id, text, visibility))


class Names:
    def channel_name(self, channel: str) -> str:
        return {"C1": "ops"}.get(channel, channel)


def copier(timeline: Timeline, slept: list[float]) -> ThreadCopier:
    names = {"U1": "Alice", "U2": "Bob"}
    return ThreadCopier(timeline, Names(), lambda u: names.get(u, u), sleep=slept.append)  # type: ignore[arg-type]


def messages(n: int) -> list[ThreadMessage]:
    return [
        ThreadMessage(ts=f"{1700000000 + 60 * i}.0001", text=f"m{i} <#C1>", user_id=f"U{1 + i % 2}") for i in range(n)
    ]


def test_messages_land_in_order_as_internal_events() -> None:
    timeline, slept = Timeline(), []
    result = copier(timeline, slept).copy("inc1", messages(3))
    assert (result.copied, result.total, result.failed) == (3, 3, 0)
    assert timeline.events == [
        ("inc1", "[22:13Z] Alice: m0 #ops", "internal"),
        ("inc1", "[22:14Z] Bob: m1 #ops", "internal"),
        ("inc1", "[22:15Z] Alice: m2 #ops", "internal"),
    ]


def test_a_rate_limit_is_waited_out_and_the_event_repeated() -> None:
    timeline, slept = Timeline(None, errors.RateLimited("429", retry_after=7.0)), []
    result = copier(timeline, slept).copy("inc1", messages(3))
    assert result.copied == 3 and slept == [7.0] and timeline.calls == 4
    assert [e[1].split(": ", 1)[1] for e in timeline.events] == ["m0 #ops", "m1 #ops", "m2 #ops"]


def test_an_uncertain_write_is_not_repeated_and_an_outage_is_retried() -> None:
    uncertain = errors.Unavailable("timeout", ambiguous=True)
    down = errors.Unavailable("503")
    timeline, slept = Timeline(uncertain, down, None), []
    result = copier(timeline, slept).copy("inc1", messages(3))
    assert (result.copied, result.failed) == (2, 1) and slept == [1]
    assert [e[1][-7:] for e in timeline.events] == ["m1 #ops", "m2 #ops"]


def test_the_copy_stops_after_failures_in_a_row() -> None:
    refused: list[Any] = [errors.Invalid("no")] * 3
    timeline, slept = Timeline(*refused), []
    result = copier(timeline, slept).copy("inc1", messages(10))
    assert (result.copied, result.failed, timeline.calls) == (0, 10, 3)


def test_rate_limit_waits_are_bounded() -> None:
    timeline, slept = Timeline(*[errors.RateLimited("429", retry_after=200.0)] * 5), []
    result = copier(timeline, slept).copy("inc1", messages(2))
    assert result.copied == 0 and sum(slept) <= 300
