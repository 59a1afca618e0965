"""Digest jobs on APScheduler 3: one job per subscription, rebuilt from the database.

Each job uses the subscription's own trigger (cron or interval, in its time zone), coalesces missed runs into one
and has a misfire grace time of half its period (at most 15 minutes), so a restart or a paused process never fires
a burst of stale digests. Jobs are rebuilt when a subscription changes here, and by a periodic resync on every
replica (another replica may have changed them); a second job sweeps expired claims every half lease (see
``Digests.recover``).
On (re)start, a slot that fell due within the grace time and after the subscription was made is run at once;
the claim makes that harmless when another replica already posted it.
"""

from __future__ import annotations

import logging
import math
import threading
from datetime import timedelta

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.digests.service import Digests, grace
from bot.digests.store import DigestSubscription
from bot.support import metrics

log = logging.getLogger(__name__)

PREFIX = "digest:"
RESYNC_JOB = "digest-resync"
RECOVER_JOB = "digest-recover"


class DigestJobs:
    def __init__(self, scheduler: BaseScheduler, digests: Digests, *, resync_seconds: float) -> None:
        self.scheduler = scheduler
        self.digests = digests
        self.resync_seconds = resync_seconds
        self._lock = threading.Lock()
        self._fingerprint: tuple[int, int] | None = None

    def install(self) -> None:
        """Jobs for every stored subscription, plus the periodic resync; called once when the app is built."""
        self.digests.on_change = self.sync
        self.sync()
        self.scheduler.add_job(
            self.resync,
            IntervalTrigger(seconds=self.resync_seconds),
            id=RESYNC_JOB,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, math.ceil(self.resync_seconds)),
        )
        # Expired claims are swept every half lease (one cheap indexed query), so a replica's death delays its slot
        # by at most a lease and a half, whatever the resync interval.
        sweep = min(self.resync_seconds, self.digests.settings.claim_seconds / 2)
        self.scheduler.add_job(
            self.recover,
            IntervalTrigger(seconds=sweep),
            id=RECOVER_JOB,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, math.ceil(sweep)),
        )

    def resync(self) -> None:
        """Rebuild the jobs if any replica changed the subscriptions."""
        try:
            if self.digests.store.fingerprint() != self._fingerprint:
                self.sync()
        except Exception:
            log.exception("digest resync failed; retrying in %ss", self.resync_seconds)

    def recover(self) -> None:
        """Sweep expired claims: take over those still worth posting, mark the rest lost."""
        try:
            for outcome in self.digests.recover():
                metrics.digest(outcome.value)  # rootly_bot_digests_total: take-overs count too
        except Exception:
            log.exception("digest claim sweep failed; retrying at the next sweep")

    def sync(self) -> None:
        with self._lock:
            fingerprint = self.digests.store.fingerprint()
            wanted = {f"{PREFIX}{sub.id}": sub for sub in self.digests.subscriptions()}
            for job in self.scheduler.get_jobs():
                if job.id.startswith(PREFIX) and job.id not in wanted:
                    job.remove()
                    log.info("digest job %s removed", job.id)
            for job_id, sub in wanted.items():
                if self.scheduler.get_job(job_id) is None:
                    self._add(job_id, sub)
            self._fingerprint = fingerprint

    def job_ids(self) -> set[str]:
        return {job.id for job in self.scheduler.get_jobs() if job.id.startswith(PREFIX)}

    def _add(self, job_id: str, sub: DigestSubscription) -> None:
        now = self.digests.clock()
        schedule = sub.schedule
        allowed = grace(schedule, now)
        extra = {}
        due = schedule.latest_slot(now, allowed)
        if due is not None and due >= sub.created_at - timedelta(seconds=1):
            extra["next_run_time"] = now  # missed while no replica was running, still within the grace time
        self.scheduler.add_job(
            self._run,
            schedule.trigger(),
            args=[sub.id],
            id=job_id,
            name=f"digest #{sub.id} in {sub.channel}",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, math.ceil(allowed.total_seconds())),
            **extra,
        )
        log.info("digest job %s scheduled: %s", job_id, schedule.describe())

    def _run(self, subscription_id: int) -> None:
        try:
            outcome = self.digests.run_due(subscription_id)
            metrics.digest(outcome.value)
            log.debug("digest #%d: %s", subscription_id, outcome)
        except Exception:
            log.exception("digest #%d failed", subscription_id)
