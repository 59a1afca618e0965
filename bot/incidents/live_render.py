"""The live incident message, incident lists and the small modals its buttons open: pure Block Kit from an
:class:`~bot.domain.Incident`.

The buttons are derived from the incident's status alone (Mitigate only while active; Resolve and Cancel while
open; nothing but the timeline once it is over), so a re-render after any change, from Slack or from Rootly, is
always right.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    OverflowMenuElement,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.domain import CatalogItem, Incident, IncidentRole
from bot.domain.limits import TEXT_INPUT_MAX
from bot.incidents.timeline_entry import Quoted
from bot.render.ids import Action, Block, Callback
from bot.render.text import FALLBACK_TEXT_MAX, SECTION_TEXT_MAX, escape_bounded, link, slack_date, truncate

REFERENCE_MAX = 300  # an incident's number, slug, UUID or Rootly link
COMMENT_MAX = TEXT_INPUT_MAX  # Slack's bound on a plain-text input
_TITLE_MAX = 200
_STATUS = {
    "in_triage": "🔍 In triage",
    "started": "🔴 Started",
    "detected": "🔴 Detected",
    "acknowledged": "🟠 Acknowledged",
    "mitigated": "🟡 Mitigated",
    "resolved": "✅ Resolved",
    "closed": "✅ Closed",
    "cancelled": "⚪ Cancelled",
}
MENU_CANCEL = "cancel"
VERB_TITLES = {"mitigate": "Mitigate", "resolve": "Resolve", "cancel": "Cancel incident", "note": "Add to timeline"}
_PROMPTS = {
    "mitigate": ("How was it mitigated?", "Optional: it becomes Rootly's mitigation message."),
    "resolve": ("How was it resolved?", "Optional: it becomes Rootly's resolution message."),
    "cancel": ("Why cancel it?", "Optional: it becomes Rootly's cancellation message. Cancelling cannot be undone."),
    "note": ("Timeline entry", "What happened? It goes on the incident's timeline, with your name."),
}
_SUBMIT = {"mitigate": "Mitigate", "resolve": "Resolve", "cancel": "Cancel incident", "note": "Add"}


def status_text(incident: Incident) -> str:
    status = incident.status or "unknown"
    return _STATUS.get(status, status.replace("_", " ").capitalize())


def headline(incident: Incident) -> str:
    return f"*{link(incident.url, incident.label)}* {escape_bounded(incident.title, _TITLE_MAX)}"


def _duration(seconds: float) -> str:
    minutes = max(0, int(seconds // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d {hours % 24} h"


def age_text(incident: Incident) -> str:
    """Open: since when (each reader's client counts it, ``{ago}``); over: for how long it was open."""
    opened = incident.opened_at
    if opened is None:
        return "unknown"
    ended = incident.resolved_at or incident.cancelled_at
    if incident.is_open or ended is None:
        return f"since {slack_date(opened, '{ago}')}"
    return f"for {_duration((ended - opened).total_seconds())}"


def commander_text(incident: Incident) -> str:
    if incident.roles is None:
        return "—"
    commander = incident.commander
    return escape_bounded(commander.name, 80) if commander else "nobody yet"


def fingerprint(incident: Incident) -> str:
    """What a message shows of the incident, hashed: an unchanged incident is not re-rendered."""
    shown = [incident.title, incident.status, incident.severity, commander_text(incident), incident.url]
    return hashlib.sha256(json.dumps(shown).encode()).hexdigest()[:32]


def _severity_select(incident: Incident, severities: Sequence[CatalogItem]) -> StaticSelectElement | None:
    options = [Option(value=item.id, text=truncate(item.name, 75)) for item in severities[:100]]
    if not options:
        return None
    initial = next((o for o in options if o.value == incident.severity_id), None)
    return StaticSelectElement(
        action_id=Action.INCIDENT_SET_SEVERITY.value,
        placeholder="Severity",
        options=options,
        initial_option=initial,
    )


def action_elements(incident: Incident, severities: Sequence[CatalogItem]) -> list[Any]:
    """The buttons the incident's status allows; values carry the incident's id."""
    value = incident.id
    elements: list[Any] = []
    if incident.can_mitigate:
        elements.append(ButtonElement(text="Mitigate", action_id=Action.INCIDENT_MITIGATE.value, value=value))
    if incident.can_resolve:
        elements.append(
            ButtonElement(text="Resolve", action_id=Action.INCIDENT_RESOLVE.value, value=value, style="primary")
        )
    if incident.status != "cancelled":
        elements.append(ButtonElement(text="Add to timeline", action_id=Action.INCIDENT_ADD_NOTE.value, value=value))
    if incident.is_open:
        select = _severity_select(incident, severities)
        if select is not None:
            elements.append(select)
        elements.append(ButtonElement(text="Assign role", action_id=Action.INCIDENT_ASSIGN_ROLE.value, value=value))
    menu: list[Option] = []
    if incident.can_cancel:
        menu.append(Option(value=f"{MENU_CANCEL}|{value}", text="Cancel incident…"))
    if incident.url:
        menu.append(Option(value=f"open|{value}", text="Open in Rootly", url=incident.url))
    if menu:
        elements.append(OverflowMenuElement(action_id=Action.INCIDENT_MENU.value, options=menu))
    return elements


def incident_blocks(
    incident: Incident, severities: Sequence[CatalogItem], stamp: str | None = None, *, lead: str = "🚨"
) -> list[dict[str, Any]]:
    """One incident: headline, its facts, who did what last, and its buttons."""
    severity = escape_bounded(incident.severity, 80) if incident.severity else "none"
    facts = (
        f"{lead} {headline(incident)}\n*Severity* {severity} · *Status* {status_text(incident)} · "
        f"*Commander* {commander_text(incident)} · *Open* {age_text(incident)}"
    )
    blocks: list[Any] = [SectionBlock(block_id=f"incident:{incident.id}", text=truncate(facts, SECTION_TEXT_MAX))]
    if stamp:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=truncate(stamp, SECTION_TEXT_MAX))]))
    elements = action_elements(incident, severities)
    if elements:
        blocks.append(ActionsBlock(block_id=f"{Block.INCIDENT_ACTIONS.value}:{incident.id}", elements=elements))
    return [b.to_dict() for b in blocks]


def incident_message(incident: Incident, severities: Sequence[CatalogItem], stamp: str | None = None) -> dict[str, Any]:
    fallback = f"🚨 {incident.label} {incident.title} · {status_text(incident)}"
    return {"text": truncate(fallback, FALLBACK_TEXT_MAX), "blocks": incident_blocks(incident, severities, stamp)}


def incident_list_message(
    incidents: Sequence[Incident], severities: Sequence[CatalogItem], *, described: str, more_url: str | None
) -> dict[str, Any]:
    """``/rootly incidents``: each incident with its buttons, within Slack's 50 blocks."""
    if not incidents:
        text = f"No incidents match ({described})."
        return {"text": text, "blocks": [SectionBlock(text=text).to_dict()]}
    blocks: list[dict[str, Any]] = [SectionBlock(text=f"*Incidents* ({escape_bounded(described, 300)})").to_dict()]
    shown = 0
    for incident in incidents:
        chunk = [DividerBlock().to_dict(), *incident_blocks(incident, severities)]
        if len(blocks) + len(chunk) > 48:
            break
        blocks += chunk
        shown += 1
    if shown < len(incidents):
        more = f"and {len(incidents) - shown} more"
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=f"{more} — {link(more_url, 'open in Rootly')}")]).to_dict()
        )
    return {"text": f"{len(incidents)} incident(s) ({described})"[:FALLBACK_TEXT_MAX], "blocks": blocks}


def replace_incident(
    blocks: list[dict[str, Any]], incident: Incident, severities: Sequence[CatalogItem], stamp: str | None
) -> list[dict[str, Any]] | None:
    """A list message with this incident's blocks re-rendered; None when the incident is not in it."""
    start = next((i for i, b in enumerate(blocks) if b.get("block_id") == f"incident:{incident.id}"), None)
    if start is None:
        return None
    end = start + 1
    while (
        end < len(blocks)
        and blocks[end].get("type") in ("context", "actions")
        and not str(blocks[end].get("block_id") or "").startswith("incident:")
    ):
        end += 1
    return [*blocks[:start], *incident_blocks(incident, severities, stamp), *blocks[end:]]


# modals ---------------------------------------------------------------------------------------------------------
def action_modal(
    verb: str, subject: str, *, metadata: str, initial_text: str | None = None, error: str | None = None
) -> dict[str, Any]:
    """Mitigate, resolve, cancel (message optional) or add to the timeline (text required). ``subject`` is the
    incident's line in mrkdwn, taken from the message the button was on (no Rootly call before opening)."""
    label, hint = _PROMPTS[verb]
    blocks: list[Any] = [ContextBlock(elements=[MarkdownTextObject(text=truncate(subject, SECTION_TEXT_MAX))])]
    if error:
        blocks.append(SectionBlock(text=truncate(f"⚠️ {error}", SECTION_TEXT_MAX)))
    element = PlainTextInputElement(
        action_id=Action.INCIDENT_TEXT.value,
        multiline=True,
        max_length=TEXT_INPUT_MAX,  # Slack refuses a form whose text input asks for more
        initial_value=initial_text[:TEXT_INPUT_MAX] if initial_text else None,
        placeholder=hint,
    )
    blocks.append(InputBlock(block_id=Block.INCIDENT_TEXT.value, label=label, element=element, optional=verb != "note"))
    return View(
        type="modal",
        callback_id=Callback.INCIDENT_ACTION_MODAL.value,
        title=VERB_TITLES[verb],
        submit=_SUBMIT[verb],
        close="Close",
        private_metadata=metadata,
        blocks=blocks,
    ).to_dict()


def role_modal(
    subject: str, roles: Sequence[IncidentRole], *, metadata: str, error: str | None = None
) -> dict[str, Any]:
    blocks: list[Any] = [ContextBlock(elements=[MarkdownTextObject(text=truncate(subject, SECTION_TEXT_MAX))])]
    if error:
        blocks.append(SectionBlock(text=truncate(f"⚠️ {error}", SECTION_TEXT_MAX)))
    options = [Option(value=role.id, text=truncate(role.name, 75)) for role in roles[:100]]
    if options:
        select = StaticSelectElement(action_id=Action.INCIDENT_ROLE.value, placeholder="Role", options=options)
        blocks.append(InputBlock(block_id=Block.INCIDENT_ROLE.value, label="Role", element=select))
    blocks.append(
        InputBlock(
            block_id=Block.INCIDENT_ROLE_USER.value,
            label="Person",
            element=UserSelectElement(action_id=Action.INCIDENT_ROLE_USER.value, placeholder="Who takes it"),
        )
    )
    return View(
        type="modal",
        callback_id=Callback.INCIDENT_ROLE_MODAL.value,
        title="Assign role",
        submit="Assign",
        close="Close",
        private_metadata=metadata,
        blocks=blocks,
    ).to_dict()


def timeline_modal(
    preview: str,
    *,
    metadata: str,
    reference: str | None = None,
    found: str | None = None,
    comment: str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """The "Add to incident timeline" shortcut: which incident (prefilled with ``reference`` where the message is in
    an incident's channel or thread; ``found`` says which), and an optional comment. ``preview`` is the message's
    line in mrkdwn. ``reference``, ``comment`` and ``error`` also hand back what was typed after a failure."""
    blocks: list[Any] = [ContextBlock(elements=[MarkdownTextObject(text=truncate(preview, SECTION_TEXT_MAX))])]
    if found:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=truncate(found, SECTION_TEXT_MAX))]))
    if error:
        blocks.append(SectionBlock(text=truncate(f"⚠️ {error}", SECTION_TEXT_MAX)))
    pick = PlainTextInputElement(
        action_id=Action.INCIDENT_PICK.value,
        max_length=REFERENCE_MAX,
        initial_value=reference[:REFERENCE_MAX] if reference else None,
        placeholder="42, #42, its slug, UUID or Rootly link",
    )
    blocks.append(
        InputBlock(
            block_id=Block.INCIDENT_PICK.value,
            label="Incident",
            element=pick,
            hint="Its number (42 or #42), slug, UUID or Rootly link, as in the incident commands.",
        )
    )
    note = PlainTextInputElement(
        action_id=Action.TIMELINE_COMMENT.value,
        multiline=True,
        max_length=COMMENT_MAX,
        initial_value=comment[:COMMENT_MAX] if comment else None,
        placeholder="Why it matters (optional): added below the message.",
    )
    blocks.append(InputBlock(block_id=Block.TIMELINE_COMMENT.value, label="Comment", element=note, optional=True))
    return View(
        type="modal",
        callback_id=Callback.TIMELINE_MODAL.value,
        title="Add to timeline",
        submit="Add",
        close="Close",
        private_metadata=metadata,
        blocks=blocks,
    ).to_dict()


def quote_preview(quoted: Quoted) -> str:
    """The message the shortcut was used on, as the modal shows it: who, when (in the reader's zone), link, start."""
    who = f"<@{quoted.user_id}>" if quoted.user_id else f"*{escape_bounded(quoted.author, 80)}*"
    head = f"{who} · {slack_date(quoted.at)}"
    if quoted.permalink:
        head += f" · {link(quoted.permalink, 'the message')}"
    start = escape_bounded(" ".join(quoted.text.split()), 280) or "(no text)"
    return f"{head}\n> {start}"


def timeline_found(incident: Incident, where: str) -> str:
    """Why the incident field is prefilled: "This thread is INC-42's: Checkout is down"."""
    title = f": {escape_bounded(incident.title, _TITLE_MAX)}" if incident.title else ""
    return f"This {where} is {link(incident.url, incident.label)}'s{title}. Change the incident below if needed."


def stamp_text(past: str, slack_user_id: str, at: datetime | None = None, detail: str | None = None) -> str:
    """ "✅ Mitigated by @you · date: detail" — who did what, in each reader's time zone."""
    when = slack_date(at or datetime.now(UTC))
    line = f"{past} by <@{slack_user_id}> · {when}"
    if detail:
        line += f": {escape_bounded(detail, 300)}"
    return line
