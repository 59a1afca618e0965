"""Nothing dropped: a feed alert claimed by a replica is shown once, even when that replica dies before posting it.

A replica that claimed and queued alerts and then died (its posters frozen, its heartbeat stopped, nothing handed
back: what SIGKILL or an OOM kill leaves in the database) has its claims taken over by another replica on the same
database, which posts every one of those alerts exactly once within the lease and the recovery job's interval. A
live replica that is merely slow keeps its claims (its heartbeat renews them), and one that stalled past its lease
posts nothing another took over, so nothing is posted twice. A claim the
database was too busy to take ("database is locked" under a storm on SQLite) is retried, and the alert still posted
once.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

import pytest
from sqlalchemy import event

from bot.services.feeds import Feeds
from tests.conftest import RunningBot
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.guarantees import record
from tests.test_alert_messages_e2e import WEBHOOK_SECRET, created_event, signed_webhook
from tests.test_feed_storm_e2e import channel_ids
from tests.waiting import wait_until

LEASE = 2.0  # seconds: heartbeat every 0.67 s, recovery job every 1 s
SETTINGS = {
    "ROOTLY_WEBHOOK_SECRET": WEBHOOK_SECRET,
    "FEED_POLL_SECONDS": "0",
    "FEED_CLAIM_SECONDS": str(LEASE),
}
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def settings(database: str, request: pytest.FixtureRequest) -> dict[str, str]:
    if database == "postgresql":
        return {**SETTINGS, "DATABASE_URL": request.getfixturevalue("postgres_url")}
    return dict(SETTINGS)


def feeds_of(bot: RunningBot) -> Feeds:
    return bot.app.services.feeds


def queued(bot: RunningBot) -> int:
    return sum(len(refs) for refs in feeds_of(bot).delivery.queued().values())


def shown(bot: RunningBot) -> int:
    counts = feeds_of(bot).delivery.counts
    return counts.single + counts.grouped


def new_alerts(bot: RunningBot, rootly: RootlyFake, n: int, name: str) -> list[str]:
    alerts = [rootly.add_alert(summary=f"{name} {i}", services=["payments"]) for i in range(n)]
    for alert in alerts:
        assert signed_webhook(bot.url, created_event(alert)).status_code == 202
    return [a["id"] for a in alerts]


def freeze_posters(bot: RunningBot) -> threading.Event:
    """The channel's poster waits before each post until the event is set (a hung process, or a slow one)."""
    go = threading.Event()
    feeds_of(bot).delivery.ready = lambda channel: go.wait()  # type: ignore[method-assign]
    return go


def die(bot: RunningBot) -> None:
    """What a SIGKILL leaves: the heartbeat stops, and no claim is released or handed back on the way out."""
    feeds = feeds_of(bot)
    assert feeds.heartbeat is not None
    feeds.heartbeat.stop()
    feeds.delivery.left = feeds.delivery.failed = lambda ref, channel: None  # type: ignore[method-assign]


@pytest.mark.parametrize("database", DATABASES)
def test_alerts_queued_by_a_replica_that_died_are_posted_once_by_another(  # type: ignore[no-untyped-def]
    make_bot, rootly: RootlyFake, slack: SlackFake, database: str, request: pytest.FixtureRequest
) -> None:
    overrides = settings(database, request)
    rootly.add_service("Payments", "payments")
    with make_bot(**overrides) as victim:
        victim.sender.slash("feed on service:payments")
        frozen = freeze_posters(victim)
        ids = new_alerts(victim, rootly, 8, "queued then orphaned")
        wait_until(lambda: queued(victim) == len(ids), message="the victim did not claim and queue every alert")
        die(victim)
        died = time.monotonic()
    frozen.set()  # its posters wake up in a closed process: they must post nothing
    assert channel_ids(slack) == []
    with make_bot(**overrides) as survivor:
        survivor.app.start_background()
        wait_until(lambda: sorted(channel_ids(slack)) == sorted(ids), timeout=3 * LEASE + 5)
        took = time.monotonic() - died
        time.sleep(LEASE)  # another recovery run or two: nothing more
        assert sorted(channel_ids(slack)) == sorted(ids)  # every orphaned alert, once
        assert shown(survivor) == len(ids)
    assert took < LEASE * 1.5 + 3, f"the orphaned alerts took {took:.1f} s to be posted"
    record(
        "Feeds: nothing dropped",
        f"{len(ids)} alerts a dead replica had queued, posted once by another ({database}; lease {LEASE:g} s), s",
        took,
    )


@pytest.mark.parametrize("database", DATABASES)
def test_a_slow_live_replica_keeps_its_queued_claims(  # type: ignore[no-untyped-def]
    make_bot, rootly: RootlyFake, slack: SlackFake, database: str, request: pytest.FixtureRequest
) -> None:
    overrides = settings(database, request)
    rootly.add_service("Payments", "payments")
    with make_bot(**overrides) as slow, make_bot(**overrides) as other:
        other.app.start_background()  # its recovery job runs every half lease
        slow.sender.slash("feed on service:payments")
        go = freeze_posters(slow)
        ids = new_alerts(slow, rootly, 6, "slow but alive")
        wait_until(lambda: queued(slow) == len(ids))
        time.sleep(LEASE * 2.5)  # queued longer than two leases: only the heartbeat keeps the claims
        assert channel_ids(slack) == [] and shown(other) == 0
        go.set()
        wait_until(lambda: sorted(channel_ids(slack)) == sorted(ids))
        time.sleep(LEASE)
        assert sorted(channel_ids(slack)) == sorted(ids)
        assert (shown(slow), shown(other)) == (len(ids), 0)


@pytest.mark.parametrize("database", DATABASES)
def test_a_replica_that_stalled_past_its_lease_does_not_post_what_another_took_over(  # type: ignore[no-untyped-def]
    make_bot, rootly: RootlyFake, slack: SlackFake, database: str, request: pytest.FixtureRequest
) -> None:
    overrides = settings(database, request)
    rootly.add_service("Payments", "payments")
    with make_bot(**overrides) as stalled, make_bot(**overrides) as other:
        other.app.start_background()
        stalled.sender.slash("feed on service:payments")
        go = freeze_posters(stalled)
        ids = new_alerts(stalled, rootly, 5, "stalled")
        wait_until(lambda: queued(stalled) == len(ids))
        heartbeat = feeds_of(stalled).heartbeat
        assert heartbeat is not None
        heartbeat.stop()  # the whole process paused (a stopped VM, a long GC): no renewals either
        wait_until(lambda: sorted(channel_ids(slack)) == sorted(ids), timeout=3 * LEASE + 5)
        go.set()  # it resumes with the alerts still in its queue: each is checked before posting
        wait_until(lambda: queued(stalled) == 0)
        time.sleep(0.5)
        assert sorted(channel_ids(slack)) == sorted(ids)
        assert (shown(stalled), shown(other)) == (0, len(ids))


def fail_feed_claims(bot: RunningBot, times: int) -> list[str]:
    """The next ``times`` feed claims find SQLite's write lock taken, as under a storm of 3,000 alerts a minute."""
    failures: list[str] = []

    def busy(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("INSERT INTO feed_posts") and len(failures) < times:
            failures.append(statement)
            raise sqlite3.OperationalError("database is locked")

    event.listen(bot.app.database.engine, "before_cursor_execute", busy)
    return failures


def test_a_claim_that_found_the_database_locked_is_retried_and_posted_once(  # type: ignore[no-untyped-def]
    make_bot, rootly: RootlyFake, slack: SlackFake
) -> None:
    rootly.add_service("Payments", "payments")
    with make_bot(**SETTINGS) as bot:
        bot.sender.slash("feed on service:payments")
        failures = fail_feed_claims(bot, 1)
        [alert_id] = new_alerts(bot, rootly, 1, "locked once")
        wait_until(lambda: channel_ids(slack) == [alert_id])
        assert len(failures) == 1
        time.sleep(0.5)
        assert channel_ids(slack) == [alert_id]


def test_a_claim_still_locked_after_its_retries_is_posted_by_the_next_recovery_run(  # type: ignore[no-untyped-def]
    make_bot, rootly: RootlyFake, slack: SlackFake
) -> None:
    rootly.add_service("Payments", "payments")
    with make_bot(**SETTINGS) as bot:
        bot.sender.slash("feed on service:payments")
        failures = fail_feed_claims(bot, 4)  # every retry of the webhook's claim
        [alert_id] = new_alerts(bot, rootly, 1, "locked throughout")
        wait_until(lambda: len(failures) == 4)
        time.sleep(0.3)
        assert channel_ids(slack) == []  # not posted yet, but kept
        bot.app.start_background()
        wait_until(lambda: channel_ids(slack) == [alert_id], timeout=LEASE + 5)
        time.sleep(LEASE)
        assert channel_ids(slack) == [alert_id]


def test_a_new_alert_rootly_could_not_read_for_its_webhook_is_posted_by_the_next_recovery_run(  # type: ignore[no-untyped-def]
    make_bot, rootly: RootlyFake, slack: SlackFake
) -> None:
    rootly.add_service("Payments", "payments")
    with make_bot(**SETTINGS) as bot:
        bot.sender.slash("feed on service:payments")
        alert = rootly.add_alert(summary="read during an outage", services=["payments"])
        rootly.script("GET", rf"/v1/alerts/{alert['id']}$", *[RootlyFake.unavailable(503)] * 3)
        assert signed_webhook(bot.url, created_event(alert)).status_code == 202
        reads = f"/v1/alerts/{alert['id']}"
        wait_until(lambda: len([r for r in rootly.requests if r.method == "GET" and r.path == reads]) >= 3)
        time.sleep(0.5)
        assert channel_ids(slack) == []  # Rootly was down when the webhook came: kept, not posted yet
        bot.app.start_background()
        wait_until(lambda: channel_ids(slack) == [alert["id"]], timeout=LEASE + 5)
        time.sleep(LEASE)
        assert channel_ids(slack) == [alert["id"]]
