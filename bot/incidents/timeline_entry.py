"""A Slack message as an incident timeline event, and what the "Add to incident timeline" modal carries. Pure.

The modal's ``private_metadata`` holds at most 3,000 characters (Slack's limit), so the message's text rides in it
shortened to fit; the event always carries the message's permalink, where the whole message is. The event names the
message's author (a Slack mention and the name), its original time in UTC (every reader of the timeline sees the same
clock) and its link; whoever added it signs it below (``IncidentActions.add_note``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from bot.incidents.thread_text import bounded

METADATA_MAX = 3000  # Slack's bound on a view's private_metadata
ENTRY_MAX = 9_500  # of the event's text before the adder's signature: within the bot's 10,000 for a timeline entry
SHORTENED = " … (shortened: the whole message is at its link)"


@dataclass(frozen=True)
class Quoted:
    """The message the shortcut was used on, readable (mentions resolved), and the incident it seemed to belong to."""

    channel: str
    ts: str
    text: str
    author: str  # the name Slack shows
    user_id: str | None = None  # None for bot and integration messages (no mention then)
    permalink: str | None = None
    incident_id: str | None = None  # prefilled: the message is in this incident's channel or thread
    incident_ref: str | None = None  # what the incident field was prefilled with ("INC-42")
    cut: bool = False  # the text was shortened to fit the modal

    @property
    def at(self) -> datetime:
        try:
            return datetime.fromtimestamp(float(self.ts), UTC)
        except ValueError:
            return datetime.fromtimestamp(0, UTC)

    @property
    def who(self) -> str:
        """``Alice Example (<@U123>)``: the name for a reader of Rootly, the mention for Rootly's Slack side."""
        return f"{self.author} (<@{self.user_id}>)" if self.user_id else self.author

    def encode(self) -> str:
        """JSON within :data:`METADATA_MAX` characters, shortening the text (and marking it so) when needed."""
        raw = _dumps(self)
        if len(raw) <= METADATA_MAX:
            return raw
        cut = Quoted(**{**asdict(self), "text": "", "cut": True})
        budget = METADATA_MAX - len(_dumps(cut))
        if budget < 0:
            raise ValueError("the message's details do not fit in a modal")
        kept = 0
        for count, char in enumerate(self.text):
            budget -= len(json.dumps(char, ensure_ascii=False)) - 2  # JSON spends 2 on a quote, 6 on a control
            if budget < 0:
                kept = count
                break
        return _dumps(Quoted(**{**asdict(cut), "text": self.text[:kept]}))

    @classmethod
    def decode(cls, raw: str) -> Quoted:
        """Raises ValueError for metadata the bot did not write."""
        try:
            data = json.loads(raw or "")
            quoted = cls(**data)
        except (TypeError, json.JSONDecodeError) as exc:
            raise ValueError("not the timeline modal's metadata") from exc
        if not quoted.channel or not quoted.ts or not isinstance(quoted.text, str):
            raise ValueError("the timeline modal's metadata names no message")
        return quoted


def _dumps(quoted: Quoted) -> str:
    return json.dumps(asdict(quoted), ensure_ascii=False, separators=(",", ":"))


def entry_text(quoted: Quoted, comment: str | None = None) -> str:
    """The timeline event: who wrote the message and when, its text, its link, and the adder's comment."""
    body = quoted.text.strip() or "(no text)"
    if quoted.cut:
        body += SHORTENED
    lines = [f"Slack message from {quoted.who}, {quoted.at:%Y-%m-%d %H:%M:%S} UTC:", body]
    if quoted.permalink:
        lines.append(quoted.permalink)
    extra = (comment or "").strip()
    if extra:
        lines.append(f"Comment: {extra}")
    entry = "\n".join(lines)
    if len(entry) <= ENTRY_MAX:
        return entry
    # Only a very long comment gets here (the text is bounded by the modal): keep the message, shorten the comment.
    head = "\n".join(lines[:-1])
    return head + "\n" + bounded(lines[-1], max(0, ENTRY_MAX - len(head) - 1))
