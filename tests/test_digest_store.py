"""Digest subscriptions and slot claims, on SQLite and on a real PostgreSQL: each slot is posted exactly once
however many replicas race for it, and a claim whose holder died is taken over or reported lost."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.digests.schedule import Kind, Schedule
from bot.digests.service import (
    MAX_ATTEMPTS,
    DigestInvalid,
    DigestRequest,
    Digests,
    DigestSettings,
    Outcome,
    PostRefused,
    slot_payload,
)
from bot.digests.store import DigestStore, Empty, RunStatus
from bot.domain import Alert, AlertFilters, AlertPage, AlertRef, AlertStatus, Backend
from bot.store import Database

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
TTL = 120.0


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@dataclass
class FakePoster:
    posts: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def post(self, channel: str, message: dict[str, Any], metadata: dict[str, Any] | None = None) -> str:
        with self.lock:
            if self.failures:
                raise self.failures.pop(0)
            self.posts.append((channel, message, metadata))
            return f"1700000000.{len(self.posts):06d}"

    def find_posted(self, channel: str, since: datetime, payload: dict[str, Any]) -> str | None:
        for i, (posted_in, _, metadata) in enumerate(self.posts):
            if posted_in == channel and (metadata or {}).get("event_payload") == payload:
                return f"1700000000.{i + 1:06d}"
        return None


class StubAlerts:
    """OpenAlerts' interface, with alerts in hand; counts calls."""

    def __init__(self, alerts: list[Alert] | None = None) -> None:
        self.alerts = alerts if alerts is not None else [_alert(1)]
        self.calls = 0

    def list(self, filters: AlertFilters, *, limit: int = 50) -> tuple[AlertPage, list[str]]:
        self.calls += 1
        return AlertPage(tuple(self.alerts[:limit]), len(self.alerts)), []


def _alert(i: int) -> Alert:
    return Alert(AlertRef(Backend.ROOTLY, f"id-{i}"), f"s{i}", f"Alert {i}", AlertStatus.TRIGGERED, "api", T0)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.create_schema()
    yield database
    database.close()


def replica(
    db_url: str, clock: Clock, poster: FakePoster, alerts: StubAlerts | None = None, name: str = "r"
) -> Digests:
    """A replica: its own Database (engine and pool), its own owner id; shared clock and Slack."""
    database = Database(db_url)
    database.create_schema()
    return Digests(
        DigestStore(database),
        alerts or StubAlerts(),  # type: ignore[arg-type]
        poster,
        DigestSettings(claim_seconds=TTL, more_url="https://rootly.com/account/alerts"),
        clock=clock,
        owner=name,
    )


def every_minute(digests: Digests, channel: str = "C111", empty: Empty = Empty.SKIP) -> int:
    request = DigestRequest(Kind.EVERY, "60", "UTC", AlertFilters(), empty)
    return digests.subscribe(channel, request, "U111").subscription.id


# --- subscriptions --------------------------------------------------------------------------------------------------
def test_subscriptions_survive_a_restart(database_url: str) -> None:
    first = Database(database_url)
    first.create_schema()
    store = DigestStore(first)
    sched = Schedule(Kind.CRON, "0 9 * * 1-5", "Europe/Berlin")
    filters = AlertFilters(services=("payments",), urgencies=("High",))
    sub = store.add("C111", sched, filters, Empty.NOTE, "U111", T0)
    fingerprint = store.fingerprint()
    first.close()

    again = Database(database_url)
    again.create_schema()
    store = DigestStore(again)
    [found] = store.all()
    assert (found.id, found.channel, found.schedule, found.filters, found.empty) == (
        sub.id,
        "C111",
        sched,
        filters,
        Empty.NOTE,
    )
    assert found.created_at == T0 and store.fingerprint() == fingerprint
    assert store.remove(sub.id) and not store.remove(sub.id)
    assert store.fingerprint() != fingerprint
    again.close()


def test_subscribe_rules(database_url: str) -> None:
    clock, poster = Clock(), FakePoster()
    digests = replica(database_url, clock, poster)
    with pytest.raises(DigestInvalid, match="at most every minute"):
        digests.subscribe("C1", DigestRequest(Kind.EVERY, "30", None, AlertFilters()), "U1")
    berlin = DigestRequest(Kind.DAILY, "09:00", "Europe/Berlin", AlertFilters())
    first = digests.subscribe("C1", berlin, "U1")
    assert not first.existing
    assert first.next_due == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)  # 09:00 CET tomorrow
    assert digests.subscribe("C1", berlin, "U1").existing
    # The channel's zone is the one it chose last; other channels keep DEFAULT_TIMEZONE.
    inherited = digests.subscribe("C1", DigestRequest(Kind.WEEKDAYS, "17:00", None, AlertFilters()), "U1")
    assert inherited.subscription.schedule.timezone == "Europe/Berlin"
    assert digests.channel_zone("C2") == "UTC"
    with pytest.raises(DigestInvalid, match="no digest #999"):
        digests.unsubscribe("C1", 999)
    assert [s.id for s in digests.unsubscribe("C1", None)] == [first.subscription.id, inherited.subscription.id]


# --- claims ---------------------------------------------------------------------------------------------------------
def test_one_claim_per_slot_however_many_replicas_race(database_url: str) -> None:
    databases = [Database(database_url) for _ in range(6)]
    databases[0].create_schema()
    sub = DigestStore(databases[0]).add(
        "C1", Schedule(Kind.EVERY, "60", "UTC", T0), AlertFilters(), Empty.SKIP, "U", T0
    )
    winners: list[str] = []
    gate = threading.Barrier(len(databases))

    def race(i: int, database: Database) -> None:
        gate.wait(10)
        for slot in range(5):
            at = T0 + timedelta(minutes=slot)
            if DigestStore(database).claim(sub.id, at.isoformat(), at, f"r{i}", TTL, at) is not None:
                winners.append(f"{slot}:r{i}")

    threads = [threading.Thread(target=race, args=(i, d)) for i, d in enumerate(databases)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for database in databases:
        database.close()
    assert sorted(w.split(":")[0] for w in winners) == ["0", "1", "2", "3", "4"]


def test_claims_change_hands_only_when_expired(db: Database) -> None:
    store = DigestStore(db)
    sub = store.add("C1", Schedule(Kind.EVERY, "60", "UTC", T0), AlertFilters(), Empty.SKIP, "U", T0)
    run = store.claim(sub.id, "k", T0, "a", TTL, T0)
    assert run is not None and run.status is RunStatus.CLAIMED and run.attempts == 1
    assert store.claim(sub.id, "k", T0, "b", TTL, T0) is None
    assert store.expired(T0 + timedelta(seconds=TTL - 1)) == []
    assert store.take_over(run, "b", TTL, T0 + timedelta(seconds=10)) is None  # not expired yet
    later = T0 + timedelta(seconds=TTL + 1)
    [stale] = store.expired(later)
    taken = store.take_over(stale, "b", TTL, later)
    assert taken is not None and taken.owner == "b" and taken.attempts == 2
    assert store.take_over(stale, "c", TTL, later) is None  # someone else was first
    assert not store.renew(run.id, "a", TTL, later)  # the old holder learns it lost the claim
    assert not store.finish(run.id, "a", RunStatus.POSTED, later, ts="1.2")
    assert store.finish(run.id, "b", RunStatus.POSTED, later, ts="1.3")
    assert store.last_delivered(sub.id).ts == "1.3"  # type: ignore[union-attr]
    assert store.prune(T0 + timedelta(days=31)) == 1


# --- the service: runs, replicas, crashes ---------------------------------------------------------------------------
def test_each_slot_is_posted_once_by_one_of_three_replicas(database_url: str) -> None:
    clock, poster = Clock(), FakePoster()
    replicas = [replica(database_url, clock, poster, name=f"r{i}") for i in range(3)]
    sub_id = every_minute(replicas[0])
    for minute in range(1, 4):
        clock.now = T0 + timedelta(minutes=minute, seconds=1)
        outcomes = [r.run_due(sub_id) for r in replicas]
        assert sorted(outcomes) == sorted([Outcome.POSTED, Outcome.TAKEN, Outcome.TAKEN])
    assert [meta["event_payload"]["slot"] for _, _, meta in poster.posts] == [  # type: ignore[index]
        "2026-11-26T09:01:00Z",
        "2026-11-26T09:02:00Z",
        "2026-11-26T09:03:00Z",
    ]


def test_a_slot_before_the_subscription_existed_is_not_posted(database_url: str) -> None:
    clock, poster = Clock(T0 + timedelta(seconds=30)), FakePoster()
    digests = replica(database_url, clock, poster)
    sub = digests.subscribe("C1", DigestRequest(Kind.DAILY, "09:00", "UTC", AlertFilters()), "U1").subscription
    assert digests.run_due(sub.id) is Outcome.NOT_DUE
    assert poster.posts == []


def test_nothing_open_skips_or_notes_as_asked(database_url: str) -> None:
    clock, poster = Clock(), FakePoster()
    digests = replica(database_url, clock, poster, StubAlerts([]))
    skip, note = every_minute(digests, "C1"), every_minute(digests, "C2", Empty.NOTE)
    clock.advance(minutes=1)
    assert digests.run_due(skip) is Outcome.SKIPPED
    assert digests.run_due(note) is Outcome.POSTED
    [(channel, message, _)] = poster.posts
    assert channel == "C2" and "no open alerts" in message["blocks"][0]["text"]["text"]


def test_a_claim_that_expires_after_the_next_slot_is_lost_and_logged(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock, poster = Clock(), FakePoster()
    dead, alive = replica(database_url, clock, poster, name="dead"), replica(database_url, clock, poster, name="alive")
    sub_id = every_minute(dead)
    slot = clock.now = T0 + timedelta(minutes=1)
    assert dead.store.claim(sub_id, "2026-11-26T09:01:00Z", slot, "dead", TTL, slot) is not None  # then it died
    assert alive.run_due(sub_id) is Outcome.TAKEN
    clock.advance(seconds=TTL / 4)
    assert alive.recover() == []  # not expired yet
    clock.now = slot + timedelta(seconds=TTL + 1)
    # A one-minute digest whose claim expired after the next slot came is not posted late: it is marked lost, and
    # the log says who held it.
    with caplog.at_level(logging.WARNING, logger="bot.digests.service"):
        assert alive.recover() == []
    assert "lost: claimed by dead" in caplog.text and "the next digest is already due" in caplog.text
    assert alive.store.run_for(sub_id, "2026-11-26T09:01:00Z").status is RunStatus.LOST  # type: ignore[union-attr]
    assert poster.posts == []


def test_an_expired_claim_still_in_time_is_posted_by_another_replica(database_url: str) -> None:
    clock, poster = Clock(), FakePoster()
    dead, alive = replica(database_url, clock, poster, name="dead"), replica(database_url, clock, poster, name="alive")
    sub = dead.subscribe("C1", DigestRequest(Kind.EVERY, "3600", "UTC", AlertFilters()), "U").subscription
    slot = sub.schedule.next_slot(T0)
    assert slot is not None
    clock.now = slot + timedelta(seconds=1)
    key = sub.schedule.slot_key(slot)
    assert dead.store.claim(sub.id, key, slot, "dead", TTL, clock.now) is not None
    clock.advance(seconds=TTL + 5)
    assert alive.recover() == [Outcome.POSTED]
    assert alive.recover() == []
    [(_, _, meta)] = poster.posts
    assert meta == {"event_type": "rootly_digest", "event_payload": slot_payload(sub.id, key)}
    run = alive.store.run_for(sub.id, key)
    assert run is not None and (run.status, run.owner, run.attempts) == (RunStatus.POSTED, "alive", 2)


def test_a_replica_that_posted_and_died_before_recording_is_not_repeated(database_url: str) -> None:
    clock, poster = Clock(), FakePoster()
    dead, alive = replica(database_url, clock, poster, name="dead"), replica(database_url, clock, poster, name="alive")
    sub = dead.subscribe("C1", DigestRequest(Kind.EVERY, "3600", "UTC", AlertFilters()), "U").subscription
    slot = sub.schedule.next_slot(T0)
    assert slot is not None
    clock.now = slot
    key = sub.schedule.slot_key(slot)
    dead.store.claim(sub.id, key, slot, "dead", TTL, clock.now)
    poster.post("C1", {"text": "digest"}, {"event_type": "rootly_digest", "event_payload": slot_payload(sub.id, key)})
    clock.advance(seconds=TTL + 5)
    assert alive.recover() == [Outcome.FOUND]
    assert len(poster.posts) == 1
    assert alive.store.run_for(sub.id, key).status is RunStatus.POSTED  # type: ignore[union-attr]


def test_transient_failures_are_retried_then_given_up(database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    clock, poster = Clock(), FakePoster()
    digests = replica(database_url, clock, poster)
    sub = digests.subscribe("C1", DigestRequest(Kind.EVERY, "3600", "UTC", AlertFilters()), "U").subscription
    clock.now = sub.schedule.next_slot(T0) or T0
    poster.failures = [ConnectionError("reset")] * MAX_ATTEMPTS
    assert digests.run_due(sub.id) is Outcome.RELEASED
    for _ in range(MAX_ATTEMPTS - 2):
        clock.advance(seconds=1)
        assert digests.recover() == [Outcome.RELEASED]
    clock.advance(seconds=1)
    with caplog.at_level(logging.WARNING):  # the last attempt's failure gives the slot up at once, not at a sweep
        assert digests.recover() == [Outcome.LOST]
    assert "gave up after 3 attempts" in caplog.text
    assert [run.status for run in digests.store.runs(sub.id)] == [RunStatus.LOST]
    clock.advance(seconds=1)
    assert digests.recover() == []
    assert poster.posts == []


def test_a_transient_failure_then_success_posts_once(database_url: str) -> None:
    clock, poster = Clock(), FakePoster()
    digests = replica(database_url, clock, poster)
    sub = digests.subscribe("C1", DigestRequest(Kind.EVERY, "3600", "UTC", AlertFilters()), "U").subscription
    clock.now = sub.schedule.next_slot(T0) or T0
    poster.failures = [ConnectionError("reset")]
    assert digests.run_due(sub.id) is Outcome.RELEASED
    clock.advance(seconds=1)
    assert digests.recover() == [Outcome.POSTED]
    assert len(poster.posts) == 1


def test_a_refusal_is_final(database_url: str) -> None:
    clock, poster = Clock(), FakePoster()
    digests = replica(database_url, clock, poster)
    sub = digests.subscribe("C1", DigestRequest(Kind.EVERY, "3600", "UTC", AlertFilters()), "U").subscription
    clock.now = sub.schedule.next_slot(T0) or T0
    poster.failures = [PostRefused("channel_not_found")]
    assert digests.run_due(sub.id) is Outcome.FAILED
    clock.advance(seconds=TTL + 1)
    assert digests.recover() == []
    [run] = digests.store.runs(sub.id)
    assert run.status is RunStatus.FAILED and "channel_not_found" in (run.detail or "")


def test_window_starts_at_the_last_digest(database_url: str) -> None:
    clock, poster = Clock(), FakePoster()
    digests = replica(database_url, clock, poster)
    sub_id = every_minute(digests)
    for minute in (1, 2):
        clock.now = T0 + timedelta(minutes=minute)
        assert digests.run_due(sub_id) is Outcome.POSTED
    second = poster.posts[1][1]["blocks"][1]["elements"][0]["text"]
    assert f"0 new since <!date^{int((T0 + timedelta(minutes=1)).timestamp())}^" in second


@pytest.mark.parametrize(
    ("zone", "autumn", "spring"),
    [
        ("Europe/Berlin", datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
        ("America/New_York", datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 3, 8, 6, 30, tzinfo=UTC)),
    ],
)
def test_dst_changes_neither_double_nor_skip_a_posted_digest(
    database_url: str, zone: str, autumn: datetime, spring: datetime
) -> None:
    """The repeated hour fires the trigger twice (an hour apart): one post. The missing hour still gets its one."""
    hour = "02:30" if zone == "Europe/Berlin" else "01:30"
    clock, poster = Clock(spring - timedelta(days=30)), FakePoster()
    digests = replica(database_url, clock, poster)
    request = DigestRequest(Kind.DAILY, hour, zone, AlertFilters())
    sub = digests.subscribe("C1", request, "U").subscription
    for fired in (autumn, autumn + timedelta(hours=1)):  # 02:30 CEST, then 02:30 CET (EDT/EST in New York)
        clock.now = fired + timedelta(seconds=2)
        digests.run_due(sub.id)
    clock.now = spring + timedelta(seconds=2)  # 02:30 does not exist: the trigger fires at 03:30 summer time
    assert digests.run_due(sub.id) is Outcome.POSTED
    slots = [meta["event_payload"]["slot"] for _, _, meta in poster.posts]  # type: ignore[index]
    day = autumn.astimezone(ZoneInfo(zone)).date()
    assert slots == [f"{day}T{hour}", f"{spring.astimezone(ZoneInfo(zone)):%Y-%m-%dT%H:%M}"]


def test_slot_times_keep_their_instant_whatever_the_zone(db: Database) -> None:
    """SQLite drops a datetime's zone: slots from a Europe/Berlin trigger must still come back as the same instant."""
    store = DigestStore(db)
    sched = Schedule(Kind.DAILY, "09:00", "Europe/Berlin")
    sub = store.add("C1", sched, AlertFilters(), Empty.SKIP, "U", T0)
    slot = sched.next_slot(T0)
    assert slot is not None and slot.utcoffset() == timedelta(hours=1)
    run = store.claim(sub.id, sched.slot_key(slot), slot, "a", TTL, T0)
    assert run is not None and run.slot_at == slot.astimezone(UTC) == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
