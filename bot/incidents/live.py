"""Live incident messages: posted, tracked in the database, and re-rendered on every change, whoever made it.

A change from Slack (a button, a modal, a command) re-renders with who did what; a change made in Rootly (seen by
polling or a webhook) re-renders with the last such line kept. A message whose incident looks the same as when it
was last rendered is left alone, so polling costs Slack nothing while nothing changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.domain import CatalogItem, Incident
from bot.incidents import live_render
from bot.incidents.ports import Conversations, RootlyIncidentApi
from bot.incidents.posts import IncidentPostStore
from bot.support import errors

log = logging.getLogger(__name__)


class IncidentMessages:
    def __init__(
        self,
        store: IncidentPostStore,
        conversations: Conversations,
        severities: Callable[[], tuple[CatalogItem, ...]],
    ) -> None:
        self.store = store
        self.conversations = conversations
        self.severities = severities

    def message(self, incident: Incident, stamp: str | None = None) -> dict:  # type: ignore[type-arg]
        return live_render.incident_message(incident, self.severities(), stamp)

    def post(self, channel: str, incident: Incident, *, thread_ts: str | None = None, stamp: str | None = None) -> str:
        """Post the live message and track it; returns its ts (raises what Slack raises)."""
        ts = self.conversations.post(channel, self.message(incident, stamp), thread_ts=thread_ts)
        self.track(incident, channel, ts, stamp)
        return ts

    def track(self, incident: Incident, channel: str, ts: str, stamp: str | None) -> None:
        self.store.record(incident.id, channel, ts, live_render.fingerprint(incident), stamp)

    def is_tracked(self, channel: str | None, ts: str | None) -> bool:
        return bool(channel and ts and self.store.post_at(channel, ts) is not None)

    def refresh(self, incident: Incident, stamp: str | None = None) -> int:
        """Re-render every tracked message of the incident; returns how many were updated. Never raises for Slack:
        a message deleted or a channel the bot left must not undo an action that was taken."""
        updated = 0
        fingerprint = live_render.fingerprint(incident)
        for post in self.store.posts_for(incident.id):
            if stamp is None and post.fingerprint == fingerprint:
                continue
            keep = stamp or post.stamp
            try:
                self.conversations.update(post.channel, post.ts, self.message(incident, keep))
            except Exception as exc:
                log.info("could not re-render incident message %s/%s: %s", post.channel, post.ts, exc)
                continue
            self.store.rendered(post.channel, post.ts, fingerprint, keep)
            updated += 1
        return updated


class IncidentPoller:
    """Follows changes made in Rootly to incidents the bot shows: one list call per poll (``updated_at`` since the
    last one), then one read per changed, tracked incident."""

    def __init__(self, rootly: RootlyIncidentApi, messages: IncidentMessages) -> None:
        self.rootly = rootly
        self.messages = messages
        self.since = datetime.now(UTC)

    def poll_once(self) -> int:
        tracked = self.messages.store.tracked_incidents()
        if not tracked:
            self.since = datetime.now(UTC)
            return 0
        started = datetime.now(UTC)
        changed = self.rootly.list_incidents(updated_since=self.since - timedelta(seconds=5), limit=100)
        refreshed = 0
        for incident in changed:
            if incident.id in tracked:
                refreshed += self.follow(incident.id)
        self.since = started
        return refreshed

    def follow(self, incident_id: str) -> int:
        """Re-render one incident's messages from Rootly (a webhook delivery, or a poll that saw it change)."""
        if incident_id not in self.messages.store.tracked_incidents():
            return 0
        try:
            incident = self.rootly.get_incident(incident_id)
        except errors.BackendError as exc:
            log.info("could not read incident %s to re-render it: %s", incident_id, exc.message)
            return 0
        return self.messages.refresh(incident)
