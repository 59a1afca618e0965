"""A feed's group message: counts per service, one compact row per alert newest first, within Slack's limits with
room for every row to be re-rendered, and rows re-rendered alone by an action anywhere."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from bot.domain import AlertStatus, Service
from bot.render.alert_group import fill, group_message, group_row, headline, row_refs
from bot.render.alert_list import replace_alert_row
from bot.render.alert_message import Stamp
from bot.render.ids import Action, Block
from bot.render.text import MESSAGE_BLOCKS_MAX
from tests.fakes.slack import MAX_BLOCKS_JSON, _block_reasons
from tests.test_render_alerts import CREATED, make_alert, rootly_ref

STAMP = Stamp("Acknowledged", "<@U111>", CREATED)


def storm(n: int, summary: str = "Card declines spiking", service: str = "payments") -> list:
    return [
        make_alert(
            ref=rootly_ref(),
            short_id=f"ALT{100000 + i}",
            summary=f"{summary} {i}",
            created_at=CREATED + timedelta(seconds=i),
            services=(Service(service, service),) if i % 3 else (Service("checkout", "checkout"),),
        )
        for i in range(n)
    ]


def test_headline_counts_alerts_per_service_most_first() -> None:
    alerts = storm(42)
    assert headline(alerts) == "42 new alerts · payments (28) · checkout (14)"
    assert headline(storm(1)[:1]) == "1 new alert · checkout (1)"


def test_a_full_group_message_keeps_within_slack_limits_even_after_every_row_is_re_rendered() -> None:
    # Long non-ASCII summaries: the largest rows the renderer makes (the summary is cut at 150 characters).
    alerts = storm(200, summary="Überlast 🔥 " * 30)
    taken = fill([], alerts, [])
    assert 5 <= taken < 200  # some fit, not all: the rest go to the next group message
    shown = sorted(alerts[:taken], key=lambda a: a.created_at, reverse=True)
    message = group_message(shown, [group_row(a) for a in shown])
    assert len(message["blocks"]) <= MESSAGE_BLOCKS_MAX
    assert _block_reasons(message["blocks"], "group", MESSAGE_BLOCKS_MAX) == []
    assert [r.id for r in row_refs(message["blocks"])] == [a.ref.id for a in shown]  # newest first
    blocks = message["blocks"]
    for alert in shown:  # every row acknowledged, one after the other, as clicks would
        updated = replace_alert_row(blocks, replace(alert, status=AlertStatus.ACKNOWLEDGED), stamp=STAMP)
        assert updated is not None, "a row could not be re-rendered within the limits"
        blocks = updated
    assert len(json.dumps(blocks, ensure_ascii=False)) <= MAX_BLOCKS_JSON
    assert _block_reasons(blocks, "group", MESSAGE_BLOCKS_MAX) == []


def test_rows_are_single_blocks_with_an_open_button_re_rendered_alone() -> None:
    alerts = storm(3)
    rows = [group_row(a) for a in reversed(alerts)]
    message = group_message(list(reversed(alerts)), rows)
    row = rows[1]
    assert row["block_id"] == f"{Block.ALERT_ROW}:{alerts[1].ref.encode()}"
    assert row["accessory"]["action_id"] == Action.ROW_OPEN and row["accessory"]["value"] == alerts[1].ref.encode()
    assert alerts[1].short_id in row["text"]["text"]
    updated = replace_alert_row(message["blocks"], replace(alerts[1], status=AlertStatus.ACKNOWLEDGED), stamp=STAMP)
    assert updated is not None
    changed = [i for i, (a, b) in enumerate(zip(message["blocks"], updated, strict=True)) if a != b]
    assert changed == [message["blocks"].index(row)]
    assert "*acknowledged*" in updated[changed[0]]["text"]["text"]
    assert "Acknowledged by <@U111>" in updated[changed[0]]["text"]["text"]


def test_fill_adds_on_top_of_rows_already_shown_until_the_message_is_full() -> None:
    alerts = storm(120)
    first = fill([], alerts, [])
    shown = alerts[:first]
    rows = [group_row(a) for a in shown]
    assert fill(shown, alerts[first:], rows) == 0  # full: the next alerts start the next group message
    half = first // 2
    assert fill(alerts[:half], alerts[half:], rows[:half]) == first - half
