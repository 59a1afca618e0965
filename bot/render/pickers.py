"""Selects over Rootly's catalogs, shared by every form that picks from them (incident form, alert edit form).

A list that fits a static select is offered whole; a longer one is an ``external_select`` searched as typed.
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.models.blocks import (
    BlockElement,
    ExternalDataMultiSelectElement,
    ExternalDataSelectElement,
    Option,
    StaticMultiSelectElement,
    StaticSelectElement,
)

from bot.domain import CatalogKind, Picker
from bot.render.ids import Action, Block
from bot.render.text import truncate

OPTION_TEXT_MAX = 75  # Slack's bound on an option's text


@dataclass(frozen=True)
class Field:
    kind: CatalogKind
    block: Block
    action: Action
    label: str
    multi: bool


@dataclass(frozen=True)
class Choice:
    """A picked option: Rootly's id and the name shown."""

    value: str
    label: str


def option(value: str, label: str) -> Option:
    return Option(value=value, text=truncate(" ".join(label.split()) or value, OPTION_TEXT_MAX))


def picker_element(spec: Field, picker: Picker, picked: tuple[Choice, ...]) -> BlockElement | None:
    """A static select when the whole list fits, else one that searches Rootly as the person types."""
    placeholder = f"Choose {spec.label.lower()}" if not picker.searched else f"Search {spec.label.lower()}…"
    if picker.searched:
        initial = [option(c.value, c.label) for c in picked]
        if spec.multi:
            return ExternalDataMultiSelectElement(
                action_id=spec.action.value,
                placeholder=placeholder,
                min_query_length=0,
                initial_options=initial or None,
            )
        return ExternalDataSelectElement(
            action_id=spec.action.value,
            placeholder=placeholder,
            min_query_length=0,
            initial_option=initial[0] if initial else None,
        )
    if not picker.items:
        return None  # Rootly has none of these: nothing to pick
    options = [option(item.id, item.name) for item in picker.items]
    chosen = {c.value for c in picked}
    initial = [o for o in options if o.value in chosen]
    if spec.multi:
        return StaticMultiSelectElement(
            action_id=spec.action.value, placeholder=placeholder, options=options, initial_options=initial or None
        )
    return StaticSelectElement(
        action_id=spec.action.value,
        placeholder=placeholder,
        options=options,
        initial_option=initial[0] if initial else None,
    )
