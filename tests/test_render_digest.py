"""Digest rendering: grouped and ordered as promised, every alert accounted for, always within Slack's limits."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.digests.render import BUTTON_ROWS, DIGEST_JSON_BUDGET, DigestView, digest_message, empty_digest
from bot.domain import Alert, AlertRef, AlertStatus, Backend, Service, Urgency
from bot.render.alert_list import replace_alert_row
from bot.render.ids import Action
from bot.render.ids import Block as BlockId
from bot.render.text import FALLBACK_TEXT_MAX, MESSAGE_BLOCKS_JSON_BUDGET, blocks_json_size
from tests.fakes.slack import MAX_BLOCKS_JSON, _block_reasons

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
URGENCIES = (Urgency("u1", "High", 1), Urgency("u2", "Medium", 2), Urgency("u3", "Low", 3))
STATUSES = (AlertStatus.TRIGGERED, AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


def make_alerts(
    n: int,
    *,
    services: int = 10,
    seed: int = 7,
    summary: str | None = None,
    service_name: str = "service-{}",
    url: str | None = "https://rootly.com/account/alerts/{}",
    first: int = 0,
) -> list[Alert]:
    rng = random.Random(seed)
    pool = [Service(f"s{i}", service_name.format(i), f"svc{i}") for i in range(services)]
    alerts = []
    for i in range(first, first + n):
        short = f"a{i:05d}"
        alerts.append(
            Alert(
                ref=AlertRef(Backend.ROOTLY, f"00000000-0000-4000-8000-{i:012d}"),
                short_id=short,
                summary=summary if summary is not None else f"Disk almost full on db-{i}",
                status=rng.choice(STATUSES),
                source="datadog",
                created_at=NOW - timedelta(minutes=rng.randint(1, 50_000)),
                url=url.format(short) if url else None,
                urgency=rng.choice(URGENCIES),
                services=(rng.choice(pool),) if pool and rng.random() > 0.05 else (),
            )
        )
    return alerts


def view(alerts: Sequence[Alert], total: int | None = None, **kw: Any) -> DigestView:
    defaults: dict[str, Any] = {
        "as_of": NOW,
        "since": NOW - timedelta(hours=4),
        "filters_text": "status open or triggered",
        "schedule_text": "every day at 09:00, Europe/Berlin time",
        "subscription_id": 3,
        "more_url": "https://rootly.com/account/alerts",
    }
    return DigestView(alerts=alerts, total=len(alerts) if total is None else total, **(defaults | kw))


def assert_slack_accepts(message: dict[str, Any]) -> None:
    """Slack's documented limits, slack_sdk's own models and validators, and the bot's JSON budget."""
    blocks = message["blocks"]
    assert _block_reasons(blocks, "digest", 50) == []
    for raw in blocks:
        parsed = Block.parse(raw)
        assert parsed is not None
        assert parsed.to_dict() == raw  # what slack_sdk validates is exactly what is sent
    assert len(blocks) <= 50
    assert blocks_json_size(blocks) <= DIGEST_JSON_BUDGET < MESSAGE_BLOCKS_JSON_BUDGET < MAX_BLOCKS_JSON
    assert 0 < len(message["text"]) <= FALLBACK_TEXT_MAX
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
            assert all(len(e["text"]) <= 3000 for e in block["elements"])
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(ids) == len(set(ids))


def texts(message: dict[str, Any]) -> list[str]:
    found = []
    for block in message["blocks"]:
        if block["type"] == "section":
            found.append(block["text"]["text"])
        elif block["type"] in ("context",):
            found.extend(e["text"] for e in block["elements"])
        elif block["type"] == "header":
            found.append(block["text"]["text"])
    return found


def shown_refs(message: dict[str, Any]) -> list[str]:
    """Alerts shown as rows (by block id) or as lines (each line carries one age token)."""
    rows = [
        b["block_id"].split(":", 1)[1] for b in message["blocks"] if b.get("block_id", "").startswith("alert_summary:")
    ]
    lines = sum(t.count("^{ago}|") for t in texts(message))
    return rows + ["line"] * lines


def accounted(message: dict[str, Any]) -> int:
    """Alerts shown plus every "+N more …" count: must equal the total."""
    more = sum(int(n.replace(",", "")) for t in texts(message) for n in re.findall(r"\+([\d,]+) more", t))
    return len(shown_refs(message)) + more


# --- sizes --------------------------------------------------------------------------------------------------------
def test_nothing_open_is_one_line_naming_the_filters() -> None:
    message = digest_message(view([]))
    assert_slack_accepts(message)
    assert "no open alerts matching `status open or triggered`" in message["blocks"][0]["text"]["text"]
    assert message == empty_digest(view([]))
    assert "/rootly digest off 3" in texts(message)[-1]


def test_one_triggered_alert_gets_its_buttons_and_the_link() -> None:
    [alert] = make_alerts(1, seed=1)
    alert = Alert(**{**alert.__dict__, "status": AlertStatus.TRIGGERED})
    message = digest_message(view([alert]))
    assert_slack_accepts(message)
    header = message["blocks"][0]["text"]["text"]
    assert header == "📋 Alert digest · 1 open"
    actions = [b for b in message["blocks"] if b["type"] == "actions"]
    assert [b["block_id"] for b in actions] == [f"{BlockId.ALERT_ACTIONS}:{alert.ref.encode()}"]
    assert {e["action_id"] for e in actions[0]["elements"]} >= {Action.ACKNOWLEDGE, Action.RESOLVE}
    assert "<https://rootly.com/account/alerts|Open the full list in Rootly>" in "\n".join(texts(message))
    assert accounted(message) == 1
    assert message["text"] == "Alert digest: 1 open alert (1 High)"


@pytest.mark.parametrize(("n", "services"), [(250, 12), (10_000, 40), (10_000, 2_000)])
def test_many_alerts_fit_and_every_one_is_accounted_for(n: int, services: int) -> None:
    alerts = make_alerts(n, services=services)
    started = time.process_time()
    message = digest_message(view(alerts))
    assert time.process_time() - started < 2.0
    assert_slack_accepts(message)
    assert accounted(message) == n
    assert f"· {n:,} open" in message["blocks"][0]["text"]["text"]
    assert re.search(r"\+[\d,]+ more in \S+", "\n".join(texts(message)))


def test_grouped_by_urgency_highest_first_then_service_oldest_first() -> None:
    alerts = make_alerts(60, services=3, seed=3)
    message = digest_message(view(alerts, button_rows=0, lines_per_group=30))
    assert_slack_accepts(message)
    body = "\n".join(texts(message))
    headings = re.findall(r"\*(High|Medium|Low)\* · ", body)
    assert headings == sorted(headings, key=["High", "Medium", "Low"].index) and headings[0] == "High"
    for section in texts(message):
        stamps = [int(s) for s in re.findall(r"<!date\^(\d+)\^\{ago\}", section)]
        assert stamps == sorted(stamps), "oldest first within a group"
    services = re.findall(r"\*(service-\d+)\* · ", body)
    first_group = services[: len({s for s in services})]
    assert first_group == sorted(first_group)


def test_buttons_go_to_the_most_urgent_triggered_alerts() -> None:
    alerts = make_alerts(300, services=5, seed=11)
    message = digest_message(view(alerts))
    rows = [
        b["block_id"].split(":", 1)[1] for b in message["blocks"] if b.get("block_id", "").startswith("alert_actions:")
    ]
    assert 1 <= len(rows) <= BUTTON_ROWS
    by_ref = {a.ref.encode(): a for a in alerts}
    assert all(by_ref[r].status is AlertStatus.TRIGGERED and by_ref[r].urgency.name == "High" for r in rows)


def test_huge_summaries_names_and_urls_stay_within_limits() -> None:
    summary = "🔥 <!channel> & <b>disk</b> full " * 400  # ~13,000 characters that all need escaping
    alerts = make_alerts(120, services=30, summary=summary, service_name="s-" + "ü" * 900 + "-{}")
    alerts += make_alerts(5, services=1, seed=2, url="https://rootly.com/" + "x" * 990 + "/{}", first=500)
    message = digest_message(view(alerts, filters_text="service " + "payments " * 200))
    assert_slack_accepts(message)
    assert "<!channel>" not in "\n".join(texts(message))
    assert accounted(message) == len(alerts)


def test_alerts_not_read_are_counted() -> None:
    alerts = make_alerts(40)
    message = digest_message(view(alerts, total=25_000))
    assert_slack_accepts(message)
    assert "+24,960 more not read into this digest" in "\n".join(texts(message))
    assert accounted(message) == 25_000


def test_duplicate_alerts_show_once() -> None:
    alerts = make_alerts(3)
    message = digest_message(view([*alerts, *alerts], total=3))
    assert_slack_accepts(message)
    assert accounted(message) == 3


def test_a_click_re_renders_its_row_inside_the_digest() -> None:
    """The digest's button rows are list rows: actions.finish() replaces the row, the digest stays within limits."""
    alerts = make_alerts(10_000, services=40)
    message = digest_message(view(alerts))
    row_ref = next(
        b["block_id"].split(":", 1)[1] for b in message["blocks"] if b.get("block_id", "").startswith("alert_actions:")
    )
    alert = next(a for a in alerts if a.ref.encode() == row_ref)
    acked = Alert(**{**alert.__dict__, "status": AlertStatus.ACKNOWLEDGED})
    from bot.render.alert_message import Stamp

    updated = replace_alert_row(message["blocks"], acked, stamp=Stamp("Acknowledged", "<@U111>", NOW))
    assert updated is not None
    assert_slack_accepts({"text": "x", "blocks": updated})
    row = next(b for b in updated if b.get("block_id") == f"{BlockId.ALERT_ACTIONS}:{row_ref}")
    assert Action.ACKNOWLEDGE not in {e["action_id"] for e in row["elements"]}


def test_failures_are_reported_in_the_digest() -> None:
    message = digest_message(view(make_alerts(5), failures=["ilert: timed out"]))
    assert_slack_accepts(message)
    assert "Could not read ilert: timed out" in "\n".join(texts(message))
    empty = digest_message(view([], failures=["ilert: timed out"]))
    assert "Could not read ilert" in "\n".join(texts(empty))


ALERT = st.builds(
    lambda i, summary, status, urgency, service, minutes, url: Alert(
        ref=AlertRef(Backend.ROOTLY, f"id-{i}"),
        short_id=f"s{i}",
        summary=summary or "x",
        status=status,
        source="api",
        created_at=NOW - timedelta(minutes=minutes),
        url=url,
        urgency=urgency,
        services=(Service(service, service),) if service else (),
    ),
    st.integers(0, 10**9),
    st.text(max_size=400),
    st.sampled_from(list(AlertStatus)),
    st.sampled_from([*URGENCIES, None, Urgency("x", "Critical"), Urgency("y", "Ωmega ü" * 30)]),
    st.one_of(st.none(), st.text(min_size=1, max_size=200)),
    st.integers(0, 10**6),
    st.one_of(st.none(), st.just("https://rootly.com/account/alerts/x"), st.text(max_size=1200)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(ALERT, max_size=250), st.integers(0, 5), st.integers(0, 50_000))
def test_any_digest_is_within_slacks_limits(alerts: list[Alert], buttons: int, extra: int) -> None:
    unique = list({a.ref: a for a in alerts}.values())
    total = len(unique) + extra
    message = digest_message(view(unique, total=total, button_rows=buttons))
    assert_slack_accepts(message)
    if total:
        assert accounted(message) == total
