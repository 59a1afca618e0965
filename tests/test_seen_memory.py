"""The in-memory replay check (SQLite deployments) forgets signatures once they can no longer be replayed, so its
memory follows the last ``ttl`` seconds of traffic instead of growing with every request ever signed."""

from __future__ import annotations

from bot.store.seen import MemorySeen


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_is_refused_again_within_its_ttl_and_forgotten_after() -> None:
    clock = Clock()
    seen = MemorySeen(ttl=600, clock=clock)
    assert seen.first("sig-a") is True
    clock.now += 599
    assert seen.first("sig-a") is False  # a replay inside the window
    clock.now += 2
    assert seen.first("sig-a") is True  # outside it the gate refuses the timestamp anyway; the key is fresh again


def test_expired_keys_are_dropped_as_new_ones_arrive() -> None:
    clock = Clock()
    seen = MemorySeen(ttl=10, clock=clock)
    for second in range(1000):  # one request a second for 1,000 s
        clock.now = 1000.0 + second
        assert seen.first(f"sig-{second}") is True
    assert len(seen) <= 11  # the last 10 s of keys (and the one just added), not 1,000


def test_the_bound_still_holds_when_everything_is_fresh() -> None:
    seen = MemorySeen(ttl=600, max_items=100, clock=Clock())
    for n in range(500):
        seen.first(f"sig-{n}")
    assert len(seen) == 100
    assert seen.first("sig-499") is False  # the newest are kept


def test_by_default_a_signature_is_remembered_as_long_as_slack_accepts_its_timestamp() -> None:
    clock = Clock()
    seen = MemorySeen(clock=clock)
    assert seen.first("sig-a") is True
    clock.now += 5 * 60 + 10  # Slack's 5-minute window, and some clock skew
    assert seen.first("sig-a") is False
    clock.now += 60  # past it the gate refuses the stale timestamp before asking
    assert seen.first("sig-a") is True
