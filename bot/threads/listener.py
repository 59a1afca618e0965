"""Alert threads in Slack: the Events API ``message`` listener (replies → notes, where a channel opted in), the
"Add to alert as note" message shortcut, and ``/rootly threads on|off|status``.

Listeners only parse, ack and hand the work to the pool; :func:`register` also wires the feature: the story is
told after every re-render of an alert's messages (``AlertMessages.changed``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.backends import Backends
from bot.domain import AlertRef
from bot.domain.refs import BadReference, ParsedRef, parse_alert_reference
from bot.domain.results import Queued
from bot.domain.timeline import TimelineEvent
from bot.render import modals, replies
from bot.render.ids import Action, Block, Callback
from bot.services.reliable import Origin
from bot.slack.context import Services
from bot.slack.syntax import Invalid, usage
from bot.store.db import Database
from bot.support import errors
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
    services.messages.list_posted.append(store.record_list)  # `/rootly alerts here`: its thread tells its rows
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
    def add_as_note(ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id") or ""
        user = body.get("user") or {}
        text = str(message.get("text") or "").strip()
        ts, thread_ts = str(message.get("ts") or ""), str(message.get("thread_ts") or "")
        if not (thread_ts and thread_ts != ts and threads.notes.in_alert_thread(channel, thread_ts)):
            # Anywhere else: ask which alert, in a form opened at once (Slack's 3-second trigger window).
            metadata = json.dumps({"channel": channel, "ts": ts})
            view = render.note_shortcut_modal(private_metadata=metadata, text=text)
            try:
                client.views_open(trigger_id=body.get("trigger_id") or "", view=view)
            except SlackApiError as exc:
                log.warning("could not open the note form: %s", exc.response.get("error"))
                respond(**replies.slack_refused(str(exc.response.get("error") or "unknown_error"), typed=text or None))
            return
        if message.get("bot_id") or message.get("subtype") == "bot_message":
            respond(**replies.problem("Messages from bots are not added as notes: pick a person's message."))
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

    @app.view(Callback.NOTE_SHORTCUT_MODAL.value)
    def note_form_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        values = (view.get("state") or {}).get("values") or {}
        typed_ref = str(((values.get(Block.NOTE_ALERT) or {}).get(Action.NOTE_ALERT) or {}).get("value") or "")
        note = str(((values.get(Block.NOTE_INPUT) or {}).get(Action.NOTE_TEXT) or {}).get("value") or "").strip()
        problems: dict[str, str] = {}
        try:
            ref = parse_alert_reference(typed_ref)
        except BadReference as exc:
            problems[Block.NOTE_ALERT.value] = str(exc)
        if not note:
            problems[Block.NOTE_INPUT.value] = "Write something first."
        if problems:
            ack(response_action="errors", errors=problems)  # Slack keeps what was typed
            return
        user = body.get("user") or {}
        view_id = str(view.get("id") or "")
        # Per version of the form: Slack resending a submission repeats its hash; the form handed back after a
        # failure (views.update) has a new one, so submitting it again is a new try.
        claim = f"note-shortcut-view:{view_id}:{view.get('hash') or ''}"
        if services.store.claim(claim, user.get("id") or "?", 3600) is not None:
            ack()  # the same submission again (a resend): the first one is being handled
            return
        ack(response_action="update", view=modals.progress_modal(render.NOTE_SHORTCUT_TITLE, "Adding your note…"))
        metadata = view.get("private_metadata") or ""
        channel = _channel_of(metadata)
        origin = Origin(user.get("id") or "", user.get("name") or user.get("username"), channel, None)
        services.work.call(lambda: _add_from_form(services, client, view_id, origin, ref, note, typed_ref, metadata))

    return threads


def _channel_of(metadata: str) -> str | None:
    try:
        meta = json.loads(metadata or "{}")
    except ValueError:
        return None
    return (str(meta.get("channel") or "") or None) if isinstance(meta, dict) else None


def _add_from_form(
    services: Services,
    client: WebClient,
    view_id: str,
    origin: Origin,
    ref: ParsedRef,
    note: str,
    typed_ref: str,
    metadata: str,
) -> None:
    """The form's note, as `/rootly note` adds it (the person's backend user, or signed), through the action path;
    the outcome in the form, or the form again with the text kept and what went wrong."""

    def show(modal: dict[str, Any], message: dict[str, Any]) -> None:
        try:
            client.views_update(view_id=view_id, view=modal)
        except SlackApiError as exc:  # closed meanwhile: a DM, so a failed note is not lost
            log.info("note form %s is gone (%s); telling the person by DM", view_id, exc.response.get("error"))
            client.chat_postMessage(channel=origin.slack_user_id, **message)

    try:
        result = services.reliable.add_note(ref, origin, note)
    except Exception as exc:
        if not isinstance(exc, errors.BackendError):
            log.warning("note from the form %s failed", view_id, exc_info=True)
        why = replies.describe_failure(exc, ref.id)
        again = render.note_shortcut_modal(private_metadata=metadata, text=note, alert=typed_ref, error=why)
        show(again, replies.problem(f"Your note was not added: {why}", typed=note))
        return
    reply = replies.outcome(result)
    try:
        reply = services.path.finish(result).reply or reply  # every message of the alert shows the note
    except Exception:  # the note is on the alert whatever happens to the messages showing it
        log.warning("could not re-render the messages of the alert noted from form %s", view_id, exc_info=True)
    if isinstance(result, Queued):
        show(modals.done_modal(render.NOTE_SHORTCUT_TITLE, replies.queued(result)["text"]), reply)
    else:
        show(modals.done_modal(render.NOTE_SHORTCUT_TITLE, replies.action_text(result)), reply)


def _note_answer(outcome: Any) -> dict[str, Any]:
    if outcome.added:
        return {"text": f"✅ {outcome.message}", "response_type": "ephemeral"}
    if outcome.queued:
        return {"text": f"⏳ {outcome.message}", "response_type": "ephemeral"}
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
