"""Replies to `/rootly feed on | off | list`; ``command`` is the configured slash command, for the hints."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

from bot.domain import FeedSubscription
from bot.render.text import escape


def _msg(text: str, context: str | None = None) -> dict[str, Any]:
    blocks: list[Any] = [SectionBlock(text=MarkdownTextObject(text=text))]
    if context:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=context)]))
    return {"text": text, "blocks": [b.to_dict() for b in blocks]}


def feed_on(feed: FeedSubscription, sources: str, *, command: str) -> dict[str, Any]:
    return _msg(
        f"📣 <#{feed.channel}> will get a message for each new alert: {escape(feed.filters.describe())}.",
        f"Turned on by <@{feed.created_by}>. New alerts arrive by {sources}. `{command} feed off` stops it.",
    )


def feed_off(channel: str, existed: bool, *, command: str) -> dict[str, Any]:
    if existed:
        return _msg(f"🔕 <#{channel}> no longer gets new alerts.")
    return _msg(f"<#{channel}> had no alert feed. `{command} feed on [filters]` starts one.")


def feed_list(feeds: list[FeedSubscription], channel: str, *, command: str) -> dict[str, Any]:
    if not feeds:
        return _msg(f"No channel has an alert feed. `{command} feed on [filters]` starts one here.")
    lines = [
        f"• <#{f.channel}>{' (this channel)' if f.channel == channel else ''}: {escape(f.filters.describe())}"
        f" — by <@{f.created_by}>"
        for f in feeds[:40]
    ]
    more = f"\n…and {len(feeds) - 40} more" if len(feeds) > 40 else ""
    return _msg("*Alert feeds*\n" + "\n".join(lines) + more)
