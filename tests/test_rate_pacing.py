"""Proactive pacing (bot/support/rate_pacing.py) against the Rootly fake's real rate limiter, over HTTP.

The fake counts reads and writes per sliding window and puts ``X-RateLimit-*`` on every answer; a call over the
limit gets a 429 and is not counted. Its window is shortened here so a test sees several windows in a few seconds.
No timing is asserted beyond "no 429 was answered" (every logical call reached the fake exactly once: a 429 would
have been retried) and "requests were spread past the reset".
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

import tests.fakes.rootly as rootly_fake
from bot.backends.rootly.client import RootlyClient
from bot.support import errors
from bot.support.rate_pacing import Allowance, RateGate, Ticket
from tests.conftest import ROOTLY_TOKEN
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake

WINDOW = 1.0  # seconds; Rootly's is 60


@pytest.fixture
def short_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rootly_fake, "RATE_WINDOW", WINDOW)


@pytest.fixture
def client(rootly: RootlyFake) -> Iterator[RootlyClient]:
    made = RootlyClient.create(rootly.url, ROOTLY_TOKEN, timeout=5, rate_limit_budget=30, pool_size=8)
    try:
        yield made
    finally:
        made.http.close()


def note_posts(rootly: RootlyFake, alert_id: str) -> list[float]:
    """Arrival times (monotonic) of the note writes that reached the fake."""
    return [r.at for r in rootly.requests_to("POST", f"/v1/alerts/{alert_id}/events")]


def test_a_burst_from_many_threads_is_paced_without_a_single_429(
    short_window: None, rootly: RootlyFake, client: RootlyClient, caplog: pytest.LogCaptureFixture
) -> None:
    rootly.rate_limit = 8  # writes per window; the gate keeps 2 in reserve
    alert = rootly.add_alert(summary="Disk full")
    calls = 20
    caplog.set_level(logging.INFO, logger="bot.support.rate_pacing")
    with ThreadPoolExecutor(max_workers=8) as pool:
        notes = list(pool.map(lambda i: client.add_alert_note(alert["id"], f"note {i}"), range(calls)))
    assert len(notes) == calls
    arrivals = sorted(note_posts(rootly, alert["id"]))
    # No 429: a rate-limited call would have been waited out and sent again, so more than `calls` would arrive.
    assert len(arrivals) == calls
    assert len(rootly.notes(alert["id"])) == calls
    # Spread past the reset: never more than the limit within one window, so the burst took several windows.
    for i, at in enumerate(arrivals):
        assert sum(1 for later in arrivals[i:] if later - at < WINDOW - 0.05) <= rootly.rate_limit
    assert arrivals[-1] - arrivals[0] >= WINDOW
    assert client.http.gate.waits > 0
    assert "rate limit nearly used" in caplog.text  # the waits are logged
    assert rootly.violations == []


def test_a_wait_past_the_budget_is_refused_at_once_without_sending(rootly: RootlyFake, client: RootlyClient) -> None:
    rootly.rate_limit = 5  # 60-second window: the reset is far beyond the budget below
    alert = rootly.add_alert(summary="CPU")
    client.http.rate_limit_budget = 2
    for i in range(3):  # 5 minus the reserve of 2
        client.add_alert_note(alert["id"], f"note {i}")
    with pytest.raises(errors.RateLimited) as caught:
        client.add_alert_note(alert["id"], "one too many")
    assert caught.value.retry_after is not None and caught.value.retry_after > 2
    assert "rate limiting" in caught.value.message
    assert len(note_posts(rootly, alert["id"])) == 3  # the refused call was never sent: no 429
    # Reads are counted apart by Rootly, so they still go.
    assert client.get_alert(alert["id"]).summary == "CPU"


def test_the_bot_queues_an_action_the_gate_holds_back_and_says_so(
    make_bot,  # type: ignore[no-untyped-def]
    rootly: RootlyFake,
    slack: SlackFake,
) -> None:
    rootly.rate_limit = 4  # 60-second window; the gate keeps 2 in reserve
    first, second = rootly.add_alert(summary="one"), rootly.add_alert(summary="two")
    with make_bot(RATE_LIMIT_BUDGET="1") as bot:
        bot.sender.slash(f"ack {first['id']}")  # acknowledge + attribution note: the 2 writes the window allows
        slack.wait_responses(1, timeout=10)
        bot.sender.slash(f"ack {second['id']}")
        said = slack.wait_responses(2, timeout=10)[-1]["text"]
    assert "queued" in said and "rate limiting" in said
    assert rootly.get_alert(second["id"])["attributes"]["status"] == "triggered"
    assert rootly.requests_to("POST", f"/v1/alerts/{second['id']}/acknowledge") == []  # held back, not sent


# The gate's bookkeeping, with a clock the test moves ----------------------------------------------------------
class Answered:
    def __init__(self, remaining: int, reset: float, limit: int = 100, status: int = 200) -> None:
        self.status_code = status
        self.headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset),
        }


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_requests_in_flight_count_as_spent_and_stale_answers_are_ignored() -> None:
    clock = Clock()
    gate = RateGate("Rootly", clock=clock)
    reset = clock.now + 30
    tickets = [gate.acquire("POST", 0) for _ in range(3)]
    gate.release(tickets[0], Answered(remaining=5, reset=reset))
    # Two others are still in flight and may not be in that figure: 5 - 2 = 3 left, one over the reserve of 2.
    gate.acquire("POST", 0)
    with pytest.raises(errors.RateLimited):
        gate.acquire("POST", 0)
    # An answer from an older window, overtaken on the way back, changes nothing.
    gate.release(tickets[1], Answered(remaining=90, reset=reset - 60))
    with pytest.raises(errors.RateLimited):
        gate.acquire("POST", 0)
    # Reads have their own count.
    assert gate.acquire("GET", 0) == Ticket("read", False)


def test_after_the_reset_one_probe_goes_first_and_its_answer_sets_the_pace() -> None:
    clock = Clock()
    gate = RateGate("Rootly", clock=clock)
    gate.release(gate.acquire("POST", 0), Answered(remaining=1, reset=clock.now + 10))
    clock.now += 10
    probe = gate.acquire("POST", 0)
    assert probe.probe
    with pytest.raises(errors.RateLimited):  # the probe's answer is not in yet
        gate.acquire("POST", 0)
    gate.release(probe, Answered(remaining=50, reset=clock.now + 60))
    assert not gate.acquire("POST", 0).probe


def test_headers_without_a_reset_are_not_paced() -> None:
    assert Allowance.from_headers({"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0"}, 0.0) is None
    assert Allowance.from_headers(
        {"RateLimit-Limit": "10", "RateLimit-Remaining": "3", "RateLimit-Reset": "7"}, 5.0
    ) == (Allowance(10, 3, 12.0))
