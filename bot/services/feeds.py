"""Feeds: a channel gets a message for each new alert matching its filters, once, from webhook or poll."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime, timedelta

from bot.backends import AlertBackend, Backends
from bot.backends.rootly_api import RootlyApi
from bot.domain import Alert, AlertFilters, AlertRef, Backend, FeedSubscription, SubscriptionLine
from bot.render.text import escape_bounded
from bot.services.alert_messages import AlertMessages
from bot.services.feed_delivery import FeedDelivery
from bot.store.alerts import AlertStore
from bot.store.feed_claims import FeedClaims
from bot.support import errors
from bot.support.leases import LeaseKeeper

log = logging.getLogger(__name__)

MAX_UNCLAIMED = 10_000  # alerts kept in memory while the database cannot record their claims (a long outage)
CURSOR_KEY = "rootly.alert_events.cursor"
SINCE_KEY = "rootly.alert_events.since"
# Actions in Rootly's event feed that change what an alert message shows.
STATE_ACTIONS = frozenset(
    {"acknowledged", "resolved", "escalated", "snoozed", "triggered", "retriggered", "open", "updated", "marked",
     "not_marked", "deferred", "attached"}
)  # fmt: skip


class Feeds:
    """Nothing dropped: an alert claimed for a channel is shown there once, whichever replica claimed it.

    A claim is a lease while its alert waits in the channel's queue: the heartbeat (:meth:`keep_claims`) renews the
    claims of every queued alert every third of ``lease_seconds``. :meth:`recover` (a scheduled job, every half
    lease) takes over the claims a dead replica left unposted, reads each alert again and queues it; it also retries
    the claims the database was too busy to take (their alerts are kept in memory until then).
    """

    def __init__(
        self,
        store: AlertStore,
        backends: Backends,
        messages: AlertMessages,
        delivery: FeedDelivery | None = None,
        *,
        claims: FeedClaims | None = None,
        lease_seconds: float = 30.0,
    ) -> None:
        self.store = store
        self.backends = backends
        self.messages = messages
        self.claims = claims or FeedClaims(store.engine)
        self.lease_seconds = lease_seconds
        # Posts at Slack's pace, grouping storms (bot/services/feed_delivery.py); a failed post gives its claim back.
        self.delivery = delivery or FeedDelivery(
            messages,
            threshold=5,
            window=10.0,
            failed=self.claims.release,
            hold=self.claims.hold,
            posted=self.claims.posted,
            left=self.claims.hand_back,
        )
        self._unclaimed: dict[tuple[AlertRef, str], Alert] = {}  # the database was too busy to claim these
        self._unread: dict[str, None] = {}  # new Rootly alerts a webhook named while Rootly could not be read
        self._lock = threading.Lock()
        self.heartbeat: LeaseKeeper | None = None  # started by keep_claims()

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
            if self._claim(alert, feed.channel):
                queued.append(feed.channel)
        return queued

    def _claim(self, alert: Alert, channel: str) -> bool:
        try:
            mine = self.claims.claim(alert.ref, channel)
        except Exception:  # busy past its retries (SQLite in a storm) or down: keep the alert, try again soon
            log.warning(
                "could not claim %s for the feed in %s; the next feed recovery run tries again",
                alert.ref.encode(),
                channel,
                exc_info=True,
            )
            with self._lock:
                if len(self._unclaimed) < MAX_UNCLAIMED:
                    self._unclaimed[(alert.ref, channel)] = alert
                else:
                    log.error(
                        "dropping %s for %s: %d alerts already wait for a claim", alert.label, channel, MAX_UNCLAIMED
                    )
            return False
        if mine:
            self.delivery.enqueue(channel, alert)
        return mine  # False: another source or replica has it

    def keep_claims(self) -> LeaseKeeper:
        """The heartbeat renewing the claims of the alerts queued here, so no replica takes them over while they
        wait; stop it when the bot stops."""

        def renew(_until: datetime, _seconds: float) -> datetime:
            for channel, refs in self.delivery.queued().items():
                self.claims.hold(channel, refs)
            return datetime.now(UTC)

        self.heartbeat = LeaseKeeper(
            renew, datetime.now(UTC), self.lease_seconds, f"feed claims of {self.claims.owner}"
        )
        return self.heartbeat

    def recover(self) -> int:
        """Queue the alerts nobody is posting: claims the database was too busy to take, and claims left unposted by
        a replica that stopped renewing them (it died). Returns the alerts queued."""
        with self._lock:
            retry, self._unclaimed = self._unclaimed, {}
            unread, self._unread = list(self._unread), {}
        queued = sum(self._claim(alert, channel) for (_ref, channel), alert in retry.items())
        queued += self._read_again(unread)
        for stale in self.claims.stale(self.lease_seconds):
            if not self.claims.take_over(stale, self.lease_seconds):
                continue  # its owner renewed it, or another replica took it first
            ref, channel = stale.ref, stale.channel
            if any(p.channel == channel for p in [*self.store.posts_for(ref), *self.store.row_posts_for(ref)]):
                self.claims.posted(channel, [ref])  # shown just before its owner died
                continue
            try:
                alert = self.backends.get(ref.backend).get_alert(ref.id)
            except errors.NotFound:
                self.claims.release(ref, channel)  # the alert is gone: nothing to show
                continue
            except Exception:  # ours now, not queued, not renewed: taken over again after a lease
                log.warning("could not read %s to post it in %s; trying again later", ref.encode(), channel)
                continue
            log.info("posting %s in %s: its claim was left by %s", ref.encode(), channel, stale.owner)
            self.delivery.enqueue(channel, alert)
            queued += 1
        return queued

    def _read_again(self, alert_ids: list[str]) -> int:
        """New alerts a webhook named while Rootly could not be read; stops at the first failure, keeping the rest."""
        queued = 0
        for i, alert_id in enumerate(alert_ids):
            try:
                alert = self.backends.get(Backend.ROOTLY).get_alert(alert_id)
            except errors.NotFound:
                continue
            except Exception:
                log.warning("could not read %d new alerts yet; trying again on the next run", len(alert_ids) - i)
                with self._lock:
                    self._unread.update(dict.fromkeys(alert_ids[i:]))
                break
            queued += len(self.deliver_new(alert))
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
        except (errors.RateLimited, errors.Unavailable) as exc:
            if event_type != "alert.created":
                log.warning("could not read alert %r after its webhook: %s", alert_id[:100], exc)
                return  # a change: the poll (or the next delivery) catches up
            # The webhook was answered already: keep the new alert for the next recovery run rather than lose it.
            log.warning("could not read new alert %s (%s); the next feed recovery run reads it again", alert_id, exc)
            with self._lock:
                if len(self._unread) < MAX_UNCLAIMED:
                    self._unread[alert_id] = None
            return
        except errors.BackendError as exc:  # Rootly refusing: the poll (or the next delivery) catches up
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
