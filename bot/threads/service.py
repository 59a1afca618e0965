"""What alert threads mean: :class:`ThreadStory` tells each alert event once in every thread of the alert;
:class:`ThreadNotes` turns a person's reply in such a thread into a note on the alert."""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bot.domain import Alert, AlertRef
from bot.domain.results import Queued
from bot.domain.timeline import Happening, TimelineEvent
from bot.render.replies import describe_failure
from bot.services.alert_actions import ActionResult
from bot.services.reliable import TRANSIENT, Origin
from bot.support import errors
from bot.threads import render
from bot.threads.jobs import Coalescer
from bot.threads.store import SlackNote, Thread, ThreadStore

log = logging.getLogger(__name__)

DONE_REACTION = "white_check_mark"
QUEUED_REACTION = "hourglass_flowing_sand"
ALERTS_REMEMBERED = 2_000  # alerts whose latest state heads list-thread replies (about 1 KB each)


class AlertEventSource(Protocol):
    """Where an alert's events come from (Rootly alert events, ilert log entries), oldest first."""

    def alert_events(self, ref: AlertRef) -> Sequence[TimelineEvent]: ...


class ThreadPoster(Protocol):
    """Slack, as far as threads need it."""

    def reply(self, channel: str, thread_ts: str, message: dict[str, Any], *, broadcast: bool = False) -> str: ...

    def react(self, channel: str, ts: str, name: str) -> None: ...


class NoteTaker(Protocol):
    """Adding a note as a Slack user (``bot.services.alert_actions.AlertActions.add_note``): the person's backend
    user by email, or the API key's user with the person's name signed under the text."""

    def add_note(
        self, target: AlertRef, slack_user_id: str, text: str, user_name: str | None = None
    ) -> ActionResult: ...


class NoteCheck(Protocol):
    """Whether a note whose write went unanswered landed anyway (:class:`bot.threads.landed.LandedNotes`)."""

    def find(
        self, ref: AlertRef, slack_user_id: str, text: str, user_name: str | None, since: datetime
    ) -> ActionResult | None: ...


class NoteQueue(Protocol):
    """The outbox behind notes (``bot.services.reliable.ReliableActions``)."""

    def add_note(self, target: AlertRef, origin: Origin, text: str) -> ActionResult | Queued: ...

    def queue_note(self, target: AlertRef, origin: Origin, text: str, exc: errors.BackendError) -> Queued: ...


@dataclass(frozen=True)
class StorySettings:
    coalesce_seconds: float = 2.0
    broadcast_resolved: bool = False
    lease_seconds: float = 60.0
    # Events older than the message (less this much clock skew) are history the message already shows.
    history_skew: timedelta = timedelta(seconds=5)


class ThreadStory:
    """Posts each event of an alert, once and in order, as a reply in the thread of every message of the alert.

    ``alert_changed`` is what the rest of the bot calls (after any re-render: a click, a webhook, a poll); it
    returns at once, and a run a moment later reads the alert's events and tells the new ones. What each thread has
    told is in the database, keyed by event id, and a lease per thread keeps replicas from interleaving replies.
    """

    def __init__(
        self, store: ThreadStore, source: AlertEventSource, poster: ThreadPoster, settings: StorySettings
    ) -> None:
        self.store = store
        self.source = source
        self.poster = poster
        self.settings = settings
        self.owner = uuid.uuid4().hex
        self.coalescer = Coalescer(self._run, delay=settings.coalesce_seconds)
        self.rootly_reads = 0  # alert event reads, for figures
        # The latest state seen of recently changed alerts: what heads their replies in a list's thread.
        self._alerts: OrderedDict[AlertRef, Alert] = OrderedDict()
        self._alerts_lock = threading.Lock()

    def alert_changed(self, alert: Alert) -> None:
        with self._alerts_lock:
            self._alerts[alert.ref] = alert
            self._alerts.move_to_end(alert.ref)
            while len(self._alerts) > ALERTS_REMEMBERED:
                self._alerts.popitem(last=False)
        self.coalescer.touch(alert.ref)

    def close(self) -> None:
        self.coalescer.close()

    def _run(self, key: Hashable) -> bool:
        assert isinstance(key, AlertRef)
        return self.tell(key)

    def tell(self, ref: AlertRef) -> bool:
        """Tell what is new on the alert in each of its threads. False when a thread was busy (try again later)."""
        threads = self.store.threads_for(ref)
        if not threads:
            return True  # no message of this alert: nothing to read
        self.rootly_reads += 1
        events = sorted(self.source.alert_events(ref), key=_order)  # stable: the backend's order on ties
        from_slack = self.store.slack_notes(ref)
        done = True
        for thread in threads:
            key = f"thread:{thread.channel}:{thread.ts}"
            if not self.store.lease(key, self.owner, self.settings.lease_seconds):
                done = False  # another replica is telling this thread; run again shortly
                continue
            try:
                self._tell_thread(thread, events, from_slack, self._heading(ref) if thread.in_list else None)
            finally:
                self.store.release(key, self.owner)
        return done

    def _heading(self, ref: AlertRef) -> str:
        with self._alerts_lock:
            alert = self._alerts.get(ref)
        return render.alert_heading(alert if alert is not None else ref)

    def _tell_thread(
        self,
        thread: Thread,
        events: Sequence[TimelineEvent],
        from_slack: list[SlackNote],
        heading: str | None = None,
    ) -> None:
        told = self.store.told(thread.channel, thread.ts)
        since = thread.posted_at - self.settings.history_skew
        fresh = [
            e
            for e in events
            if e.id not in told and (e.at is None or e.at >= since) and not _made_in_slack(e, from_slack)
        ]
        if not fresh:
            return
        folded = render.fold_attribution(fresh)
        absorbed = [e.id for e in fresh if e.id not in {f.id for f in folded}]  # attribution notes merged away
        for n, (chunk, message) in enumerate(render.story_replies(folded, heading=heading)):
            ids = [e.id for e in chunk] + (absorbed if n == 0 else [])
            if not self.store.mark_told(thread.channel, thread.ts, ids):
                log.info("thread %s/%s: events already told elsewhere", thread.channel, thread.ts)
                return
            broadcast = self.settings.broadcast_resolved and any(e.what is Happening.RESOLVED for e in chunk)
            try:
                self.poster.reply(thread.channel, thread.ts, message, broadcast=broadcast)
            except Exception:
                self.store.unmark_told(thread.channel, thread.ts, ids)  # the next change or poll tries again
                log.warning("could not tell %d event(s) in %s/%s", len(ids), thread.channel, thread.ts, exc_info=True)
                return


def describe_queued(q: Queued) -> str:
    why = f"{q.backend} did not answer ({q.reason})"
    return f"{why}: it will be added as a note once {q.backend} answers, once (the alert is checked first)."


def _order(event: TimelineEvent) -> float:
    return event.at.timestamp() if event.at else 0.0


def _made_in_slack(event: TimelineEvent, notes: list[SlackNote]) -> bool:
    """A note the bot wrote from a Slack message: already in the thread (or channel), not told again."""
    if event.what is not Happening.NOTE:
        return False
    text = (event.text or "").strip()
    return any(event.id == n.note_id or (n.details.strip() and n.details.strip() in text) for n in notes)


@dataclass(frozen=True)
class NoteOutcome:
    added: bool
    message: str  # what to tell the person (the shortcut answers with it)
    ref: AlertRef | None = None
    queued: bool = False  # in the outbox: added once the backend answers, and the person told then


class ThreadNotes:
    """Slack messages in an alert's thread → notes on the alert, each message at most once."""

    def __init__(
        self,
        store: ThreadStore,
        notes: NoteTaker,
        poster: ThreadPoster,
        landed: Callable[[ActionResult], object] | None = None,
        *,
        check: NoteCheck | None = None,
        queue: NoteQueue | None = None,
    ) -> None:
        self.store = store
        self.notes = notes
        self.poster = poster
        # The action path (ActionPath.finish): the alert's messages show the note, as for any other surface.
        self.landed = landed
        # After a timeout: look for the note on the alert before trying again or queueing it.
        self.check = check
        self.queue = queue

    def enable(self, channel: str, user_id: str) -> bool:
        return self.store.enable(channel, user_id)

    def disable(self, channel: str) -> bool:
        return self.store.disable(channel)

    def enabled(self, channel: str) -> bool:
        return self.store.enabled(channel)

    def in_alert_thread(self, channel: str, thread_ts: str) -> bool:
        return self.store.alert_of_message(channel, thread_ts) is not None

    def from_reply(self, channel: str, thread_ts: str, ts: str, user: str, text: str) -> NoteOutcome | None:
        """A reply in a thread: a note when the channel opted in and the thread is an alert's; None otherwise."""
        if not self.store.enabled(channel) or self.store.alert_of_message(channel, thread_ts) is None:
            return None
        outcome = self.add(channel, thread_ts, ts, user, text)
        if outcome.queued:
            self._say(channel, thread_ts, render.note_queued(outcome.message))
        elif not outcome.added and outcome.ref is not None:
            self._say(channel, thread_ts, render.note_failed(outcome.message))
        return outcome

    def add(
        self, channel: str, thread_ts: str, ts: str, user: str, text: str, user_name: str | None = None
    ) -> NoteOutcome:
        """Add the message as a note on the alert whose thread it is in (replies and the shortcut)."""
        ref = self.store.alert_of_message(channel, thread_ts)
        if ref is None:
            return NoteOutcome(False, "This message is not in the thread of an alert the bot posted.")
        if not self.store.claim_note(channel, ts, ref, text):
            return NoteOutcome(False, "This message is already a note on the alert.", None)
        started = datetime.now(UTC)
        try:
            result: ActionResult | Queued = self.notes.add_note(ref, user, text, user_name)
        except TRANSIENT as exc:
            if self.check is None or self.queue is None:
                self.store.release_note(channel, ts)
                return NoteOutcome(False, describe_failure(exc, ref.id), ref)
            try:
                result = self._after_no_answer(ref, channel, user, text, user_name, started, exc)
            except Exception as again:
                self.store.release_note(channel, ts)
                if not isinstance(again, errors.BackendError):
                    log.warning("note from %s/%s failed", channel, ts, exc_info=True)
                return NoteOutcome(False, describe_failure(again, ref.id), ref)
        except Exception as exc:
            self.store.release_note(channel, ts)
            if not isinstance(exc, errors.BackendError):
                log.warning("note from %s/%s failed", channel, ts, exc_info=True)
            return NoteOutcome(False, describe_failure(exc, ref.id), ref)
        if isinstance(result, Queued):
            # The claim stays: Slack's retries and the shortcut find the message taken, and the story knows the words.
            self.store.note_queued(channel, ts)
            self._react(channel, ts, QUEUED_REACTION)
            return NoteOutcome(False, describe_queued(result), ref, queued=True)
        note_id = result.note.id if result.note is not None else ""
        self.store.note_added(channel, ts, note_id, text)  # first: the story then knows not to tell it back
        if self.landed is not None:
            try:
                self.landed(result)
            except Exception:  # the note is on the alert whatever happens to the messages showing it
                log.warning("could not re-render the messages of %s", result.alert.label, exc_info=True)
        self._react(channel, ts, DONE_REACTION)
        said = f"Added to {result.alert.label} as a note."
        if result.warnings:
            said += " " + " ".join(result.warnings)
        return NoteOutcome(True, said, ref)

    def _after_no_answer(
        self,
        ref: AlertRef,
        channel: str,
        user: str,
        text: str,
        user_name: str | None,
        started: datetime,
        exc: errors.BackendError,
    ) -> ActionResult | Queued:
        """The write got no answer: it may have landed. Look on the alert first; only a note not there is tried
        again (and queued, checked again before it is sent, if the backend still does not answer)."""
        assert self.check is not None and self.queue is not None
        origin = Origin(user, user_name, channel, None)
        try:
            found = self.check.find(ref, user, text, user_name, started)
        except TRANSIENT:
            # Cannot look now: queue it unsent; the outbox looks on the alert before it sends it.
            return self.queue.queue_note(ref, origin, text, exc)
        if found is not None:
            log.info("note from %s on %s had landed despite %s", channel, ref.id, exc.message)
            return found
        return self.queue.add_note(ref, origin, text)

    def _react(self, channel: str, ts: str, name: str) -> None:
        try:
            self.poster.react(channel, ts, name)
        except Exception:
            log.info("could not react to %s/%s", channel, ts, exc_info=True)

    def _say(self, channel: str, thread_ts: str, message: dict[str, Any]) -> None:
        try:
            self.poster.reply(channel, thread_ts, message)
        except Exception:
            log.warning("could not reply in %s/%s", channel, thread_ts, exc_info=True)
