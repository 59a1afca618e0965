"""Small text helpers for Slack mrkdwn: escaping, bounded length, reader-local dates."""

from __future__ import annotations

from datetime import datetime

# Slack's limits that text must respect (https://api.slack.com/reference/block-kit/blocks).
SECTION_TEXT_MAX = 3000
FALLBACK_TEXT_MAX = 40_000
BUTTON_TEXT_MAX = 75
HEADER_TEXT_MAX = 150


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control characters, so typed text shows as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int, marker: str = "…") -> str:
    return text if len(text) <= limit else text[: max(0, limit - len(marker))] + marker


def slack_date(when: datetime, fmt: str = "{date_short_pretty} at {time}") -> str:
    """A date each reader sees in their own time zone, with a UTC fallback for clients that can't."""
    fallback = when.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{fmt}|{fallback}>"


def link(url: str | None, label: str) -> str:
    return f"<{url}|{escape(label)}>" if url else escape(label)


def code(text: str) -> str:
    """Inline code that survives backticks in the text."""
    return "`" + text.replace("`", "'") + "`"
