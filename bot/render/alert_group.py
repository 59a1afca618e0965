"""A feed's group message: during an alert storm, many new alerts in one message instead of one message each.

"42 new alerts · payments (31) · checkout (11)", then one compact row per alert, newest first: the alert's line
(status, linked id, summary, start) and an "Open" button that shows the alert with all its buttons. Rows are
single blocks with the alert in their block id (``alert_row:<backend>:<id>``), so an action anywhere re-renders just
that row (:func:`replace_group_row`) and the message grows in place as more alerts arrive. A message holds what
fits in Slack's limits with room for every row to be re-rendered later; what does not fit goes in the next group
message, never into an "and N more".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import ButtonElement, ContextBlock, MarkdownTextObject, SectionBlock

from bot.domain import Alert, AlertRef
from bot.render.alert_message import Stamp, alert_line, stamp_line
from bot.render.ids import Action, Block
from bot.render.text import MESSAGE_BLOCKS_MAX, blocks_json_size, escape_bounded, join_bounded, truncate

Blocks = list[dict[str, Any]]
ROW_PREFIX = f"{Block.ALERT_ROW}:"
HEAD_BLOCKS = 2  # the counts line and the explanation
# Block JSON a group message may fill when built: the rest (of the ~10,000 kept below Slack's msg_blocks_too_long)
# is headroom for rows re-rendered later with "✅ Acknowledged by …" on them.
GROUP_JSON_BUDGET = 7_500
REWRITE_JSON_BUDGET = 10_000
_NO_SERVICE = "no service"


def group_row(alert: Alert, *, stamp: Stamp | None = None) -> dict[str, Any]:
    """One alert in one block: its line, and the button that opens it with every action its state allows."""
    text = alert_line(alert)
    if stamp is not None:
        text += "\n" + stamp_line(stamp).split("\n")[0]  # who did what; a note's words stay in the alert's own view
    return SectionBlock(
        block_id=f"{ROW_PREFIX}{alert.ref.encode()}",
        text=MarkdownTextObject(text=text),
        accessory=ButtonElement(text="Open", action_id=Action.ROW_OPEN.value, value=alert.ref.encode()),
    ).to_dict()


def group_message(alerts: Sequence[Alert], rows: Sequence[dict[str, Any]], *, part: int = 1) -> dict[str, Any]:
    """The message for ``alerts`` (newest first), whose rows are ``rows`` in the same order (rows already shown keep
    what was re-rendered on them)."""
    head = _head(alerts, part)
    return {"text": _fallback(alerts), "blocks": [*head, *rows]}


def fill(alerts: Sequence[Alert], new: Sequence[Alert], rows: Sequence[dict[str, Any]], *, part: int = 1) -> int:
    """How many of ``new`` (oldest first) fit on top of a message showing ``alerts`` as ``rows``: all of them, or
    as many as keep the message within the block count and :data:`GROUP_JSON_BUDGET`."""
    count = 0
    size = blocks_json_size(_head([*alerts, *new], part)) + sum(blocks_json_size([r]) for r in rows) + 2
    for alert in new:
        if HEAD_BLOCKS + len(rows) + count + 1 > MESSAGE_BLOCKS_MAX:
            break
        size += blocks_json_size([group_row(alert)]) + 2
        if size > GROUP_JSON_BUDGET:
            break
        count += 1
    return count


def replace_group_row(blocks: Sequence[dict[str, Any]], alert: Alert, *, stamp: Stamp | None = None) -> Blocks | None:
    """The blocks with this alert's compact row re-rendered; None when there is no such row (or it would not fit)."""
    block_id = f"{ROW_PREFIX}{alert.ref.encode()}"
    at = next((i for i, b in enumerate(blocks) if b.get("block_id") == block_id), None)
    if at is None:
        return None
    updated = [*blocks[:at], group_row(alert, stamp=stamp), *blocks[at + 1 :]]
    if blocks_json_size(updated) > REWRITE_JSON_BUDGET:
        return None
    return updated


def row_refs(blocks: Sequence[dict[str, Any]]) -> list[AlertRef]:
    """The alerts a message has compact rows for, in order."""
    refs: list[AlertRef] = []
    for block in blocks:
        block_id = str(block.get("block_id") or "")
        if block_id.startswith(ROW_PREFIX):
            try:
                refs.append(AlertRef.decode(block_id.removeprefix(ROW_PREFIX)))
            except ValueError:
                continue
    return refs


def service_counts(alerts: Sequence[Alert]) -> list[tuple[str, int]]:
    """Alerts per service, most first (an alert with several services counts for each)."""
    counts: Counter[str] = Counter()
    for alert in alerts:
        for name in {s.name for s in alert.services} or {_NO_SERVICE}:
            counts[name] += 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def headline(alerts: Sequence[Alert]) -> str:
    """``42 new alerts · payments (31) · checkout (11)``, plain (escaped, bounded)."""
    n = len(alerts)
    parts = [f"{escape_bounded(name, 80)} ({count})" for name, count in service_counts(alerts)]
    return f"{n} new alert{'' if n == 1 else 's'} · " + join_bounded(parts, 600, sep=" · ")


def _head(alerts: Sequence[Alert], part: int) -> Blocks:
    note = "More alerts arrived than Slack lets me post one by one, so they are grouped here, newest first."
    if part > 1:
        note = "The storm goes on: this continues the group message above, newest first."
    note += " *Open* shows an alert with its buttons."
    return [
        SectionBlock(text=MarkdownTextObject(text=f"🚨 *{headline(alerts)}*")).to_dict(),
        ContextBlock(elements=[MarkdownTextObject(text=note)]).to_dict(),
    ]


def _fallback(alerts: Sequence[Alert]) -> str:
    ids = ", ".join(a.label for a in alerts[:20])
    more = f" and {len(alerts) - 20} more listed" if len(alerts) > 20 else ""
    return truncate(f"{headline(alerts)}: {escape_bounded(ids, 2000)}{more}", 3000)
