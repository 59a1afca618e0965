"""``/rootly alerts``: open alerts, newest first, each with its buttons, cut to what one Slack message can hold."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import ContextBlock, DividerBlock, MarkdownTextObject, SectionBlock

from bot.domain import Alert, AlertRef
from bot.render.alert_group import replace_group_row
from bot.render.alert_message import BACKEND_NAMES, Stamp, alert_actions_block, alert_line, services_text, stamp_line
from bot.render.ids import Block
from bot.render.text import MESSAGE_BLOCKS_JSON_BUDGET, code, escape_bounded, link, within_message_limits

_TITLE_MAX = 200
_FILTERS_MAX = 500
_ROW_SERVICES_MAX = 200
# Room kept free when listing, so a row can later be re-rendered with "✅ Acknowledged by …" and still fit.
REWRITE_HEADROOM = 400

Blocks = list[dict[str, Any]]


def alert_list_message(
    alerts: Sequence[Alert],
    total: int,
    *,
    title: str,
    more_url: str | None,
    backend_label: bool = False,
    filters_text: str | None = None,
    can_declare: bool = True,
) -> dict[str, Any]:
    """Alerts in the order given, each a line plus its actions, until Slack's block or size limit is near.

    Whatever does not fit (or was not fetched) is summarised as "and N more", N = ``total`` − shown.
    """
    if not alerts and total <= 0:
        return _empty(title, filters_text)
    total = max(total, len(alerts))
    head = [_title_block(title, total)]
    rows: list[Blocks] = []
    seen: set[AlertRef] = set()
    for alert in alerts:
        if alert.ref in seen:  # a repeat would also repeat block ids, which Slack rejects
            continue
        row = _row(alert, backend_label=backend_label, can_declare=can_declare)
        candidate = _assemble(head, [*rows, row], _footer(total - len(rows) - 1, more_url))
        if not within_message_limits(candidate, MESSAGE_BLOCKS_JSON_BUDGET - REWRITE_HEADROOM):
            break
        rows.append(row)
        seen.add(alert.ref)
    blocks = _assemble(head, rows, _footer(total - len(rows), more_url))
    fallback = escape_bounded(f"{title}: {len(rows)} of {total} alerts", 500)
    return {"text": fallback, "blocks": blocks}


def replace_alert_row(
    blocks: Sequence[dict[str, Any]],
    alert: Alert,
    *,
    stamp: Stamp | None = None,
    backend_label: bool = False,
    can_declare: bool = True,
) -> Blocks | None:
    """The list's blocks with this alert's row re-rendered from its new state, so buttons are never stale.

    ``None`` when the blocks have no row for the alert, or the new row would take the message past the limits.
    """
    compact = replace_group_row(blocks, alert, stamp=stamp)  # a feed's group message has one-block rows
    if compact is not None:
        return compact
    ref = alert.ref.encode()
    ids = {f"{Block.ALERT_SUMMARY}:{ref}", f"{Block.ALERT_ACTIONS}:{ref}"}
    at = [i for i, block in enumerate(blocks) if block.get("block_id") in ids]
    if len(at) != 2 or at[1] != at[0] + 1:
        return None
    row = _row(alert, backend_label=backend_label, can_declare=can_declare, stamp=stamp)
    updated = [*blocks[: at[0]], *row, *blocks[at[1] + 1 :]]
    return updated if within_message_limits(updated) else None


def _assemble(head: Blocks, rows: list[Blocks], footer: Blocks) -> Blocks:
    blocks = list(head)
    for i, row in enumerate(rows):
        blocks.extend([DividerBlock().to_dict(), *row] if i else row)
    return [*blocks, *footer]


def alert_row(alert: Alert, *, backend_label: bool = False, can_declare: bool = True) -> Blocks:
    """One alert as a list row (line + buttons), for other messages (digests) whose clicks should re-render it as
    lists do: ``replace_alert_row`` finds it by its block ids."""
    return _row(alert, backend_label=backend_label, can_declare=can_declare)


def opened_row(alert: Alert, *, backend_label: bool = False, can_declare: bool = True) -> dict[str, Any]:
    """One alert of a group message, opened: its row with every button, for the person who clicked "Open"; a click
    there re-renders this message and the group's row alike (both found by block id)."""
    blocks = _row(alert, backend_label=backend_label, can_declare=can_declare)
    return {"text": escape_bounded(f"Alert {alert.label}: {alert.summary}", 500), "blocks": blocks}


def _row(alert: Alert, *, backend_label: bool, can_declare: bool, stamp: Stamp | None = None) -> Blocks:
    """A compact section and the alert's buttons; block ids carry the alert so one row can be re-rendered alone."""
    details = [services_text(alert, _ROW_SERVICES_MAX)] if alert.services else []
    if alert.urgency:
        details.append(f"urgency {escape_bounded(alert.urgency.name, 80)}")
    if backend_label:
        details.append(BACKEND_NAMES[alert.ref.backend])
    lines = [alert_line(alert), " · ".join(details), stamp_line(stamp) if stamp else ""]
    text = "\n".join(line for line in lines if line)
    ref = alert.ref.encode()
    return [
        SectionBlock(block_id=f"{Block.ALERT_SUMMARY}:{ref}", text=MarkdownTextObject(text=text)).to_dict(),
        alert_actions_block(alert, can_declare=can_declare, block_id=f"{Block.ALERT_ACTIONS}:{ref}").to_dict(),
    ]


def _title_block(title: str, total: int) -> dict[str, Any]:
    count = f"{total} alert" + ("" if total == 1 else "s")
    text = f"*{escape_bounded(title, _TITLE_MAX)}* · {count}, newest first"
    return SectionBlock(text=MarkdownTextObject(text=text)).to_dict()


def _footer(more: int, more_url: str | None) -> Blocks:
    if more <= 0:
        return []
    text = f"and {more} more — {link(more_url, 'open in Rootly')}"
    return [ContextBlock(elements=[MarkdownTextObject(text=text)]).to_dict()]


def _empty(title: str, filters_text: str | None) -> dict[str, Any]:
    """Nothing open: say so, and say which filters were applied, so an over-narrow filter is easy to spot."""
    if filters_text and filters_text.strip():
        text = f"🎉 No open alerts match {code(escape_bounded(filters_text.strip(), _FILTERS_MAX))}."
    else:
        text = "🎉 No open alerts right now."
    blocks = [
        SectionBlock(text=MarkdownTextObject(text=f"*{escape_bounded(title, _TITLE_MAX)}*\n{text}")).to_dict(),
    ]
    return {"text": escape_bounded(f"{title}: no open alerts match", 500), "blocks": blocks}
