"""Telling a person, later, how a queued action went: through the response URL while it is still valid (Slack
keeps it for 30 minutes), else as an ephemeral message in the channel where they asked, else as a DM."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot.domain.results import ActionResult
from bot.render import replies
from bot.support.timestamps import parse_time

log = logging.getLogger(__name__)

RESPONSE_URL_LIFETIME = timedelta(minutes=29)


class OutboxNotifier:
    def __init__(self, client: WebClient) -> None:
        self.client = client

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
        if user:
            try:  # the bot left the channel, or it was a modal with no channel: a DM always reaches the person
                self.client.chat_postMessage(channel=user, **message)
                return
            except Exception:
                log.warning("could not tell %s about a queued action", user, exc_info=True)
        log.warning("outbox outcome for %s not delivered to the person: %s", user, message["text"][:200])
