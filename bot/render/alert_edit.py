"""The "Edit alert" modal: the alert's editable fields, prefilled; pickers as the incident form has them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_sdk.models.blocks import (
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.domain import Alert, CatalogKind, Picker, Urgency
from bot.render.alert_message import alert_line
from bot.render.ids import Action, Block, Callback
from bot.render.pickers import Choice, Field, option, picker_element
from bot.render.text import escape, truncate

SUMMARY_MAX = 255
DESCRIPTION_MAX = 3000  # a Slack text input holds at most 3,000 characters

EDIT_FIELDS: tuple[Field, ...] = (
    Field(CatalogKind.SERVICES, Block.EDIT_SERVICES, Action.EDIT_SERVICES, "Services", True),
    Field(CatalogKind.ENVIRONMENTS, Block.EDIT_ENVIRONMENTS, Action.EDIT_ENVIRONMENTS, "Environments", True),
    Field(CatalogKind.TEAMS, Block.EDIT_TEAMS, Action.EDIT_TEAMS, "Teams", True),
)
EDIT_FIELD_BY_ACTION = {f.action.value: f for f in EDIT_FIELDS}


def current_choices(alert: Alert) -> dict[CatalogKind, tuple[Choice, ...]]:
    return {
        CatalogKind.SERVICES: tuple(Choice(s.id, s.name) for s in alert.services),
        CatalogKind.ENVIRONMENTS: tuple(Choice(e.id, e.name) for e in alert.environments),
        CatalogKind.TEAMS: tuple(Choice(g.id, g.name) for g in alert.groups),
    }


def edit_modal(
    alert: Alert,
    *,
    urgencies: list[Urgency],
    pickers: Mapping[CatalogKind, Picker],
    private_metadata: str,
    errors: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Prefilled from the alert; ``errors`` (block id → message) are shown under their fields after a refusal."""
    errors = errors or {}
    blocks: list[Any] = [ContextBlock(elements=[MarkdownTextObject(text=alert_line(alert))])]

    def add(block: InputBlock) -> None:
        blocks.append(block)
        if block.block_id in errors:
            note = f"⚠️ {escape(truncate(errors[str(block.block_id)], 300))}"
            blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))

    add(
        InputBlock(
            block_id=Block.EDIT_SUMMARY.value,
            label="Summary",
            element=PlainTextInputElement(
                action_id=Action.EDIT_SUMMARY.value,
                initial_value=truncate(alert.summary, SUMMARY_MAX),
                max_length=SUMMARY_MAX,
            ),
        )
    )
    add(
        InputBlock(
            block_id=Block.EDIT_DESCRIPTION.value,
            label="Description",
            optional=True,
            element=PlainTextInputElement(
                action_id=Action.EDIT_DESCRIPTION.value,
                multiline=True,
                initial_value=truncate(alert.description, DESCRIPTION_MAX) if alert.description else None,
                max_length=DESCRIPTION_MAX,
            ),
        )
    )
    if urgencies:
        options = [option(u.id, u.name) for u in urgencies[:100]]
        current = next((o for o in options if alert.urgency and o.value == alert.urgency.id), None)
        add(
            InputBlock(
                block_id=Block.EDIT_URGENCY.value,
                label="Urgency",
                optional=True,
                element=StaticSelectElement(
                    action_id=Action.EDIT_URGENCY.value, options=options, initial_option=current
                ),
            )
        )
    chosen = current_choices(alert)
    for spec in EDIT_FIELDS:
        picker = pickers.get(spec.kind)
        element = picker_element(spec, picker, chosen[spec.kind]) if picker is not None else None
        if element is not None:
            add(InputBlock(block_id=spec.block.value, label=spec.label, optional=True, element=element))
    labels = "\n".join(f"{k}={v}" for k, v in alert.labels)
    add(
        InputBlock(
            block_id=Block.EDIT_LABELS.value,
            label="Labels",
            optional=True,
            hint="One key=value a line. Remove a line to remove the label.",
            element=PlainTextInputElement(
                action_id=Action.EDIT_LABELS.value,
                multiline=True,
                initial_value=truncate(labels, DESCRIPTION_MAX) or None,
                max_length=DESCRIPTION_MAX,
            ),
        )
    )
    view = View(
        type="modal",
        callback_id=Callback.EDIT_MODAL.value,
        title="Edit alert",
        submit="Save",
        close="Cancel",
        private_metadata=private_metadata,
        blocks=blocks,
    )
    return view.to_dict()
