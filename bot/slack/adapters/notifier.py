"""Telling a person, later, how a queued action went: through the response URL while it is still valid (Slack
keeps it for 30 minutes), else as an ephemeral message in the channel where they asked, else as a DM.

DMs are posts (``chat.postMessage``), which Slack lets the bot make about once a second per channel, and a DM is a
channel. After an outage one person's backlog can land dozens of actions a second: rather than holding the outbox's
deliverers in the channel's pace (which would slow the backlog to Slack's pace, not Rootly's), outcomes that cannot
be posted at once wait here and a sender thread posts each person's waiting outcomes together, in one message
(:func:`bot.render.replies.outbox_outcomes`), whenever their DM can take a post.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot.domain.results import ActionResult
from bot.render import replies
from bot.support.channel_pacing import ChannelPace
from bot.support.timestamps import parse_time

log = logging.getLogger(__name__)

RESPONSE_URL_LIFETIME = timedelta(minutes=29)


class OutboxNotifier:
    def __init__(self, client: WebClient) -> None:
        self.client = client
        self.pace: ChannelPace | None = getattr(client, "pace", None)
        self._cond = threading.Condition()
        self._waiting: dict[str, list[dict[str, Any]]] = {}  # Slack user id → outcomes waiting for their DM's turn
        self._sender: threading.Thread | None = None
        self._closed = False

    def __call__(self, payload: dict[str, Any], result: ActionResult | None, error: str | None) -> None:
        self.deliver(payload, replies.outbox_outcome(payload, result, error))

    def deliver(self, payload: dict[str, Any], message: dict[str, Any]) -> None:
        """Tell the person who queued ``payload`` (response URL, else ephemeral, else DM)."""
        user, channel, url = payload.get("slack_user_id"), payload.get("channel"), payload.get("response_url")
        queued_at = parse_time(payload.get("queued_at"))
        if url and queued_at and datetime.now(UTC) - queued_at < RESPONSE_URL_LIFETIME:
            try:
                resp = WebhookClient(url, timeout=10).send(
                    text=message["text"],
                    blocks=message.get("blocks"),
                    response_type="ephemeral",
                    replace_original=False,
                )
                if resp.status_code == 200:
                    return
            except Exception:
                log.info("response URL no longer usable; trying an ephemeral message", exc_info=True)
        if user and channel:
            try:
                self.client.chat_postEphemeral(channel=channel, user=user, **message)
                return
            except Exception:
                log.info("no ephemeral message to %s in %s; sending a DM", user, channel, exc_info=True)
        if user:  # the bot left the channel, or it was a modal with no channel: a DM always reaches the person
            self._direct(user, message)
            return
        log.warning("outbox outcome for %s not delivered to the person: %s", user, message["text"][:200])

    def _direct(self, user: str, message: dict[str, Any]) -> None:
        """Post the DM now if the person's DM can take a post now and nothing is waiting for it; else leave it for
        the sender, which joins it to whatever else waits for the same person."""
        with self._cond:
            ready = user not in self._waiting and (self.pace is None or self.pace.delay(user) == 0)
            if not ready and not self._closed:
                self._waiting.setdefault(user, []).append(message)
                if self._sender is None:
                    self._sender = threading.Thread(target=self._send_waiting, name="outbox-dm", daemon=True)
                    self._sender.start()
                self._cond.notify_all()
                return
        self._post(user, message)

    def _send_waiting(self) -> None:
        pace = self.pace
        assert pace is not None  # nothing waits without a pace
        while True:
            with self._cond:
                while not self._waiting and not self._closed:
                    self._cond.wait()
                if not self._waiting:
                    return
                user, wait = min(((u, pace.delay(u)) for u in self._waiting), key=lambda found: found[1])
                if wait > 0 and not self._closed:
                    self._cond.wait(wait)
                    continue
                waiting = self._waiting.pop(user)
                taken = replies.outbox_outcomes_fitting(waiting)
                if waiting[taken:]:
                    self._waiting[user] = waiting[taken:]
            self._post(user, replies.outbox_outcomes(waiting[:taken]))

    def _post(self, user: str, message: dict[str, Any]) -> None:
        try:
            self.client.chat_postMessage(channel=user, **message)
        except Exception:
            log.warning("could not tell %s about a queued action", user, exc_info=True)

    def close(self, grace: float = 5.0) -> None:
        """Post what waits (each person's outcomes in one message, without waiting for the pace) for up to
        ``grace`` seconds; log what is left."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            sender = self._sender
        if sender is not None:
            sender.join(grace)
        with self._cond:
            left = sum(len(messages) for messages in self._waiting.values())
            self._waiting.clear()
        if left:
            log.warning("%d outbox outcomes were not sent to the people who queued them before shutdown", left)
