"""Nothing typed is lost: notes, acknowledgements and resolutions that cannot reach Rootly (or ilert) now are
written to the outbox before the person hears "queued", then delivered later, once, and reported.

Transient failures (5xx, timeouts, refused connections, 429 past the budget) are queued; permanent ones (404,
422, 401/403, a state that forbids the action) are told at once, since retrying cannot fix them. After an
ambiguous failure (the request may have landed) a note is looked for on the alert before it is sent again.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any, Protocol

from bot.backends import Backends
from bot.domain import AlertRef, Backend
from bot.domain.refs import ParsedRef
from bot.domain.results import ActionResult, Queued, Verb
from bot.services.alert_actions import AlertActions, Target
from bot.store.outbox import OutboxItem, OutboxStore
from bot.support import errors
from bot.support.leases import LeaseKeeper

log = logging.getLogger(__name__)

TRANSIENT = (errors.Unavailable, errors.RateLimited)


@dataclass(frozen=True)
class Origin:
    """Who asked, and where to tell them how it went."""

    slack_user_id: str
    user_name: str | None = None
    channel: str | None = None
    response_url: str | None = None


def encode_target(target: Target) -> str:
    if isinstance(target, AlertRef):
        return target.encode()
    return f"ref:{target.backend.value if target.backend else ''}:{target.id}"


def decode_target(text: str) -> Target:
    if text.startswith("ref:"):
        _, backend, ref_id = text.split(":", 2)
        return ParsedRef(ref_id, Backend(backend) if backend else None)
    return AlertRef.decode(text)


class ReliableActions:
    """The actions people take on alerts, with the outbox behind them."""

    def __init__(self, actions: AlertActions, store: OutboxStore) -> None:
        self.actions = actions
        self.store = store

    def acknowledge(self, target: Target, origin: Origin) -> ActionResult | Queued:
        return self._run(
            Verb.ACKNOWLEDGE,
            target,
            origin,
            {},
            lambda: self.actions.acknowledge(target, origin.slack_user_id, origin.user_name),
        )

    def resolve(self, target: Target, origin: Origin, message: str | None = None) -> ActionResult | Queued:
        return self._run(
            Verb.RESOLVE,
            target,
            origin,
            {"message": message},
            lambda: self.actions.resolve(target, origin.slack_user_id, message, origin.user_name),
            typed=message,
        )

    def add_note(self, target: Target, origin: Origin, text: str) -> ActionResult | Queued:
        return self._run(
            Verb.NOTE,
            target,
            origin,
            {"text": text},
            lambda: self.actions.add_note(target, origin.slack_user_id, text, origin.user_name),
            typed=text,
        )

    def _run(
        self,
        verb: Verb,
        target: Target,
        origin: Origin,
        extra: dict[str, Any],
        call: Callable[[], ActionResult],
        typed: str | None = None,
    ) -> ActionResult | Queued:
        try:
            return call()
        except TRANSIENT as exc:
            ambiguous = isinstance(exc, errors.Unavailable) and exc.ambiguous
            return self._queue(verb, target, origin, extra, exc, typed, ambiguous)

    def queue_note(self, target: Target, origin: Origin, text: str, exc: errors.BackendError) -> Queued:
        """Queue a note without trying it now, checked against the alert's notes before it is sent: for a caller
        whose own attempt may have landed and who could not check (the backend still not answering)."""
        return self._queue(Verb.NOTE, target, origin, {"text": text}, exc, text, True)

    def _queue(
        self,
        verb: Verb,
        target: Target,
        origin: Origin,
        extra: dict[str, Any],
        exc: errors.BackendError,
        typed: str | None,
        check_first: bool,
    ) -> Queued:
        payload = {
            "slack_user_id": origin.slack_user_id,
            "user_name": origin.user_name,
            "channel": origin.channel,
            "response_url": origin.response_url,
            "queued_at": datetime.now(UTC).isoformat(),
            **extra,
        }
        # Written before the person is told, so a crash right after loses nothing.
        item_id = self.store.enqueue(verb.value, encode_target(target), payload, check_first=check_first)
        log.info("queued %s on %s as outbox item %s: %s", verb.value, target, item_id, exc.message)
        return Queued(verb, target.id, exc.message, item_id, typed, check_first, exc.backend)


Notify = Callable[[dict[str, Any], "ActionResult | None", str | None], None]


class OutboxKind(Protocol):
    """Another feature's outbox items: ``attempt`` raises ``errors.BackendError`` as the alert actions do."""

    def attempt(self, item: OutboxItem) -> Any: ...

    def notify(self, payload: dict[str, Any], result: Any, error: str | None) -> None: ...


@dataclass
class _Pass:
    """What the parallel deliverers of one pass share."""

    deadline: float
    landed: int = 0
    expedited: bool = False
    in_flight: int = 0
    down: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    finished: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.finished = threading.Condition(self.lock)


class Outcome(StrEnum):
    LANDED = "landed"
    LATER = "later"  # a transient failure: tried again with backoff
    FINAL = "final"  # given up on, or refused for good; the person was told


# How much earlier than the first attempt a note found on the alert may be and still be taken for this one (clock
# skew between the bot and the backend); older notes with the same words are someone's earlier note, not this one.
NOTE_CLOCK_SKEW = timedelta(minutes=5)


class OutboxDelivery:
    """Delivers due outbox items with backoff; tells the person when each lands or finally fails, and why.

    ``actions`` must not claim against double clicks: an item is the continuation of a click that already holds
    that claim, and claiming again would take the item for a second click and drop it.

    A pass first sends one item alone (a probe); once it lands, up to ``workers`` deliverers run in parallel, each
    leasing and attempting one item at a time, so a
    backlog drains at the pace the API allows (the backend's session paces requests by its ``X-RateLimit-*``
    headers, see :mod:`bot.support.rate_pacing`) rather than one round trip at a time. The store leases only the first
    waiting item of each alert, so one alert's items go one at a time and in the order they were queued. The
    first transient failure of a backend stops the pass from trying that backend's other items (one probe per
    pass during an outage, not a burst), and the first item that lands makes every waiting item due at once, so a
    recovered backend gets its backlog within one pass instead of after each item's own backoff.
    """

    def __init__(
        self,
        store: OutboxStore,
        actions: AlertActions,
        backends: Backends,
        notify: Notify,
        *,
        give_up_after: timedelta = timedelta(hours=24),
        max_delay: float = 300.0,
        pass_budget: float = 30.0,
        lease_seconds: float = 15.0,
        workers: int = 1,
    ) -> None:
        self.store = store
        self.actions = actions
        self.backends = backends
        self.notify = notify
        self.give_up_after = give_up_after
        self.max_delay = max_delay
        self.pass_budget = pass_budget
        self.lease_seconds = lease_seconds
        # Outbox kinds of other features (incidents): kind → how to attempt an item and tell the person.
        self.kinds: dict[str, OutboxKind] = {}
        self.workers = max(1, workers)

    def deliver_due(self) -> int:
        """One pass over what is due; returns how many items landed."""
        run = _Pass(time.monotonic() + self.pass_budget)
        first = self._lease(run)
        if first is None:
            return 0  # the common case: one query, no threads
        # The first item goes alone, as a probe: only once it has landed is the backend known to be up and the
        # rest sent in parallel; during an outage a pass costs one attempt per backend, not one per deliverer.
        self._step(run, first)
        if self.workers == 1 or not run.landed:
            self._drain(run)
            return run.landed
        with ThreadPoolExecutor(self.workers, thread_name_prefix="outbox") as pool:
            for drain in [pool.submit(self._drain, run) for _ in range(self.workers)]:
                drain.result()
        return run.landed

    def _lease(self, run: _Pass) -> OutboxItem | None:
        with run.lock:
            skip = set(run.down)
        return self.store.lease_next(lease_seconds=self.lease_seconds, skip=skip, candidates=self.workers + 4)

    def _drain(self, run: _Pass) -> None:
        """Deliver items until nothing is due (and nothing in flight could make more due) or the budget is spent."""
        while time.monotonic() < run.deadline:
            item = self._lease(run)
            if item is not None:
                self._step(run, item)
                continue
            with run.lock:
                # An item in flight, once finished, makes its alert's next item due (or expedites the rest):
                # wait for that instead of leaving the pass to fewer deliverers.
                if run.in_flight == 0:
                    return
                run.finished.wait(timeout=1.0)

    def _step(self, run: _Pass, item: OutboxItem) -> None:
        with run.lock:
            run.in_flight += 1
        try:
            outcome = self._deliver(item)
        finally:
            with run.lock:
                run.in_flight -= 1
                run.finished.notify_all()
        expedite = False
        with run.lock:
            if outcome is Outcome.LANDED:
                run.landed += 1
                expedite, run.expedited = not run.expedited, True
            elif outcome is Outcome.LATER:
                run.down.add(item.backend)
        if expedite:
            self.store.expedite()

    def _deliver(self, item: OutboxItem) -> Outcome:
        # The lease is renewed while the backend is being called, so it can be short: a replica killed mid-attempt
        # holds its item for at most ``lease_seconds``, and a slow attempt is never taken over while it runs.
        keeper = LeaseKeeper(
            partial(self.store.renew, item.id), item.lease_until, self.lease_seconds, f"outbox item {item.id}"
        )
        try:
            result, failure = self._attempt(item)
        finally:
            lease = keeper.stop()
        payload = item.payload
        notify = self.kinds[item.kind].notify if item.kind in self.kinds else self.notify
        if failure is None:
            if self.store.delivered(item.id, lease):
                notify(payload, result, None)
            else:
                log.warning("outbox item %s landed after its lease was taken over", item.id)
            return Outcome.LANDED
        if isinstance(failure, TRANSIENT):
            ambiguous = item.check_first or (isinstance(failure, errors.Unavailable) and failure.ambiguous)
            if datetime.now(UTC) - _aware(item.created_at) > self.give_up_after:
                if self.store.failed(item.id, failure.message, lease):
                    why = f"it could not be delivered for {self.give_up_after}: {failure.message}"
                    notify(payload, None, why)
                return Outcome.FINAL
            delay = min(self.max_delay, 2.0 * 2 ** min(item.attempts, 10)) * random.uniform(0.5, 1.0)
            if isinstance(failure, errors.RateLimited) and failure.retry_after:
                delay = max(delay, failure.retry_after)
            self.store.retry_later(item.id, failure.message, delay, check_first=ambiguous, lease_until=lease)
            return Outcome.LATER
        if isinstance(failure, errors.BackendError):  # permanent: retrying cannot help
            if self.store.failed(item.id, failure.message, lease):
                notify(payload, None, failure.message)
            return Outcome.FINAL
        if self.store.failed(item.id, repr(failure)[:300], lease):
            notify(payload, None, "the bot hit an unexpected error")
        return Outcome.FINAL

    def _attempt(self, item: OutboxItem) -> tuple[ActionResult | None, Exception | None]:
        """(result, None) when the item landed (result None: an earlier attempt had landed it); (None, error)."""
        payload = item.payload
        user, name = payload.get("slack_user_id") or "", payload.get("user_name")
        try:
            if item.kind in self.kinds:
                return self.kinds[item.kind].attempt(item), None
            target = decode_target(item.target)
            if item.kind == Verb.NOTE and item.check_first and self._note_landed(target, payload):
                return None, None
            if item.kind == Verb.NOTE:
                return self.actions.add_note(target, user, payload.get("text") or "", name), None
            if item.kind == Verb.ACKNOWLEDGE:
                return self.actions.acknowledge(target, user, name), None
            if item.kind == Verb.RESOLVE:
                return self.actions.resolve(target, user, payload.get("message"), name), None
            raise ValueError(f"unknown outbox kind {item.kind!r}")
        except errors.BackendError as exc:
            return None, exc
        except Exception as exc:
            log.exception("outbox item %s failed unexpectedly", item.id)
            return None, exc

    def _note_landed(self, target: Target, payload: dict[str, Any]) -> bool:
        """Did an earlier, unconfirmed attempt add this note? Then sending it again would duplicate it.

        Only notes written since the first attempt count: the same words noted an hour earlier are another note,
        and taking them for this one would lose what the person typed.
        """
        wanted = (payload.get("text") or "").strip()
        queued = _parse_time(payload.get("queued_at"))
        since = queued - NOTE_CLOCK_SKEW if queued else None
        if isinstance(target, AlertRef):
            backend, alert_id = self.backends.get(target.backend), target.id
        else:
            backend, alert = self.backends.find_alert(target)
            alert_id = alert.ref.id
        return any(
            note.details.strip().startswith(wanted)
            and (since is None or note.created_at is None or _aware(note.created_at) >= since)
            for note in backend.notes(alert_id)
        )


def _parse_time(value: Any) -> datetime | None:
    try:
        return _aware(datetime.fromisoformat(str(value))) if value else None
    except ValueError:
        return None


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)
