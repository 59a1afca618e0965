"""Feeds: a channel gets a message for each new alert matching its filters, once, from webhook or poll."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

from bot.backends import AlertBackend, Backends
from bot.backends.rootly_api import RootlyApi
from bot.domain import Alert, AlertFilters, Backend, FeedSubscription, SubscriptionLine
from bot.render.text import escape_bounded
from bot.services.alert_messages import AlertMessages
from bot.services.feed_delivery import FeedDelivery
from bot.store.alerts import AlertStore
from bot.support import errors

log = logging.getLogger(__name__)

CURSOR_KEY = "rootly.alert_events.cursor"
SINCE_KEY = "rootly.alert_events.since"
# Actions in Rootly's event feed that change what an alert message shows.
STATE_ACTIONS = frozenset(
    {"acknowledged", "resolved", "escalated", "snoozed", "triggered", "retriggered", "open", "updated", "marked",
     "not_marked", "deferred", "attached"}
)  # fmt: skip


class Feeds:
    def __init__(
        self, store: AlertStore, backends: Backends, messages: AlertMessages, delivery: FeedDelivery | None = None
    ) -> None:
        self.store = store
        self.backends = backends
        self.messages = messages
        # Posts at Slack's pace, grouping storms (bot/services/feed_delivery.py); a failed post gives its claim back.
        self.delivery = delivery or FeedDelivery(messages, threshold=5, window=10.0, failed=store.release_feed_post)

    def subscribe(self, channel: str, filters: AlertFilters, user_id: str) -> FeedSubscription:
        return self.store.subscribe_feed(channel, filters, user_id)

    def unsubscribe(self, channel: str) -> bool:
        return self.store.unsubscribe_feed(channel)

    def subscriptions(self) -> list[FeedSubscription]:
        return self.store.feeds()

    def subscription_lines(self) -> list[SubscriptionLine]:
        """The feeds as the App Home lists them."""
        return [
            SubscriptionLine(f.channel, f.created_by, "Feed", escape_bounded(f.filters.describe(), 300))
            for f in self.store.feeds()
        ]

    def deliver_new(self, alert: Alert) -> list[str]:
        """Queue the alert for every matching feed channel that has not had it yet; returns those channels.

        The (alert, channel) claim is taken here, so one replica and one source queue it; the channel's poster posts
        it (alone, or in a group message during a storm) at Slack's pace, off the caller's thread."""
        queued: list[str] = []
        for feed in self.store.feeds():
            if not feed.filters.matches(alert):
                continue
            if not self.store.claim_feed_post(alert.ref, feed.channel):
                continue  # another source or replica has it
            self.delivery.enqueue(feed.channel, alert)
            queued.append(feed.channel)
        return queued

    def alert_changed(self, alert: Alert) -> int:
        self.delivery.changed(alert)  # still queued: post its newest state
        return self.messages.refresh(alert, only_if_changed=True)

    def on_webhook(self, event_type: str, alert_id: str) -> None:
        """A Rootly webhook named an alert: read its current state, then post or re-render."""
        backend = self.backends.get(Backend.ROOTLY)
        try:
            alert = backend.get_alert(alert_id)
        except (errors.NotFound, errors.Invalid):
            log.info("a webhook named alert %r, which Rootly does not know: nothing to post", alert_id[:100])
            return
        except errors.BackendError as exc:  # Rootly down or refusing: the poll (or the next delivery) catches up
            log.warning("could not read alert %r after its webhook: %s", alert_id[:100], exc)
            return
        if event_type == "alert.created":
            self.deliver_new(alert)
        self.alert_changed(alert)


class RootlyPoller:
    """Reads Rootly's alert event feed from a cursor kept in the database, so restarts neither repeat nor skip.

    Works where webhooks cannot (Socket Mode has no public URL). Each poll reads each changed alert once, however
    many events it had, and re-renders its messages once.
    """

    def __init__(self, client: RootlyApi, feeds: Feeds, store: AlertStore, *, max_pages: int = 20) -> None:
        self.client = client
        self.feeds = feeds
        self.store = store
        self.max_pages = max_pages

    def poll_once(self) -> tuple[int, int]:
        """Returns (alerts posted to feeds, alerts re-rendered)."""
        cursor = self.store.get_state(CURSOR_KEY)
        since = self._since()
        created: dict[str, None] = {}
        changed: dict[str, None] = {}
        for _ in range(self.max_pages):
            page = self.client.alert_event_feed(cursor, since=since)
            for event in page.events:
                if event.action == "created" and event.kind != "note":  # a note's event is "created" too
                    created[event.alert_id] = None
                elif event.action in STATE_ACTIONS or event.kind in ("status_update", "noise", "note"):
                    # notes change no state, but alert threads tell them (bot/threads)
                    changed[event.alert_id] = None
            if page.cursor and page.cursor != cursor:
                cursor = page.cursor
                self.store.set_state(CURSOR_KEY, cursor)
            if not page.events or not page.cursor:
                break
        posted = rerendered = 0
        for alert_id in list(created) + [a for a in changed if a not in created]:
            try:
                alert = self.client.get_alert(alert_id)
            except errors.NotFound:
                continue
            if alert_id in created:
                posted += len(self.feeds.deliver_new(alert))
            rerendered += self.feeds.alert_changed(alert)
        return posted, rerendered

    def _since(self) -> datetime:
        """Where to start without a cursor: the first poll ever starts now, not at the beginning of time."""
        saved = self.store.get_state(SINCE_KEY)
        if saved:
            return datetime.fromisoformat(saved)
        start = datetime.now(UTC) - timedelta(seconds=5)
        self.store.set_state(SINCE_KEY, start.isoformat())
        return start


ILERT_SEEN_KEY = "ilert.open_alerts.seen"


class IlertPoller:
    """ilert has no event feed: each poll lists the open alerts and compares them with the last poll's.

    New ids are posted to feeds; tracked alerts whose state changed (or that are no longer open) are re-rendered.
    The ids seen are kept in the database, so a restart does not repost. The first poll only learns what is open.
    """

    def __init__(self, backend: AlertBackend, feeds: Feeds, store: AlertStore, *, max_open: int = 500) -> None:
        self.backend = backend
        self.feeds = feeds
        self.store = store
        self.max_open = max_open

    def poll_once(self) -> tuple[int, int]:
        """Returns (alerts posted to feeds, alerts re-rendered)."""
        page = self.backend.list_open_alerts(AlertFilters(statuses=("open",)), limit=self.max_open)
        open_now = {a.ref.id: a for a in page.alerts}
        saved = self.store.get_state(ILERT_SEEN_KEY)
        seen = set(json.loads(saved)) if saved else None
        self.store.set_state(ILERT_SEEN_KEY, json.dumps(sorted(open_now)))
        posted = rerendered = 0
        if seen is not None:
            for alert_id, alert in open_now.items():
                if alert_id not in seen:
                    posted += len(self.feeds.deliver_new(alert))
        for alert in open_now.values():
            rerendered += self.feeds.alert_changed(alert)
        # Tracked alerts that left the open list were resolved (or deleted): read each once to show it.
        for alert_id in self.store.tracked_refs(Backend.ILERT) - set(open_now):
            try:
                alert = self.backend.get_alert(alert_id)
            except errors.NotFound:
                continue
            rerendered += self.feeds.alert_changed(alert)
        return posted, rerendered
