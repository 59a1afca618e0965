"""Alert threads in the database: which channels opted in, which events each thread has told, which Slack messages
became notes. Uniqueness lives in the database, so it holds across restarts and replicas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.domain import AlertRef, Backend
from bot.store.alerts import AlertStore
from bot.store.db import Database
from bot.store.schema import (
    claims,
    posted_messages,
    row_posts,
    thread_channels,
    thread_events,
    thread_lists,
    thread_notes,
)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(when: datetime) -> datetime:
    """SQLite gives naive datetimes back; they were stored in UTC."""
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Thread:
    """An alert message the bot posted, whose thread tells the alert's story; or a list posted in a channel
    (``in_list``), whose thread tells the story of each alert in it, each reply headed by its alert."""

    ref: AlertRef
    channel: str
    ts: str
    posted_at: datetime
    in_list: bool = False


@dataclass(frozen=True)
class SlackNote:
    """A Slack message made into a note (or being made into one)."""

    channel: str
    ts: str
    note_id: str | None
    details: str


class ThreadStore:
    def __init__(self, db: Database) -> None:
        self.engine = db.engine
        self._claims = AlertStore(db)  # the claims table's one claim: a thread's lease is a claim on its key

    # threads: the alert messages in posted_messages (owned by bot.services.alert_messages) --------------------
    def threads_for(self, ref: AlertRef) -> list[Thread]:
        query = (
            select(posted_messages.c.channel, posted_messages.c.ts, posted_messages.c.posted_at)
            .where(posted_messages.c.backend == ref.backend.value, posted_messages.c.alert_id == ref.id)
            .order_by(posted_messages.c.id)
        )
        lists = (
            select(thread_lists.c.channel, thread_lists.c.ts, thread_lists.c.posted_at)
            .join(row_posts, (row_posts.c.channel == thread_lists.c.channel) & (row_posts.c.ts == thread_lists.c.ts))
            .where(row_posts.c.backend == ref.backend.value, row_posts.c.alert_id == ref.id)
            .order_by(thread_lists.c.posted_at)
        )
        with self.engine.connect() as conn:
            own = [Thread(ref, row.channel, row.ts, _aware(row.posted_at)) for row in conn.execute(query)]
            return own + [Thread(ref, r.channel, r.ts, _aware(r.posted_at), in_list=True) for r in conn.execute(lists)]

    def record_list(self, channel: str, ts: str) -> None:
        """A list posted in a channel (``/rootly alerts here``): its thread tells its alerts' stories from now on."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(thread_lists).values(channel=channel, ts=ts, posted_at=_now()))
        except IntegrityError:
            pass  # already known

    def alert_of_message(self, channel: str, ts: str) -> AlertRef | None:
        """The alert whose message is (channel, ts): the root of the thread a reply is in."""
        query = select(posted_messages.c.backend, posted_messages.c.alert_id).where(
            posted_messages.c.channel == channel, posted_messages.c.ts == ts
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return AlertRef(Backend(row.backend), row.alert_id) if row else None

    # opted-in channels ------------------------------------------------------------------------------------------
    def enable(self, channel: str, user_id: str) -> bool:
        """True when the channel was not opted in before."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(thread_channels).values(channel=channel, enabled_by=user_id, enabled_at=_now()))
            return True
        except IntegrityError:
            return False

    def disable(self, channel: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(thread_channels).where(thread_channels.c.channel == channel)).rowcount > 0

    def enabled(self, channel: str) -> bool:
        query = select(thread_channels.c.channel).where(thread_channels.c.channel == channel)
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    # events told per thread -------------------------------------------------------------------------------------
    def told(self, channel: str, thread_ts: str) -> set[str]:
        query = select(thread_events.c.event_id).where(
            thread_events.c.channel == channel, thread_events.c.thread_ts == thread_ts
        )
        with self.engine.connect() as conn:
            return {row.event_id for row in conn.execute(query)}

    def mark_told(self, channel: str, thread_ts: str, event_ids: list[str]) -> bool:
        """Record the events as told, all or none; False when any already was (by another replica)."""
        if not event_ids:
            return True
        now = _now()
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(thread_events),
                    [
                        {"channel": channel, "thread_ts": thread_ts, "event_id": e[:128], "posted_at": now}
                        for e in event_ids
                    ],
                )
            return True
        except IntegrityError:
            return False

    def unmark_told(self, channel: str, thread_ts: str, event_ids: list[str]) -> None:
        """Give events back after their reply could not be posted, so the next run tells them."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(thread_events).where(
                    thread_events.c.channel == channel,
                    thread_events.c.thread_ts == thread_ts,
                    thread_events.c.event_id.in_([e[:128] for e in event_ids]),
                )
            )

    # the thread's lease: one writer per thread at a time, so replies stay in order across replicas ------------------
    def lease(self, key: str, owner: str, seconds: float) -> bool:
        return self._claims.claim(key, owner, seconds) is None

    def release(self, key: str, owner: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(claims).where(claims.c.key == key, claims.c.owner == owner))

    # messages made into notes -----------------------------------------------------------------------------------
    def claim_note(self, channel: str, ts: str, ref: AlertRef, details: str) -> bool:
        """True for exactly one caller per Slack message, whichever path (reply, shortcut) or replica asks first."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(thread_notes).values(
                        channel=channel,
                        ts=ts,
                        backend=ref.backend.value,
                        alert_id=ref.id,
                        status="pending",
                        details=details,
                        created_at=_now(),
                    )
                )
            return True
        except IntegrityError:
            return False

    def note_added(self, channel: str, ts: str, note_id: str, details: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(thread_notes)
                .where(thread_notes.c.channel == channel, thread_notes.c.ts == ts)
                .values(status="added", note_id=note_id[:128], details=details)
            )

    def note_queued(self, channel: str, ts: str) -> None:
        """In the outbox: still claimed (one note whatever is retried), its words known to the story."""
        with self.engine.begin() as conn:
            conn.execute(
                update(thread_notes)
                .where(thread_notes.c.channel == channel, thread_notes.c.ts == ts)
                .values(status="queued")
            )

    def release_note(self, channel: str, ts: str) -> None:
        """The note could not be written: forget the claim, so trying again (the shortcut) can."""
        with self.engine.begin() as conn:
            conn.execute(delete(thread_notes).where(thread_notes.c.channel == channel, thread_notes.c.ts == ts))

    def slack_notes(self, ref: AlertRef) -> list[SlackNote]:
        """Notes written from Slack messages on this alert: what the story must not post back into a thread."""
        query = select(thread_notes).where(
            thread_notes.c.backend == ref.backend.value, thread_notes.c.alert_id == ref.id
        )
        with self.engine.connect() as conn:
            return [SlackNote(row.channel, row.ts, row.note_id, row.details) for row in conn.execute(query)]
