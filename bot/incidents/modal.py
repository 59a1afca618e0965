"""The incident modals: loading, the form, "already declared", and the outcome. Pure functions to view dicts.

Every id comes from :mod:`bot.render.ids`; the form's state is read back by ``bot.incidents.form`` with the same
ids. Lists that fit a static select are offered whole; the others are ``external_select`` searched as typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    ExternalDataSelectElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.domain import CatalogKind, Incident, Pickers
from bot.domain.limits import INCIDENT_TITLE_MAX
from bot.incidents.messages import channel_link, copy_text, incident_link
from bot.incidents.prefill import SUMMARY_MAX
from bot.incidents.thread_copy import ThreadCopy
from bot.render.ids import Action, Block, Callback
from bot.render.pickers import Choice, Field, option, picker_element
from bot.render.text import SECTION_TEXT_MAX, escape_bounded, link, truncate

TITLE = "Declare incident"
PRIVATE_WARNING = "Rootly cannot make a private incident public again."


FIELDS: tuple[Field, ...] = (
    Field(CatalogKind.SEVERITIES, Block.INCIDENT_SEVERITY, Action.INCIDENT_SEVERITY, "Severity", False),
    Field(CatalogKind.INCIDENT_TYPES, Block.INCIDENT_TYPES, Action.INCIDENT_TYPES, "Incident types", True),
    Field(CatalogKind.SERVICES, Block.INCIDENT_SERVICES, Action.INCIDENT_SERVICES, "Services", True),
    Field(CatalogKind.TEAMS, Block.INCIDENT_TEAMS, Action.INCIDENT_TEAMS, "Teams", True),
    Field(CatalogKind.ENVIRONMENTS, Block.INCIDENT_ENVIRONMENTS, Action.INCIDENT_ENVIRONMENTS, "Environments", True),
)
FIELD_BY_ACTION: dict[str, Field] = {f.action.value: f for f in FIELDS}


@dataclass(frozen=True)
class FormValues:
    """What the form shows: prefilled, or what the person typed and picked (when a failure hands it back)."""

    title: str = ""
    summary: str = ""
    picked: Mapping[CatalogKind, tuple[Choice, ...]] = field(default_factory=dict)
    parent: Choice | None = None
    private: bool = False
    attach_alert: bool = True


def incident_option(incident: Incident) -> Option:
    return option(incident.id, f"{incident.label} · {incident.title}")


def loading_modal(origin: str | None = None) -> dict[str, Any]:
    """Opened at once, inside Slack's trigger window, while Rootly's lists and the prefill are read."""
    text = "⏳ Getting severities, services and teams from Rootly…"
    if origin:
        text += f"\n{escape_bounded(origin, 300)}"
    return _message_view(text, close="Cancel")


def incident_form(
    values: FormValues,
    pickers: Pickers,
    *,
    metadata: str,
    origin: str | None = None,
    origin_url: str | None = None,
    alert_label: str | None = None,
    notes: Mapping[str, str] | None = None,
    banner: str | None = None,
) -> dict[str, Any]:
    """The form. ``alert_label`` adds the "attach this alert" box; ``notes`` puts a warning under a block (by id)
    and ``banner`` one at the top, for when a failure hands the person's values back in a new view.
    """
    notes = notes or {}
    blocks: list[Any] = []
    if banner:
        blocks.append(_section(f"⚠️ {banner}"))
    if origin:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=link(origin_url, origin))]))

    def add(block: InputBlock) -> None:
        blocks.append(block)
        note = notes.get(str(block.block_id))
        if note:
            blocks.append(ContextBlock(elements=[MarkdownTextObject(text=truncate(f"⚠️ {note}", 2000))]))

    title = PlainTextInputElement(
        action_id=Action.INCIDENT_TITLE.value,
        max_length=INCIDENT_TITLE_MAX,
        initial_value=values.title[:INCIDENT_TITLE_MAX] or None,
        placeholder="What is broken, for whom",
    )
    add(InputBlock(block_id=Block.INCIDENT_TITLE.value, label="Title", element=title))
    summary = PlainTextInputElement(
        action_id=Action.INCIDENT_SUMMARY.value,
        multiline=True,
        max_length=SUMMARY_MAX,
        initial_value=values.summary[:SUMMARY_MAX] or None,
        placeholder="What is known so far",
    )
    add(InputBlock(block_id=Block.INCIDENT_SUMMARY.value, label="Summary", element=summary, optional=True))
    for spec in FIELDS:
        element = picker_element(spec, pickers[spec.kind], values.picked.get(spec.kind, ()))
        if element is not None:
            failed = pickers[spec.kind].failed
            hint = f"Rootly did not answer; type to search its {spec.label.lower()}." if failed else None
            add(InputBlock(block_id=spec.block.value, label=spec.label, element=element, optional=True, hint=hint))
    parent = ExternalDataSelectElement(
        action_id=Action.INCIDENT_PARENT.value,
        placeholder="Search active incidents…",
        min_query_length=0,
        initial_option=option(values.parent.value, values.parent.label) if values.parent else None,
    )
    add(
        InputBlock(
            block_id=Block.INCIDENT_PARENT.value,
            label="Sub-incident of",
            element=parent,
            optional=True,
            hint="Leave empty for a new, top-level incident.",
        )
    )
    if alert_label:
        attach = option("attach", f"Attach alert {alert_label}")
        box = CheckboxesElement(
            action_id=Action.INCIDENT_ALERT.value,
            options=[attach],
            initial_options=[attach] if values.attach_alert else None,
        )
        add(InputBlock(block_id=Block.INCIDENT_ALERT.value, label="Alert", element=box, optional=True))
    private = Option(value="private", text="Private incident", description=PRIVATE_WARNING)
    add(
        InputBlock(
            block_id=Block.INCIDENT_PRIVATE.value,
            label="Visibility",
            element=CheckboxesElement(
                action_id=Action.INCIDENT_PRIVATE.value,
                options=[private],
                initial_options=[private] if values.private else None,
            ),
            optional=True,
            hint=f"Only the incident's responders see a private incident. ⚠️ {PRIVATE_WARNING}",
        )
    )
    view = View(
        type="modal",
        callback_id=Callback.INCIDENT_MODAL.value,
        title=TITLE,
        submit="Declare",
        close="Cancel",
        private_metadata=metadata,
        blocks=blocks,
    )
    return view.to_dict()


def already_declared_modal(
    incident: Incident | None, owner: str, *, subject: str, metadata: str, in_progress: bool = False
) -> dict[str, Any]:
    """A second declaration from the same thread or alert: link the first; a separate one only on purpose."""
    if incident is None or in_progress:
        text = f"⏳ <@{owner}> is declaring an incident from this {subject} right now; it will be linked here shortly."
    else:
        text = f"🚨 This {subject} already has an incident: {incident_link(incident)}, declared by <@{owner}>."
        if channel := channel_link(incident):
            text += f"\nIncident channel: {channel}"
    elements: list[Any] = []
    if incident is not None and incident.url and not in_progress:
        elements.append(
            ButtonElement(
                text=truncate(f"Open {incident.label}", 75),
                action_id=Action.INCIDENT_OPEN.value,
                url=incident.url,
                style="primary",
            )
        )
    elements.append(
        ButtonElement(text="Declare a separate incident", action_id=Action.INCIDENT_DECLARE_SEPARATE.value, value="1")
    )
    view = View(
        type="modal",
        callback_id=Callback.INCIDENT_DECLARED_MODAL.value,
        title=TITLE,
        close="Close",
        private_metadata=metadata,
        blocks=[_section(text), ActionsBlock(elements=elements)],
    )
    return view.to_dict()


def declared_modal(incident: Incident, *, copy: ThreadCopy | None = None, note: str | None = None) -> dict[str, Any]:
    """The outcome, in the modal that was submitted."""
    lines = [f"✅ {incident_link(incident)} declared."]
    if incident.severity:
        lines.append(f"Severity: {escape_bounded(incident.severity, 80)}")
    if channel := channel_link(incident):
        lines.append(f"Incident channel: {channel}")
    if copy is not None:
        lines.append(copy_text(copy, copying=False))
    if note:
        lines.append(note)
    blocks: list[Any] = [_section("\n".join(lines))]
    if incident.url:
        blocks.append(
            ActionsBlock(
                elements=[ButtonElement(text="Open in Rootly", action_id=Action.INCIDENT_OPEN.value, url=incident.url)]
            )
        )
    return View(type="modal", title=TITLE, close="Done", blocks=blocks).to_dict()


def progress_modal() -> dict[str, Any]:
    return _message_view("⏳ Declaring the incident in Rootly…", close="Close")


def problem_modal(text: str) -> dict[str, Any]:
    return _message_view(f"⚠️ {text}", close="Close")


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_MAX)))


def _message_view(text: str, *, close: str) -> dict[str, Any]:
    return View(type="modal", title=TITLE, close=close, blocks=[_section(text)]).to_dict()
