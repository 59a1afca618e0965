"""Posting alert messages and keeping every posted copy in step with the alert's state."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from typing import Any

from bot.domain import Alert, AlertRef
from bot.render.alert_group import row_refs
from bot.render.alert_list import replace_alert_row
from bot.render.alert_message import Stamp, alert_message
from bot.render.ids import Block
from bot.services.ports import Messenger
from bot.store.alerts import AlertStore

log = logging.getLogger(__name__)


class LatestWins:
    """Coalesces sends per key: while one is in flight, later ones collapse into a single send of the newest.

    Several changes to one alert arriving together (a click, a webhook, a poll) then cost one or two
    ``chat.update`` calls instead of one each, and the last one sent is always the newest state.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy: set[Hashable] = set()
        self._pending: dict[Hashable, Any] = {}

    def send(self, key: Hashable, payload: Any, deliver: Callable[[Any], None]) -> None:
        with self._lock:
            if key in self._busy:
                self._pending[key] = payload
                return
            self._busy.add(key)
        while True:
            try:
                deliver(payload)
            except Exception:
                log.warning("could not update message %s", key, exc_info=True)
            with self._lock:
                if key not in self._pending:
                    self._busy.discard(key)
                    return
                payload = self._pending.pop(key)


class AlertMessages:
    def __init__(
        self, store: AlertStore, messenger: Messenger, *, backend_label: bool = False, can_declare: bool = True
    ) -> None:
        self.store = store
        self.messenger = messenger
        self.backend_label = backend_label
        self.can_declare = can_declare
        self._updates = LatestWins()
        # One re-render at a time per message with rows: each reads the blocks the last one stored.
        self._row_locks: dict[tuple[str, str], threading.Lock] = {}
        self._row_locks_guard = threading.Lock()
        # Told after every refresh, whether or not a message changed (a note changes no state): bot/threads.
        self.changed: list[Callable[[Alert], None]] = []
        # Told of each list posted in a channel (not digests): bot/threads tells its rows' stories in its thread.
        self.list_posted: list[Callable[[str, str], None]] = []

    def render(self, alert: Alert, stamp: Stamp | None = None) -> dict[str, Any]:
        return alert_message(alert, stamp=stamp, backend_label=self.backend_label, can_declare=self.can_declare)

    def post(self, channel: str, alert: Alert) -> str:
        """Post one alert and track the message so later changes re-render it."""
        ts = self.messenger.post(channel, self.render(alert))
        self.store.record_post(alert.ref, channel, ts, alert.status.value)
        return ts

    def post_rows(self, channel: str, message: dict[str, Any]) -> str:
        """Post a message that shows alerts as rows (a list in a channel) and track each row it has."""
        ts = self.messenger.post(channel, message)
        self.track_rows(channel, ts, message)
        for listener in self.list_posted:
            try:
                listener(channel, ts)
            except Exception:  # never undoes the post
                log.warning("could not note the list %s %s", channel, ts, exc_info=True)
        return ts

    def track_rows(self, channel: str, ts: str, message: dict[str, Any]) -> None:
        """Remember a posted message's rows (a list, a digest), so an action anywhere re-renders them in place.

        The rows are found by their block ids (``alert_actions:<backend>:<id>``), the same ids a click re-renders."""
        prefix = f"{Block.ALERT_ACTIONS}:"
        rows: dict[AlertRef, str | None] = {}
        for block in message.get("blocks") or ():
            block_id = str(block.get("block_id") or "")
            if block_id.startswith(prefix):
                try:
                    rows[AlertRef.decode(block_id.removeprefix(prefix))] = None
                except ValueError:
                    continue
        for ref in row_refs(message.get("blocks") or ()):  # compact rows (a feed's group message)
            rows[ref] = None
        if not rows:
            return
        try:
            self.store.record_rows(channel, ts, message, rows)
        except Exception:  # never undoes the post: the message only stops following later actions
            log.warning("could not track the rows of %s %s", channel, ts, exc_info=True)

    def extend_rows(
        self, channel: str, ts: str, build: Callable[[list[dict[str, Any]]], dict[str, Any] | None]
    ) -> bool:
        """Grow a tracked message with rows (a feed's group message as a storm goes on): ``build`` gets the blocks
        as last sent (rows re-rendered by actions included) and returns the new message, or None to leave it.

        Holds the message's row lock, so a click re-rendering one of its rows and the message growing never undo
        each other. Returns whether the message was updated."""
        with self._row_lock(channel, ts):
            stored = self.store.row_message(channel, ts)
            if stored is None:
                return False
            message = build(stored["blocks"])
            if message is None:
                return False
            self.messenger.update(channel, ts, message)
            self.store.extend_rows(channel, ts, message, row_refs(message["blocks"]))
            return True

    def _row_lock(self, channel: str, ts: str) -> threading.Lock:
        with self._row_locks_guard:
            return self._row_locks.setdefault((channel, ts), threading.Lock())

    def refresh(self, alert: Alert, stamp: Stamp | None = None, *, only_if_changed: bool = False) -> int:
        """Re-render every tracked message of this alert, and its row in every tracked list or digest; returns how
        many messages were sent for update."""
        return self.rerender(alert, stamp, only_if_changed=only_if_changed)[0]

    def rerender(
        self, alert: Alert, stamp: Stamp | None = None, *, only_if_changed: bool = False
    ) -> tuple[int, set[tuple[str, str]]]:
        """:meth:`refresh`, also saying where the alert is shown ((channel, ts) of every tracked message), so the
        action path knows whether the message clicked on is among them without reading the database again."""
        sent = 0
        places: set[tuple[str, str]] = set()
        message: dict[str, Any] | None = None  # rendered once, and only if some message shows the alert
        for post in self.store.posts_for(alert.ref):
            places.add((post.channel, post.ts))
            if only_if_changed and post.rendered_status == alert.status.value:
                continue
            if message is None:
                message = self.render(alert, stamp)

            def deliver(payload: dict[str, Any], channel: str = post.channel, ts: str = post.ts) -> None:
                self.messenger.update(channel, ts, payload)
                self.store.set_rendered_status(channel, ts, alert.status.value)

            self._updates.send((post.channel, post.ts), message, deliver)
            sent += 1
        for post in self.store.row_posts_for(alert.ref):
            places.add((post.channel, post.ts))
            if only_if_changed and post.rendered_status == alert.status.value:
                continue
            sent += self._rerender_row(post.channel, post.ts, alert, stamp)
        for listener in self.changed:
            listener(alert)
        return sent, places

    def replace(self, channel: str, ts: str, message: dict[str, Any]) -> None:
        """Update a message that shows the alert among others (a list posted in a channel): its row was re-rendered."""
        self._updates.send((channel, ts), message, lambda payload: self.messenger.update(channel, ts, payload))

    def _rerender_row(self, channel: str, ts: str, alert: Alert, stamp: Stamp | None) -> int:
        with self._row_lock(channel, ts):
            stored = self.store.row_message(channel, ts)
            if stored is None:
                return 0
            blocks = replace_alert_row(
                stored["blocks"], alert, stamp=stamp, backend_label=self.backend_label, can_declare=self.can_declare
            )
            if blocks is None or blocks == stored["blocks"]:
                return 0
            message = {"text": stored["text"], "blocks": blocks}
            try:
                self.messenger.update(channel, ts, message)
            except Exception:
                log.warning("could not update the row of %s in %s %s", alert.label, channel, ts, exc_info=True)
                return 0
            self.store.save_row(channel, ts, message, alert.ref, alert.status.value)
            return 1
