"""The "Add to incident timeline" message shortcut and its modal: ack, open at once, fill, submit once.

The modal opens on the request thread inside Slack's 3-second trigger window (loading), and the work pool fills it
once the bot knows the message's author, permalink and incident. A submission resolves the incident within
:data:`~bot.incidents.listener.SUBMIT_WAIT` so that an unknown one is shown next to the field (``response_action:
errors``, keeping everything typed); it is then claimed by view and hash, so a resent submission adds one event,
while the same modal handed back after a failure (a new hash) can be submitted again.
"""

from __future__ import annotations

import logging
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.incidents import live_render
from bot.incidents import modal as incident_modal
from bot.incidents import replies as incident_replies
from bot.incidents.actions import UnknownIncident
from bot.incidents.conversations import thread_message
from bot.incidents.reliable import IncidentQueued
from bot.incidents.timeline import Belongs, Target, TimelineShortcut
from bot.incidents.timeline_entry import Quoted
from bot.render import modals, replies
from bot.render.ids import Action, Block, Callback
from bot.services.reliable import Origin
from bot.support import errors

if TYPE_CHECKING:
    from bot.incidents.context import Services

log = logging.getLogger(__name__)

SUBMIT_WAIT = 1.8  # as the incident form: Slack drops a view submission not answered within 3 s
TITLE = "Add to timeline"
NO_ROOTLY = "Incidents are Rootly's, and this bot has no Rootly API key (ROOTLY_API_TOKEN)."


def register(app: App, services: Services, shortcut: TimelineShortcut | None) -> None:
    @app.shortcut(Callback.ADD_TO_TIMELINE_SHORTCUT.value)
    def opened(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        trigger = str(body.get("trigger_id") or "")
        respond = Respond(response_url=body["response_url"]) if body.get("response_url") else None
        if shortcut is None:
            _open(client, trigger, incident_modal.problem_modal(NO_ROOTLY), respond)
            return
        raw = body.get("message") or {}
        channel = str((body.get("channel") or {}).get("id") or "")
        ts = str(raw.get("ts") or body.get("message_ts") or "")
        if not channel or not ts:
            _open(client, trigger, incident_modal.problem_modal("Slack did not say which message this was."), None)
            return
        message = thread_message({**raw, "ts": ts})
        thread_ts = str(raw.get("thread_ts") or ts)
        view = _open(client, trigger, _loading(), respond)
        if view is None:
            return

        def fill() -> None:
            try:
                quoted, belongs = shortcut.quote(channel, message, thread_ts)
                form = _form(quoted, belongs)
            except Exception:
                log.exception("could not prepare the timeline modal")
                form = incident_modal.problem_modal("Something went wrong on the bot's side. Try the shortcut again.")
            _update(client, view.get("id"), form)

        services.work.call(fill)

    @app.view(Callback.TIMELINE_MODAL.value)
    def submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        values = ((view.get("state") or {}).get("values")) or {}
        typed = _value(values, Block.INCIDENT_PICK, Action.INCIDENT_PICK)
        comment = _value(values, Block.TIMELINE_COMMENT, Action.TIMELINE_COMMENT)
        field = Block.INCIDENT_PICK.value
        try:
            quoted = Quoted.decode(str(view.get("private_metadata") or ""))
        except ValueError:
            ack(
                response_action="errors", errors={field: "This form lost track of its message; use the shortcut again."}
            )
            return
        if shortcut is None:
            ack(response_action="errors", errors={field: NO_ROOTLY})
            return
        user = body.get("user") or {}
        user_id = str(user.get("id") or "")
        view_id, view_hash = str(view.get("id") or ""), str(view.get("hash") or "")

        def resolve() -> Target | Exception:
            try:
                return shortcut.resolve(typed, quoted)
            except Exception as exc:  # handed to the request thread, which answers Slack with it
                return exc

        future = services.work.call(resolve)
        try:
            found = future.result(timeout=SUBMIT_WAIT)
        except FutureTimeout:
            found = None
        if isinstance(found, Exception):
            ack(response_action="errors", errors={field: _problem(found, typed)[:1900]})
            return
        if found is not None and not _first(services, view_id, view_hash, user_id):
            ack()  # the same submission again (a resend): the first one is being handled
            return
        ack(response_action="update", view=modals.progress_modal(TITLE, "Telling Rootly…"))
        origin = Origin(user_id, user.get("name"), quoted.channel, None)

        def handed_back(error: str) -> None:
            form = _form(quoted, None, reference=typed, comment=comment, error=error)
            kept = "\n".join(part for part in (f"Incident: {typed}", comment) if part.strip())
            _show(client, view_id, form, user_id, replies.problem(f"Not added: {error}", typed=kept or None))

        def finish(resolved: Target | Exception | None, late: bool) -> None:
            if not isinstance(resolved, Target):  # only a late resolution gets here without a Target
                handed_back(_problem(resolved, typed) if resolved else "Something went wrong on the bot's side.")
                return
            if late and not _first(services, view_id, view_hash, user_id):
                return  # a resend, resolved late too: the first one is being handled
            try:
                outcome = shortcut.add(resolved, origin, quoted, comment)
            except Exception as exc:
                handed_back(replies.describe_failure(exc, "the incident"))
                return
            if isinstance(outcome, IncidentQueued):
                said = incident_replies.queued_text(outcome)
            else:
                said = incident_replies.result_text(outcome)
            _show(client, view_id, modals.done_modal(TITLE, said), user_id, {"text": said})

        if found is None:  # Rootly was slow to say which incident: finish when it has (no pool thread waits for it)
            future.add_done_callback(lambda done: services.work.call(lambda: finish(done.result(), late=True)))
        else:
            services.work.call(lambda: finish(found, late=False))


def _first(services: Services, view_id: str, view_hash: str, user: str) -> bool:
    """True for the first submission of this view as shown (its hash): a resend is not."""
    return services.operations.first_submission("incident-timeline", f"{view_id}:{view_hash}", user)


def _problem(exc: Exception, typed: str) -> str:
    if isinstance(exc, UnknownIncident):
        return exc.message
    if isinstance(exc, errors.Unavailable | errors.RateLimited):
        return (
            f"Rootly is not answering ({exc.message}), so it could not say which incident `{typed.strip()}` is. "
            "Nothing was added; everything you typed is still here. Submit again in a moment."
        )
    return replies.describe_failure(exc, "the incident")


def _value(values: dict[str, Any], block: Block, action: Action) -> str:
    return str(((values.get(block.value) or {}).get(action.value) or {}).get("value") or "")


def _loading() -> dict[str, Any]:
    return modals.progress_modal(TITLE, "Reading the message and finding its incident…")


def _form(
    quoted: Quoted,
    belongs: Belongs | None,
    *,
    reference: str | None = None,
    comment: str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    found = live_render.timeline_found(belongs.incident, belongs.where) if belongs else None
    return live_render.timeline_modal(
        live_render.quote_preview(quoted),
        metadata=quoted.encode(),
        reference=reference if reference is not None else quoted.incident_ref,
        found=found,
        comment=comment,
        error=error,
    )


def _open(client: WebClient, trigger: str, view: dict[str, Any], respond: Respond | None) -> dict[str, Any] | None:
    try:
        return dict(client.views_open(trigger_id=trigger, view=view)["view"])
    except Exception as exc:  # an expired trigger or Slack down: say so rather than fail silently
        code = str((exc.response if isinstance(exc, SlackApiError) else {}).get("error") or "unknown_error")
        log.warning("could not open the timeline modal: %s", code)
        if respond is not None:
            try:
                respond(replace_original=False, response_type="ephemeral", **replies.slack_refused(code))
            except Exception:
                log.warning("could not tell the person the modal did not open", exc_info=True)
        return None


def _update(client: WebClient, view_id: str | None, view: dict[str, Any]) -> None:
    if not view_id:
        return
    try:
        client.views_update(view_id=view_id, view=view)
    except Exception as exc:  # closed by the person meanwhile: nothing to show it in
        log.info("could not update timeline modal %s: %s", view_id, exc)


def _show(client: WebClient, view_id: str, modal: dict[str, Any], user: str, message: dict[str, Any]) -> None:
    """The outcome in the modal; if the person closed it meanwhile, by DM, so nothing typed is lost."""
    try:
        client.views_update(view_id=view_id, view=modal)
    except Exception as exc:
        log.info("timeline modal %s is gone (%s); telling the person by DM", view_id, exc)
        try:
            client.chat_postMessage(channel=user, **message)
        except Exception:
            log.warning("could not tell %s how their timeline entry went", user, exc_info=True)
