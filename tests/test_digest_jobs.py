"""Digest jobs on APScheduler: one per subscription, in its zone, coalescing with a grace time; rebuilt when this or
another replica changes the subscriptions; a slot missed while nothing ran is posted at start, within the grace."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.digests.jobs import PREFIX, RESYNC_JOB, DigestJobs
from bot.digests.schedule import Kind
from bot.digests.service import DigestRequest, Digests
from bot.domain import AlertFilters
from tests.test_digest_store import Clock, FakePoster, replica

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture
def scheduler() -> Iterator[BackgroundScheduler]:
    sched = BackgroundScheduler(timezone="UTC")
    yield sched
    if sched.running:
        sched.shutdown(wait=False)


def jobs_for(digests: Digests, scheduler: BackgroundScheduler) -> DigestJobs:
    jobs = DigestJobs(scheduler, digests, resync_seconds=30)
    jobs.install()
    return jobs


def test_jobs_follow_subscriptions_with_their_trigger_and_grace(database_url: str, scheduler) -> None:  # type: ignore[no-untyped-def]
    digests = replica(database_url, Clock(T0), FakePoster())
    jobs = jobs_for(digests, scheduler)
    assert jobs.job_ids() == set() and scheduler.get_job(RESYNC_JOB) is not None
    daily = digests.subscribe(
        "C1", DigestRequest(Kind.DAILY, "09:00", "Europe/Berlin", AlertFilters()), "U"
    ).subscription
    every = digests.subscribe("C1", DigestRequest(Kind.EVERY, "14400", None, AlertFilters()), "U").subscription
    assert jobs.job_ids() == {f"{PREFIX}{daily.id}", f"{PREFIX}{every.id}"}  # on_change: at once
    cron_job, interval_job = scheduler.get_job(f"{PREFIX}{daily.id}"), scheduler.get_job(f"{PREFIX}{every.id}")
    assert isinstance(cron_job.trigger, CronTrigger) and str(cron_job.trigger.timezone) == "Europe/Berlin"
    assert isinstance(interval_job.trigger, IntervalTrigger) and interval_job.trigger.interval == timedelta(hours=4)
    assert cron_job.coalesce and cron_job.misfire_grace_time == 15 * 60 and cron_job.max_instances == 1
    assert interval_job.misfire_grace_time == 15 * 60
    digests.unsubscribe("C1", daily.id)
    assert jobs.job_ids() == {f"{PREFIX}{every.id}"}


def test_resync_picks_up_what_another_replica_changed(database_url: str, scheduler) -> None:  # type: ignore[no-untyped-def]
    clock, poster = Clock(T0), FakePoster()
    here, there = replica(database_url, clock, poster, name="here"), replica(database_url, clock, poster, name="there")
    jobs = jobs_for(here, scheduler)
    sub = there.subscribe("C9", DigestRequest(Kind.WEEKDAYS, "08:00", None, AlertFilters()), "U").subscription
    assert jobs.job_ids() == set()
    jobs.resync()
    assert jobs.job_ids() == {f"{PREFIX}{sub.id}"}
    there.unsubscribe("C9", None)
    jobs.resync()
    assert jobs.job_ids() == set()


def test_a_slot_missed_while_nothing_ran_is_posted_at_start_within_the_grace(database_url: str, scheduler) -> None:  # type: ignore[no-untyped-def]
    clock, poster = Clock(T0 - timedelta(days=1)), FakePoster()
    first = replica(database_url, clock, poster)
    early = first.subscribe("C1", DigestRequest(Kind.DAILY, "09:00", "UTC", AlertFilters()), "U").subscription
    clock.now = T0 - timedelta(seconds=30)
    late = first.subscribe("C2", DigestRequest(Kind.DAILY, "09:00", "UTC", AlertFilters()), "U").subscription
    clock.now = T0 + timedelta(minutes=5)  # every replica was down at 09:00; one starts at 09:05
    jobs_for(first, scheduler)
    catch_up = scheduler.get_job(f"{PREFIX}{early.id}")
    assert catch_up.next_run_time == clock.now  # run at once: 09:00 is within the 15 minute grace
    assert scheduler.get_job(f"{PREFIX}{late.id}").next_run_time == clock.now
    scheduler.remove_all_jobs()
    clock.now = T0 + timedelta(minutes=20)  # too late for 09:00: wait for tomorrow
    jobs_for(first, scheduler)
    job = scheduler.get_job(f"{PREFIX}{early.id}")
    assert getattr(job, "next_run_time", None) is None  # left to the trigger: tomorrow at 09:00
    assert job.trigger.get_next_fire_time(None, clock.now) == T0 + timedelta(days=1)
