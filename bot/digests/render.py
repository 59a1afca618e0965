"""A digest of open alerts as one Slack message, always within Slack's limits. Pure: alerts in, Block Kit out.

Alerts are grouped by urgency (highest first), then service (A–Z), oldest first. The most urgent triggered alerts
get the rows that ``/rootly alerts`` uses (a line and its buttons, block ids carrying the alert), so a click
re-renders that row exactly as it does in a list. Everything else is a line; what does not fit is counted per
group ("+137 more in payments"), and a link opens the full list in Rootly.

Features' extra sections (``bot.domain.sections``: on call, open incidents) come right after the header, each at
most :data:`EXTRA_JSON_MAX` characters of JSON and only while they fit, so the alerts keep most of the room.

Sizes are accounted as the blocks' JSON while building (each block's JSON is measured once), so a digest of
10,000 alerts costs what one of fifty does: only shown alerts are rendered. The result is checked against
:func:`within_message_limits` at the end and rebuilt smaller in the (unexpected) case it does not fit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import ContextBlock, DividerBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.domain import Alert, AlertRef, AlertStatus, Urgency
from bot.domain.sections import InfoSection
from bot.render.alert_list import REWRITE_HEADROOM, alert_row
from bot.render.alert_message import started
from bot.render.ids import DEFAULT_COMMAND
from bot.render.sections import section_block
from bot.render.text import (
    HEADER_TEXT_MAX,
    MESSAGE_BLOCKS_JSON_BUDGET,
    MESSAGE_BLOCKS_MAX,
    SECTION_TEXT_MAX,
    code,
    escape_bounded,
    link,
    slack_date,
    status_emoji,
    truncate,
    within_message_limits,
)

Blocks = list[dict[str, Any]]

# Room left so a row can be re-rendered with "✅ Acknowledged by …" after a click and still fit (as lists do).
DIGEST_JSON_BUDGET = MESSAGE_BLOCKS_JSON_BUDGET - REWRITE_HEADROOM
BUTTON_ROWS = 3  # triggered alerts that get Acknowledge/Resolve buttons
LINES_PER_GROUP = 6  # lines per service before "+N more in <service>", so many groups get a look in
SUMMARY_MAX = 120
NAME_MAX = 80
FILTERS_MAX = 300
OVERFLOW_JSON_MAX = 1500  # the "not shown" summary, measured as JSON
FALLBACK_MAX = 500
NO_SERVICE = "no service"
# Features' extra sections (on call, open incidents): each at most this much JSON, tried at shrinking text lengths,
# so they never crowd out the alerts the digest is for.
EXTRA_JSON_MAX = 1200
EXTRA_TEXT_STEPS = (1000, 700, 450, 250, 120)
_URGENCY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
_URGENCY_EMOJI = {0: "🟥", 1: "🔴", 2: "🟠", 3: "🟡"}


@dataclass(frozen=True)
class DigestView:
    """What a digest shows. ``total`` is what the backends counted (it may exceed the alerts read)."""

    alerts: Sequence[Alert]
    total: int
    as_of: datetime
    since: datetime | None = None  # the previous digest: start of the window
    title: str = "Alert digest"
    filters_text: str = ""
    schedule_text: str | None = None
    subscription_id: int | None = None
    more_url: str | None = None
    failures: Sequence[str] = ()
    backend_label: bool = False
    can_declare: bool = False
    button_rows: int = BUTTON_ROWS
    lines_per_group: int = LINES_PER_GROUP
    command: str = DEFAULT_COMMAND  # the configured slash command, for the footer's "… digest off" hint
    sections: Sequence[InfoSection] = ()  # features' extra sections, shown after the header (bot.domain.sections)


@dataclass
class _Group:
    urgency: str
    service: str
    alerts: list[Alert] = field(default_factory=list)


@dataclass
class _Urgency:
    name: str
    rank: tuple[int, int, str]
    groups: dict[str, _Group] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(len(g.alerts) for g in self.groups.values())


def urgency_rank(urgency: Urgency | None) -> tuple[int, int, str]:
    """Highest first: by the backend's position (Rootly: High=1), else by well-known names; none last."""
    if urgency is None or not urgency.name:
        return (2, 0, "")
    name = urgency.name.lower()
    if urgency.position is not None:
        return (0, int(urgency.position), name)
    return (1, _URGENCY_ORDER.get(name, 50), name)


def group_alerts(alerts: Sequence[Alert]) -> list[_Urgency]:
    """Urgency groups (highest first), each with service groups (A–Z, "no service" last), alerts oldest first."""
    by_urgency: dict[str, _Urgency] = {}
    seen: set[AlertRef] = set()
    for alert in alerts:
        if alert.ref in seen:
            continue
        seen.add(alert.ref)
        name = alert.urgency.name if alert.urgency and alert.urgency.name else "No urgency"
        bucket = by_urgency.setdefault(name.lower(), _Urgency(name, urgency_rank(alert.urgency)))
        bucket.rank = min(bucket.rank, urgency_rank(alert.urgency))
        service = alert.services[0].name if alert.services else NO_SERVICE
        bucket.groups.setdefault(service, _Group(name, service)).alerts.append(alert)
    ordered = sorted(by_urgency.values(), key=lambda u: u.rank)
    for bucket in ordered:
        keys = sorted(bucket.groups, key=lambda s: (s == NO_SERVICE, s.lower()))
        bucket.groups = {k: bucket.groups[k] for k in keys}
        for group in bucket.groups.values():
            group.alerts.sort(key=lambda a: (started(a), a.label))
    return ordered


def digest_message(view: DigestView) -> dict[str, Any]:
    """The digest as ``{"text", "blocks"}``: within 50 blocks, 3,000 characters a section and the JSON budget."""
    if view.total <= 0 and not view.alerts:
        return empty_digest(view)
    groups = group_alerts(view.alerts)
    attempt = view
    for _ in range(6):
        blocks = _Builder(attempt, groups).build()
        if within_message_limits(blocks, DIGEST_JSON_BUDGET):
            return {"text": _fallback(view, groups), "blocks": blocks}
        attempt = replace(
            attempt, button_rows=max(0, attempt.button_rows - 1), lines_per_group=max(1, attempt.lines_per_group // 2)
        )
    blocks = _Builder(replace(view, button_rows=0, lines_per_group=0), groups).build()
    return {"text": _fallback(view, groups), "blocks": blocks}


def empty_digest(view: DigestView) -> dict[str, Any]:
    """Nothing open (``empty:note``): one line, saying which filters applied."""
    filters = f" matching {code(escape_bounded(view.filters_text, FILTERS_MAX))}" if view.filters_text else ""
    text = f"✅ *{escape_bounded(view.title, 100)}*: no open alerts{filters} at {slack_date(view.as_of)}."
    blocks: list[Any] = [SectionBlock(text=MarkdownTextObject(text=text))]
    context = _schedule_line(view)
    if view.failures:
        context = " · ".join(x for x in (context, _failures_text(view.failures)) if x)
    if context:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=context)]))
    rendered = [blocks[0].to_dict(), *extra_blocks(view.sections), *(b.to_dict() for b in blocks[1:])]
    return {"text": f"{truncate(view.title, 100)}: no open alerts", "blocks": rendered}


# --- building ---------------------------------------------------------------------------------------------------
def _json_len(value: Any) -> int:
    return len(json.dumps(value))


def extra_block(section: InfoSection) -> dict[str, Any]:
    """One section block of at most :data:`EXTRA_JSON_MAX` characters of JSON: the longest text that fits."""
    for limit in EXTRA_TEXT_STEPS:
        block = section_block(section, limit)
        if _json_len(block) <= EXTRA_JSON_MAX:
            return block
    return section_block(InfoSection(section.title, failure="too long to show here"), EXTRA_TEXT_STEPS[-1])


def extra_blocks(sections: Sequence[InfoSection]) -> Blocks:
    return [extra_block(s) for s in sections]


def _section(text: str) -> dict[str, Any]:
    return SectionBlock(text=MarkdownTextObject(text=text)).to_dict()


_SECTION_OVERHEAD = _json_len(_section("x")) - _json_len("x")


def _section_cost(lines: list[str]) -> int:
    """JSON size of a section holding these lines, without building it: escaping is per character, and each
    joining newline becomes the two characters ``\\n``."""
    text = 2 + sum(_json_len(line) - 2 for line in lines) + 2 * max(0, len(lines) - 1)
    return _SECTION_OVERHEAD + text


class _Builder:
    """One pass over the groups, adding blocks while they fit in the budget left after the footer's reserve."""

    def __init__(self, view: DigestView, groups: list[_Urgency]) -> None:
        self.view = view
        self.groups = groups
        self.blocks: Blocks = []
        self.size = 2  # "[" and "]"
        self.shown: set[AlertRef] = set()
        self.partial: set[tuple[str, str]] = set()  # groups shown with their own "+N more"
        failures = _json_len(_failures_text(view.failures)) if view.failures else 0
        footer_reserve = OVERFLOW_JSON_MAX + failures + _json_len(self._footer_links()) + 200
        self.limit = DIGEST_JSON_BUDGET - footer_reserve
        self.block_limit = MESSAGE_BLOCKS_MAX - 1  # the footer
        self.buttons = self._button_set()

    def _button_set(self) -> set[AlertRef]:
        chosen: list[AlertRef] = []
        for bucket in self.groups:
            for group in bucket.groups.values():
                for alert in group.alerts:
                    if len(chosen) >= self.view.button_rows:
                        return set(chosen)
                    if alert.status is AlertStatus.TRIGGERED:
                        chosen.append(alert.ref)
        return set(chosen)

    def _fits(self, *blocks: dict[str, Any], cost: int = 0, count: int = 0) -> bool:
        """Whether these blocks, plus ``count`` more costing ``cost`` characters of JSON, still fit."""
        n = len(blocks) + count
        extra = sum(_json_len(b) for b in blocks) + cost + 2 * n  # ", " separators
        return self.size + extra <= self.limit and len(self.blocks) + n <= self.block_limit

    def _add(self, *blocks: dict[str, Any]) -> None:
        for block in blocks:
            self.size += _json_len(block) + (2 if self.blocks else 0)
            self.blocks.append(block)

    def build(self) -> Blocks:
        self._add(*self._head())
        for block in extra_blocks(self.view.sections):
            if self._fits(block):
                self._add(block)
        full = False
        for u_index, bucket in enumerate(self.groups):
            if full:
                break
            for g_index, group in enumerate(bucket.groups.values()):
                heading = [_urgency_line(bucket)] if g_index == 0 else []
                if u_index and g_index == 0 and self._fits(DividerBlock().to_dict()):
                    divider = [DividerBlock().to_dict()]
                else:
                    divider = []
                if not self._group(group, heading, divider):
                    full = True
                    break
        self._add(self._footer())
        return self.blocks

    def _group(self, group: _Group, heading: list[str], divider: Blocks) -> bool:
        """Add the group's rows and lines; False when not even one of its alerts fits (the message is full)."""
        title = [*heading, f"*{escape_bounded(group.service, NAME_MAX)}* · {len(group.alerts):,} open"]
        rows = [a for a in group.alerts if a.ref in self.buttons]
        rest = [a for a in group.alerts if a.ref not in self.buttons]
        if rows:
            if self._fits(*divider, _section("\n".join(title)), *self._row(rows[0])):
                self._add(*divider, _section("\n".join(title)))
                divider, title = [], []
                for alert in rows:
                    row = self._row(alert)
                    if self._fits(*row):
                        self._add(*row)
                        self.shown.add(alert.ref)
                    else:
                        rest.append(alert)
                rest.sort(key=lambda a: (started(a), a.label))
            else:
                rest = list(group.alerts)  # no room for buttons: lines only
        lines = self._lines(title, rest, group.service, divider)
        if lines is None and not title:  # its rows are shown but no line fits: say how many more, if that fits
            more = [_more_line(len(rest), group.service)]
            if self._fits(*divider, cost=_section_cost(more), count=1):
                self._add(*divider, _section(more[0]))
                self.partial.add((group.urgency, group.service))
            return False
        if lines is None:
            return False
        if lines:
            self._add(*divider, _section("\n".join(lines)))
            if lines[-1].startswith("_+"):
                self.partial.add((group.urgency, group.service))
        return True

    def _row(self, alert: Alert) -> Blocks:
        return alert_row(alert, backend_label=self.view.backend_label, can_declare=self.view.can_declare)

    def _lines(self, title: list[str], alerts: list[Alert], service: str, divider: Blocks) -> list[str] | None:
        """Title, as many lines as fit (up to the per-group cap) and "+N more"; None when no alert line fits."""
        accepted: list[str] = []
        for alert in alerts[: self.view.lines_per_group]:
            line = _line(alert)
            hidden = len(alerts) - len(accepted) - 1
            candidate = [*title, *accepted, line, *([_more_line(hidden, service)] if hidden else [])]
            if len("\n".join(candidate)) > SECTION_TEXT_MAX or not self._fits(
                *divider, cost=_section_cost(candidate), count=1
            ):
                break
            accepted.append(line)
            self.shown.add(alert.ref)
        if alerts and not accepted:
            return None
        hidden = len(alerts) - len(accepted)
        return [*title, *accepted, *([_more_line(hidden, service)] if hidden else [])]

    # head and footer ----------------------------------------------------------------------------------------------
    def _head(self) -> Blocks:
        view = self.view
        header = truncate(f"📋 {view.title} · {view.total:,} open", HEADER_TEXT_MAX)
        parts = [f"Open at {slack_date(view.as_of)}"]
        if view.since is not None:
            new = sum(1 for a in view.alerts if view.since <= a.created_at <= view.as_of)
            parts.append(f"{new:,} new since {slack_date(view.since)}")  # the previous digest, or the set-up
        if view.filters_text:
            parts.append(f"filters: {escape_bounded(view.filters_text, FILTERS_MAX)}")
        return [
            HeaderBlock(text=header).to_dict(),
            ContextBlock(elements=[MarkdownTextObject(text=" · ".join(parts))]).to_dict(),
        ]

    def _footer_links(self) -> str:
        view = self.view
        more = link(view.more_url, "Open the full list in Rootly") if view.more_url else ""
        return " · ".join(x for x in (more, _schedule_line(view)) if x) or "—"

    def _footer(self) -> dict[str, Any]:
        elements = []
        overflow = self._overflow()
        if overflow:
            elements.append(MarkdownTextObject(text=overflow))
        if self.view.failures:
            elements.append(MarkdownTextObject(text=_failures_text(self.view.failures)))
        elements.append(MarkdownTextObject(text=self._footer_links()))
        return ContextBlock(elements=elements).to_dict()

    def _overflow(self) -> str:
        """Groups that got no section at all, "+N more in <service> (<urgency>)", as many as fit; then a count."""
        hidden_groups = [
            (group, bucket.name)
            for bucket in self.groups
            for group in bucket.groups.values()
            if (group.urgency, group.service) not in self.partial and any(a.ref not in self.shown for a in group.alerts)
        ]
        unread = max(0, self.view.total - len(self.view.alerts))
        items: list[str] = []
        used = _json_len("Not shown: ")
        left_alerts = 0
        left_groups = 0
        for i, (group, urgency) in enumerate(hidden_groups):
            count = sum(1 for a in group.alerts if a.ref not in self.shown)
            item = f"+{count:,} more in {escape_bounded(group.service, NAME_MAX)} ({escape_bounded(urgency, 40)})"
            if used + _json_len(item) + 200 > OVERFLOW_JSON_MAX:
                left_groups = len(hidden_groups) - i
                left_alerts = sum(sum(1 for a in g.alerts if a.ref not in self.shown) for g, _ in hidden_groups[i:])
                break
            items.append(item)
            used += _json_len(item) + 3
        if left_groups:
            items.append(f"+{left_alerts:,} more in {left_groups:,} other groups")
        if unread:
            items.append(f"+{unread:,} more not read into this digest")
        return ("Not shown: " + " · ".join(items)) if items else ""


# --- text pieces ------------------------------------------------------------------------------------------------
def _line(alert: Alert) -> str:
    """Emoji, linked short id, summary, status and age (each reader sees "3 hours ago" in their own terms)."""
    summary = escape_bounded(" ".join(alert.summary.split()), SUMMARY_MAX)
    label = link(alert.url, truncate(alert.label, 64))
    return f"{status_emoji(alert.status)} *{label}* {summary} · {alert.status.value} · {_age(started(alert))}"


def _age(at: datetime) -> str:
    return f"<!date^{int(at.timestamp())}^{{ago}}|since {at:%Y-%m-%d %H:%M} UTC>"


def _more_line(count: int, service: str) -> str:
    return f"_+{count:,} more in {escape_bounded(service, NAME_MAX)}_"


def _urgency_line(bucket: _Urgency) -> str:
    emoji = _URGENCY_EMOJI.get(bucket.rank[1], "⚪") if bucket.rank[0] < 2 else "⚪"
    return f"{emoji} *{escape_bounded(bucket.name, 40)}* · {bucket.count:,} open"


def _schedule_line(view: DigestView) -> str:
    if view.subscription_id is None:
        return ""
    schedule = f" · {escape_bounded(view.schedule_text, 200)}" if view.schedule_text else ""
    return f"Digest #{view.subscription_id}{schedule} · `{view.command} digest off {view.subscription_id}` stops it"


def _failures_text(failures: Sequence[str]) -> str:
    return "⚠️ Could not read " + escape_bounded("; ".join(failures), 500)


def _fallback(view: DigestView, groups: list[_Urgency]) -> str:
    counts = ", ".join(f"{u.count:,} {u.name}" for u in groups[:6])
    noun = "alert" if view.total == 1 else "alerts"
    text = f"{view.title}: {view.total:,} open {noun}" + (f" ({counts})" if counts else "")
    return escape_bounded(text, FALLBACK_MAX)
