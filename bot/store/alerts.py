"""Queries about alerts the bot has shown: posted messages, feed subscriptions and claims, webhook ids, cursors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.domain import AlertFilters, AlertRef, Backend, FeedSubscription
from bot.store.db import Database
from bot.store.schema import (
    bot_state,
    claims,
    feed_subscriptions,
    posted_messages,
    row_messages,
    row_posts,
    webhook_events,
)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PostedMessage:
    ref: AlertRef
    channel: str
    ts: str
    rendered_status: str | None = None


def filters_to_json(filters: AlertFilters) -> str:
    return json.dumps(
        {
            "statuses": list(filters.statuses),
            "services": list(filters.services),
            "urgencies": list(filters.urgencies),
            "sources": list(filters.sources),
            "labels": list(filters.labels),
        }
    )


def filters_from_json(text: str) -> AlertFilters:
    raw = json.loads(text or "{}")
    return AlertFilters(
        statuses=tuple(raw.get("statuses") or ()),
        services=tuple(raw.get("services") or ()),
        urgencies=tuple(raw.get("urgencies") or ()),
        sources=tuple(raw.get("sources") or ()),
        labels=tuple(raw.get("labels") or ()),
    )


class AlertStore:
    def __init__(self, db: Database) -> None:
        self.engine = db.engine

    # posted messages --------------------------------------------------------------------------------------------
    def record_post(self, ref: AlertRef, channel: str, ts: str, status: str | None = None) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(posted_messages).values(
                        backend=ref.backend.value,
                        alert_id=ref.id,
                        channel=channel,
                        ts=ts,
                        posted_at=_now(),
                        rendered_status=status,
                    )
                )
        except IntegrityError:
            pass  # already tracked

    def posts_for(self, ref: AlertRef) -> list[PostedMessage]:
        query = select(posted_messages.c.channel, posted_messages.c.ts, posted_messages.c.rendered_status).where(
            posted_messages.c.backend == ref.backend.value, posted_messages.c.alert_id == ref.id
        )
        with self.engine.connect() as conn:
            return [PostedMessage(ref, row.channel, row.ts, row.rendered_status) for row in conn.execute(query)]

    def set_rendered_status(self, channel: str, ts: str, status: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(posted_messages)
                .where(posted_messages.c.channel == channel, posted_messages.c.ts == ts)
                .values(rendered_status=status)
            )

    def tracked_refs(self, backend: Backend) -> set[str]:
        query = select(posted_messages.c.alert_id).where(posted_messages.c.backend == backend.value).distinct()
        with self.engine.connect() as conn:
            return {row.alert_id for row in conn.execute(query)}

    # messages showing alerts as rows (lists posted in a channel, digests) ------------------------------------------
    def record_rows(self, channel: str, ts: str, message: dict[str, Any], rows: dict[AlertRef, str | None]) -> None:
        """The message as sent, and each alert it has a row for (with the status the row shows)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(row_messages).values(
                        channel=channel,
                        ts=ts,
                        text=str(message.get("text") or ""),
                        blocks=json.dumps(message.get("blocks") or []),
                        posted_at=_now(),
                    )
                )
                for ref, status in rows.items():
                    conn.execute(
                        insert(row_posts).values(
                            backend=ref.backend.value, alert_id=ref.id, channel=channel, ts=ts, rendered_status=status
                        )
                    )
        except IntegrityError:
            pass  # already tracked

    def row_posts_for(self, ref: AlertRef) -> list[PostedMessage]:
        query = select(row_posts.c.channel, row_posts.c.ts, row_posts.c.rendered_status).where(
            row_posts.c.backend == ref.backend.value, row_posts.c.alert_id == ref.id
        )
        with self.engine.connect() as conn:
            return [PostedMessage(ref, row.channel, row.ts, row.rendered_status) for row in conn.execute(query)]

    def row_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        query = select(row_messages.c.text, row_messages.c.blocks).where(
            row_messages.c.channel == channel, row_messages.c.ts == ts
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return {"text": row.text, "blocks": json.loads(row.blocks)} if row else None

    def save_row(self, channel: str, ts: str, message: dict[str, Any], ref: AlertRef, status: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(row_messages)
                .where(row_messages.c.channel == channel, row_messages.c.ts == ts)
                .values(blocks=json.dumps(message.get("blocks") or []))
            )
            conn.execute(
                update(row_posts)
                .where(
                    row_posts.c.channel == channel,
                    row_posts.c.ts == ts,
                    row_posts.c.backend == ref.backend.value,
                    row_posts.c.alert_id == ref.id,
                )
                .values(rendered_status=status)
            )

    def extend_rows(self, channel: str, ts: str, message: dict[str, Any], refs: list[AlertRef]) -> None:
        """A tracked message grew (a feed's group message in a storm): its new blocks, and rows for new alerts."""
        with self.engine.begin() as conn:
            conn.execute(
                update(row_messages)
                .where(row_messages.c.channel == channel, row_messages.c.ts == ts)
                .values(text=str(message.get("text") or ""), blocks=json.dumps(message.get("blocks") or []))
            )
            known = {
                (row.backend, row.alert_id)
                for row in conn.execute(
                    select(row_posts.c.backend, row_posts.c.alert_id).where(
                        row_posts.c.channel == channel, row_posts.c.ts == ts
                    )
                )
            }
            for ref in refs:
                if (ref.backend.value, ref.id) not in known:
                    conn.execute(
                        insert(row_posts).values(backend=ref.backend.value, alert_id=ref.id, channel=channel, ts=ts)
                    )

    # feed subscriptions -----------------------------------------------------------------------------------------
    def subscribe_feed(self, channel: str, filters: AlertFilters, user_id: str) -> FeedSubscription:
        with self.engine.begin() as conn:
            conn.execute(delete(feed_subscriptions).where(feed_subscriptions.c.channel == channel))
            conn.execute(
                insert(feed_subscriptions).values(
                    channel=channel, filters=filters_to_json(filters), created_by=user_id, created_at=_now()
                )
            )
        found = self.feed_for(channel)
        assert found is not None
        return found

    def unsubscribe_feed(self, channel: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(feed_subscriptions).where(feed_subscriptions.c.channel == channel)).rowcount > 0

    def feed_for(self, channel: str) -> FeedSubscription | None:
        feeds = self._feeds(feed_subscriptions.c.channel == channel)
        return feeds[0] if feeds else None

    def feeds(self) -> list[FeedSubscription]:
        return self._feeds(None)

    def _feeds(self, where: object) -> list[FeedSubscription]:
        query = select(feed_subscriptions).order_by(feed_subscriptions.c.id)
        if where is not None:
            query = query.where(where)  # type: ignore[arg-type]
        with self.engine.connect() as conn:
            return [
                FeedSubscription(row.id, row.channel, filters_from_json(row.filters), row.created_by)
                for row in conn.execute(query)
            ]

    # webhook deliveries -----------------------------------------------------------------------------------------
    def first_delivery(self, event_id: str) -> bool:
        """True the first time an event id is seen, on any replica."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(webhook_events).values(event_id=event_id[:128], received_at=_now()))
            return True
        except IntegrityError:
            return False

    # named state ------------------------------------------------------------------------------------------------
    def get_state(self, name: str) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(bot_state.c.value).where(bot_state.c.name == name)).first()
        return row.value if row else None

    def set_state(self, name: str, value: str) -> None:
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(bot_state).where(bot_state.c.name == name).values(value=value, updated_at=_now())
            ).rowcount
            if not changed:
                try:
                    with conn.begin_nested():  # a savepoint: PostgreSQL aborts the whole transaction otherwise
                        conn.execute(insert(bot_state).values(name=name, value=value, updated_at=_now()))
                except IntegrityError:
                    conn.execute(
                        update(bot_state).where(bot_state.c.name == name).values(value=value, updated_at=_now())
                    )

    # claims -----------------------------------------------------------------------------------------------------
    def claim(self, key: str, owner: str, ttl: float) -> str | None:
        """Take ``key`` for ``ttl`` seconds. None when taken now; otherwise the current holder's ``owner``."""
        now = _now()
        expires = now + timedelta(seconds=ttl)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(claims).values(key=key, owner=owner, expires_at=expires))
            return None
        except IntegrityError:
            pass
        with self.engine.begin() as conn:
            # Take over an expired claim; the WHERE makes it atomic against another replica doing the same.
            taken = conn.execute(
                update(claims)
                .where(claims.c.key == key, claims.c.expires_at < now)
                .values(owner=owner, expires_at=expires)
            ).rowcount
            if taken:
                return None
            row = conn.execute(select(claims.c.owner).where(claims.c.key == key)).first()
        return row.owner if row else None
