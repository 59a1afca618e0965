"""Thread replies that tell an alert's story, as pure functions of timeline events (no I/O)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.domain import Alert, AlertRef
from bot.domain.limits import NOTE_MAX_CHARS, TEXT_INPUT_MAX
from bot.domain.timeline import Happening, TimelineEvent
from bot.render.ids import Action, Block, Callback
from bot.render.text import SECTION_TEXT_MAX, escape, escape_bounded, link, slack_date, truncate

# One reply holds at most this many events (a storm becomes several replies, each well inside Slack's 50 blocks).
EVENTS_PER_REPLY = 20
NOTE_PREVIEW_MAX = 2_500

# What the bot itself writes on an alert when a person acts from Slack (bot.services.alert_actions): folded into
# the action's own line ("Acknowledged by Alice (in Slack)") instead of being told as a note.
_ATTRIBUTION = re.compile(
    r"^(?P<verb>Acknowledged|Resolved|Snoozed(?: for [^:]+?)?|Escalated|Marked as noise|Marked as not noise) "
    r"in Slack by (?P<who>[^:\n]+?)(?:: (?P<rest>.*))?$",
    re.S,
)
_VERB_OF = {
    "Acknowledged": Happening.ACKNOWLEDGED,
    "Resolved": Happening.RESOLVED,
    "Escalated": Happening.ESCALATED,
    "Marked as noise": Happening.NOISE,
    "Marked as not noise": Happening.NOT_NOISE,
}

_EMOJI = {
    Happening.ACKNOWLEDGED: "👀",
    Happening.RESOLVED: "✅",
    Happening.SNOOZED: "💤",
    Happening.ESCALATED: "📣",
    Happening.RETRIGGERED: "🔁",
    Happening.NOISE: "🔇",
    Happening.NOT_NOISE: "🔈",
    Happening.NOTE: "📝",
    Happening.INCIDENT: "🚨",
}
_WORDS = {
    Happening.ACKNOWLEDGED: "Acknowledged",
    Happening.RESOLVED: "Resolved",
    Happening.SNOOZED: "Snoozed",
    Happening.ESCALATED: "Escalated",
    Happening.RETRIGGERED: "Retriggered",
    Happening.NOISE: "Marked as noise",
    Happening.NOT_NOISE: "Marked as not noise",
}


def _attribution(text: str | None) -> tuple[Happening, str, str | None] | None:
    match = _ATTRIBUTION.match((text or "").strip())
    if not match:
        return None
    verb = match.group("verb")
    what = Happening.SNOOZED if verb.startswith("Snoozed") else _VERB_OF[verb]
    return what, match.group("who").strip(), (match.group("rest") or "").strip() or None


def fold_attribution(events: Sequence[TimelineEvent]) -> list[TimelineEvent]:
    """Merge the bot's "… in Slack by <name>" notes into the action they describe, when both are in ``events``.

    The action itself is recorded by the bot's API user; the note names the person who clicked. One line then
    says who did it, instead of "by Rootly Bot" followed by a note. A note whose action is not here stays a note.
    """
    out = list(events)
    for note in [e for e in events if e.what is Happening.NOTE]:
        found = _attribution(note.text)
        if found is None:
            continue
        what, who, rest = found
        action = next((e for e in out if e.what is what and not (e.by or "").endswith("(in Slack)")), None)
        if action is None:
            continue
        index = out.index(action)
        resolution = action.text if action.text and not _attribution(action.text) else rest
        out[index] = dataclasses.replace(action, by=f"{who} (in Slack)", text=resolution)
        out.remove(note)
    # A resolution message the bot wrote ("Resolved in Slack by …") names the person too.
    for index, event in enumerate(out):
        found = _attribution(event.text) if event.what is not Happening.NOTE else None
        if found and found[0] is event.what:
            out[index] = dataclasses.replace(event, by=f"{found[1]} (in Slack)", text=found[2])
    return out


def event_line(event: TimelineEvent) -> str:
    """One event in a line or two of mrkdwn."""
    emoji = _EMOJI[event.what]
    by = f" by *{escape(event.by)}*" if event.by else ""
    if event.what is Happening.NOTE:
        author = f"*{escape(event.by)}*" if event.by else "Note"
        body = escape_bounded(event.text or "", NOTE_PREVIEW_MAX)
        quoted = "\n".join(f">{line}" for line in body.splitlines() or [""])
        return f"{emoji} {author} added a note:\n{quoted}"
    if event.what is Happening.INCIDENT:
        title = event.incident_title or "an incident"
        return f"{emoji} Linked to incident {link(event.incident_url, title)}{by}"
    line = f"{emoji} {_WORDS[event.what]}{by}"
    if event.what is Happening.ESCALATED:
        where = [f"level {event.level}"] if event.level is not None else []
        where += [escape(event.target)] if event.target else []
        line += f" ({', '.join(where)})" if where else ""
    if event.text:
        line += f": {escape_bounded(event.text, NOTE_PREVIEW_MAX)}"
    return line


def _plain(line: str) -> str:
    return re.sub(r"<([^|>]+)\|([^>]+)>", r"\2", line).replace("*", "")


def alert_heading(alert: Alert | AlertRef) -> str:
    """What heads a reply in a list's thread, where many alerts' stories meet: the alert's id and summary."""
    if isinstance(alert, AlertRef):
        return f"*{escape(alert.id)}*"
    summary = escape_bounded(alert.summary, 200)
    return f"*{link(alert.url, alert.label)}* · {summary}" if alert.url else f"*{escape(alert.label)}* · {summary}"


def story_replies(
    events: Sequence[TimelineEvent], *, heading: str | None = None
) -> list[tuple[list[TimelineEvent], dict[str, Any]]]:
    """The events (already folded, in order) as thread replies: (events told, message) per reply. ``heading`` (in a
    list's thread) names the alert at the top of each reply."""
    replies: list[tuple[list[TimelineEvent], dict[str, Any]]] = []
    for start in range(0, len(events), EVENTS_PER_REPLY):
        chunk = list(events[start : start + EVENTS_PER_REPLY])
        blocks: list[Any] = []
        if heading:
            blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate(heading, SECTION_TEXT_MAX))))
        for event in chunk:
            blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate(event_line(event), SECTION_TEXT_MAX))))
        when = [e.at for e in chunk if e.at is not None]
        if when:
            stamp = slack_date(max(when), "{time}")
            blocks.append(ContextBlock(elements=[MarkdownTextObject(text=stamp)]))
        lines = ([_plain(heading)] if heading else []) + [_plain(event_line(e)) for e in chunk]
        text = truncate("\n".join(lines), 3_000)
        replies.append((chunk, {"text": text, "blocks": [b.to_dict() for b in blocks]}))
    return replies


def note_failed(reason: str) -> dict[str, Any]:
    """The short reply when a thread reply could not become a note."""
    text = f"⚠️ This reply was not added to the alert as a note: {reason}"
    return {
        "text": _plain(text),
        "blocks": [SectionBlock(text=MarkdownTextObject(text=truncate(text, 3000))).to_dict()],
    }


def note_queued(reason: str) -> dict[str, Any]:
    """The short reply when a thread reply is in the outbox: it becomes a note later, once."""
    text = f"⏳ This reply is not a note yet: {reason} The bot tells you (only you) when it is."
    return {
        "text": _plain(text),
        "blocks": [SectionBlock(text=MarkdownTextObject(text=truncate(text, 3000))).to_dict()],
    }


def threads_on(channel: str, already: bool) -> dict[str, Any]:
    text = (
        f"Replies in alert threads in <#{channel}> now become notes on the alert, authored by your Rootly user "
        "(by email). Replies starting with `//` or only an emoji stay in Slack. `/rootly threads off` stops it."
    )
    if already:
        text = f"Replies in alert threads in <#{channel}> already become notes. `/rootly threads off` stops it."
    return {"text": text}


def threads_off(channel: str, was_on: bool) -> dict[str, Any]:
    if not was_on:
        return {"text": f"Replies in alert threads in <#{channel}> were not becoming notes; nothing changed."}
    return {"text": f"Replies in alert threads in <#{channel}> no longer become notes."}


def threads_status(channel: str, on: bool) -> dict[str, Any]:
    if on:
        return {"text": f"Replies in alert threads in <#{channel}> become notes on the alert (`/rootly threads off`)."}
    return {
        "text": f"Replies in alert threads in <#{channel}> stay in Slack. `/rootly threads on` makes them notes; "
        "the “Add to alert as note” message shortcut works on any single message."
    }


NOTE_SHORTCUT_TITLE = "Add to alert as note"
LONG_MESSAGE_HINT = (
    f"The message is longer than a form field holds: its first {TEXT_INPUT_MAX:,} characters are here. "
    f"/rootly note takes notes of up to {NOTE_MAX_CHARS:,} characters."
)


def note_shortcut_modal(
    *, private_metadata: str, text: str, alert: str | None = None, error: str | None = None
) -> dict[str, Any]:
    """The "Add to alert as note" form for a message outside an alert's thread: which alert (as `/rootly note`
    takes it), and the message's text to edit. ``alert`` and ``error`` hand back what the person typed, with what
    went wrong, after a submission failed."""
    blocks: list[Any] = []
    if error:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate(f"⚠️ {error}", SECTION_TEXT_MAX))))
    which = PlainTextInputElement(
        action_id=Action.NOTE_ALERT.value,
        initial_value=alert[:200] if alert else None,
        max_length=300,
        placeholder="t8rgnt, ALT-1234, the alert's UUID or its link",
    )
    blocks.append(
        InputBlock(
            block_id=Block.NOTE_ALERT.value,
            label="Alert",
            element=which,
            hint="The short id, the UUID or a Rootly (or ilert) alert link, as /rootly note takes it.",
        )
    )
    note = PlainTextInputElement(
        action_id=Action.NOTE_TEXT.value,
        multiline=True,
        max_length=TEXT_INPUT_MAX,  # Slack refuses a form whose text input asks for more
        initial_value=text[:TEXT_INPUT_MAX] if text else None,
        placeholder="What did you find or do? It goes on the alert's timeline.",
    )
    cut = LONG_MESSAGE_HINT if text and len(text) > TEXT_INPUT_MAX else None
    blocks.append(InputBlock(block_id=Block.NOTE_INPUT.value, label="Note", element=note, hint=cut))
    view = View(
        type="modal",
        callback_id=Callback.NOTE_SHORTCUT_MODAL.value,
        title=NOTE_SHORTCUT_TITLE,
        submit="Add note",
        close="Cancel",
        private_metadata=private_metadata,
        blocks=blocks,
    )
    return view.to_dict()
