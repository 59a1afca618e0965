""" "Edit alert" from an alert's menu: open a form at once, fill it from Rootly, PATCH only what changed.

Rootly's refusals (422) come back beside the field they concern, with everything the person typed kept.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain import Alert, AlertEdit, AlertRef, Backend, Service, Urgency
from bot.render import modals, replies
from bot.render.alert_edit import EDIT_FIELD_BY_ACTION, edit_modal
from bot.render.ids import Action, Block, Callback
from bot.render.pickers import option
from bot.services.alert_edit_form import EditFormSource
from bot.slack.syntax import parse_labels
from bot.support import errors

if TYPE_CHECKING:
    from bot.slack.context import Services

log = logging.getLogger(__name__)

TITLE = "Edit alert"
# Attribute names in Rootly's 422 pointers → the form's blocks.
_FIELD_BLOCKS = {
    "summary": Block.EDIT_SUMMARY,
    "description": Block.EDIT_DESCRIPTION,
    "alert_urgency_id": Block.EDIT_URGENCY,
    "service_ids": Block.EDIT_SERVICES,
    "environment_ids": Block.EDIT_ENVIRONMENTS,
    "group_ids": Block.EDIT_TEAMS,
    "labels": Block.EDIT_LABELS,
}


def open_edit(services: Services, client: WebClient, ref: AlertRef, trigger_id: str, respond: Respond) -> None:
    """Called from the alert menu's listener: a loading modal now (Slack's trigger lasts 3 s), the form later."""
    if ref.backend is not Backend.ROOTLY or services.pickers is None:
        respond(replace_original=False, **replies.problem("Only Rootly alerts can be edited from Slack."))
        return
    try:
        opened = client.views_open(trigger_id=trigger_id, view=modals.progress_modal(TITLE, "Loading the alert…"))
    except SlackApiError as exc:
        respond(replace_original=False, **replies.slack_refused(str(exc.response.get("error") or "unknown_error")))
        return
    view_id = opened["view"]["id"]
    services.work.call(lambda: _fill(services, client, ref, view_id))


def _fill(services: Services, client: WebClient, ref: AlertRef, view_id: str) -> None:
    try:
        form = _source(services).load(ref)
    except errors.BackendError as exc:
        client.views_update(view_id=view_id, view=modals.done_modal(TITLE, replies.describe_failure(exc)))
        return
    metadata = json.dumps({"ref": ref.encode()})
    view = edit_modal(form.alert, urgencies=form.urgencies, pickers=form.pickers, private_metadata=metadata)
    client.views_update(view_id=view_id, view=view)


def _source(services: Services) -> EditFormSource:
    assert services.pickers is not None  # open_edit refuses when Rootly (and so the pickers) is not configured
    return EditFormSource(services.backends, services.pickers)


def register(app: App, services: Services) -> None:
    def edit_options(ack: Ack, body: dict[str, Any]) -> None:
        spec = EDIT_FIELD_BY_ACTION.get(str(body.get("action_id")))
        items: tuple[Any, ...] = ()
        if spec is not None and services.pickers is not None:
            try:
                items = services.pickers.options(spec.kind, str(body.get("value") or ""))
            except errors.BackendError as exc:
                log.info("edit form search failed: %s", exc)
        ack(options=[option(item.id, item.name).to_dict() for item in items[:100]])

    for action_id in EDIT_FIELD_BY_ACTION:
        app.options(action_id)(edit_options)

    @app.view(Callback.EDIT_MODAL.value)
    def submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        try:
            metadata = json.loads(view.get("private_metadata") or "{}")
            ref = AlertRef.decode(str((metadata if isinstance(metadata, dict) else {}).get("ref") or ""))
        except ValueError:
            ack(response_action="errors", errors={Block.EDIT_SUMMARY.value: "This form lost its alert; reopen it."})
            return
        edit, names, bad_labels = read_form(view)
        if bad_labels:
            ack(
                response_action="errors",
                errors={Block.EDIT_LABELS.value: f"Write each label as key=value: {', '.join(bad_labels[:3])}"},
            )
            return
        if edit.summary is not None and not edit.summary.strip():
            ack(response_action="errors", errors={Block.EDIT_SUMMARY.value: "An alert needs a summary."})
            return
        ack(response_action="update", view=modals.progress_modal(TITLE, "Saving…"))
        user = body.get("user") or {}
        view_id = view.get("id")

        def job() -> None:
            try:
                result = services.actions.edit(ref, user.get("id") or "", edit, names, user.get("name"))
            except errors.Invalid as exc:
                _refused(services, client, ref, view, edit, names, exc)
                return
            except errors.BackendError as exc:
                _refused(services, client, ref, view, edit, names, exc)
                return
            services.path.finish(result)  # every message of the alert shows the edit, and who made it
            client.views_update(view_id=view_id, view=modals.done_modal(TITLE, replies.action_text(result)))

        def shown() -> None:
            try:
                job()
            except SlackApiError as exc:  # the modal was closed meanwhile: the edit (or refusal) stands
                log.warning("could not show the edit's outcome in view %s: %s", view_id, exc.response.get("error"))

        services.work.call(shown)


def read_form(view: dict[str, Any]) -> tuple[AlertEdit, dict[str, str], list[str]]:
    """The form's values (by id), the names the form showed for those ids, and label lines that did not parse."""
    values = (view.get("state") or {}).get("values") or {}

    def field(block: Block, action: Action) -> dict[str, Any] | None:
        return (values.get(block.value) or {}).get(action.value)

    names: dict[str, str] = {}

    def picked(block: Block, action: Action) -> tuple[str, ...] | None:
        state = field(block, action)
        if state is None:
            return None
        chosen = state.get("selected_options") or []
        for o in chosen:
            names[str(o.get("value"))] = str((o.get("text") or {}).get("text") or o.get("value"))
        return tuple(str(o.get("value")) for o in chosen)

    summary = field(Block.EDIT_SUMMARY, Action.EDIT_SUMMARY)
    description = field(Block.EDIT_DESCRIPTION, Action.EDIT_DESCRIPTION)
    urgency = field(Block.EDIT_URGENCY, Action.EDIT_URGENCY)
    urgency_option = (urgency or {}).get("selected_option") or None
    if urgency_option:
        names[str(urgency_option.get("value"))] = str((urgency_option.get("text") or {}).get("text") or "")
    labels_state = field(Block.EDIT_LABELS, Action.EDIT_LABELS)
    labels, bad = parse_labels(str((labels_state or {}).get("value") or "")) if labels_state is not None else ((), [])
    edit = AlertEdit(
        summary=None if summary is None else str(summary.get("value") or ""),
        description=None if description is None else str(description.get("value") or ""),
        urgency_id=str(urgency_option.get("value")) if urgency_option else None,
        service_ids=picked(Block.EDIT_SERVICES, Action.EDIT_SERVICES),
        environment_ids=picked(Block.EDIT_ENVIRONMENTS, Action.EDIT_ENVIRONMENTS),
        group_ids=picked(Block.EDIT_TEAMS, Action.EDIT_TEAMS),
        labels=labels if labels_state is not None else None,
    )
    return edit, names, bad


def _refused(
    services: Services,
    client: WebClient,
    ref: AlertRef,
    view: dict[str, Any],
    edit: AlertEdit,
    names: dict[str, str],
    exc: errors.BackendError,
) -> None:
    """The form again, as the person left it, with Rootly's words beside the field they concern."""
    try:
        loaded = _source(services).load(ref)
    except errors.BackendError:
        text = f"{replies.describe_failure(exc)}\n\nNothing was changed."
        client.views_update(view_id=view.get("id"), view=modals.done_modal(TITLE, text))
        return
    shown = _as_typed(loaded.alert, edit, names, loaded.urgencies)
    block = Block.EDIT_SUMMARY
    if isinstance(exc, errors.Invalid):
        block = next((_FIELD_BLOCKS[f] for f in exc.fields if f in _FIELD_BLOCKS), Block.EDIT_SUMMARY)
    message = replies.describe_failure(exc)
    form = edit_modal(
        shown,
        urgencies=loaded.urgencies,
        pickers=loaded.pickers,
        private_metadata=view.get("private_metadata") or "",
        errors={block.value: message},
    )
    client.views_update(view_id=view.get("id"), view=form)


def _as_typed(alert: Alert, edit: AlertEdit, names: dict[str, str], urgencies: list[Urgency]) -> Alert:
    """The alert with the form's values in it, so a re-shown form keeps everything the person typed and picked."""

    def items(ids: tuple[str, ...] | None, current: tuple[Service, ...]) -> tuple[Service, ...]:
        return current if ids is None else tuple(Service(i, names.get(i, i)) for i in ids)

    urgency = next((u for u in urgencies if u.id == edit.urgency_id), alert.urgency)
    return replace(
        alert,
        summary=edit.summary if edit.summary is not None else alert.summary,
        description=edit.description if edit.description is not None else alert.description,
        urgency=urgency,
        services=items(edit.service_ids, alert.services),
        environments=items(edit.environment_ids, alert.environments),
        groups=items(edit.group_ids, alert.groups),
        labels=edit.labels if edit.labels is not None else alert.labels,
    )
