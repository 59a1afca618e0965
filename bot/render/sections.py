"""A feature's extra section (``bot.domain.sections.InfoSection``) as mrkdwn and as one Block Kit section. Pure.

Lines are whole or absent: what does not fit in ``limit`` characters is counted ("…and 3 more"), never cut in the
middle of a link or a date token.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from bot.domain.sections import InfoSection
from bot.render.text import SECTION_TEXT_MAX, escape_bounded, truncate

TITLE_MAX = 80
FAILURE_MAX = 300


def section_text(section: InfoSection, limit: int = SECTION_TEXT_MAX) -> str:
    """``*Title*``, as many lines as fit in ``limit`` characters, then ``more`` (and a count of the lines left out)."""
    head = f"*{escape_bounded(section.title, TITLE_MAX)}*"
    if section.failure is not None:
        return truncate(f"{head}\n⚠️ Unavailable right now: {escape_bounded(section.failure, FAILURE_MAX)}.", limit)
    lines = list(section.lines)
    for shown in range(len(lines), -1, -1):  # few lines: trying each length is cheap and always exact
        hidden = len(lines) - shown
        tail = [x for x in (f"…and {hidden} more" if hidden else "", section.more or "") if x]
        text = "\n".join([head, *lines[:shown], " · ".join(tail)] if tail else [head, *lines[:shown]])
        if len(text) <= limit:
            return text
    return truncate(head, limit)


def section_block(section: InfoSection, limit: int = SECTION_TEXT_MAX) -> dict[str, Any]:
    return SectionBlock(text=MarkdownTextObject(text=section_text(section, limit))).to_dict()
