"""Posting a feed's new alerts at the pace Slack allows, grouping them when more arrive than that pace can post.

Why: Slack takes about one message a second per channel. A storm (300 alerts in 20 seconds) posted one message
per alert means minutes of 429s, a channel nobody can read, and alerts that show up long after they fired.

How:
- :meth:`FeedDelivery.enqueue` only queues (the alert's (alert, channel) claim is already taken by the caller, so
  whichever replica or source queued it is the only one that posts it). Webhook and poll handlers return at once;
  one poster thread per channel with work does the posting, paced by ``ready`` (the channel's token bucket,
  bot/support/channel_pacing.py, waited with a token kept in reserve for people's clicks).
- Calm: one message per alert, as before. Storm: more than ``threshold`` alerts arrived for the channel within
  ``window`` seconds. Then everything queued goes into the channel's group message (bot/render/alert_group.py): it
  is posted once and grows in place (``chat.update``, paced too) as more arrive; when it is full, the rest start the
  next group message. Each row is tracked like a list's rows, so an action anywhere re-renders it.
- When the storm ends (the window holds ``threshold`` alerts or fewer), the group is closed and alerts are posted
  one by one again.
- A post that fails gives its claim back (``failed``), so a later webhook delivery or poll tries again. Shutting
  down with alerts still queued hands their claims to the other replicas (``left``).
- Claims are leases (bot/store/feed_claims.py): ``queued()`` names the alerts waiting or being posted, so the
  replica's heartbeat renews their claims; right before posting, ``hold`` renews the batch's claims and answers which
  are still ours (one taken over while this replica stalled is not posted twice); once shown, ``posted`` marks them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.domain import Alert, AlertRef
from bot.render.alert_group import fill, group_message, group_row, row_refs
from bot.render.alert_message import started
from bot.services.alert_messages import AlertMessages
from bot.support.channel_pacing import pacing_updates

log = logging.getLogger(__name__)


@dataclass
class _Group:
    """The channel's open group message: where the storm's rows go until it is full."""

    ts: str
    alerts: list[Alert]  # newest first, as shown
    part: int
    full: bool = False


@dataclass
class _Channel:
    pending: list[Alert] = field(default_factory=list)  # claimed, not shown yet, in arrival order
    arrivals: deque[float] = field(default_factory=deque)
    group: _Group | None = None
    parts: int = 0  # group messages posted in this storm
    running: bool = False
    posting: list[Alert] = field(default_factory=list)  # taken from pending, being posted


@dataclass
class DeliveryCounts:
    """What was posted, for logs, tests and benchmarks."""

    single: int = 0
    grouped: int = 0
    group_messages: int = 0
    group_updates: int = 0
    failed: int = 0


class FeedDelivery:
    def __init__(
        self,
        messages: AlertMessages,
        *,
        threshold: int,
        window: float,
        ready: Callable[[str], None] = lambda channel: None,
        failed: Callable[[AlertRef, str], None] = lambda ref, channel: None,
        clock: Callable[[], float] = time.monotonic,
        hold: Callable[[str, list[AlertRef]], set[AlertRef]] = lambda channel, refs: set(refs),
        posted: Callable[[str, list[AlertRef]], None] = lambda channel, refs: None,
        left: Callable[[AlertRef, str], None] | None = None,
    ) -> None:
        self.messages = messages
        self.threshold = threshold
        self.window = window
        self.ready = ready
        self.failed = failed
        self.clock = clock
        self.hold = hold
        self.posted = posted
        self.left = left or failed
        self.counts = DeliveryCounts()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._channels: dict[str, _Channel] = {}
        self._closed = False

    def enqueue(self, channel: str, alert: Alert) -> None:
        """Queue a claimed alert for the channel; returns at once (the channel's poster thread posts it)."""
        with self._lock:
            if self._closed:
                self._give_back(alert.ref, channel, self.left)  # shutting down: another replica posts it
                return
            state = self._channels.setdefault(channel, _Channel())
            state.pending.append(alert)
            state.arrivals.append(self.clock())
            if state.running:
                return
            state.running = True
        threading.Thread(target=self._drain, args=(channel,), name=f"feed-{channel}", daemon=True).start()

    def changed(self, alert: Alert) -> None:
        """A queued alert changed before it was posted: post its newest state."""
        with self._lock:
            for state in self._channels.values():
                state.pending = [alert if a.ref == alert.ref else a for a in state.pending]

    def queued(self) -> dict[str, list[AlertRef]]:
        """The alerts each channel holds a claim for: waiting, or being posted (the heartbeat renews these)."""
        with self._lock:
            held = {channel: [a.ref for a in (*s.posting, *s.pending)] for channel, s in self._channels.items()}
        return {channel: refs for channel, refs in held.items() if refs}

    def idle(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is queued or being posted (tests, benchmarks, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while any(s.running for s in self._channels.values()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self, grace: float = 0.0) -> None:
        """Stop taking alerts; hand back the claims of those still queued after ``grace`` s, so others post them."""
        with self._lock:
            self._closed = True
        self.idle(grace)
        with self._lock:
            left = [(channel, a) for channel, s in self._channels.items() for a in s.pending]
            for state in self._channels.values():
                state.pending = []
        for channel, alert in left:
            self._give_back(alert.ref, channel, self.left)

    def _count(self, what: str, n: int) -> None:
        with self._lock:  # one poster thread per channel, all counting here
            setattr(self.counts, what, getattr(self.counts, what) + n)

    def _give_back(self, ref: AlertRef, channel: str, how: Callable[[AlertRef, str], None] | None = None) -> None:
        """Release the claim, so a later webhook delivery or poll posts the alert; never raises (a poster thread
        or shutdown must not die of a database that is gone)."""
        try:
            (how or self.failed)(ref, channel)
        except Exception:
            log.warning("could not give back the feed claim of %s in %s", ref.encode(), channel, exc_info=True)

    # the channel's poster ----------------------------------------------------------------------------------------
    def _drain(self, channel: str) -> None:
        with pacing_updates():  # the group message's updates take the channel's pace, as its posts do
            self._drain_paced(channel)

    def _drain_paced(self, channel: str) -> None:
        try:
            while True:
                self.ready(channel)
                with self._lock:
                    state = self._channels[channel]
                    if not state.pending or self._closed:
                        state.running = False
                        self._idle.notify_all()
                        return
                    grouped = self._storming(state)
                    if grouped:
                        batch, state.pending = state.pending, []
                    else:
                        batch, state.pending = [state.pending[0]], state.pending[1:]
                        state.group, state.parts = None, 0  # calm again: the storm's group is over
                    state.posting = batch
                batch = self._still_ours(channel, batch)
                if grouped and batch:
                    self._post_grouped(channel, state, batch)
                elif batch:
                    self._post_single(channel, batch[0])
                with self._lock:
                    state.posting = []
        except Exception:  # a bug must not strand the channel's queue: give the claims back
            log.exception("feed poster for %s stopped", channel)
            with self._lock:
                state = self._channels[channel]
                left, state.pending, state.running = [*state.posting, *state.pending], [], False
                state.posting = []
                self._idle.notify_all()
            for alert in left:
                self._give_back(alert.ref, channel)

    def _still_ours(self, channel: str, batch: list[Alert]) -> list[Alert]:
        """Renew the batch's claims and keep the alerts still ours. A database that cannot answer leaves the batch
        unposted: its claims, no longer renewed, are taken over and posted within a lease (by any replica)."""
        try:
            held = self.hold(channel, [a.ref for a in batch])
        except Exception:
            log.warning(
                "could not renew the claims of %d alerts in %s; leaving them", len(batch), channel, exc_info=True
            )
            return []
        if len(held) < len(batch):
            log.info("%d alerts for %s were taken over by another replica", len(batch) - len(held), channel)
        return [a for a in batch if a.ref in held]

    def _mark_posted(self, channel: str, alerts: list[Alert]) -> None:
        try:
            self.posted(channel, [a.ref for a in alerts])
        except Exception:  # their claims expire; the replica taking them over finds them shown and only marks them
            log.warning("could not mark %d alerts posted in %s", len(alerts), channel, exc_info=True)

    def _storming(self, state: _Channel) -> bool:
        """More than ``threshold`` alerts arrived within the window (called with the lock held)."""
        horizon = self.clock() - self.window
        while state.arrivals and state.arrivals[0] < horizon:
            state.arrivals.popleft()
        return len(state.arrivals) > self.threshold

    def _post_single(self, channel: str, alert: Alert) -> None:
        try:
            self.messages.post(channel, alert)
            self._count("single", 1)
            self._mark_posted(channel, [alert])
        except Exception:
            self._count("failed", 1)
            log.warning("could not post %s to %s", alert.label, channel, exc_info=True)
            self._give_back(alert.ref, channel)

    def _post_grouped(self, channel: str, state: _Channel, batch: list[Alert]) -> None:
        """Oldest first into the open group message, then into new ones; each message lists newest first."""
        batch = sorted(batch, key=started)
        first = True
        while batch:
            if not first:
                self.ready(channel)
            first = False
            group = state.group
            try:
                if group is not None and not group.full:
                    taken = self._grow(channel, group, batch)
                    if taken == 0:
                        group.full = True
                        continue
                else:
                    taken = self._open(channel, state, batch)
            except Exception:
                log.warning("could not post %d grouped alerts to %s", len(batch), channel, exc_info=True)
                self._count("failed", len(batch))
                for alert in batch:
                    self._give_back(alert.ref, channel)
                state.group = None  # start afresh next time rather than grow a message that may be gone
                return
            self._count("grouped", taken)
            self._mark_posted(channel, batch[:taken])
            batch = batch[taken:]

    def _open(self, channel: str, state: _Channel, batch: list[Alert]) -> int:
        part = state.parts + 1
        if part == 1:
            log.info(
                "alert storm in %s: more than %d new alerts within %g s, grouping them in one message",
                channel,
                self.threshold,
                self.window,
            )
        taken = max(1, fill([], batch, [], part=part))
        alerts = _newest_first(batch[:taken])
        message = group_message(alerts, [group_row(a) for a in alerts], part=part)
        ts = self.messages.post_rows(channel, message)
        state.group, state.parts = _Group(ts, alerts, part), part
        self._count("group_messages", 1)
        return taken

    def _grow(self, channel: str, group: _Group, batch: list[Alert]) -> int:
        taken = 0

        def build(blocks: list[dict]) -> dict | None:
            nonlocal taken
            shown = {ref.encode() for ref in row_refs(blocks)}
            rows = [b for b in blocks if _is_row(b)]
            new = [a for a in batch if a.ref.encode() not in shown]
            taken = fill(group.alerts, new, rows, part=group.part)
            if taken == 0:
                return None
            added = _newest_first(new[:taken])
            group.alerts = _newest_first([*added, *group.alerts])
            order = {a.ref.encode(): i for i, a in enumerate(group.alerts)}
            rows = sorted([*rows, *(group_row(a) for a in added)], key=lambda b: order.get(_ref_of(b), len(order)))
            return group_message(group.alerts, rows, part=group.part)

        if not self.messages.extend_rows(channel, group.ts, build):
            return 0
        self._count("group_updates", 1)
        return taken


def _newest_first(alerts: list[Alert]) -> list[Alert]:
    return sorted(alerts, key=started, reverse=True)


def _is_row(block: dict) -> bool:
    return bool(row_refs([block]))


def _ref_of(block: dict) -> str:
    refs = row_refs([block])
    return refs[0].encode() if refs else ""
