"""Tables, declared once with SQLAlchemy Core.

Uniqueness lives in the database, not in process memory, so it holds across replicas: an alert is posted to a
channel's feed once, a webhook delivery is handled once, a message is tracked once.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# Every bot message that shows one alert, so a state change re-renders all of them.
posted_messages = Table(
    "posted_messages",
    metadata,
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

# Messages that show alerts as rows among others (`/rootly alerts here`, digests): their blocks as last sent, so an
# action anywhere re-renders the alert's row in place; and which alerts have a row in which message.
row_messages = Table(
    "row_messages",
    metadata,
    Column("channel", String(32), primary_key=True),
    Column("ts", String(32), primary_key=True),
    Column("text", Text, nullable=False),
    Column("blocks", Text, nullable=False),  # JSON
    Column("posted_at", DateTime(timezone=True), nullable=False),
)
row_posts = Table(
    "row_posts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("backend", String(16), nullable=False),
    Column("alert_id", String(64), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("ts", String(32), nullable=False),
    Column("rendered_status", String(32)),
    UniqueConstraint("channel", "ts", "backend", "alert_id", name="uq_row_post"),
    Index("ix_row_posts_alert", "backend", "alert_id"),
)

# `/rootly feed on`: one subscription per channel, its filters as JSON.
feed_subscriptions = Table(
    "feed_subscriptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(32), nullable=False, unique=True),
    Column("filters", Text, nullable=False),
    Column("created_by", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Claimed before an alert is posted to a feed channel: webhook and poller, on any replica, post it once.
feed_posts = Table(
    "feed_posts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("backend", String(16), nullable=False),
    Column("alert_id", String(64), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=False),  # renewed by its owner while queued: a lease
    Column("owner", String(80)),  # the replica that queued it (bot/store/feed_claims.py)
    Column("posted_at", DateTime(timezone=True)),  # when it was shown; NULL while queued
    UniqueConstraint("backend", "alert_id", "channel", name="uq_feed_post"),
    Index("ix_feed_posts_unposted", "posted_at", "claimed_at"),
)

# Webhook deliveries already handled (Rootly redelivers on timeouts).
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("event_id", String(128), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

# Small named values that must survive restarts: the alert event feed's cursor.
bot_state = Table(
    "bot_state",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Short-lived claims on an action ("acknowledge alert X"), so a double click or a Slack retry, on any replica,
# does the work once. Expired claims are taken over.
claims = Table(
    "claims",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# Incident declarations, one row per source (a thread, an alert, a modal), claimed before POST /v1/incidents: a
# second declaration from the same source, on any replica, finds the first instead of creating another. ``token`` is
# the label set on the incident, so it can be found after an ambiguous failure; ``attempt`` versions take-overs.
declarations = Table(
    "declarations",
    metadata,
    Column("source_key", String(200), primary_key=True),
    Column("status", String(16), nullable=False),  # pending | declared | unconfirmed
    Column("token", String(64), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("owner", String(64), nullable=False),  # the Slack user declaring
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

# Every bot message that shows one incident (the live incident message, `/rootly incidents` lists posted in a
# channel), so any change re-renders all of them. ``fingerprint`` is what was last rendered (unchanged: no update);
# ``stamp`` the last "who did what" line, kept when a later change comes from Rootly rather than from Slack.
incident_messages = Table(
    "incident_messages",
    metadata,
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

# `/rootly digest …`: a channel's scheduled digests. ``spec`` is the schedule (HH:MM, seconds, or a cron expression)
# in ``timezone``; ``anchor`` starts an interval's slots; ``filters`` is JSON, as for feeds.
digest_subscriptions = Table(
    "digest_subscriptions",
    metadata,
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

# One row per (digest, slot), inserted before anything is posted: the unique key makes exactly one replica the
# poster. ``status``: claimed → posted | skipped | failed | lost; a claim past ``expires_at`` may be taken over.
digest_runs = Table(
    "digest_runs",
    metadata,
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

# Notes, acknowledgements and resolutions waiting for Rootly (or ilert) to be reachable; see bot/store/outbox.py.
outbox = Table(
    "outbox",
    metadata,
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
    # Per-alert order: "no older item of this alert still waiting" is an index seek, not a scan of the backlog.
    Index("ix_outbox_target", "target", "id"),
)

# `/rootly oncall follow`: a channel hears when who is on call for a schedule or escalation policy changes. ``state``
# is the last on-call state seen (JSON), so a restart or another replica neither repeats nor misses a change.
oncall_follows = Table(
    "oncall_follows",
    metadata,
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

# One row per shift change per follow, inserted before it is posted: the unique key makes one replica the poster.
oncall_changes = Table(
    "oncall_changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("follow_id", Integer, ForeignKey("oncall_follows.id", ondelete="CASCADE"), nullable=False),
    Column("change_key", String(200), nullable=False),
    Column("owner", String(200), nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=False),  # a lease until posted (bot/oncall/store.py)
    Column("posted_at", DateTime(timezone=True)),  # when the change was posted; NULL while claimed
    Column("message", Text),  # the message as rendered by the claimer (JSON), so a survivor can post it as is
    UniqueConstraint("follow_id", "change_key", name="uq_oncall_change"),
)

# Alert threads (bot/threads): channels where replies in an alert's thread become notes (`/rootly threads on`).
thread_channels = Table(
    "thread_channels",
    metadata,
    Column("channel", String(32), primary_key=True),
    Column("enabled_by", String(32), nullable=False),
    Column("enabled_at", DateTime(timezone=True), nullable=False),
)

# Each alert event told in a thread, inserted (under the thread's lease) before the reply is posted: the unique key
# makes an event appear in a thread once, across polls, restarts and replicas.
thread_events = Table(
    "thread_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(32), nullable=False),
    Column("thread_ts", String(32), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("posted_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("channel", "thread_ts", "event_id", name="uq_thread_event"),
)

# Slack messages made into notes (thread replies, the "Add to alert as note" shortcut): one row per message, claimed
# before the note is written, so a message is one note; the note's id and text keep it out of the thread's story.
thread_notes = Table(
    "thread_notes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(32), nullable=False),
    Column("ts", String(32), nullable=False),
    Column("backend", String(16), nullable=False),
    Column("alert_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # pending | added | queued (in the outbox)
    Column("note_id", String(128)),
    Column("details", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("channel", "ts", name="uq_thread_note"),
    Index("ix_thread_notes_alert", "backend", "alert_id"),
)

# Alert lists posted in a channel (`/rootly alerts here`) whose thread tells the story of every alert in a row of
# theirs, each reply headed by its alert (bot/threads). Digests are not in it: their rows re-render, their thread
# stays quiet.
thread_lists = Table(
    "thread_lists",
    metadata,
    Column("channel", String(32), primary_key=True),
    Column("ts", String(32), primary_key=True),
    Column("posted_at", DateTime(timezone=True), nullable=False),
)
