"""Versioned schema: numbered migrations, applied in order at start, recorded in ``schema_migrations``.

A small, documented stand-in for Alembic (no extra dependency, no scripts directory to ship):

* Each :class:`Migration` has a version, a description and a function of a connection. Its tables are *frozen
  copies* of what ``schema.py`` declared when it was written, so a later change to ``schema.py`` never changes
  what an old migration does. ``tests/test_migrations.py`` checks that applying every migration to an empty
  database gives exactly the tables, columns, keys and indexes declared in ``schema.py``.
* To change the schema: edit ``schema.py`` and append a migration (``CREATE TABLE``, ``ALTER TABLE … ADD COLUMN``,
  a data fix). Never edit a migration that has been released.
* Tables are created with ``IF NOT EXISTS``, so databases made before versioning existed (by
  ``metadata.create_all``) are adopted: migration 1 finds their tables in place and creates only what is missing,
  and every subscription and posted message is kept.
* On PostgreSQL the migrations run in one transaction holding an advisory lock, so replicas that start together
  wait for each other and each change is applied once; DDL is transactional there, so a failed upgrade leaves the
  old schema. SQLite (one process) needs no lock: every step is idempotent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.schema import CreateIndex, CreateTable

from bot.store.schema import metadata as declared

log = logging.getLogger(__name__)

_ADVISORY_LOCK = 0x726F6F746C79  # "rootly": one lock id for every replica of the bot

_book = MetaData()
schema_migrations = Table(
    "schema_migrations",
    _book,
    Column("version", Integer, primary_key=True),
    Column("description", String(200), nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


def _create(conn: Connection, *tables: Table) -> None:
    for table in tables:
        conn.execute(CreateTable(table, if_not_exists=True))
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            conn.execute(CreateIndex(index, if_not_exists=True))


# --- 1: the tables that existed before versioning (frozen) --------------------------------------------------------
_v1 = MetaData()
Table(
    "posted_messages",
    _v1,
    Column("id", Integer, primary_key=True),
    Column("backend", String(16), nullable=False),
    Column("alert_id", String(64), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("ts", String(32), nullable=False),
    Column("posted_at", DateTime(timezone=True), nullable=False),
    Column("rendered_status", String(32)),
    UniqueConstraint("channel", "ts", name="uq_posted_message"),
    Index("ix_posted_alert", "backend", "alert_id"),
)
Table(
    "feed_subscriptions",
    _v1,
    Column("id", Integer, primary_key=True),
    Column("channel", String(32), nullable=False, unique=True),
    Column("filters", Text, nullable=False),
    Column("created_by", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Table(
    "feed_posts",
    _v1,
    Column("id", Integer, primary_key=True),
    Column("backend", String(16), nullable=False),
    Column("alert_id", String(64), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("backend", "alert_id", "channel", name="uq_feed_post"),
)
Table(
    "webhook_events",
    _v1,
    Column("event_id", String(128), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
)
Table(
    "bot_state",
    _v1,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Table(
    "claims",
    _v1,
    Column("key", String(200), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)


def _baseline(conn: Connection) -> None:
    _create(conn, *_v1.sorted_tables)


# --- 2: scheduled digests (frozen) --------------------------------------------------------------------------------
_v2 = MetaData()
Table(
    "digest_subscriptions",
    _v2,
    Column("id", Integer, primary_key=True),
    Column("channel", String(32), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("spec", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("filters", Text, nullable=False),
    Column("empty", String(8), nullable=False),
    Column("anchor", DateTime(timezone=True)),
    Column("created_by", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Table(
    "digest_runs",
    _v2,
    Column("id", Integer, primary_key=True),
    Column("subscription_id", Integer, ForeignKey("digest_subscriptions.id", ondelete="CASCADE"), nullable=False),
    Column("slot_key", String(40), nullable=False),
    Column("slot_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),
    Column("owner", String(200), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("ts", String(32)),
    Column("detail", Text),
    UniqueConstraint("subscription_id", "slot_key", name="uq_digest_slot"),
    Index("ix_digest_runs_status", "status", "expires_at"),
)


def _digests(conn: Connection) -> None:
    _create(conn, *_v2.sorted_tables)


# --- 3: incident declarations (frozen) ------------------------------------------------------------------------------
_v3 = MetaData()
Table(
    "declarations",
    _v3,
    Column("source_key", String(200), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("token", String(64), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("owner", String(64), nullable=False),
    Column("view_id", String(64)),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    Column("incident_id", String(64)),
    Column("incident_number", Integer),
    Column("incident_title", Text),
    Column("incident_url", Text),
    Column("severity", String(200)),
    Column("slack_channel_id", String(32)),
    Column("slack_channel_url", Text),
    Column("declared_at", DateTime(timezone=True)),
)


def _declarations(conn: Connection) -> None:
    _create(conn, *_v3.sorted_tables)


# --- 4: the outbox (frozen) ------------------------------------------------------------------------------------------
_v4 = MetaData()
Table(
    "outbox",
    _v4,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("target", String(200), nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("check_first", Boolean, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("lease_until", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Index("ix_outbox_due", "status", "next_attempt_at"),
)


def _outbox(conn: Connection) -> None:
    _create(conn, *_v4.sorted_tables)


# --- 5: on-call follows and their shift-change claims (frozen) -------------------------------------------------------
_v5 = MetaData()
Table(
    "oncall_follows",
    _v5,
    Column("id", Integer, primary_key=True),
    Column("channel", String(32), nullable=False),
    Column("target_key", String(200), nullable=False),
    Column("target_name", String(200), nullable=False),
    Column("mention", Boolean, nullable=False),
    Column("state", Text),
    Column("created_by", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("channel", "target_key", name="uq_oncall_follow"),
)
Table(
    "oncall_changes",
    _v5,
    Column("id", Integer, primary_key=True),
    Column("follow_id", Integer, ForeignKey("oncall_follows.id", ondelete="CASCADE"), nullable=False),
    Column("change_key", String(200), nullable=False),
    Column("owner", String(200), nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("follow_id", "change_key", name="uq_oncall_change"),
)


def _oncall(conn: Connection) -> None:
    _create(conn, *_v5.sorted_tables)


# --- 6: live incident messages (frozen) -------------------------------------------------------------------------------
_v6 = MetaData()
Table(
    "incident_messages",
    _v6,
    Column("id", Integer, primary_key=True),
    Column("incident_id", String(64), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("ts", String(32), nullable=False),
    Column("posted_at", DateTime(timezone=True), nullable=False),
    Column("fingerprint", String(64)),
    Column("stamp", Text),
    UniqueConstraint("channel", "ts", name="uq_incident_message"),
    Index("ix_incident_messages_incident", "incident_id"),
)


def _incident_messages(conn: Connection) -> None:
    _create(conn, *_v6.sorted_tables)


# --- 7: alert threads (frozen) ----------------------------------------------------------------------------------------
_v7 = MetaData()
Table(
    "thread_channels",
    _v7,
    Column("channel", String(32), primary_key=True),
    Column("enabled_by", String(32), nullable=False),
    Column("enabled_at", DateTime(timezone=True), nullable=False),
)
Table(
    "thread_events",
    _v7,
    Column("id", Integer, primary_key=True),
    Column("channel", String(32), nullable=False),
    Column("thread_ts", String(32), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("posted_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("channel", "thread_ts", "event_id", name="uq_thread_event"),
)
Table(
    "thread_notes",
    _v7,
    Column("id", Integer, primary_key=True),
    Column("channel", String(32), nullable=False),
    Column("ts", String(32), nullable=False),
    Column("backend", String(16), nullable=False),
    Column("alert_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("note_id", String(128)),
    Column("details", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("channel", "ts", name="uq_thread_note"),
    Index("ix_thread_notes_alert", "backend", "alert_id"),
)


def _threads(conn: Connection) -> None:
    _create(conn, *_v7.sorted_tables)


# --- 8: alert rows in lists and digests (frozen) ---------------------------------------------------------------------
_v8 = MetaData()
Table(
    "row_messages",
    _v8,
    Column("channel", String(32), primary_key=True),
    Column("ts", String(32), primary_key=True),
    Column("text", Text, nullable=False),
    Column("blocks", Text, nullable=False),
    Column("posted_at", DateTime(timezone=True), nullable=False),
)
Table(
    "row_posts",
    _v8,
    Column("id", Integer, primary_key=True),
    Column("backend", String(16), nullable=False),
    Column("alert_id", String(64), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("ts", String(32), nullable=False),
    Column("rendered_status", String(32)),
    UniqueConstraint("channel", "ts", "backend", "alert_id", name="uq_row_post"),
    Index("ix_row_posts_alert", "backend", "alert_id"),
)


def _rows(conn: Connection) -> None:
    _create(conn, *_v8.sorted_tables)


# --- 9: alert threads on lists posted in a channel (frozen) -----------------------------------------------------------
_v9 = MetaData()
Table(
    "thread_lists",
    _v9,
    Column("channel", String(32), primary_key=True),
    Column("ts", String(32), primary_key=True),
    Column("posted_at", DateTime(timezone=True), nullable=False),
)


def _thread_lists(conn: Connection) -> None:
    _create(conn, *_v9.sorted_tables)


# --- 10: the outbox's per-alert order by index (frozen) ------------------------------------------------------------
# Leasing checks that no older item of the same alert is waiting; without this index that check scanned the backlog
# for every candidate, and a 3,000-item backlog drained at a tenth of Rootly's rate (bench/outbox_drain.py).
def _outbox_target(conn: Connection) -> None:
    table = Table("outbox", MetaData(), Column("target", String(200)), Column("id", Integer))
    conn.execute(CreateIndex(Index("ix_outbox_target", table.c.target, table.c.id), if_not_exists=True))


# --- 11: feed claims know their owner and whether their alert was shown, so a dead replica's are taken over ------
def _feed_claim_owners(conn: Connection) -> None:
    present = {c["name"] for c in inspect(conn).get_columns("feed_posts")}
    timestamp = DateTime(timezone=True).compile(dialect=conn.dialect)
    if "owner" not in present:
        conn.execute(text(f"ALTER TABLE feed_posts ADD COLUMN owner {String(80).compile(dialect=conn.dialect)}"))
    if "posted_at" not in present:
        conn.execute(text(f"ALTER TABLE feed_posts ADD COLUMN posted_at {timestamp}"))
        # Claims made before this version were posted (or given back) by the replica that took them.
        conn.execute(text("UPDATE feed_posts SET posted_at = claimed_at"))
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_feed_posts_unposted ON feed_posts (posted_at, claimed_at)"))


def _oncall_change_leases(conn: Connection) -> None:
    present = {c["name"] for c in inspect(conn).get_columns("oncall_changes")}
    if "message" not in present:
        conn.execute(text(f"ALTER TABLE oncall_changes ADD COLUMN message {Text().compile(dialect=conn.dialect)}"))
    if "posted_at" not in present:
        timestamp = DateTime(timezone=True).compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE oncall_changes ADD COLUMN posted_at {timestamp}"))
        # Claims made before this version were posted (or lost) by the replica that took them: never retaken.
        conn.execute(text("UPDATE oncall_changes SET posted_at = claimed_at"))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1, "baseline: posted_messages, feed_subscriptions, feed_posts, webhook_events, bot_state, claims", _baseline
    ),
    Migration(2, "scheduled digests: digest_subscriptions, digest_runs", _digests),
    Migration(3, "incident declarations", _declarations),
    Migration(4, "outbox: actions waiting for Rootly or ilert", _outbox),
    Migration(5, "on call: followed schedules and policies, shift-change claims", _oncall),
    Migration(6, "live incident messages: incident_messages", _incident_messages),
    Migration(7, "alert threads: thread_channels, thread_events, thread_notes", _threads),
    Migration(8, "alert rows in lists and digests: row_messages, row_posts", _rows),
    Migration(9, "alert threads on lists posted in a channel: thread_lists", _thread_lists),
    Migration(10, "outbox: index by alert, for per-alert order", _outbox_target),
    Migration(11, "feed claims: owner and posted_at, so a dead replica's queued alerts are posted", _feed_claim_owners),
    Migration(
        12, "shift changes: posted_at and message, so a dead replica's claimed change is posted", _oncall_change_leases
    ),
)

LATEST = MIGRATIONS[-1].version


def applied_versions(conn: Connection) -> set[int]:
    if not inspect(conn).has_table(schema_migrations.name):
        return set()
    return {row.version for row in conn.execute(select(schema_migrations.c.version))}


def migrate(engine: Engine, *, target: int | None = None) -> list[int]:
    """Apply every pending migration up to ``target`` (default: all); returns the versions applied now."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})
        _create(conn, schema_migrations)
        done = applied_versions(conn)
        applied: list[int] = []
        for migration in MIGRATIONS:
            if migration.version in done or (target is not None and migration.version > target):
                continue
            log.info("schema: applying migration %d (%s)", migration.version, migration.description)
            migration.apply(conn)
            conn.execute(
                insert(schema_migrations).values(
                    version=migration.version, description=migration.description[:200], applied_at=datetime.now(UTC)
                )
            )
            applied.append(migration.version)
        if target is None:
            _undeclared_tables(conn)
    return applied


def _undeclared_tables(conn: Connection) -> None:
    """Tables declared in schema.py that no migration creates yet: created so the bot works, and logged, because
    the next release needs a migration for them (tests/test_migrations.py fails until it has one)."""
    present = set(inspect(conn).get_table_names())
    missing = [t for t in declared.sorted_tables if t.name not in present]
    for table in missing:
        log.warning("schema: table %s has no migration yet; created from schema.py", table.name)
    _create(conn, *missing)
