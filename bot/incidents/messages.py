"""Messages about a declared incident: the reply where it started, and the note to the person who declared it."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

from bot.domain import Incident
from bot.incidents.thread_copy import ThreadCopy
from bot.render.text import FALLBACK_TEXT_MAX, SECTION_TEXT_MAX, escape_bounded, link, truncate

_TITLE_MAX = 300
NOT_A_MEMBER = (
    "I couldn't copy this thread to the incident timeline: I'm not a member of this channel. "
    "Invite me with `/invite @rootly` so I can read threads here, and add what matters to the timeline in Rootly."
)


def incident_link(incident: Incident) -> str:
    return f"*{link(incident.url, incident.label)}* {escape_bounded(incident.title, _TITLE_MAX)}"


def channel_link(incident: Incident) -> str | None:
    """Rootly's Slack channel for the incident, when Rootly made one."""
    if incident.slack_channel_id:
        return f"<#{incident.slack_channel_id}>"
    if incident.slack_channel_url:
        return link(incident.slack_channel_url, "incident channel")
    return None


def headline(incident: Incident, actor: str) -> str:
    severity = escape_bounded(incident.severity, 80) if incident.severity else "none"
    return f"🚨 {incident_link(incident)} declared by <@{actor}> · severity {severity}"


def copy_text(copy: ThreadCopy, *, copying: bool) -> str:
    """What happened to the thread, in one line."""
    if copy.unreadable:
        return f"⚠️ {NOT_A_MEMBER}"
    if copying:
        return f"⏳ Copying {_messages(copy.total)} of this thread to the incident timeline…"
    line = f"📋 {_messages(copy.copied)} of this thread copied to the incident timeline"
    if copy.more:
        line += f" (the first {copy.total}: the thread is longer)"
    if copy.failed:
        line += f"; {copy.failed} could not be copied (Rootly did not take them)"
    return line + "."


def declared_message(incident: Incident, actor: str, *, copy: ThreadCopy | None, copying: bool) -> dict[str, Any]:
    """The reply in the thread (or the channel): the incident, who declared it, its severity, its links."""
    lines = [headline(incident, actor)]
    if channel := channel_link(incident):
        lines.append(f"Incident channel: {channel}")
    blocks: list[Any] = [SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(lines), SECTION_TEXT_MAX)))]
    if copy is not None:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=copy_text(copy, copying=copying))]))
    fallback = f"🚨 {incident.label} {incident.title} declared by <@{actor}>"
    return {"text": truncate(fallback, FALLBACK_TEXT_MAX), "blocks": [b.to_dict() for b in blocks]}


def declared_ephemeral(incident: Incident, copy: ThreadCopy | None) -> dict[str, Any]:
    """Only for the person who declared it: the link, where they will need it next."""
    text = f"You declared {incident_link(incident)}."
    if channel := channel_link(incident):
        text += f" Its channel: {channel}"
    if copy is not None and copy.unreadable:
        text += f"\n⚠️ {NOT_A_MEMBER}"
    return {
        "text": truncate(f"You declared {incident.label} {incident.title}", FALLBACK_TEXT_MAX),
        "blocks": [SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_MAX))).to_dict()],
    }


def _messages(count: int) -> str:
    return f"{count} message" + ("" if count == 1 else "s")
