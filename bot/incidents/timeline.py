"""The "Add to incident timeline" message shortcut: any Slack message becomes a timeline event of an incident.

Which incident: where the message is in an incident's thread (the thread it was declared from, or the thread of a
live incident message) or in an incident's own Slack channel, the bot knows it from its database, then from Rootly's
``filter[slack_channel_id]``; elsewhere the person types it as in the commands (``42``, ``#42``, a slug, a UUID or
a link). The event goes through :class:`~bot.incidents.reliable.ReliableIncidentActions`, so Rootly being down
queues it in the outbox and it lands once, like any timeline note.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.domain import Incident
from bot.incidents.actions import IncidentActions, IncidentResult, UnknownIncident
from bot.incidents.live import IncidentMessages
from bot.incidents.ports import Conversations
from bot.incidents.reliable import IncidentQueued, ReliableIncidentActions
from bot.incidents.store import DeclarationStore
from bot.incidents.syntax import parse_ref
from bot.incidents.thread_text import ThreadMessage, slack_to_text
from bot.incidents.timeline_entry import Quoted, entry_text
from bot.services.reliable import Origin
from bot.support import errors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Belongs:
    """The incident a message seems to belong to, and why ("thread" or "channel")."""

    incident: Incident
    where: str


@dataclass(frozen=True)
class Target:
    id: str
    label: str


class TimelineShortcut:
    def __init__(
        self,
        actions: IncidentActions,
        reliable: ReliableIncidentActions,
        messages: IncidentMessages,
        declarations: DeclarationStore,
        conversations: Conversations,
        user_name: Callable[[str], str],
    ) -> None:
        self.actions = actions
        self.reliable = reliable
        self.messages = messages
        self.declarations = declarations
        self.conversations = conversations
        self.user_name = user_name

    # opening ---------------------------------------------------------------------------------------------------------
    def quote(self, channel: str, message: ThreadMessage, thread_ts: str | None) -> tuple[Quoted, Belongs | None]:
        """The message as the event will quote it, and the incident it seems to belong to (None: ask)."""
        author = message.author or (self.user_name(message.user_id) if message.user_id else "Someone")
        text = slack_to_text(message.text, user_name=self.user_name, channel_name=self.conversations.channel_name)
        if message.files:
            text = (text + "\n" if text else "") + f"[file: {', '.join(message.files)}]"
        belongs = self.belongs(channel, thread_ts or message.ts)
        incident = belongs.incident if belongs else None
        quoted = Quoted(
            channel=channel,
            ts=message.ts,
            text=text,
            author=author,
            user_id=message.user_id,
            permalink=self.conversations.permalink(channel, message.ts),
            incident_id=incident.id if incident else None,
            incident_ref=incident.label if incident else None,
        )
        return quoted, belongs

    def belongs(self, channel: str, thread_ts: str) -> Belongs | None:
        """The incident of this thread or channel: the bot's own records first (no API call), then Rootly's
        incidents whose Slack channel this is. A Rootly failure only leaves the field for the person to fill."""
        declared = self.declarations.get(f"thread:{channel}:{thread_ts}")
        if declared is not None and declared.incident is not None:
            return Belongs(self._fresh(declared.incident), "thread")
        post = self.messages.store.post_at(channel, thread_ts)
        if post is not None:
            return Belongs(self._fresh(Incident(id=post.incident_id, title="")), "thread")
        recorded = self.declarations.declared_in_channel(channel)
        if recorded is not None:
            return Belongs(self._fresh(recorded), "channel")
        try:
            found = self.actions.rootly.list_incidents(slack_channel_id=channel, limit=1)
        except errors.BackendError as exc:
            log.info("could not ask Rootly which incident channel %s is: %s", channel, exc.message)
            return None
        return Belongs(found[0], "channel") if found else None

    def _fresh(self, known: Incident) -> Incident:
        """Rootly's current view of an incident the bot recorded (its title and number); the record if Rootly fails."""
        try:
            return self.actions.get(known.id)
        except errors.BackendError as exc:
            log.info("could not read incident %s for the timeline modal: %s", known.id, exc.message)
            return known

    # submitting ------------------------------------------------------------------------------------------------------
    def resolve(self, typed: str, quoted: Quoted) -> Target:
        """The incident the person means. Raises :class:`UnknownIncident` (naming what was typed) or a
        ``BackendError`` when Rootly cannot be asked. The prefilled incident, left as it was, costs no call."""
        text = " ".join(typed.split())
        if quoted.incident_id and text == quoted.incident_ref:
            return Target(quoted.incident_id, quoted.incident_ref or quoted.incident_id)
        ref = parse_ref(text) if text and " " not in text else None
        if ref is None:
            raise UnknownIncident(
                f"`{text}` does not name an incident: type its number (42 or #42), its slug, UUID or Rootly link."
                if text
                else "Say which incident: its number (42 or #42), its slug, UUID or Rootly link."
            )
        incident = self.actions.locate(ref, None)
        return Target(incident.id, incident.label)

    def add(
        self, target: Target, origin: Origin, quoted: Quoted, comment: str | None
    ) -> IncidentResult | IncidentQueued:
        """Add the event (signed by the person who added it); queued in the outbox when Rootly is down."""
        outcome = self.reliable.add_note(target.id, origin, entry_text(quoted, comment), label=target.label)
        if isinstance(outcome, IncidentResult) and outcome.done:
            self.messages.refresh(outcome.incident, outcome.stamp)
        return outcome
