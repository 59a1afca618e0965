"""Raising alerts by hand from Slack, on Rootly or ilert, with a key that makes a repeat the same alert."""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace

from bot.backends import Backends
from bot.domain import Backend, Triggered, TriggerRequest
from bot.services.alert_messages import AlertMessages
from bot.services.people import People

log = logging.getLogger(__name__)


class Triggers:
    def __init__(self, backends: Backends, people: People, messages: AlertMessages) -> None:
        self.backends = backends
        self.people = people
        self.messages = messages

    def default_backend(self) -> Backend:
        """Rootly when configured (the primary backend), else ilert."""
        kinds = [b.kind for b in self.backends]
        return Backend.ROOTLY if Backend.ROOTLY in kinds else kinds[0]

    @staticmethod
    def new_key() -> str:
        return f"slack-{uuid.uuid4().hex[:16]}"

    def trigger(
        self, request: TriggerRequest, backend: Backend | None, slack_user_id: str, channel: str, team: str | None
    ) -> tuple[Triggered, bool]:
        """Raise it; for Rootly also post the alert message (with its buttons) here. Returns (result, posted)."""
        target = self.backends.get(backend or self.default_backend())
        name = self.people.profile(slack_user_id).name
        link = f"https://slack.com/app_redirect?channel={channel}" + (f"&team={team}" if team else "")
        details = "\n\n".join(p for p in (request.details, f"Raised in Slack by {name}") if p)
        result = target.trigger(replace(request, details=details, links=((link, "Slack channel"), *request.links)))
        posted = False
        if result.alert is not None and channel:
            try:
                self.messages.post(channel, result.alert)
                posted = True
            except Exception:  # the alert exists either way; the reply says where to find it
                log.warning("raised %s but could not post it to %s", result.alert.label, channel, exc_info=True)
        return result, posted
