"""The outbox drains in parallel without giving up per-alert order or exactly-once delivery.

A backlog of acknowledgements, notes and resolutions on many alerts (queued in that order per alert, interleaved
across alerts, as an outage leaves them) is delivered by several deliverers at once. What must hold: never two items
of one alert in flight, each alert's items delivered in the order they were queued (Rootly refuses to acknowledge a
resolved alert, so a resolve overtaking its ack would fail the ack), every item delivered exactly once, and more
than one item in flight at some point (the parallelism is real). Two passes run at once as two replicas would.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bot.domain import AlertRef, Backend
from bot.services.reliable import OutboxDelivery
from bot.store.outbox import DELIVERED, OutboxStore
from tests.fakes.rootly import RootlyFake

ALERTS = 40
VERBS = ("acknowledge", "note", "resolve")


class Recording:
    """Delegates to the real actions and records, per alert, what was in flight and in which order it started."""

    def __init__(self, actions: Any) -> None:
        self.actions = actions
        self.lock = threading.Lock()
        self.in_flight: Counter[str] = Counter()
        self.overlaps: list[str] = []  # alerts seen with two items in flight
        self.most_at_once = 0
        self.started: dict[str, list[str]] = defaultdict(list)

    def _call(self, verb: str, target: Any, *args: Any) -> Any:
        alert = target.id
        with self.lock:
            self.in_flight[alert] += 1
            if self.in_flight[alert] > 1:
                self.overlaps.append(alert)
            self.most_at_once = max(self.most_at_once, sum(self.in_flight.values()))
            self.started[alert].append(verb)
        try:
            return getattr(self.actions, "add_note" if verb == "note" else verb)(target, *args)
        finally:
            with self.lock:
                self.in_flight[alert] -= 1

    def acknowledge(self, target: Any, *args: Any) -> Any:
        return self._call("acknowledge", target, *args)

    def resolve(self, target: Any, *args: Any) -> Any:
        return self._call("resolve", target, *args)

    def add_note(self, target: Any, *args: Any) -> Any:
        return self._call("note", target, *args)


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_parallel_delivery_keeps_each_alert_s_order_and_delivers_each_item_once(
    make_bot, rootly: RootlyFake, database: str, request: pytest.FixtureRequest
) -> None:  # type: ignore[no-untyped-def]
    overrides = {"ATTRIBUTION_NOTES": "false", "OUTBOX_WORKERS": "8"}
    if database == "postgresql":
        overrides["DATABASE_URL"] = request.getfixturevalue("postgres_url")
    alerts = [rootly.add_alert(summary=f"backlog {i}", status="triggered")["id"] for i in range(ALERTS)]
    rootly.latency = 0.02  # each call takes a moment, so deliverers overlap
    with make_bot(**overrides) as bot:
        delivery: OutboxDelivery = bot.app.services.outbox
        store: OutboxStore = bot.app.services.outbox_store
        recording = Recording(delivery.actions)
        delivery.actions = recording  # type: ignore[assignment]
        for verb in VERBS:  # round by round: every alert's ack, then every note, then every resolve
            for alert in alerts:
                payload = {"slack_user_id": "U111", "text": f"note on {alert}", "message": None}
                store.enqueue(verb, AlertRef(Backend.ROOTLY, alert).encode(), payload, check_first=False)
        landed = 0
        for _ in range(20):  # two replicas' passes at once, until the backlog is gone
            with ThreadPoolExecutor(2) as replicas:
                landed += sum(replicas.map(lambda _: delivery.deliver_due(), range(2)))
            if store.depth() == 0:
                break

    assert store.counts() == {DELIVERED: ALERTS * len(VERBS)}
    assert landed == ALERTS * len(VERBS)
    assert recording.overlaps == [], "two items of one alert were in flight at once"
    assert {alert: recording.started[alert] for alert in alerts} == {alert: list(VERBS) for alert in alerts}
    assert recording.most_at_once > 1, "delivery was not parallel"
    for alert in alerts:  # what reached Rootly: one ack, one note, one resolve each
        posts = [r.path.rsplit("/", 1)[-1] for r in rootly.requests_to("POST", f"/v1/alerts/{alert}/")]
        assert posts == ["acknowledge", "events", "resolve"], (alert, posts)
    assert rootly.violations == []
