"""Tables, declared once with SQLAlchemy Core.

Uniqueness lives in the database, not in process memory, so it holds across replicas: an alert is posted to a
channel's feed once, a webhook delivery is handled once, a message is tracked once.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

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
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("backend", "alert_id", "channel", name="uq_feed_post"),
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
