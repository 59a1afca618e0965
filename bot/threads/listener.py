"""Alert threads in Slack: the Events API ``message`` listener (replies → notes, where a channel opted in), the
"Add to alert as note" message shortcut, and ``/rootly threads on|off|status``.

Listeners only parse, ack and hand the work to the pool; :func:`register` also wires the feature: the story is
told after every re-render of an alert's messages (``AlertMessages.changed``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.backends import Backends
from bot.domain import AlertRef
from bot.domain.timeline import TimelineEvent
from bot.render import replies
from bot.render.ids import Callback
from bot.slack.context import Services
from bot.slack.syntax import Invalid, usage
from bot.store.db import Database
from bot.threads import render
from bot.threads.landed import LandedNotes
from bot.threads.service import StorySettings, ThreadNotes, ThreadStory
from bot.threads.slack_threads import SlackThreads
from bot.threads.store import ThreadStore
from bot.threads.syntax import ThreadsCommand, ThreadsOff, ThreadsOn, ThreadsStatus, parse_threads, thread_reply

log = logging.getLogger(__name__)


@dataclass
class Threads:
    story: ThreadStory
    notes: ThreadNotes


class BackendEvents:
    """:class:`~bot.threads.service.AlertEventSource` over the configured backends."""

    def __init__(self, backends: Backends) -> None:
        self.backends = backends

    def alert_events(self, ref: AlertRef) -> Sequence[TimelineEvent]:
        return self.backends.get(ref.backend).alert_events(ref.id)


def register(app: App, services: Services, database: Database, closers: list[Callable[[], None]]) -> Threads:
    settings = services.settings
    store = ThreadStore(database)
    poster = SlackThreads(app.client)
    story = ThreadStory(
        store,
        BackendEvents(services.backends),
        poster,
        StorySettings(
            coalesce_seconds=settings.thread_coalesce_seconds, broadcast_resolved=settings.thread_broadcast_resolved
        ),
    )
    services.messages.changed.append(story.alert_changed)
    closers.append(story.close)
    notes = ThreadNotes(
        store,
        services.actions,
        poster,
        landed=services.path.finish,
        check=LandedNotes(services.backends, services.people),
        queue=services.reliable,
    )
    threads = Threads(story, notes)
    command_name = settings.slack_command
    services.subcommands["threads"] = lambda rest, command, ack, respond: handle(
        threads, parse_threads(rest), command, ack, command_name
    )

    @app.event("message")
    def on_message(ack: Ack, event: dict[str, Any]) -> None:
        ack()
        reply = thread_reply(event)
        if reply is None:
            return  # the bot's or a bot's message, an edit, a deletion, a top-level message, "//", only emoji
        services.work.call(
            lambda: threads.notes.from_reply(reply.channel, reply.thread_ts, reply.ts, reply.user, reply.text)
        )

    @app.shortcut(Callback.NOTE_SHORTCUT.value)
    def add_as_note(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id") or ""
        user = body.get("user") or {}
        text = str(message.get("text") or "").strip()
        ts, thread_ts = str(message.get("ts") or ""), str(message.get("thread_ts") or "")
        if message.get("bot_id") or message.get("subtype") == "bot_message":
            respond(**replies.problem("Messages from bots are not added as notes: pick a person's message."))
            return
        if not thread_ts or thread_ts == ts:
            respond(**replies.problem("Use this on a reply in the thread of an alert message the bot posted."))
            return
        if not text:
            respond(**replies.problem("This message has no text to add as a note."))
            return
        services.work.submit(
            lambda: _note_answer(
                threads.notes.add(channel, thread_ts, ts, user.get("id") or "", text, user.get("name"))
            ),
            respond,
            subject="the note",
            typed=text,
        )

    return threads


def _note_answer(outcome: Any) -> dict[str, Any]:
    if outcome.added:
        return {"text": f"✅ {outcome.message}", "response_type": "ephemeral"}
    return replies.problem(outcome.message)


def handle(
    threads: Threads, parsed: ThreadsCommand | Invalid, command: dict[str, Any], ack: Ack, command_name: str
) -> None:
    """``/rootly threads on|off|status`` in a channel: changes are announced in the channel."""
    channel = command.get("channel_id") or ""
    hint = f"Use: `{usage('threads', command_name)}`"
    match parsed:
        case Invalid(problem=problem, typed=typed):
            ack(**replies.problem(problem, typed=typed, hint=hint))
        case ThreadsOn():
            fresh = threads.notes.enable(channel, command.get("user_id") or "")
            ack(response_type="in_channel" if fresh else "ephemeral", **render.threads_on(channel, not fresh))
        case ThreadsOff():
            was_on = threads.notes.disable(channel)
            ack(response_type="in_channel" if was_on else "ephemeral", **render.threads_off(channel, was_on))
        case ThreadsStatus():
            ack(**render.threads_status(channel, threads.notes.enabled(channel)))
        case _:
            ack(**replies.problem("I could not read that threads command.", hint=hint))
