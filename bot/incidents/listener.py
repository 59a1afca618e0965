"""Declaring incidents from Slack: ``/rootly incident``, the "Declare incident" message shortcut, the alert button.

All three open the same modal inside Slack's 3-second trigger window whatever Rootly's latency: the listener acks,
opens the modal at once (its loading state, unless everything it needs is cached) and the work pool fills it with
``views.update`` when Rootly has answered. A submission waits for Rootly for :data:`SUBMIT_WAIT` seconds so that
a refusal can be shown next to its field (``response_action: errors``, keeping everything typed); when Rootly is
slower the modal shows progress and is updated with the outcome. Listeners never raise after acking.

``views.open`` is called on the request thread, not handed to the work pool: the pool may be busy with slow Rootly
calls, and a modal opened after the 3-second trigger window is not opened at all. It costs the acknowledgement one
Slack round trip (milliseconds; ``python -m bench.incident_modal`` measures both).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain import AlertRef, Backend, NewIncident
from bot.incidents import commands as incident_commands
from bot.incidents import controls as incident_controls
from bot.incidents import modal as incident_modal
from bot.incidents import prefill as incident_prefill
from bot.incidents import syntax as incident_syntax
from bot.incidents import timeline_listener
from bot.incidents.context import Services
from bot.incidents.conversations import thread_message
from bot.incidents.form import Meta, field_errors, read_form, to_new_incident
from bot.incidents.modal import FIELD_BY_ACTION, FormValues
from bot.incidents.operations import IncidentOperations
from bot.incidents.prefill import Prefill
from bot.incidents.service import Declared, IncidentDeclarations, InProgress, Origin, Outcome, Source, Unconfirmed
from bot.incidents.timeline import TimelineShortcut
from bot.incidents.wiring import IncidentWork
from bot.render import replies
from bot.render.ids import Action, Block, Callback
from bot.render.pickers import option
from bot.slack.context import Services as Core
from bot.support import errors

log = logging.getLogger(__name__)

# Slack drops a view submission not answered within 3 s: wait this long for Rootly, then answer with progress.
SUBMIT_WAIT = 1.8
# An options request cannot be answered later at all; past this, the person sees no options and types again.
OPTIONS_WAIT = 2.2
NO_ROOTLY = "Incidents are declared in Rootly, and this bot has no Rootly API key (ROOTLY_API_TOKEN)."
_SUBJECT = {Origin.MESSAGE: "thread", Origin.ALERT: "alert", Origin.COMMAND: "form"}

Result = Outcome | errors.BackendError | None  # None: an unexpected error (logged by the work pool)


def register(app: App, core: Core, incidents: IncidentDeclarations | None, work: IncidentWork | None) -> None:
    """Declaring and working on incidents: the shortcuts, the form, the live message's controls, and the
    ``/rootly incident …`` and ``/rootly incidents …`` words."""
    services = Services(core, incidents, work, IncidentOperations(core.policy, core.store.claim, work))
    for word in ("incident", "incidents"):
        core.subcommands[word] = lambda rest, command, ack, respond: open_from_command(
            services, app.client, ack, command, " ".join(rest.split()) or None
        )
    incident_controls.register(app, services)
    shortcut = None
    if incidents is not None and work is not None:
        shortcut = TimelineShortcut(
            work.actions, work.reliable, work.messages, incidents.store, incidents.conversations, incidents.user_name
        )
    timeline_listener.register(app, services, shortcut)

    @app.shortcut(Callback.DECLARE_INCIDENT_SHORTCUT.value)
    def shortcut(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        open_from_message(services, client, body)

    @app.action(Action.DECLARE_INCIDENT.value)
    def alert_button(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        open_from_alert(services, client, body, action.get("value") or "", respond)

    @app.action(Action.INCIDENT_OPEN.value)
    def open_link(ack: Ack) -> None:
        ack()  # a link button: Slack opens the URL; the click only needs acknowledging

    @app.action(Action.INCIDENT_DECLARE_SEPARATE.value)
    def declare_separately(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        view = body.get("view") or {}
        declarations = services.incidents
        try:
            meta = Meta.decode(view.get("private_metadata") or "").separate()
        except ValueError:
            _update(
                client, view.get("id"), incident_modal.problem_modal("This form lost track of where it was opened.")
            )
            return
        if declarations is None:
            return
        opened = _update(client, view.get("id"), incident_modal.loading_modal(meta.origin_text))
        if opened is not None:
            services.work.call(lambda: fill(declarations, client, opened, meta, lambda: _fallback(meta)))

    def catalog_options(ack: Ack, body: dict[str, Any]) -> None:
        spec = FIELD_BY_ACTION.get(str(body.get("action_id")))
        declarations = services.incidents
        items: tuple[Any, ...] = ()
        if spec is not None and declarations is not None:
            query = str(body.get("value") or "")
            items = _within(services, lambda: declarations.pickers.options(spec.kind, query), OPTIONS_WAIT) or ()
        ack(options=[option(item.id, item.name).to_dict() for item in items[:100]])

    for spec in FIELD_BY_ACTION.values():
        app.options(spec.action.value)(catalog_options)

    @app.options(Action.INCIDENT_PARENT.value)
    def parent_options(ack: Ack, body: dict[str, Any]) -> None:
        declarations = services.incidents
        found: list[Any] = []
        if declarations is not None:
            query = str(body.get("value") or "")
            found = _within(services, lambda: declarations.pickers.active_incidents(query), OPTIONS_WAIT) or []
        ack(options=[incident_modal.incident_option(incident).to_dict() for incident in found[:100]])

    @app.view(Callback.INCIDENT_MODAL.value)
    def submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        submit(services, ack, body, view, client)


# opening -----------------------------------------------------------------------------------------------------------
def open_from_command(
    services: Services, client: WebClient, ack: Ack, command: dict[str, Any], title: str | None
) -> None:
    """``/rootly incident [title]``: the form, prefilled with the title; the outcome is posted in the channel.
    ``/rootly incident <sub-command> …`` and ``/rootly incidents …`` work on existing incidents instead."""
    word, _, rest = str(command.get("text") or "").strip().partition(" ")
    parsed = incident_syntax.parse(rest, listing=word.lower() == "incidents")
    if not isinstance(parsed, incident_syntax.Declare):
        incident_commands.handle(services, client, ack, command, parsed)
        return
    declarations = services.incidents
    if declarations is None:
        ack(**replies.problem(NO_ROOTLY))
        return
    ack()
    meta = Meta(Source(Origin.COMMAND, channel=command.get("channel_id") or None))
    prefill = incident_prefill.from_command(title)
    respond = Respond(response_url=command.get("response_url") or "")
    trigger = command.get("trigger_id") or ""
    cached = declarations.pickers.cached()
    if cached is not None:  # nothing to wait for: open the form itself
        view = incident_modal.incident_form(FormValues(title=prefill.title), cached, metadata=meta.encode())
        _open(client, trigger, view, respond)
        return
    opened = _open(client, trigger, incident_modal.loading_modal(), respond)
    if opened is not None:
        services.work.call(lambda: fill(declarations, client, opened, meta, lambda: prefill))


def open_from_message(services: Services, client: WebClient, body: dict[str, Any]) -> None:
    """The message shortcut, on any message or thread reply: keyed by the thread, prefilled from the message."""
    trigger = body.get("trigger_id") or ""
    declarations = services.incidents
    if declarations is None:
        _open(client, trigger, incident_modal.problem_modal(NO_ROOTLY), None)
        return
    raw = body.get("message") or {}
    channel = (body.get("channel") or {}).get("id") or ""
    ts = str(raw.get("ts") or body.get("message_ts") or "")
    if not channel or not ts:
        _open(client, trigger, incident_modal.problem_modal("Slack did not say which message this was."), None)
        return
    message = thread_message(raw)
    meta = Meta(Source(Origin.MESSAGE, channel=channel, thread_ts=str(raw.get("thread_ts") or ts)))
    respond = Respond(response_url=body["response_url"]) if body.get("response_url") else None
    opened = _open(client, trigger, incident_modal.loading_modal(), respond)
    if opened is not None:
        services.work.call(
            lambda: fill(declarations, client, opened, meta, lambda: declarations.prefill_message(channel, message))
        )


def open_from_alert(services: Services, client: WebClient, body: dict[str, Any], value: str, respond: Respond) -> None:
    """The "Declare incident" button on an alert message: keyed by the alert, which is attached when Rootly's."""
    declarations = services.incidents
    try:
        ref = AlertRef.decode(value)
    except ValueError:
        respond(replace_original=False, **replies.problem("That button is not one I know. Refresh the alert."))
        return
    if declarations is None:
        respond(replace_original=False, **replies.problem(NO_ROOTLY))
        return
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    # An ephemeral list has no thread to reply in: the outcome goes to the channel.
    thread = None if container.get("is_ephemeral") else container.get("message_ts")
    label = ref.id if ref.backend is Backend.ROOTLY else None
    meta = Meta(Source(Origin.ALERT, channel=channel, thread_ts=thread, alert=ref), f"Alert {ref.id}", None, label)
    opened = _open(client, body.get("trigger_id") or "", incident_modal.loading_modal(), respond)
    if opened is not None:
        services.work.call(lambda: fill(declarations, client, opened, meta, lambda: declarations.prefill_alert(ref)))


def fill(
    declarations: IncidentDeclarations,
    client: WebClient,
    opened: dict[str, Any],
    meta: Meta,
    prefill: Callable[[], Prefill],
) -> None:
    """Replace the loading view: the existing incident when this thread or alert has one, else the form. Whatever
    goes wrong, the loading view is replaced: a modal left "loading" forever would be worse than an error.
    """
    try:
        _fill(declarations, client, opened, meta, prefill)
    except Exception:
        reference = uuid.uuid4().hex[:8]
        log.exception("could not prepare the incident form (reference %s)", reference)
        text = f"Something went wrong on the bot's side while preparing the form (reference `{reference}`). Try again."
        _update(client, opened.get("id"), incident_modal.problem_modal(text))


def _fill(
    declarations: IncidentDeclarations,
    client: WebClient,
    opened: dict[str, Any],
    meta: Meta,
    prefill: Callable[[], Prefill],
) -> None:
    view_id, view_hash = opened.get("id"), opened.get("hash")
    existing = declarations.existing(meta.source)
    if existing is not None:
        view = incident_modal.already_declared_modal(
            existing.incident,
            existing.owner,
            subject=_SUBJECT[meta.source.origin],
            metadata=meta.encode(),
            in_progress=existing.incident is None,
        )
        _update(client, view_id, view, view_hash)
        return
    lists = declarations.pickers.load_async()
    banner = None
    try:
        filled = prefill()
    except errors.BackendError as exc:
        filled = _fallback(meta)
        banner = f"Could not read the {_SUBJECT[meta.source.origin]} from {exc.backend}: {exc.message}"
    alert_label = filled.alert.label if filled.alert else meta.alert_label
    meta = Meta(meta.source, filled.origin or meta.origin_text, filled.origin_url, alert_label)
    view = incident_modal.incident_form(
        FormValues(title=filled.title, summary=filled.summary),
        lists.result(),
        metadata=meta.encode(),
        origin=meta.origin_text,
        origin_url=meta.origin_url,
        alert_label=alert_label,
        banner=banner,
    )
    _update(client, view_id, view, view_hash)


def _fallback(meta: Meta) -> Prefill:
    return Prefill(origin=meta.origin_text, origin_url=meta.origin_url)


# submitting --------------------------------------------------------------------------------------------------------
def submit(services: Services, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
    declarations = services.incidents
    title_block = Block.INCIDENT_TITLE.value
    try:
        meta = Meta.decode(view.get("private_metadata") or "")
    except ValueError:
        ack(response_action="errors", errors={title_block: "This form lost track of where it was opened; reopen it."})
        return
    if declarations is None:
        ack(response_action="errors", errors={title_block: NO_ROOTLY})
        return
    form = read_form(((view.get("state") or {}).get("values")) or {})
    draft = to_new_incident(form, meta)
    if not draft.title:
        ack(response_action="errors", errors={title_block: "Give the incident a title."})
        return
    user = str((body.get("user") or {}).get("id") or "")
    view_id = str(view.get("id") or "")
    key = meta.source.key(view_id)
    present = {str(b.get("block_id")) for b in view.get("blocks") or () if isinstance(b, dict)}

    def attempt() -> Result:
        try:
            return declarations.declare(key, draft, user, view_id)
        except errors.BackendError as exc:
            return exc

    future: Future[Any] = services.work.call(attempt)
    try:
        result = future.result(timeout=SUBMIT_WAIT)
    except FutureTimeout:
        ack(response_action="update", view=incident_modal.progress_modal())
        future.add_done_callback(
            lambda done: _guarded(lambda: _finish_late(services, client, meta, form, view_id, user, done.result()))
        )
        return
    problem = _form_problem(result, present, draft)
    if problem is not None:
        ack(response_action="errors", errors=problem)
        return
    ack(response_action="update", view=_outcome_view(result, meta, view_id))
    if isinstance(result, Declared) and result.announce:
        services.work.call(lambda: _announce(declarations, client, meta, result, user, view_id))


def _form_problem(result: Result, present: set[str], draft: NewIncident) -> dict[str, str] | None:
    """``{block_id: message}`` when the person should stay in the form (nothing was created), else None."""
    title = Block.INCIDENT_TITLE.value
    keep = " Nothing was created; everything you typed is still here."
    if isinstance(result, errors.Invalid):
        return field_errors(result, present, draft)
    if isinstance(result, errors.RateLimited):
        wait = f" in about {int(result.retry_after)} s" if result.retry_after else " in a minute"
        return {title: f"Rootly is rate limiting the bot.{keep} Submit again{wait}."}
    if isinstance(result, errors.Unavailable):
        return {title: f"Rootly is not answering ({result.message}).{keep} Submit again in a moment."}
    if isinstance(result, errors.BackendError):
        return {title: replies.failure_text(result, "the incident")[0][:1900]}
    if isinstance(result, Unconfirmed):
        if result.checked:
            return {
                title: "Rootly did not confirm the incident, and it is not in Rootly's list. Submit again: the bot "
                "looks for it once more before creating it, so it is never created twice."
            }
        return {
            title: "Rootly did not answer, and could not be asked whether the incident was created. Submit again "
            "when it answers: the bot looks for it first, so it is never created twice."
        }
    if result is None:
        return {title: "Something went wrong on the bot's side; nothing you typed is lost. Submit again."}
    return None


def _outcome_view(result: Result, meta: Meta, view_id: str) -> dict[str, Any]:
    if isinstance(result, Declared):
        if result.announce or result.view_id == view_id:  # ours, or a double submit of this same form
            return incident_modal.declared_modal(result.incident)
        subject = _SUBJECT[meta.source.origin]
        return incident_modal.already_declared_modal(
            result.incident, result.owner, subject=subject, metadata=meta.encode()
        )
    owner = result.owner if isinstance(result, InProgress) else ""
    subject = _SUBJECT[meta.source.origin]
    return incident_modal.already_declared_modal(None, owner, subject=subject, metadata=meta.encode(), in_progress=True)


def _finish_late(
    services: Services, client: WebClient, meta: Meta, form: FormValues, view_id: str, user: str, result: Result
) -> None:
    """The outcome of a submission answered with progress: update the modal; hand the form back on failure."""
    declarations = services.incidents
    if declarations is None:
        return
    problem = _form_problem(result, {b.value for b in Block}, to_new_incident(form, meta))
    if problem is None:
        _update(client, view_id, _outcome_view(result, meta, view_id))
        if isinstance(result, Declared) and result.announce:
            _announce(declarations, client, meta, result, user, view_id)
        return
    view = incident_modal.incident_form(
        form,
        declarations.pickers.cached() or declarations.pickers.load(),
        metadata=meta.encode(),
        origin=meta.origin_text,
        origin_url=meta.origin_url,
        alert_label=meta.alert_label,
        notes=problem,
        banner="The incident was not declared; see below.",
    )
    _update(client, view_id, view)


def _announce(
    declarations: IncidentDeclarations, client: WebClient, meta: Meta, result: Declared, user: str, view_id: str
) -> None:
    announcement = declarations.announce(meta.source, result.incident, user)
    note = None
    if not announcement.posted and meta.source.channel:
        note = "I couldn't post in the conversation (am I a member?): share the link above yourself."
    if announcement.copy is not None or note:
        _update(client, view_id, incident_modal.declared_modal(result.incident, copy=announcement.copy, note=note))


# Slack calls -------------------------------------------------------------------------------------------------------
def _open(client: WebClient, trigger_id: str, view: dict[str, Any], respond: Respond | None) -> dict[str, Any] | None:
    try:
        return dict(client.views_open(trigger_id=trigger_id, view=view)["view"])
    except Exception as exc:  # an expired trigger or Slack down: say so rather than fail silently
        response = exc.response if isinstance(exc, SlackApiError) else {}
        code = str(response.get("error") or "unknown_error")
        log.warning("could not open the incident modal: %s", code, exc_info=not isinstance(exc, SlackApiError))
        if respond is not None:
            try:
                respond(replace_original=False, response_type="ephemeral", **replies.slack_refused(code))
            except Exception:
                log.warning("could not tell the person the modal did not open", exc_info=True)
        return None


def _update(
    client: WebClient, view_id: str | None, view: dict[str, Any], view_hash: str | None = None
) -> dict[str, Any] | None:
    if not view_id:
        return None
    try:
        extra = {"hash": view_hash} if view_hash else {}
        return dict(client.views_update(view_id=view_id, view=view, **extra)["view"])
    except SlackApiError as exc:  # closed by the person, or changed meanwhile: nothing to show it in
        log.info("could not update incident modal %s: %s", view_id, exc.response.get("error"))
        return None
    except Exception:  # Slack unreachable: nothing to show it in either; never raise from a background job
        log.warning("could not update incident modal %s", view_id, exc_info=True)
        return None


def _guarded(job: Callable[[], None]) -> None:
    """Run a future's callback: concurrent.futures would only print what it raised."""
    try:
        job()
    except Exception:
        log.exception("finishing an incident declaration failed")


def _within(services: Services, job: Callable[[], Any], seconds: float) -> Any:
    """``job``'s result if the work pool finishes it in time, else None (the pool still finishes it)."""
    try:
        return services.work.call(job).result(timeout=seconds)
    except FutureTimeout:
        return None
