"""Follow subscriptions and the shift-change claims that make exactly one replica post each change.

A change row is inserted before the message is posted; ``(follow_id, change_key)`` is unique, so whichever replica
inserts first posts it. The claim is a lease until ``posted_at`` is set: a claim left unposted for a lease length
belongs to a replica that died between claiming and posting (or whose post failed), and the next replica to see the
change takes it over with a conditional UPDATE (exactly one wins) and posts it. Until a change is posted, no replica
records the follow's new state, so the change keeps being found.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from bot.store.db import Database
from bot.store.reconnect import retry_busy
from bot.store.schema import oncall_changes, oncall_follows


@dataclass(frozen=True)
class FollowSubscription:
    id: int
    channel: str
    target_key: str
    target_name: str
    mention: bool
    state: str | None
    created_by: str


@dataclass(frozen=True)
class Abandoned:
    """An unposted shift change whose claim ran out, with the message its claimer rendered."""

    follow_id: int
    change_key: str
    channel: str
    message: str  # JSON of the chat.postMessage arguments


class Claim(Enum):
    """What a replica that found a change should do with it."""

    MINE = "mine"  # post it, then mark_posted
    POSTED = "posted"  # someone posted it: only record the new state
    HELD = "held"  # claimed by a replica within its lease (or unposted by us): leave the state, look again later


def _follow(row: Row) -> FollowSubscription:
    return FollowSubscription(
        row.id, row.channel, row.target_key, row.target_name, bool(row.mention), row.state, row.created_by
    )


class FollowStore:
    def __init__(self, db: Database) -> None:
        self.engine = db.engine

    def add(self, channel: str, target_key: str, target_name: str, mention: bool, state: str, by: str) -> bool:
        """True when new; an existing follow of the same target in the channel keeps its state, takes ``mention``."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(oncall_follows).values(
                        channel=channel,
                        target_key=target_key,
                        target_name=target_name[:200],
                        mention=mention,
                        state=state,
                        created_by=by,
                        created_at=datetime.now(UTC),
                    )
                )
            return True
        except IntegrityError:
            with self.engine.begin() as conn:
                conn.execute(
                    update(oncall_follows)
                    .where(oncall_follows.c.channel == channel, oncall_follows.c.target_key == target_key)
                    .values(mention=mention)
                )
            return False

    def remove(self, channel: str, target_key: str | None = None) -> list[FollowSubscription]:
        gone = [f for f in self.for_channel(channel) if target_key is None or f.target_key == target_key]
        if gone:
            with self.engine.begin() as conn:
                ids = [f.id for f in gone]
                conn.execute(delete(oncall_changes).where(oncall_changes.c.follow_id.in_(ids)))
                conn.execute(delete(oncall_follows).where(oncall_follows.c.id.in_(ids)))
        return gone

    def for_channel(self, channel: str) -> list[FollowSubscription]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(oncall_follows).where(oncall_follows.c.channel == channel).order_by(oncall_follows.c.id)
            )
            return [_follow(r) for r in rows]

    def all(self) -> list[FollowSubscription]:
        with self.engine.connect() as conn:
            return [_follow(r) for r in conn.execute(select(oncall_follows).order_by(oncall_follows.c.id))]

    def claim_change(
        self, follow_id: int, change_key: str, owner: str, lease_seconds: float, message: str | None = None
    ) -> Claim:
        """MINE for exactly one caller per (follow, change) at a time, on any replica; again for one caller once a
        claim has stayed unposted for ``lease_seconds``. ``message`` (the rendered post, JSON) is kept with the claim
        so that a survivor can post it without waiting for its own poll to find the change (:meth:`abandoned`)."""
        key = change_key[:200]
        now = datetime.now(UTC)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(oncall_changes).values(
                        follow_id=follow_id, change_key=key, owner=owner, claimed_at=now, message=message
                    )
                )
            return Claim.MINE
        except IntegrityError:
            pass
        this = (oncall_changes.c.follow_id == follow_id) & (oncall_changes.c.change_key == key)
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(oncall_changes)
                .where(
                    this,
                    oncall_changes.c.posted_at.is_(None),
                    oncall_changes.c.claimed_at < now - timedelta(seconds=lease_seconds),
                )
                .values(owner=owner, claimed_at=now)
            ).rowcount
            if taken == 1:
                return Claim.MINE
            posted_at = conn.execute(select(oncall_changes.c.posted_at).where(this)).scalar()
        return Claim.HELD if posted_at is None else Claim.POSTED

    def abandoned(self, lease_seconds: float, limit: int = 50) -> list[Abandoned]:
        """Unposted claims whose lease ran out and whose message was kept: a replica died (or its post failed)."""
        cutoff = datetime.now(UTC) - timedelta(seconds=lease_seconds)
        query = (
            select(oncall_changes.c.follow_id, oncall_changes.c.change_key, oncall_follows.c.channel)
            .join(oncall_follows, oncall_follows.c.id == oncall_changes.c.follow_id)
            .add_columns(oncall_changes.c.message)
            .where(
                oncall_changes.c.posted_at.is_(None),
                oncall_changes.c.claimed_at < cutoff,
                oncall_changes.c.message.is_not(None),
            )
            .order_by(oncall_changes.c.claimed_at)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [Abandoned(r.follow_id, r.change_key, r.channel, r.message) for r in conn.execute(query)]

    def take_over(self, follow_id: int, change_key: str, owner: str, lease_seconds: float) -> bool:
        """True for exactly one caller: the unposted claim's lease had run out and is now this owner's."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            return (
                conn.execute(
                    update(oncall_changes)
                    .where(
                        oncall_changes.c.follow_id == follow_id,
                        oncall_changes.c.change_key == change_key[:200],
                        oncall_changes.c.posted_at.is_(None),
                        oncall_changes.c.claimed_at < now - timedelta(seconds=lease_seconds),
                    )
                    .values(owner=owner, claimed_at=now)
                ).rowcount
                == 1
            )

    def mark_posted(self, follow_id: int, change_key: str) -> None:
        """The change is in the channel: its claim is done, never taken over."""
        statement = (
            update(oncall_changes)
            .where(
                oncall_changes.c.follow_id == follow_id,
                oncall_changes.c.change_key == change_key[:200],
                oncall_changes.c.posted_at.is_(None),
            )
            .values(posted_at=datetime.now(UTC))
        )

        def run() -> None:
            with self.engine.begin() as conn:
                conn.execute(statement)

        retry_busy(run, f"marking shift change {change_key[:60]!r} posted")

    def set_state(self, follow_id: int, state: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(oncall_follows).where(oncall_follows.c.id == follow_id).values(state=state))
