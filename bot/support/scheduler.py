"""Background jobs on APScheduler 3: feed polling now; digests and outbox delivery join it."""

from __future__ import annotations

import logging
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)


def make_scheduler() -> BackgroundScheduler:
    # Coalesce and a grace time: a pause or restart runs a missed job once, not in a burst; one run at a time.
    return BackgroundScheduler(
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}, timezone="UTC"
    )


def add_interval_job(scheduler: BackgroundScheduler, job_id: str, seconds: float, fn: Callable[[], object]) -> None:
    def run() -> None:
        try:
            fn()
        except Exception:
            log.exception("scheduled job %s failed", job_id)

    scheduler.add_job(run, IntervalTrigger(seconds=seconds), id=job_id, replace_existing=True)
