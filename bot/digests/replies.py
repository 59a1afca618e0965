"""Replies to ``/rootly digest …``: what was understood, in words, and when the next digest is due in the
channel's time zone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

from bot.digests.schedule import local_words, until_words
from bot.digests.store import DigestSubscription, Empty
from bot.render.text import SECTION_TEXT_MAX, escape, escape_bounded, truncate

LIST_MAX = 30


def _msg(text: str, context: str | None = None) -> dict[str, Any]:
    blocks: list[Any] = [SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_MAX)))]
    if context:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=truncate(context, SECTION_TEXT_MAX))]))
    return {"text": truncate(text, 3000), "blocks": [b.to_dict() for b in blocks]}


def next_words(next_due: datetime | None, zone: str, now: datetime) -> str:
    """When the next digest is due, on the clock of the digest's (the channel's) zone."""
    if next_due is None:
        return "none, under this schedule"
    return f"{local_words(next_due, zone)} ({until_words(next_due - now)})"


def understood(sub: DigestSubscription) -> str:
    """The subscription in words: schedule, zone, filters, and what happens when nothing is open."""
    empty = "nothing is posted" if sub.empty is Empty.SKIP else "one line says so"
    return (
        f"{escape(sub.schedule.describe())}; open alerts ({escape_bounded(sub.filters.describe(), 500)});"
        f" when nothing is open, {empty}"
    )


def subscribed(
    sub: DigestSubscription, next_due: datetime | None, now: datetime, *, existing: bool, command: str
) -> dict[str, Any]:
    """``command``: the configured slash command, named in the hints."""
    when = next_words(next_due, sub.schedule.timezone, now)
    if existing:
        head = f"<#{sub.channel}> already has this digest, *#{sub.id}*: {understood(sub)}. Next digest: {when}."
    else:
        head = f"📬 Digest *#{sub.id}* for <#{sub.channel}>: {understood(sub)}.\n⏰ Next digest: {when}."
    return _msg(
        head,
        f"Set up by <@{sub.created_by}>. `{command} digest list` shows this channel's digests;"
        f" `{command} digest off {sub.id}` stops this one.",
    )


def removed(channel: str, subs: Sequence[DigestSubscription], wanted: int | None, *, command: str) -> dict[str, Any]:
    if not subs:
        if wanted is not None:
            return _msg(f"Digest #{wanted} was already gone.")
        return _msg(f"<#{channel}> has no digests. `{command} digest daily 09:00` starts one.")
    lines = [f"• #{s.id} in <#{s.channel}>: {escape(s.schedule.describe())}" for s in subs[:LIST_MAX]]
    more = f"\n…and {len(subs) - LIST_MAX} more" if len(subs) > LIST_MAX else ""
    noun = "digest" if len(subs) == 1 else "digests"
    return _msg(f"🔕 Stopped {len(subs)} {noun}:\n" + "\n".join(lines) + more)


def listing(
    subs: Sequence[DigestSubscription],
    next_due: dict[int, datetime | None],
    channel: str,
    zone: str,
    now: datetime,
    *,
    command: str,
) -> dict[str, Any]:
    """This channel's digests first, with when each is next due; then how many other channels have some."""
    here = [s for s in subs if s.channel == channel]
    elsewhere = [s for s in subs if s.channel != channel]
    if not here:
        text = f"<#{channel}> has no digests (its time zone: {zone}). `{command} digest daily 09:00` starts one."
    else:
        lines = [
            f"• *#{s.id}* {understood(s)} — next digest: {next_words(next_due.get(s.id), s.schedule.timezone, now)}"
            for s in here[:LIST_MAX]
        ]
        more = f"\n…and {len(here) - LIST_MAX} more" if len(here) > LIST_MAX else ""
        text = f"*Digests in <#{channel}>* (time zone {zone})\n" + "\n".join(lines) + more
    context = None
    if elsewhere:
        channels = sorted({s.channel for s in elsewhere})
        shown = ", ".join(f"<#{c}>" for c in channels[:10]) + (" …" if len(channels) > 10 else "")
        context = f"{len(elsewhere)} more in other channels: {shown}."
    return _msg(text, context)
