"""The follow poller: every ``ONCALL_POLL_SECONDS`` one on-call read per backend, however many schedules and
policies channels follow, and a short message in each channel whose followed on-call changed, posted once across
replicas (a unique row per change, a lease until posted, see ``bot/oncall/store.py``). A follow's state moves on only
once every change found is posted, so a change whose post failed, or whose replica died, is found and posted again
by the next poll after the lease (``ONCALL_CLAIM_SECONDS``)."""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from bot.domain import Backend
from bot.domain.oncall import OnCallShift, OnCallTarget, TargetKind
from bot.oncall import render
from bot.oncall.service import OnCall
from bot.oncall.store import Claim, FollowStore
from bot.services.ports import Messenger
from bot.support import errors
from bot.support.scheduler import add_interval_job

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=1)
State = dict[str, dict[str, Any]]  # label → {"ids", "names", "emails", "until"}


@dataclass(frozen=True)
class Change:
    label: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @property
    def key(self) -> str:
        """The same on every replica that sees the same change: who is on call now, and since when."""
        after = self.after or {}
        ids = ",".join(after.get("ids") or ()) or "-"
        since = after.get("since") or (self.before or {}).get("until") or ""
        return f"{self.label}|{ids}|{since}"[:200]


def follow_state(target: OnCallTarget, shifts: list[OnCallShift], now: datetime) -> State:
    """Who is on call now for a schedule (one line) or an escalation policy (one line a level)."""
    current = [s for s in shifts if s.starts_at <= now < s.ends_at and s.backend is target.backend]
    groups: dict[str, list[OnCallShift]] = {}
    if target.kind is TargetKind.SCHEDULE:
        groups[target.name] = [s for s in current if s.schedule_id == target.id]
    else:
        for s in current:
            if s.policy_id == target.id:
                groups.setdefault(f"{target.name} · Level {s.level}", []).append(s)
    state: State = {}
    for label, items in groups.items():
        people = {s.person.id: s for s in items}
        if not people:
            continue
        ordered = [people[k] for k in sorted(people)]
        state[label] = {
            "ids": [s.person.id for s in ordered],
            "names": [s.person.name for s in ordered],
            "emails": [s.person.email for s in ordered],
            "until": min(s.ends_at for s in ordered).isoformat(),
            "since": max(s.starts_at for s in ordered).isoformat(),
        }
    return state


def changes(before: State, after: State) -> list[Change]:
    found = []
    for label in sorted(set(before) | set(after)):
        old, new = before.get(label), after.get(label)
        if (old or {}).get("ids") != (new or {}).get("ids"):
            found.append(Change(label, old, new))
    return found


def encode(state: State) -> str:
    return json.dumps(state, sort_keys=True, separators=(",", ":"))


class FollowPoller:
    def __init__(
        self,
        service: OnCall,
        store: FollowStore,
        messenger: Messenger,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        claim_seconds: float = 20.0,
    ) -> None:
        self.service = service
        self.store = store
        self.messenger = messenger
        self.clock = clock
        self.claim_seconds = claim_seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"

    def poll_once(self) -> int:
        """Post every change since the last poll; returns how many messages this replica posted."""
        follows = self.store.all()
        if not follows:
            return 0  # nothing followed: no API call at all
        now = self.clock()
        posted = 0
        by_backend: dict[Backend, list[Any]] = {}
        for follow in follows:
            backend = follow.target_key.split(":", 1)[0]
            if backend in {b.value for b in self.service.sources}:
                by_backend.setdefault(Backend(backend), []).append(follow)
        for backend, items in by_backend.items():
            try:
                shifts = self.service.sources[backend].on_call(None, now, now + WINDOW)
                targets = {t.key: t for t in self.service.directory()}
            except errors.BackendError as exc:
                log.warning("on-call follow poll: %s could not be asked: %s", backend.value, exc.message)
                continue
            for follow in items:
                target = targets.get(follow.target_key)
                if target is None:
                    continue  # renamed or deleted in the backend; `oncall following` shows it
                after = follow_state(target, shifts, now)
                before = json.loads(follow.state) if follow.state else {}
                found = changes(before, after)
                if not found:
                    continue
                done = 0
                for change in found:
                    message = self._message(change, follow.mention)
                    claim = self.store.claim_change(
                        follow.id, change.key, self.owner, self.claim_seconds, json.dumps(message)
                    )
                    if claim is Claim.MINE and self._post(follow.channel, message):
                        self.store.mark_posted(follow.id, change.key)
                        posted += 1
                        done += 1
                    elif claim is Claim.POSTED:
                        done += 1
                if done == len(found):  # else keep the old state: the unposted change is found again next poll
                    self.store.set_state(follow.id, encode(after))
        return posted

    def sweep(self) -> int:
        """Post the changes whose claimer died (or failed) before posting, from the message it kept with the claim.

        Runs every few seconds and reads only the database, so a survivor posts an abandoned change within the lease
        plus one sweep (about 30 s with the defaults) instead of waiting for its next on-call poll."""
        posted = 0
        for left in self.store.abandoned(self.claim_seconds):
            if not self.store.take_over(left.follow_id, left.change_key, self.owner, self.claim_seconds):
                continue  # another replica took it first
            if self._post(left.channel, json.loads(left.message)):
                self.store.mark_posted(left.follow_id, left.change_key)
                posted += 1
        return posted

    def _message(self, change: Change, mention: bool) -> dict[str, Any]:
        mentions = {}
        if mention and change.after:
            for email in change.after.get("emails") or ():
                user = self.service.mentions.user_id(email)
                if user and email:
                    mentions[email.lower()] = user
        return render.shift_change(change.label, change.before, change.after, mentions)

    def _post(self, channel: str, message: dict[str, Any]) -> bool:
        try:
            self.messenger.post(channel, message)
            return True
        except Exception:
            log.warning(
                "could not post an on-call change to %s; it is tried again once its claim's %.0f s run out",
                channel,
                self.claim_seconds,
                exc_info=True,
            )
            return False


SWEEP_SECONDS = 10.0  # how often a replica looks for shift changes another one claimed and never posted


def install(scheduler: BackgroundScheduler, poller: FollowPoller, seconds: float) -> None:
    if seconds > 0:
        add_interval_job(scheduler, "oncall-follow", seconds, poller.poll_once)
        add_interval_job(scheduler, "oncall-follow-sweep", SWEEP_SECONDS, poller.sweep)
