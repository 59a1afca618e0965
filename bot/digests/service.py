"""Scheduled digests: subscriptions, when each is next due, and posting each slot exactly once across replicas.

Every replica runs every subscription's job. When one fires it works out which slot it stands for (the newest one
due, within a grace time), and inserts a claim row keyed by (subscription, slot) before doing anything else: the
database's unique key lets exactly one replica through. That replica reads the open alerts (pages of 100, nothing
per alert), renders, renews its claim, posts once, and records the message.

A claim is a lease (``DIGEST_CLAIM_SECONDS``, 20 s by default) that the claimant renews every third of its length
while it works on the slot (:class:`bot.support.leases.LeaseKeeper`), so a replica that dies after claiming leaves a
claim that expires within one lease length. Every replica's frequent sweep (:meth:`Digests.recover`, every half lease)
takes an expired claim over, atomically, while the digest is still worth
posting (before the next slot and within :data:`MAX_LATE`): it first looks in the channel for a message carrying the
slot in its metadata (the dead replica may have posted and died before recording it), and posts only if there is
none. A claim that expires too late is marked ``lost`` and logged with who held it: a stale digest right before the
next one would be noise, and the log keeps the loss from being silent. A holder that finds its slot no longer
worth posting (too late, or a failure on its last attempt) marks it lost at once instead of leaving it to a sweep.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from bot.digests.render import DigestView, digest_message, empty_digest
from bot.digests.replies import understood
from bot.digests.schedule import Kind, Schedule, ScheduleError, interval_anchor, interval_words, parse_zone
from bot.digests.store import DigestRun, DigestStore, DigestSubscription, Empty, RunStatus
from bot.domain import AlertFilters, SubscriptionLine
from bot.domain.sections import DigestScope
from bot.render.ids import DEFAULT_COMMAND
from bot.services.open_alerts import OpenAlerts
from bot.services.sections import Sections
from bot.support import errors
from bot.support.leases import LeaseKeeper

log = logging.getLogger(__name__)

MAX_LATE = timedelta(minutes=15)  # a digest later than this is not worth posting (the job's grace is at most this)
MIN_GRACE = timedelta(seconds=1)
MAX_ATTEMPTS = 3  # a slot is tried at most this often (first claim + take-overs) before it is given up
FETCH_MAX = 20_000  # alerts read into one digest (200 pages of 100); the header still shows the backends' total
PRUNE_AFTER = timedelta(days=30)
EVENT_TYPE = "rootly_digest"  # Slack message metadata that marks a digest and its slot


class DigestInvalid(ValueError):
    """A digest request the bot refuses; the message says which part and why."""


class PostRefused(Exception):
    """Slack refused the post for good (channel gone, bot removed, blocks refused): retrying cannot help."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class DigestPoster(Protocol):
    """What digests need from Slack (implemented in ``bot.digests.poster``)."""

    def post(self, channel: str, message: dict[str, Any], metadata: dict[str, Any] | None = None) -> str:
        """Post; returns the ts. Raises :class:`PostRefused` for refusals that retrying cannot fix."""
        ...

    def find_posted(self, channel: str, since: datetime, payload: dict[str, Any]) -> str | None:
        """The ts of a bot message since ``since`` whose digest metadata equals ``payload``, if any."""
        ...


class Outcome(StrEnum):
    POSTED = "posted"
    SKIPPED = "skipped"
    FOUND = "found"  # a take-over found the dead replica's message already in the channel
    TAKEN = "taken"  # another replica holds the slot
    NOT_DUE = "not due"
    GONE = "gone"  # the subscription was removed
    FAILED = "failed"
    RELEASED = "released"  # a transient failure: the claim was given back for the sweep to retry
    LOST = "lost"  # no longer worth posting (too late, or out of attempts): marked lost and logged


@dataclass(frozen=True)
class DigestRequest:
    """What ``/rootly digest daily|weekdays|every|cron`` asked for (``timezone`` None: the channel's zone)."""

    kind: Kind
    spec: str
    timezone: str | None
    filters: AlertFilters
    empty: Empty = Empty.SKIP


@dataclass(frozen=True)
class DigestSettings:
    default_timezone: str = "UTC"
    min_interval: float = 60.0
    claim_seconds: float = 20.0
    more_url: str | None = None
    backend_label: bool = False
    can_declare: bool = False
    command: str = DEFAULT_COMMAND  # the configured slash command, named in digests and refusals


@dataclass(frozen=True)
class Subscribed:
    subscription: DigestSubscription
    next_due: datetime | None
    existing: bool  # the channel already had exactly this digest


def grace(schedule: Schedule, now: datetime) -> timedelta:
    """How late a firing may run and still post its slot: half the period, at most :data:`MAX_LATE`."""
    return max(MIN_GRACE, min(MAX_LATE, schedule.period(now) / 2))


def slot_payload(subscription_id: int, slot_key: str) -> dict[str, Any]:
    return {"subscription": subscription_id, "slot": slot_key}


class Digests:
    def __init__(
        self,
        store: DigestStore,
        open_alerts: OpenAlerts,
        poster: DigestPoster,
        settings: DigestSettings,
        *,
        clock: Callable[[], datetime] | None = None,
        owner: str | None = None,
        track_rows: Callable[[str, str, dict[str, Any]], None] | None = None,
        sections: Sections[DigestScope] | None = None,
    ) -> None:
        # Features' extra sections (on call, open incidents), wired in bot.app; read only for a digest that is posted.
        self.sections = sections
        # AlertMessages.track_rows: a posted digest's rows are re-rendered by actions taken anywhere.
        self.track_rows = track_rows or (lambda channel, ts, message: None)
        self.store = store
        self.open_alerts = open_alerts
        self.poster = poster
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(UTC))
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.on_change: Callable[[], None] | None = None  # the scheduler rebuilds its jobs
        self._pruned_at: datetime | None = None

    # subscriptions ----------------------------------------------------------------------------------------------
    def channel_zone(self, channel: str) -> str:
        """The zone the channel chose last (its newest digest's), else ``DEFAULT_TIMEZONE``."""
        subs = self.store.for_channel(channel)
        return subs[-1].schedule.timezone if subs else self.settings.default_timezone

    def subscribe(self, channel: str, request: DigestRequest, user_id: str) -> Subscribed:
        zone = parse_zone(request.timezone) if request.timezone else self.channel_zone(channel)
        now = self.clock()
        anchor = None
        if request.kind is Kind.EVERY:
            seconds = int(request.spec)
            if seconds < self.settings.min_interval:
                shortest = interval_words(int(self.settings.min_interval))
                raise DigestInvalid(
                    f"`every {interval_words(seconds)}` is too often: digests come at most every {shortest}."
                )
            anchor = interval_anchor(now, seconds)
        schedule = Schedule(request.kind, request.spec, zone, anchor)
        for sub in self.store.for_channel(channel):
            same = (sub.schedule.kind, sub.schedule.spec, sub.schedule.timezone) == (request.kind, request.spec, zone)
            if same and sub.filters == request.filters and sub.empty is request.empty:
                return Subscribed(sub, self.next_due(sub), existing=True)
        try:
            schedule.next_slot(now)
        except (ValueError, ScheduleError) as exc:  # a trigger APScheduler cannot build: say so, store nothing
            raise DigestInvalid(f"That schedule cannot be run: {exc}") from None
        sub = self.store.add(channel, schedule, request.filters, request.empty, user_id, now)
        log.info("digest #%d added in %s: %s", sub.id, channel, schedule.describe())
        self._changed()
        return Subscribed(sub, self.next_due(sub), existing=False)

    def unsubscribe(self, channel: str, subscription_id: int | None) -> list[DigestSubscription]:
        """Remove one digest (any channel's, by id) or every digest of this channel; returns what was removed."""
        if subscription_id is None:
            targets = self.store.for_channel(channel)
        else:
            found = self.store.get(subscription_id)
            if found is None:
                listing = f"`{self.settings.command} digest list`"
                raise DigestInvalid(f"There is no digest #{subscription_id}. {listing} shows them.")
            targets = [found]
        removed = [sub for sub in targets if self.store.remove(sub.id)]
        if removed:
            log.info("digests removed: %s", ", ".join(f"#{s.id}" for s in removed))
            self._changed()
        return removed

    def subscriptions(self) -> list[DigestSubscription]:
        return self.store.all()

    def subscription_lines(self) -> list[SubscriptionLine]:
        """The digests as the App Home lists them."""
        return [SubscriptionLine(s.channel, s.created_by, f"Digest *#{s.id}*", understood(s)) for s in self.store.all()]

    def next_due(self, sub: DigestSubscription, after: datetime | None = None) -> datetime | None:
        return sub.schedule.next_slot(after or self.clock())

    def _changed(self) -> None:
        if self.on_change is not None:
            try:
                self.on_change()
            except Exception:
                log.exception("could not reschedule digests (the periodic resync will)")

    # rendering --------------------------------------------------------------------------------------------------
    def render(
        self,
        filters: AlertFilters,
        *,
        empty: Empty,
        since: datetime | None = None,
        subscription: DigestSubscription | None = None,
        channel: str = "",
    ) -> dict[str, Any] | None:
        """Read the open alerts (pages of 100) and render the digest; None when nothing is open and empty:skip.
        The features' sections are read meanwhile (and left unread when nothing is posted)."""
        # Read meanwhile, not after: a digest then takes as long as the slower of the two reads, not their sum.
        pending = self.sections.start(DigestScope(channel, filters)) if self.sections is not None else None
        page, failures = self.open_alerts.list(filters, limit=FETCH_MAX)
        view = DigestView(
            alerts=page.alerts,
            total=page.total,
            as_of=self.clock(),
            since=since,
            filters_text=filters.describe(),
            schedule_text=subscription.schedule.describe() if subscription else None,
            subscription_id=subscription.id if subscription else None,
            more_url=self.settings.more_url,
            failures=failures,
            backend_label=self.settings.backend_label,
            can_declare=self.settings.can_declare,
            command=self.settings.command,
            sections=tuple(pending.collect()) if pending is not None else (),
        )
        if page.total <= 0 and not page.alerts:
            return empty_digest(view) if empty is Empty.NOTE or failures else None
        return digest_message(view)

    def post_now(self, channel: str, filters: AlertFilters) -> str:
        """``/rootly digest now``: a digest in the channel at once (a person asked, so "nothing open" is said)."""
        message = self.render(filters, empty=Empty.NOTE, channel=channel)
        assert message is not None
        ts = self.poster.post(channel, message)
        self.track_rows(channel, ts, message)
        return ts

    # scheduled runs ---------------------------------------------------------------------------------------------
    def run_due(self, subscription_id: int) -> Outcome:
        """What a scheduler firing does on every replica: claim the slot due now; the one claimant posts it."""
        sub = self.store.get(subscription_id)
        if sub is None:
            return Outcome.GONE
        now = self.clock()
        slot = sub.schedule.latest_slot(now, grace(sub.schedule, now))
        if slot is None or slot < sub.created_at - timedelta(seconds=1):
            return Outcome.NOT_DUE
        key = sub.schedule.slot_key(slot)
        run = self.store.claim(sub.id, key, slot, self.owner, self.settings.claim_seconds, now)
        if run is None:
            return Outcome.TAKEN
        return self._deliver(sub, run)

    def _deliver(self, sub: DigestSubscription, run: DigestRun) -> Outcome:
        # The claim is a lease renewed while this replica works on the slot: short, so a replica that dies frees
        # the slot within ``claim_seconds``, yet a slow read of the alerts never lets a live claim expire.
        keeper = LeaseKeeper(
            lambda held, seconds: self.store.renew_lease(run.id, held, seconds, self.clock()),
            run.expires_at,
            self.settings.claim_seconds,
            f"digest #{sub.id} slot {run.slot_key}",
        )
        try:
            outcome, release = self._work(sub, run, keeper)
        finally:
            keeper.stop()
        if release is not None:  # after the keeper stopped: releasing ends the lease it would renew
            return self._release(sub, run, release)
        return outcome

    def _work(self, sub: DigestSubscription, run: DigestRun, keeper: LeaseKeeper) -> tuple[Outcome, str | None]:
        """The outcome, or (RELEASED, why) when a transient failure should give the claim back."""
        payload = slot_payload(sub.id, run.slot_key)
        if run.attempts > 1:
            since = run.claimed_at - timedelta(minutes=1)
            found = self.poster.find_posted(sub.channel, since, payload)
            if found:
                self.store.finish(run.id, self.owner, RunStatus.POSTED, self.clock(), ts=found, detail="found posted")
                log.info("digest #%d slot %s was already posted (%s); recorded it", sub.id, run.slot_key, found)
                return Outcome.FOUND, None
        previous = self.store.last_delivered(sub.id)
        since = previous.slot_at if previous else sub.created_at
        try:
            message = self.render(sub.filters, empty=sub.empty, since=since, subscription=sub, channel=sub.channel)
        except errors.BackendError as exc:
            return Outcome.RELEASED, f"reading alerts failed: {exc.message}"
        if message is None:
            self.store.finish(run.id, self.owner, RunStatus.SKIPPED, self.clock(), detail="nothing open")
            return Outcome.SKIPPED, None
        stale = self._stale(run, sub, self.clock())
        if stale:
            return self._lose(sub, run, f"not posted: {stale}"), None
        if not keeper.confirm():
            log.warning("digest #%d slot %s: our claim expired and was taken over; not posting", sub.id, run.slot_key)
            return Outcome.TAKEN, None
        try:
            ts = self.poster.post(sub.channel, message, {"event_type": EVENT_TYPE, "event_payload": payload})
            self.track_rows(sub.channel, ts, message)
        except PostRefused as exc:
            self.store.finish(run.id, self.owner, RunStatus.FAILED, self.clock(), detail=f"Slack refused: {exc.code}")
            log.warning(
                "digest #%d slot %s not posted to %s: Slack refused (%s)", sub.id, run.slot_key, sub.channel, exc.code
            )
            return Outcome.FAILED, None
        except Exception as exc:
            return Outcome.RELEASED, f"posting failed: {type(exc).__name__}: {str(exc)[:200]}"
        self.store.finish(run.id, self.owner, RunStatus.POSTED, self.clock(), ts=ts)
        log.info("digest #%d slot %s posted to %s (%s)", sub.id, run.slot_key, sub.channel, ts)
        return Outcome.POSTED, None

    def _release(self, sub: DigestSubscription, run: DigestRun, why: str) -> Outcome:
        # A slot that no retry could still post is given up now, not left for a sweep to find later.
        last_try = f"gave up after {run.attempts} attempts" if run.attempts >= MAX_ATTEMPTS else ""
        hopeless = last_try or self._stale(run, sub, self.clock())
        if hopeless:
            return self._lose(sub, run, f"{why}; {hopeless}")
        self.store.release(run.id, self.owner, why, self.clock())
        log.warning("digest #%d slot %s: %s; the sweep will retry", sub.id, run.slot_key, why)
        return Outcome.RELEASED

    def _lose(self, sub: DigestSubscription, run: DigestRun, detail: str) -> Outcome:
        if self.store.finish(run.id, self.owner, RunStatus.LOST, self.clock(), detail=detail):
            log.warning("digest #%d slot %s lost: %s", sub.id, run.slot_key, detail)
        return Outcome.LOST

    def recover(self) -> list[Outcome]:
        """Take over expired claims that are still worth posting; mark the rest lost, saying so in the log."""
        now = self.clock()
        outcomes: list[Outcome] = []
        for run in self.store.expired(now):
            sub = self.store.get(run.subscription_id)
            why_not = self._too_late(run, sub, now)
            if why_not or sub is None:
                detail = f"claimed by {run.owner} at {run.claimed_at:%H:%M:%S}, never finished; {why_not}"
                if self.store.give_up(run, detail, now):
                    log.warning("digest #%d slot %s lost: %s", run.subscription_id, run.slot_key, detail)
                continue
            taken = self.store.take_over(run, self.owner, self.settings.claim_seconds, now)
            if taken is None:
                continue  # another replica's sweep was first
            log.warning(
                "digest #%d slot %s: the claim of %s expired unfinished (%s); taking it over",
                sub.id,
                run.slot_key,
                run.owner,
                run.detail or "no word from it",
            )
            outcomes.append(self._deliver(sub, taken))
        self._prune(now)
        return outcomes

    def _too_late(self, run: DigestRun, sub: DigestSubscription | None, now: datetime) -> str:
        if sub is None:
            return "the digest was removed"
        if run.attempts >= MAX_ATTEMPTS:
            return f"gave up after {run.attempts} attempts ({run.detail or 'no detail'})"
        return self._stale(run, sub, now)

    def _stale(self, run: DigestRun, sub: DigestSubscription, now: datetime) -> str:
        """Why the slot is no longer worth posting at ``now`` ("" while it still is)."""
        if now - run.slot_at > MAX_LATE:
            return f"more than {int(MAX_LATE.total_seconds() // 60)} minutes late"
        following = sub.schedule.next_slot(run.slot_at + timedelta(seconds=1))
        if following is not None and now >= following:
            return "the next digest is already due"
        return ""

    def _prune(self, now: datetime) -> None:
        if self._pruned_at is None or now - self._pruned_at > timedelta(hours=1):
            self._pruned_at = now
            self.store.prune(now - PRUNE_AFTER)
