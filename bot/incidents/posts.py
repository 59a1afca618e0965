"""Messages the bot posted for an incident, so every one of them is re-rendered when the incident changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.store.db import Database
from bot.store.schema import incident_messages


@dataclass(frozen=True)
class IncidentPost:
    incident_id: str
    channel: str
    ts: str
    fingerprint: str | None = None
    stamp: str | None = None


class IncidentPostStore:
    def __init__(self, db: Database) -> None:
        self.engine = db.engine

    def record(self, incident_id: str, channel: str, ts: str, fingerprint: str | None, stamp: str | None) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(incident_messages).values(
                        incident_id=incident_id,
                        channel=channel,
                        ts=ts,
                        posted_at=datetime.now(UTC),
                        fingerprint=fingerprint,
                        stamp=stamp,
                    )
                )
        except IntegrityError:
            pass  # already tracked

    def posts_for(self, incident_id: str) -> list[IncidentPost]:
        query = select(incident_messages).where(incident_messages.c.incident_id == incident_id)
        with self.engine.connect() as conn:
            return [_post(row) for row in conn.execute(query.order_by(incident_messages.c.id))]

    def post_at(self, channel: str, ts: str) -> IncidentPost | None:
        query = select(incident_messages).where(incident_messages.c.channel == channel, incident_messages.c.ts == ts)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _post(row) if row else None

    def rendered(self, channel: str, ts: str, fingerprint: str, stamp: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(incident_messages)
                .where(incident_messages.c.channel == channel, incident_messages.c.ts == ts)
                .values(fingerprint=fingerprint, stamp=stamp)
            )

    def tracked_incidents(self) -> set[str]:
        with self.engine.connect() as conn:
            return {row.incident_id for row in conn.execute(select(incident_messages.c.incident_id).distinct())}


def _post(row: object) -> IncidentPost:
    return IncidentPost(row.incident_id, row.channel, row.ts, row.fingerprint, row.stamp)  # type: ignore[attr-defined]
