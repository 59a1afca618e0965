"""The one way an action on an alert finishes, whatever its surface.

A button, a menu, a slash command, the edit form, the App Home and the outbox all end here: every message the bot
has posted for the alert is re-rendered from the state the backend returned, saying who did what and when, and the
caller gets back only what the person still needs to hear. Listeners parse and hand over; they never decide what
happens after an action, and only :class:`AlertMessages` calls ``chat.update`` on alert messages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.domain.results import ActionResult, Queued, Verb
from bot.render import replies
from bot.render.alert_list import replace_alert_row
from bot.render.alert_message import Stamp
from bot.services.alert_messages import AlertMessages
from bot.store.reconnect import is_database_down

log = logging.getLogger(__name__)

Message = dict[str, Any]
NOTE_EXCERPT_MAX = 200  # characters of a note shown on the alert's messages


@dataclass(frozen=True)
class Shown:
    """The message the person acted on, when they acted on one (a button or a menu)."""

    channel: str | None
    ts: str | None
    ephemeral: bool
    blocks: list[dict[str, Any]] | None


@dataclass(frozen=True)
class Finished:
    """What the surface still has to do: replace the ephemeral message acted on, and/or tell the person."""

    reply: Message | None = None
    replace_ephemeral: Message | None = None  # an ephemeral list changes only through its response URL


def stamp_for(result: ActionResult) -> Stamp | None:
    """Who did what, for the alert's messages; notes carry their first words so the channel sees them."""
    if not result.done:
        return None
    detail = None
    if result.verb is Verb.NOTE and result.note is not None:
        detail = " ".join(result.note.details.split())[:NOTE_EXCERPT_MAX] or None
    verb = "Note added" if result.verb is Verb.NOTE else replies.PAST[result.verb]
    return Stamp(verb, f"<@{result.actor.slack_user_id}>", result.at, detail)


class ActionPath:
    def __init__(self, messages: AlertMessages) -> None:
        self.messages = messages

    def finish(self, result: ActionResult | Queued, shown: Shown | None = None) -> Finished:
        """Re-render the alert everywhere; return what the person still needs (always a reply when not on a message:
        a command has nothing else to show the outcome)."""
        if isinstance(result, Queued):  # in the outbox: the messages stay as they are until it lands
            return Finished(reply=replies.queued(result))
        stamp = stamp_for(result)
        places = self._rerender(result, stamp)
        if shown is None:
            return Finished(reply=replies.action_result(result))
        on_tracked = (shown.channel, shown.ts) in places
        replaced: Message | None = None
        if not on_tracked and shown.blocks:
            # A list (or digest, or App Home) message: re-render just this alert's row in it.
            blocks = replace_alert_row(
                shown.blocks,
                result.alert,
                stamp=stamp,
                backend_label=self.messages.backend_label,
                can_declare=self.messages.can_declare,
            )
            if blocks is not None:
                replaced = {"text": result.alert.summary[:300], "blocks": blocks}
                if not shown.ephemeral and shown.channel and shown.ts:
                    self.messages.replace(shown.channel, shown.ts, replaced)
        shown_on_message = on_tracked or replaced is not None
        needs_reply = not (result.done and not result.warnings and shown_on_message)
        return Finished(
            reply=replies.action_result(result) if needs_reply else None,
            replace_ephemeral=replaced if shown.ephemeral else None,
        )

    def _rerender(self, result: ActionResult, stamp: Stamp | None) -> set[tuple[str, str]]:
        """Re-render the alert's messages; where they are ((channel, ts))."""
        # Unchanged (already done, a double click): only messages still showing another state need a new render.
        try:
            _, places = self.messages.rerender(result.alert, stamp, only_if_changed=not result.done)
        except Exception as exc:
            if not is_database_down(exc):
                raise
            # Done in Rootly (or ilert) already: the person must hear that, not "nothing was done"; the messages
            # catch up on the next change (measured with bench/pg_restart.py --down 3).
            log.warning(
                "%s: done, but its messages could not be re-rendered (database unreachable)", result.alert.label
            )
            return set()
        return places

    def landed_later(self, notify: Callable[[dict[str, Any], ActionResult | None, str | None], None]) -> Callable:
        """The outbox's notifier, wrapped so an action delivered later re-renders the alert's messages first."""

        def on_outcome(payload: dict[str, Any], result: ActionResult | None, error: str | None) -> None:
            if result is not None:
                self._rerender(result, stamp_for(result))
            notify(payload, result, error)

        return on_outcome
