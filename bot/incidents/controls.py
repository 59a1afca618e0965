"""Buttons, menus and modals of live incident messages: ack at once, act as the person, re-render every message.

Mitigate, Resolve and "Cancel incident…" open a short modal for the message Rootly keeps; "Add to timeline" one for
the entry; "Assign role" one with the roles and a person. The modal opens on the request thread inside Slack's
3-second trigger window (no Rootly call before it); its submission is claimed by view id and hash, so a resent
submission acts once, and a failure shows the modal again with what was typed, ready to be submitted again.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.incidents import live_render
from bot.incidents import replies as incident_replies
from bot.incidents.actions import IncidentResult, Verb
from bot.incidents.reliable import IncidentQueued
from bot.render import modals, replies
from bot.render.ids import Action, Block, Callback
from bot.services.reliable import Origin

if TYPE_CHECKING:
    from bot.incidents.context import Services
    from bot.incidents.wiring import IncidentWork

log = logging.getLogger(__name__)

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
NO_ROOTLY = "Incidents are Rootly's, and this bot has no Rootly API key (ROOTLY_API_TOKEN)."


def incident_id(value: str | None) -> str:
    """Raises ValueError for a value the bot did not render."""
    if not value or not _ID.fullmatch(value):
        raise ValueError(f"not an incident id: {str(value)[:80]!r}")
    return value


def register(app: App, services: Services) -> None:
    def work() -> IncidentWork | None:
        return getattr(services, "incident_work", None)

    def ephemeral(respond: Respond) -> Callable[..., Any]:
        return lambda **message: respond(**{"replace_original": False, "response_type": "ephemeral", **message})

    def open_modal(verb: Verb, body: dict[str, Any], value: str | None, client: WebClient, respond: Respond) -> None:
        reply = ephemeral(respond)
        try:
            target = incident_id(value)
        except ValueError:
            reply(**replies.problem("That button is not one I know. Refresh the incident and retry."))
            return
        user = str((body.get("user") or {}).get("id") or "")
        if why := services.operations.refusal(verb, user):
            reply(**replies.problem(why.removeprefix("⛔ ")))
            return
        container = body.get("container") or {}
        meta = {"v": verb.value, "i": target, "c": container.get("channel_id"), "t": container.get("message_ts")}
        view = live_render.action_modal(verb.value, _subject(body, target), metadata=json.dumps(meta))
        _open(client, body.get("trigger_id"), view, reply)

    @app.action(Action.INCIDENT_MITIGATE.value)
    def mitigate(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        open_modal(Verb.MITIGATE, body, action.get("value"), client, respond)

    @app.action(Action.INCIDENT_RESOLVE.value)
    def resolve(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        open_modal(Verb.RESOLVE, body, action.get("value"), client, respond)

    @app.action(Action.INCIDENT_ADD_NOTE.value)
    def add_note(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        open_modal(Verb.NOTE, body, action.get("value"), client, respond)

    @app.action(Action.INCIDENT_MENU.value)
    def menu(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        choice, _, value = str((action.get("selected_option") or {}).get("value") or "").partition("|")
        if choice == live_render.MENU_CANCEL:
            open_modal(Verb.CANCEL, body, value, client, respond)
        # "open": a link; Slack opens it, the click only needs acknowledging

    @app.action(Action.INCIDENT_SET_SEVERITY.value)
    def severity(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        reply = ephemeral(respond)
        found = work()
        block = str(action.get("block_id") or "")
        chosen = str((action.get("selected_option") or {}).get("value") or "")
        try:
            target = incident_id(block.rpartition(":")[2])
            incident_id(chosen)
        except ValueError:
            reply(**replies.problem("That menu is not one I know. Refresh the incident and retry."))
            return
        if found is None:
            reply(**replies.problem(NO_ROOTLY))
            return
        user = body.get("user") or {}
        user_id, name = str(user.get("id") or ""), user.get("name")
        container = body.get("container") or {}
        message = body.get("message") or {}

        def job() -> dict[str, Any] | None:
            result = services.operations.set_severity(target, user_id, chosen, name)
            return finish(services, result, container, message.get("blocks"), reply)

        services.work.submit(job, reply, subject="the incident")

    @app.action(Action.INCIDENT_ASSIGN_ROLE.value)
    def assign_role(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        reply = ephemeral(respond)
        found = work()
        try:
            target = incident_id(action.get("value"))
        except ValueError:
            reply(**replies.problem("That button is not one I know. Refresh the incident and retry."))
            return
        if found is None:
            reply(**replies.problem(NO_ROOTLY))
            return
        container = body.get("container") or {}
        meta = json.dumps({"v": Verb.ROLE.value, "i": target, "c": container.get("channel_id")})
        subject = _subject(body, target)
        opened = _open(client, body.get("trigger_id"), modals.progress_modal("Assign role", "Getting roles…"), reply)
        if opened is None:
            return

        def fill() -> None:
            try:
                view = live_render.role_modal(subject, services.operations.roles(), metadata=meta)
            except Exception as exc:
                view = modals.done_modal(
                    "Assign role", f"⚠️ Could not read the roles: {replies.describe_failure(exc, 'the roles')}"
                )
            _update(client, opened.get("id"), view)

        services.work.call(fill)

    @app.view(Callback.INCIDENT_ACTION_MODAL.value)
    def action_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        values = ((view.get("state") or {}).get("values")) or {}
        text = str(((values.get(Block.INCIDENT_TEXT) or {}).get(Action.INCIDENT_TEXT) or {}).get("value") or "").strip()
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            verb = Verb(str(meta.get("v")))
            target = incident_id(meta.get("i"))
        except (ValueError, AttributeError):
            ack(
                response_action="errors",
                errors={Block.INCIDENT_TEXT: "This form lost track of its incident; reopen it."},
            )
            return
        found = work()
        user = body.get("user") or {}
        user_id = str(user.get("id") or "")
        if found is None:
            ack(response_action="errors", errors={Block.INCIDENT_TEXT: NO_ROOTLY})
            return
        if verb is Verb.NOTE and not text:
            ack(response_action="errors", errors={Block.INCIDENT_TEXT: "Write something first."})
            return
        if why := services.operations.refusal(verb, user_id):
            ack(response_action="errors", errors={Block.INCIDENT_TEXT: why.removeprefix("⛔ ")[:1900]})
            return
        view_id = str(view.get("id") or "")
        # Keyed by the view as shown (its hash): a resend is recognised, while the form handed back after a failure
        # (a views.update, so a new hash) can be submitted again.
        shown = f"{view_id}:{view.get('hash') or ''}"
        if not services.operations.first_submission("incident-view", shown, user_id):
            ack()  # the same submission again (a resend): the first one is being handled
            return
        title = live_render.VERB_TITLES[verb.value]
        ack(response_action="update", view=modals.progress_modal(title, "Telling Rootly…"))
        origin = Origin(user_id, user.get("name"), meta.get("c"), None)
        container = {"channel_id": meta.get("c"), "message_ts": meta.get("t")}
        metadata = view.get("private_metadata") or ""

        def job() -> None:
            try:
                outcome = services.operations.submit(verb, target, origin, text)
            except Exception as exc:
                error = replies.describe_failure(exc, "the incident")
                failed = live_render.action_modal(
                    verb.value, "Not done.", metadata=metadata, initial_text=text, error=error
                )
                _show(client, view_id, failed, user_id, replies.problem(f"Not done: {error}", typed=text or None))
                return
            if isinstance(outcome, IncidentQueued):
                said = incident_replies.queued_text(outcome)
            else:
                finish(services, outcome, container, None, None)
                said = incident_replies.result_text(outcome)
            _show(client, view_id, modals.done_modal(title, said), user_id, {"text": said})

        services.work.call(job)

    @app.view(Callback.INCIDENT_ROLE_MODAL.value)
    def role_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        values = ((view.get("state") or {}).get("values")) or {}
        role = ((values.get(Block.INCIDENT_ROLE) or {}).get(Action.INCIDENT_ROLE) or {}).get("selected_option") or {}
        person = ((values.get(Block.INCIDENT_ROLE_USER) or {}).get(Action.INCIDENT_ROLE_USER) or {}).get(
            "selected_user"
        )
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            target = incident_id(meta.get("i"))
        except (ValueError, AttributeError):
            ack(response_action="errors", errors={Block.INCIDENT_ROLE_USER: "This form lost track of its incident."})
            return
        found = work()
        if found is None or not role.get("value") or not person:
            ack(response_action="errors", errors={Block.INCIDENT_ROLE_USER: "Choose a role and a person."})
            return
        user = body.get("user") or {}
        user_id = str(user.get("id") or "")
        view_id = str(view.get("id") or "")
        if not services.operations.first_submission("incident-view", view_id, user_id):
            ack()
            return
        ack(response_action="update", view=modals.progress_modal("Assign role", "Telling Rootly…"))
        container = {"channel_id": meta.get("c"), "message_ts": None}

        def job() -> None:
            try:
                result = services.operations.assign_role(
                    target, user_id, str(role["value"]), str(person), user.get("name")
                )
            except Exception as exc:
                error = replies.describe_failure(exc, "the incident")
                _show(
                    client,
                    view_id,
                    modals.done_modal("Assign role", f"⚠️ Not assigned: {error}"),
                    user_id,
                    {"text": error},
                )
                return
            finish(services, result, container, None, None)
            said = incident_replies.result_text(result)
            _show(client, view_id, modals.done_modal("Assign role", said), user_id, {"text": said})

        services.work.call(job)


def finish(
    services: Services,
    result: IncidentResult,
    container: dict[str, Any],
    blocks: list[dict[str, Any]] | None,
    reply: Callable[..., Any] | None,
) -> dict[str, Any] | None:
    """Re-render what the action changed; the person's answer, when the message itself does not say it all."""
    finished = services.operations.finish(result, container, blocks)
    if finished.ephemeral_rows is not None and reply is not None:
        reply(replace_original=True, text=result.incident.title[:300], blocks=finished.ephemeral_rows)
    return finished.answer


def _subject(body: dict[str, Any], target: str) -> str:
    """The incident's line from the message the button was on, for the modal (no API call)."""
    for block in (body.get("message") or {}).get("blocks") or ():
        if block.get("block_id") == f"incident:{target}":
            text = (block.get("text") or {}).get("text")
            if text:
                return str(text).split("\n")[0]
    return f"Incident `{target}`"


def _open(
    client: WebClient, trigger: str | None, view: dict[str, Any], reply: Callable[..., Any]
) -> dict[str, Any] | None:
    if not trigger:
        return None
    try:
        return dict(client.views_open(trigger_id=trigger, view=view)["view"])
    except SlackApiError as exc:  # expired trigger or Slack down: say so rather than fail silently
        code = str(exc.response.get("error") or "unknown_error")
        log.warning("could not open an incident modal: %s", code)
        reply(**replies.slack_refused(code))
        return None


def _update(client: WebClient, view_id: str | None, view: dict[str, Any]) -> None:
    if not view_id:
        return
    try:
        client.views_update(view_id=view_id, view=view)
    except Exception as exc:
        log.info("could not update incident modal %s: %s", view_id, exc)


def _show(client: WebClient, view_id: str, modal: dict[str, Any], user: str, message: dict[str, Any]) -> None:
    """The outcome in the modal; if the person closed it meanwhile, by DM, so nothing typed is lost."""
    try:
        client.views_update(view_id=view_id, view=modal)
    except SlackApiError as exc:
        log.info("incident modal %s is gone (%s); telling the person by DM", view_id, exc.response.get("error"))
        try:
            client.chat_postMessage(channel=user, **message)
        except Exception:
            log.warning("could not tell %s how their incident action went", user, exc_info=True)
