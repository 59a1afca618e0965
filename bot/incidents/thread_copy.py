"""Copy a Slack thread to an incident's timeline: one internal event a message, oldest first, as readable text.

Bounded (:data:`THREAD_COPY_MAX` messages, the oldest ones) so a runaway thread cannot flood Rootly or hold a
worker for long. Rate limits are waited out and the event repeated (a 429 was not applied); a write that may have
landed (timeout) is never repeated, so no line appears twice; after a few failures in a row the copy stops.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.backends.rootly_api import RootlyApi
from bot.incidents.ports import Conversations
from bot.incidents.thread_text import ThreadMessage, slack_to_text, timeline_entry
from bot.support import errors

log = logging.getLogger(__name__)

THREAD_COPY_MAX = 200  # messages copied from one thread, oldest first (the README documents it)
ENTRY_MAX = 10_000  # characters of one timeline event; Rootly documents no bound, so the bot keeps one
RATE_LIMIT_WAIT_MAX = 300.0  # seconds one copy may spend waiting on Rootly's rate limit in all
_OUTAGE_RETRIES = 2
_FAILURES_IN_A_ROW = 3


@dataclass(frozen=True)
class ThreadCopy:
    """How the copy went, for the reply in the thread."""

    copied: int = 0
    total: int = 0  # messages read (at most THREAD_COPY_MAX)
    more: bool = False  # the thread is longer than what was read
    failed: int = 0
    unreadable: str | None = None  # Slack's error when the bot could not read the thread at all


class ThreadCopier:
    def __init__(
        self,
        rootly: RootlyApi,
        conversations: Conversations,
        user_name: Callable[[str], str],
        *,
        limit: int = THREAD_COPY_MAX,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rootly = rootly
        self.conversations = conversations
        self.user_name = user_name
        self.limit = limit
        self.sleep = sleep

    def read(self, channel: str, thread_ts: str) -> tuple[list[ThreadMessage], bool]:
        """The thread, oldest first, within the bound; raises ``NotInChannel`` when Slack will not show it."""
        return self.conversations.thread(channel, thread_ts, self.limit)

    def entry(self, message: ThreadMessage) -> str:
        name = message.author or (self.user_name(message.user_id) if message.user_id else "Someone")
        text = slack_to_text(message.text, user_name=self.user_name, channel_name=self.conversations.channel_name)
        return timeline_entry(message, name, text, ENTRY_MAX)

    def copy(self, incident_id: str, messages: list[ThreadMessage], more: bool = False) -> ThreadCopy:
        """Each message as one event, oldest first; those not copied are counted as failed."""
        copied = in_a_row = 0
        waited = 0.0
        for message in messages:
            outcome = self._add(incident_id, self.entry(message), waited)
            if isinstance(outcome, float):
                waited, copied, in_a_row = outcome, copied + 1, 0
                continue
            in_a_row += 1
            if outcome == "stop" or in_a_row >= _FAILURES_IN_A_ROW:
                log.warning("stopped copying to incident %s after %d failures in a row", incident_id, in_a_row)
                break
        return ThreadCopy(copied=copied, total=len(messages), more=more, failed=len(messages) - copied)

    def _add(self, incident_id: str, text: str, waited: float) -> float | str:
        """The rate-limit wait so far when the event landed; ``"failed"`` or ``"stop"`` (budget spent) otherwise."""
        outages = 0
        while True:
            try:
                self.rootly.add_incident_event(incident_id, text, visibility="internal")
                return waited
            except errors.RateLimited as exc:
                wait = max(1.0, exc.retry_after or 1.0)
                if waited + wait > RATE_LIMIT_WAIT_MAX:
                    return "stop"
                waited += wait
                self.sleep(wait)
            except errors.Unavailable as exc:
                if exc.ambiguous or outages >= _OUTAGE_RETRIES:
                    log.info("timeline event not confirmed (%s); not repeated", exc.message)
                    return "failed"
                outages += 1
                self.sleep(outages)
            except errors.BackendError as exc:
                log.info("Rootly refused a timeline event: %s", exc.message)
                return "failed"
