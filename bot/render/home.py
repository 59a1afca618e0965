"""The App Home tab as a Block Kit ``home`` view: pure, from :class:`HomeData`.

Alert rows are the same as in ``/rootly alerts`` (``alert_row``: the line and the buttons the state allows), so a
click on the tab does what it does anywhere else. An alert appears once on the tab (block ids carry it, and Slack
refuses a view with a repeated block id). The view stays within Slack's 100 blocks whatever the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import ContextBlock, DividerBlock, HeaderBlock, MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from bot.domain import Alert, Incident, Service, SubscriptionLine
from bot.domain.sections import InfoSection
from bot.render.alert_list import alert_row
from bot.render.sections import section_block
from bot.render.text import SECTION_TEXT_MAX, escape, escape_bounded, link, slack_date, truncate

MAX_VIEW_BLOCKS = 100
NOTICE_BLOCKS_MAX = 4
SUBSCRIPTIONS_MAX = 20
SECTIONS_MAX = 5  # features' sections, two blocks each
Blocks = list[dict[str, Any]]


SECTION_MAX = 10  # alerts shown a section (two blocks each: Slack allows 100 blocks in a view)


@dataclass(frozen=True)
class HomeData:
    """What the tab shows; ``incidents`` is None when Rootly is not configured (incidents are Rootly's)."""

    user_id: str
    as_of: datetime
    responding: tuple[Alert, ...] = ()
    unmatched: tuple[str, ...] = ()  # why responders could not be matched on a backend
    owned_services: tuple[Service, ...] = ()
    triggered: tuple[Alert, ...] = ()
    triggered_total: int = 0
    incidents: tuple[Incident, ...] | None = None
    subscriptions: tuple[SubscriptionLine, ...] = ()  # digests, feeds, follows: whatever the features list
    failures: tuple[str, ...] = field(default=())
    sections: tuple[InfoSection, ...] = ()  # features' sections (on call…), shown first: bot.domain.sections


def home_view(
    data: HomeData,
    *,
    command: str,
    notice: Sequence[dict[str, Any]] = (),
    more_url: str | None = None,
    backend_label: bool = False,
    can_declare: bool = True,
) -> dict[str, Any]:
    """The whole tab. ``notice`` is the outcome of a click made on the tab (a reply's blocks), shown on top;
    ``command`` is the configured slash command, for the hint when there is nothing to list."""
    blocks: Blocks = [
        HeaderBlock(text="Your on-call").to_dict(),
        _context(f"As of {slack_date(data.as_of)} · refreshed each time you open this tab"),
    ]
    blocks += list(notice)[:NOTICE_BLOCKS_MAX]
    for section in data.sections[:SECTIONS_MAX]:
        blocks += [DividerBlock().to_dict(), section_block(section)]
    blocks += _alerts_section(
        "🙋 Alerts you are responding to",
        data.responding,
        len(data.responding),
        empty=_responding_empty(data),
        more_url=more_url,
        backend_label=backend_label,
        can_declare=can_declare,
    )
    if data.incidents is not None:
        blocks += _alerts_section(
            _triggered_title(data),
            data.triggered,
            data.triggered_total,
            empty="🎉 Nothing triggered right now.",
            more_url=more_url,
            backend_label=backend_label,
            can_declare=can_declare,
        )
        blocks += _incidents_section(data.incidents)
    blocks += _subscriptions_section(data, command)
    if data.failures:
        text = "⚠️ Could not read " + "; ".join(escape(f) for f in data.failures) + ". Open the tab again to retry."
        blocks.append(_context(text))
    view = View(type="home", blocks=blocks[:MAX_VIEW_BLOCKS])
    return view.to_dict()


def _context(text: str) -> dict[str, Any]:
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(text, SECTION_TEXT_MAX))]).to_dict()


def _section(text: str) -> dict[str, Any]:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_MAX))).to_dict()


def _alerts_section(
    title: str,
    alerts: Sequence[Alert],
    total: int,
    *,
    empty: str,
    more_url: str | None,
    backend_label: bool,
    can_declare: bool,
) -> Blocks:
    blocks: Blocks = [DividerBlock().to_dict(), _section(f"*{title}*")]
    if not alerts:
        return [*blocks, _context(empty)]
    for alert in alerts[:SECTION_MAX]:
        blocks += alert_row(alert, backend_label=backend_label, can_declare=can_declare)
    more = max(total, len(alerts)) - min(len(alerts), SECTION_MAX)
    if more > 0:
        blocks.append(_context(f"and {more} more — {link(more_url, 'open in Rootly')}"))
    return blocks


def _responding_empty(data: HomeData) -> str:
    if data.unmatched and not data.responding:
        reasons = "; ".join(escape(r) for r in data.unmatched)
        return f"Your alerts cannot be found: {truncate(reasons, 1000)}."
    return "You are not responding to any open alert."


def _triggered_title(data: HomeData) -> str:
    if not data.owned_services:
        return "🚨 Triggered alerts (you own no Rootly service, so all of them)"
    names = ", ".join(escape_bounded(s.name, 60) for s in data.owned_services[:5])
    more = f" and {len(data.owned_services) - 5} more" if len(data.owned_services) > 5 else ""
    return f"🚨 Triggered on your services ({names}{more})"


def _incidents_section(incidents: Sequence[Incident]) -> Blocks:
    blocks: Blocks = [DividerBlock().to_dict(), _section("*🔥 Active incidents*")]
    if not incidents:
        return [*blocks, _context("No active incident.")]
    lines = [_incident_line(i) for i in incidents]
    return [*blocks, _section("\n".join(lines))]


def _incident_line(incident: Incident) -> str:
    parts = [f"*{link(incident.url, incident.label)}* {escape_bounded(incident.title, 150)}"]
    if incident.severity:
        parts.append(escape_bounded(incident.severity, 40))
    if incident.status:
        parts.append(f"*{escape_bounded(incident.status, 40)}*")
    if incident.created_at:
        parts.append(slack_date(incident.created_at))
    if incident.slack_channel_id:
        parts.append(f"<#{incident.slack_channel_id}>")
    return "• " + " · ".join(parts)


def _subscriptions_section(data: HomeData, command: str) -> Blocks:
    blocks: Blocks = [DividerBlock().to_dict(), _section("*📬 Your digests and feeds*")]
    lines = [f"• {s.label} in <#{s.channel}>: {s.text}" for s in data.subscriptions]
    if not lines:
        return [*blocks, _context(f"None yet. In a channel: `{command} digest daily 09:00` or `{command} feed on`.")]
    shown = lines[:SUBSCRIPTIONS_MAX]
    if len(lines) > SUBSCRIPTIONS_MAX:
        shown.append(f"…and {len(lines) - SUBSCRIPTIONS_MAX} more")
    return [*blocks, _section("\n".join(shown))]
