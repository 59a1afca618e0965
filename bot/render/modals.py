"""Modals the bot opens from alert messages: the note form, and the views that replace it while and after it works."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ContextBlock, InputBlock, MarkdownTextObject, PlainTextInputElement, SectionBlock
from slack_sdk.models.views import View

from bot.domain import Alert
from bot.domain.limits import TEXT_INPUT_MAX
from bot.render.alert_message import alert_line
from bot.render.ids import Action, Block, Callback
from bot.render.text import SECTION_TEXT_MAX, truncate

_TITLE_MAX = 24


def note_modal(
    alert: Alert | str, *, private_metadata: str, initial_text: str | None = None, error: str | None = None
) -> dict[str, Any]:
    """The "Add note" form for one alert.

    ``alert`` may be the alert's line already rendered as mrkdwn (taken from the bot's own message), so the form
    opens inside Slack's 3-second trigger window without an API call. ``initial_text`` and ``error`` hand a
    person's text back, with what went wrong, when a submission failed. The input's ``max_length`` is Slack's
    bound on a text input (3,000; Slack refuses a form asking for more), so the form is the way to short notes and
    ``/rootly note`` to long ones.
    """
    subject = alert_line(alert) if isinstance(alert, Alert) else truncate(alert, SECTION_TEXT_MAX)
    blocks: list[Any] = [ContextBlock(elements=[MarkdownTextObject(text=subject)])]
    if error:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate(f"⚠️ {error}", SECTION_TEXT_MAX))))
    note = PlainTextInputElement(
        action_id=Action.NOTE_TEXT.value,
        multiline=True,
        max_length=TEXT_INPUT_MAX,  # Slack's bound on a text input; `/rootly note` takes longer notes
        initial_value=initial_text[:TEXT_INPUT_MAX] if initial_text else None,
        placeholder="What did you find or do? It goes on the alert's timeline.",
    )
    blocks.append(InputBlock(block_id=Block.NOTE_INPUT.value, label="Note", element=note))
    view = View(
        type="modal",
        callback_id=Callback.NOTE_MODAL.value,
        title="Add note",
        submit="Add note",
        close="Cancel",
        private_metadata=private_metadata,
        blocks=blocks,
    )
    return view.to_dict()


def progress_modal(title: str, text: str) -> dict[str, Any]:
    """Shown at once on submit, so Slack's 3 seconds are met while the backend works (``text`` is mrkdwn)."""
    return _message_modal(title, f"⏳ {text}", close="Close")


def done_modal(title: str, text: str) -> dict[str, Any]:
    """The outcome, in the modal the person is looking at (``text`` is mrkdwn)."""
    return _message_modal(title, text, close="Done")


def _message_modal(title: str, text: str, *, close: str) -> dict[str, Any]:
    view = View(
        type="modal",
        title=truncate(title, _TITLE_MAX),
        close=close,
        blocks=[SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_MAX)))],
    )
    return view.to_dict()
