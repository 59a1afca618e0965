"""Buttons and menus on alert messages, and the note modal: ack at once, act, re-render from the API's answer."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain import AlertRef
from bot.domain.results import ActionResult, Queued
from bot.render import modals, replies
from bot.render.alert_list import opened_row
from bot.render.alert_message import OverflowVerb, parse_overflow_value
from bot.render.ids import Action, Block, Callback
from bot.services.action_path import Shown
from bot.services.reliable import Origin
from bot.slack.listeners import alert_edit

if TYPE_CHECKING:
    from bot.slack.context import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Click:
    """What a block action tells us: which alert, who, and which message it was on."""

    ref: AlertRef
    user_id: str
    user_name: str | None
    channel: str | None
    ts: str | None
    ephemeral: bool
    blocks: list[dict[str, Any]] | None
    trigger_id: str | None
    response_url: str | None = None

    @property
    def origin(self) -> Origin:
        return Origin(self.user_id, self.user_name, self.channel, self.response_url)

    @property
    def shown(self) -> Shown:
        return Shown(self.channel, self.ts, self.ephemeral, self.blocks)

    @classmethod
    def parse(cls, body: dict[str, Any], value: str) -> Click:
        """Raises ValueError for a value the bot did not render (forged or garbled)."""
        user = body.get("user") or {}
        container = body.get("container") or {}
        message = body.get("message") or {}
        return cls(
            ref=AlertRef.decode(value),
            user_id=str(user.get("id") or ""),
            user_name=user.get("name") or user.get("username"),
            channel=container.get("channel_id") or (body.get("channel") or {}).get("id"),
            ts=container.get("message_ts") or message.get("ts"),
            ephemeral=bool(container.get("is_ephemeral")),
            blocks=message.get("blocks") if isinstance(message.get("blocks"), list) else None,
            trigger_id=body.get("trigger_id"),
            response_url=body.get("response_url"),
        )


def from_home(body: dict[str, Any]) -> bool:
    """Bolt matcher: the click was made on the App Home tab."""
    view = body.get("view") if isinstance(body, dict) else None
    return isinstance(view, dict) and view.get("type") == "home"


def outside_home(body: dict[str, Any]) -> bool:
    """Bolt matcher: the click was made anywhere but the App Home tab, whose clicks on the same buttons are the tab's
    own (bot/slack/listeners/home.py). Registered before the tab's listeners, a message's click is matched in three
    of Bolt's listener tests instead of eight, each of which builds Bolt's keyword arguments anew."""
    return not from_home(body)


def register(app: App, services: Services) -> None:
    def ephemeral(respond: Respond):  # type: ignore[no-untyped-def]
        return lambda **message: respond(**{"replace_original": False, "response_type": "ephemeral", **message})

    def run(click: Click, respond: Respond, client: WebClient, act: Any) -> None:
        reply = ephemeral(respond)
        services.work.submit(lambda: settle(services, click, act(), reply), reply, subject=f"alert {click.ref.id}")

    @app.action(Action.ACKNOWLEDGE, matchers=[outside_home])
    def acknowledge(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        ack()
        click = _click(body, action.get("value"), respond)
        if click:
            run(click, respond, client, lambda: services.reliable.acknowledge(click.ref, click.origin))

    @app.action(Action.RESOLVE, matchers=[outside_home])
    def resolve(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()
        click = _click(body, action.get("value"), respond)
        if click:
            run(
                click,
                respond,
                client,
                lambda: services.reliable.resolve(click.ref, click.origin),
            )

    @app.action(Action.SNOOZE, matchers=[outside_home])
    @app.action(Action.OVERFLOW, matchers=[outside_home])
    def menu(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()
        value = (action.get("selected_option") or {}).get("value") or ""
        try:
            verb, ref = parse_overflow_value(value)
            click = Click.parse(body, ref.encode())
        except ValueError:
            ephemeral(respond)(**replies.problem("That menu option is not one I know. Refresh the alert and retry."))
            return
        act = menu_act(services, verb, click)
        if act is None:  # Edit: a form, opened at once
            if click.trigger_id:
                alert_edit.open_edit(services, client, ref, click.trigger_id, respond)
            return
        run(click, respond, client, act)

    @app.action(Action.ROW_OPEN)
    def open_row(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        """A row of a feed's group message: show that alert with all its buttons, to the person who asked."""
        ack()
        click = _click(body, action.get("value"), respond)
        if click:
            ref, reply = click.ref, ephemeral(respond)
            messages = services.messages

            def job() -> dict[str, Any]:
                alert = services.backends.get(ref.backend).get_alert(ref.id)
                return opened_row(alert, backend_label=messages.backend_label, can_declare=messages.can_declare)

            services.work.submit(job, reply, subject=f"alert {ref.id}")

    @app.action(Action.ADD_NOTE)
    def add_note(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()
        click = _click(body, action.get("value"), respond)
        if not click or not click.trigger_id:
            return
        # Opened at once, before any Rootly call, so Slack's 3-second trigger window is always met.
        metadata = json.dumps({"ref": click.ref.encode(), "channel": click.channel})
        view = modals.note_modal(_summary_of(click), private_metadata=metadata)
        try:
            client.views_open(trigger_id=click.trigger_id, view=view)
        except SlackApiError as exc:  # expired trigger or Slack down: tell the person, don't fail silently
            log.warning("could not open the note modal: %s", exc.response.get("error"))
            ephemeral(respond)(**replies.slack_refused(str(exc.response.get("error") or "unknown_error")))

    @app.view(Callback.NOTE_MODAL)
    def note_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        text = (((view.get("state") or {}).get("values") or {}).get(Block.NOTE_INPUT) or {}).get(Action.NOTE_TEXT, {})
        note = (text.get("value") or "").strip()
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            if not isinstance(meta, dict):
                raise ValueError("private_metadata is not an object")
            ref = AlertRef.decode(str(meta.get("ref") or ""))
        except ValueError:
            ack(response_action="errors", errors={Block.NOTE_INPUT: "This form lost track of its alert; reopen it."})
            return
        if not note:
            ack(response_action="errors", errors={Block.NOTE_INPUT: "Write something first."})
            return
        user = body.get("user") or {}
        view_id = view.get("id")
        # Per version of the form: a resend repeats the view's hash; the form handed back after a failure has a new
        # one, so submitting it again is a new note, not a resend.
        claim = f"note-view:{view_id}:{view.get('hash') or ''}"
        if services.store.claim(claim, user.get("id") or "?", 3600) is not None:
            ack()  # the same submission again (a resend): the first one is being handled
            return
        # Keep the modal open on a progress view and fill it with the outcome, so a failure hands the text back.
        ack(response_action="update", view=modals.progress_modal("Add note", "Adding your note…"))
        origin = Origin(user.get("id") or "", user.get("name"), meta.get("channel"), None)

        def show(modal: dict[str, Any], message: dict[str, Any]) -> None:
            """The outcome in the modal; if the person closed it meanwhile, in a DM, so a failed note is not lost."""
            try:
                client.views_update(view_id=view_id, view=modal)
            except SlackApiError as exc:
                log.info("note modal %s is gone (%s); telling the person by DM", view_id, exc.response.get("error"))
                client.chat_postMessage(channel=origin.slack_user_id, **message)

        def job() -> None:
            try:
                result = services.reliable.add_note(ref, origin, note)
            except Exception as exc:
                failed = modals.note_modal(
                    "Your note was not added.",
                    private_metadata=view.get("private_metadata") or "",
                    initial_text=note,
                    error=replies.describe_failure(exc),
                )
                show(failed, replies.problem(f"Your note was not added: {replies.describe_failure(exc)}", typed=note))
                return
            if isinstance(result, Queued):
                show(modals.done_modal("Add note", replies.queued(result)["text"]), replies.queued(result))
            else:
                show(modals.done_modal("Add note", replies.action_text(result)), replies.action_result(result))

        services.work.call(job)


def menu_act(services: Services, verb: OverflowVerb, click: Click) -> Callable[[], ActionResult] | None:
    """What a menu option (snooze select or overflow) asks for, as a call; None for Edit, which opens a form."""
    acts, ref, user, name = services.actions, click.ref, click.user_id, click.user_name
    if verb is OverflowVerb.EDIT:
        return None
    if minutes := verb.snooze_minutes:
        return lambda: acts.snooze(ref, user, minutes, name)
    if verb is OverflowVerb.ESCALATE:
        return lambda: acts.escalate(ref, user, name)
    return lambda: acts.set_noise(ref, user, verb is OverflowVerb.MARK_NOISE, name)


def _click(body: dict[str, Any], value: str | None, respond: Respond) -> Click | None:
    try:
        return Click.parse(body, value or "")
    except ValueError:
        respond(
            replace_original=False, **replies.problem("That button is not one I know. Refresh the alert and retry.")
        )
        return None


def _summary_of(click: Click) -> str:
    """The alert's line from the message the button was on, for the modal's context (no API call)."""
    for block in click.blocks or ():
        block_id = str(block.get("block_id") or "")
        if block_id in (Block.ALERT_SUMMARY, f"{Block.ALERT_SUMMARY}:{click.ref.encode()}"):
            text = (block.get("text") or {}).get("text")
            if text:
                return str(text).split("\n")[0]
    return f"Alert `{click.ref.id}`"


def settle(services: Services, click: Click, result: ActionResult | Queued, reply: Any) -> dict[str, Any] | None:
    """Hand the outcome to the action path; show what it says on the clicked message, return the reply, if any."""
    finished = services.path.finish(result, click.shown)
    if finished.replace_ephemeral is not None:  # ephemeral messages change only through the response URL
        reply(replace_original=True, **finished.replace_ephemeral)
    return finished.reply
