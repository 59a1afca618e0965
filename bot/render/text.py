"""Small text helpers for Slack mrkdwn: escaping, bounded length, reader-local dates, and Slack's size limits."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain import AlertStatus

# Slack's limits that text must respect (https://api.slack.com/reference/block-kit/blocks).
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
FALLBACK_TEXT_MAX = 40_000
BUTTON_TEXT_MAX = 75
HEADER_TEXT_MAX = 150
MESSAGE_BLOCKS_MAX = 50
# Slack answers msg_blocks_too_long at roughly 12,000 characters of block JSON; stay well below it.
MESSAGE_BLOCKS_JSON_BUDGET = 10_000
# Longer or oddly shaped URLs are shown as plain labels: Slack can't parse "<url|label>" around | or >.
_URL_MAX = 1000
_URL_UNSAFE = re.compile(r"[\s<>|]")

STATUS_EMOJI = {
    AlertStatus.TRIGGERED: "🔴",
    AlertStatus.OPEN: "🟠",
    AlertStatus.ACKNOWLEDGED: "🟡",
    AlertStatus.RESOLVED: "🟢",
    AlertStatus.DEFERRED: "⏸️",
}


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control characters, so typed text shows as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int, marker: str = "…") -> str:
    return text if len(text) <= limit else text[: max(0, limit - len(marker))] + marker


def escape_bounded(text: str, limit: int, marker: str = "…") -> str:
    """Escape, then cut to ``limit`` characters without splitting an entity.

    Escaping can grow text fivefold (``&`` → ``&amp;``), so bounding before escaping does not bound the result.
    """
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: max(0, limit - len(marker))]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + marker


def join_bounded(items: Sequence[str], limit: int, sep: str = ", ") -> str:
    """As many items as fit in ``limit`` characters, then "+K more": long lists stay readable and within limits."""
    reserve = len(f"{sep}+{len(items)} more")
    shown: list[str] = []
    used = 0
    for i, item in enumerate(items):
        extra = len(item) + (len(sep) if shown else 0)
        if used + extra + (0 if i == len(items) - 1 else reserve) > limit:
            break
        shown.append(item)
        used += extra
    rest = len(items) - len(shown)
    more = [f"+{rest} more"] if rest else []
    return sep.join([*shown, *more])


def status_emoji(status: AlertStatus) -> str:
    return STATUS_EMOJI.get(status, "⚪")


def blocks_json_size(blocks: Sequence[dict[str, Any]]) -> int:
    """How Slack's msg_blocks_too_long is approximated: the length of the blocks' JSON (non-ASCII escaped)."""
    return len(json.dumps(blocks))


def within_message_limits(blocks: Sequence[dict[str, Any]], json_budget: int = MESSAGE_BLOCKS_JSON_BUDGET) -> bool:
    return len(blocks) <= MESSAGE_BLOCKS_MAX and blocks_json_size(blocks) <= json_budget


def slack_date(when: datetime, fmt: str = "{date_short_pretty} at {time}") -> str:
    """A date each reader sees in their own time zone, with a UTC fallback for clients that can't."""
    fallback = when.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{fmt}|{fallback}>"


def safe_url(url: str | None) -> str | None:
    """The URL when Slack can link it as ``<url|label>``; ``None`` for anything that would break the markup."""
    if not url or len(url) > _URL_MAX or _URL_UNSAFE.search(url):
        return None
    return url if url.lower().startswith(("https://", "http://")) else None


def link(url: str | None, label: str) -> str:
    safe = safe_url(url)
    return f"<{safe}|{escape(label)}>" if safe else escape(label)


def code(text: str) -> str:
    """Inline code that survives backticks in the text."""
    return "`" + text.replace("`", "'") + "`"
