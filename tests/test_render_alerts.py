"""Alert messages, lists and the note modal: buttons from state, safe text, and Slack's limits."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block as SlackBlock
from slack_sdk.models.views import View

from bot.domain import Alert, AlertRef, AlertStatus, Backend, Person, Service, Urgency
from bot.domain.limits import TEXT_INPUT_MAX
from bot.render.alert_list import REWRITE_HEADROOM, alert_list_message, replace_alert_row
from bot.render.alert_message import (
    OPTION_VALUE_MAX,
    OverflowVerb,
    Stamp,
    alert_line,
    alert_message,
    overflow_value,
    parse_overflow_value,
)
from bot.render.ids import Action, Block, Callback
from bot.render.modals import done_modal, note_modal, progress_modal
from bot.render.text import MESSAGE_BLOCKS_JSON_BUDGET, escape_bounded, join_bounded

CREATED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
STARTED = CREATED - timedelta(minutes=7)
ROOTLY_URL = "https://rootly.com/account/alerts/ALT100005"
# Everything Slack would parse in mrkdwn that the renderer may emit itself: links, dates, user mentions.
_ALLOWED_MARKUP = re.compile(r"<(?:https?://[^\s<>|]+\|[^<>]*|!date\^\d+\^[^|<>]*\|[^<>]*|@[UW][A-Z0-9]+)>")
_QUOTE = re.compile(r"^> ", re.MULTILINE)
_BARE_AMP = re.compile(r"&(?!amp;|lt;|gt;)")

HOSTILE = "<!channel> <!here> <@U999> <https://evil.example|click> & &amp; `tick` *bold* \u202e RTL שלום 你好 🔥👩‍👩‍👧"


def rootly_ref() -> AlertRef:
    return AlertRef(Backend.ROOTLY, str(uuid.uuid4()))


def make_alert(**overrides: Any) -> Alert:
    fields: dict[str, Any] = {
        "ref": rootly_ref(),
        "short_id": "ALT100005",
        "summary": "CPU above 95% on api-1",
        "status": AlertStatus.TRIGGERED,
        "source": "datadog",
        "created_at": CREATED,
        "url": ROOTLY_URL,
        "urgency": Urgency("u1", "High"),
        "services": (Service("s1", "api"),),
        "labels": (("env", "prod"),),
    }
    fields.update(overrides)
    return Alert(**fields)


# --- checks shared by the tests ------------------------------------------------------------------------------


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def actions_blocks(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in blocks if b["type"] == "actions"]


def action_ids(message: dict[str, Any]) -> set[str]:
    return {e["action_id"] for b in actions_blocks(message["blocks"]) for e in b["elements"]}


def element(message: dict[str, Any], action: Action) -> dict[str, Any]:
    (found,) = [e for b in actions_blocks(message["blocks"]) for e in b["elements"] if e["action_id"] == action]
    return found


def assert_safe_mrkdwn(text: str) -> None:
    """Only markup the renderer means survives: user text can't ping, link or break the message."""
    rest = _QUOTE.sub("", _ALLOWED_MARKUP.sub("", text))
    assert "<" not in rest and ">" not in rest, text
    assert not _BARE_AMP.search(rest), text


def assert_valid_blocks(blocks: list[dict[str, Any]]) -> None:
    """slack_sdk's own models accept every block unchanged, and Slack's documented limits hold."""
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids)), "block ids must be unique in a message"
    for block in blocks:
        parsed = SlackBlock.parse(block)
        assert parsed is not None
        parsed.validate_json()
        assert parsed.to_dict() == block
        assert len(block.get("block_id", "")) <= 255
        if block["type"] == "section":
            assert len(block.get("text", {}).get("text", "")) <= 3000
            assert len(block.get("fields", [])) <= 10
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
        if block["type"] == "context":
            assert 1 <= len(block["elements"]) <= 10
            assert all(len(e["text"]) <= 3000 for e in block["elements"])
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "actions":
            assert len(block["elements"]) <= 25
            ids = [e["action_id"] for e in block["elements"]]
            assert len(ids) == len(set(ids))
    for node in walk(blocks):
        if node.get("type") == "button":
            assert len(node["text"]["text"]) <= 75
            assert len(node.get("value", "")) <= 2000
        if node.get("type") == "overflow":
            assert 1 <= len(node["options"]) <= 5
            assert all(len(o["value"]) <= OPTION_VALUE_MAX for o in node["options"])
        if node.get("type") == "static_select":
            assert all(len(o["value"]) <= OPTION_VALUE_MAX for o in node["options"])
        if node.get("type") == "mrkdwn":
            assert_safe_mrkdwn(node["text"])


def assert_valid_message(message: dict[str, Any]) -> None:
    assert set(message) == {"text", "blocks"}
    assert message["text"] and len(message["text"]) <= 40_000
    assert_safe_mrkdwn(message["text"])
    blocks = message["blocks"]
    assert 1 <= len(blocks) <= 50
    assert len(json.dumps(blocks)) <= MESSAGE_BLOCKS_JSON_BUDGET < 12_000
    assert_valid_blocks(blocks)


# --- alert_message: buttons from state -----------------------------------------------------------------------

ROOTLY_LIVE = {Action.RESOLVE, Action.ADD_NOTE, Action.DECLARE_INCIDENT, Action.SNOOZE, Action.OVERFLOW}
LIST_ROW_LIVE = ROOTLY_LIVE  # list rows offer what the alert's own message offers, menus included


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (AlertStatus.TRIGGERED, {Action.ACKNOWLEDGE} | ROOTLY_LIVE),
        (AlertStatus.OPEN, ROOTLY_LIVE),
        (AlertStatus.ACKNOWLEDGED, ROOTLY_LIVE),
        (AlertStatus.DEFERRED, ROOTLY_LIVE),
        (AlertStatus.RESOLVED, {Action.ADD_NOTE, Action.OVERFLOW}),
    ],
)
def test_rootly_buttons_follow_the_status(status: AlertStatus, expected: set[Action]) -> None:
    message = alert_message(make_alert(status=status))
    assert action_ids(message) == expected
    assert_valid_message(message)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (AlertStatus.TRIGGERED, {Action.ACKNOWLEDGE, Action.RESOLVE, Action.ADD_NOTE, Action.DECLARE_INCIDENT}),
        (AlertStatus.OPEN, {Action.RESOLVE, Action.ADD_NOTE, Action.DECLARE_INCIDENT}),
        (AlertStatus.ACKNOWLEDGED, {Action.RESOLVE, Action.ADD_NOTE, Action.DECLARE_INCIDENT}),
        (AlertStatus.DEFERRED, {Action.RESOLVE, Action.ADD_NOTE, Action.DECLARE_INCIDENT}),
        (AlertStatus.RESOLVED, {Action.ADD_NOTE}),
    ],
)
def test_ilert_alerts_get_no_rootly_menus(status: AlertStatus, expected: set[Action]) -> None:
    message = alert_message(make_alert(ref=AlertRef(Backend.ILERT, "8815234"), status=status))
    assert action_ids(message) == expected
    assert_valid_message(message)


def test_declare_incident_only_when_incidents_are_available() -> None:
    message = alert_message(make_alert(), can_declare=False)
    assert Action.DECLARE_INCIDENT not in action_ids(message)
    assert Action.ACKNOWLEDGE in action_ids(message)


def test_acknowledge_is_primary_and_only_resolve_asks_for_confirmation() -> None:
    message = alert_message(make_alert(summary="<!channel> disk full"))
    ack, resolve = element(message, Action.ACKNOWLEDGE), element(message, Action.RESOLVE)
    assert ack["style"] == "primary" and "confirm" not in ack
    assert "style" not in resolve
    confirm = resolve["confirm"]
    assert confirm["confirm"]["text"] == "Resolve" and confirm["deny"]["text"] == "Cancel"
    # plain_text: Slack shows it as typed and parses no mentions in it
    assert confirm["text"]["type"] == "plain_text" and "ALT100005" in confirm["text"]["text"]
    (actions,) = actions_blocks(message["blocks"])
    assert actions["block_id"] == Block.ALERT_ACTIONS
    order = [
        Action.ACKNOWLEDGE,
        Action.RESOLVE,
        Action.ADD_NOTE,
        Action.DECLARE_INCIDENT,
        Action.SNOOZE,
        Action.OVERFLOW,
    ]
    assert [e["action_id"] for e in actions["elements"]] == order


@pytest.mark.parametrize("backend_id", [(Backend.ROOTLY, str(uuid.uuid4())), (Backend.ILERT, "8815234")])
def test_every_button_value_decodes_to_the_alert(backend_id: tuple[Backend, str]) -> None:
    alert = make_alert(ref=AlertRef(*backend_id))
    buttons = [n for n in walk(alert_message(alert)["blocks"]) if n.get("type") == "button"]
    assert len(buttons) == 4
    assert all(AlertRef.decode(b["value"]) == alert.ref for b in buttons)


# --- menus -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("noise", "toggle"),
    [(None, OverflowVerb.MARK_NOISE), (False, OverflowVerb.MARK_NOISE), (True, OverflowVerb.MARK_NOT_NOISE)],
)
def test_overflow_offers_edit_the_noise_toggle_and_escalate(noise: bool | None, toggle: OverflowVerb) -> None:
    alert = make_alert(noise=noise)
    overflow = element(alert_message(alert), Action.OVERFLOW)
    parsed = [parse_overflow_value(o["value"]) for o in overflow["options"]]
    assert [verb for verb, _ in parsed] == [OverflowVerb.EDIT, toggle, OverflowVerb.ESCALATE]
    assert all(ref == alert.ref for _, ref in parsed)
    labels = [o["text"]["text"] for o in overflow["options"]]
    assert labels[1] == ("Mark as not noise" if noise else "Mark as noise")


def test_snooze_menu_offers_15_60_and_240_minutes() -> None:
    alert = make_alert(status=AlertStatus.ACKNOWLEDGED)
    snooze = element(alert_message(alert), Action.SNOOZE)
    parsed = [parse_overflow_value(o["value"]) for o in snooze["options"]]
    assert [verb.snooze_minutes for verb, _ in parsed] == [15, 60, 240]
    assert {ref for _, ref in parsed} == {alert.ref}
    assert OverflowVerb.ESCALATE.snooze_minutes is None


def test_every_menu_value_round_trips_and_fits_75_characters_with_a_uuid() -> None:
    ref = AlertRef(Backend.ROOTLY, str(uuid.uuid4()))
    assert len(ref.id) == 36
    for verb in OverflowVerb:
        value = overflow_value(verb, ref)
        assert len(value) <= OPTION_VALUE_MAX
        assert parse_overflow_value(value) == (verb, ref)
    assert parse_overflow_value("snooze:60|rootly:0b1c") == (OverflowVerb.SNOOZE_60, AlertRef(Backend.ROOTLY, "0b1c"))


@pytest.mark.parametrize(
    "garbage",
    ["", "edit", "edit|", "edit|rootly", "edit|rootly:", "bogus|rootly:x", "edit|pagerduty:x", "snooze:7|rootly:x"],
)
def test_parse_overflow_value_rejects_what_the_bot_never_rendered(garbage: str) -> None:
    with pytest.raises(ValueError):
        parse_overflow_value(garbage)


@pytest.mark.parametrize(("id_length", "menus"), [(36, True), (57, True), (58, False), (70, False)])
def test_menus_are_left_out_when_the_id_is_too_long_for_an_option_value(id_length: int, menus: bool) -> None:
    # "snooze:240|rootly:" is the longest prefix: 18 characters, so ids up to 57 characters fit in 75.
    message = alert_message(make_alert(ref=AlertRef(Backend.ROOTLY, "x" * id_length)))
    assert ({Action.SNOOZE, Action.OVERFLOW} <= action_ids(message)) is menus
    assert {Action.ACKNOWLEDGE, Action.RESOLVE, Action.ADD_NOTE, Action.DECLARE_INCIDENT} <= action_ids(message)
    assert_valid_message(message)


# --- alert_message: content ----------------------------------------------------------------------------------


def field_texts(message: dict[str, Any]) -> list[str]:
    return [f["text"] for b in message["blocks"] for f in b.get("fields", [])]


def test_message_shows_what_the_alert_is() -> None:
    alert = make_alert(
        started_at=STARTED,
        description="Load average 40\n\nrunbook: https://wiki/cpu",
        responders=(Person("7", "Ann Lee"), Person("8", "Bo")),
        labels=(("env", "prod"), ("region", "eu-west-1")),
    )
    message = alert_message(alert)
    headline = message["blocks"][0]
    assert headline["block_id"] == Block.ALERT_SUMMARY
    assert headline["text"]["text"] == f"🔴 *<{ROOTLY_URL}|ALT100005>* CPU above 95% on api-1"
    fields = field_texts(message)
    assert "*Status*\n🔴 Triggered" in fields
    assert "*Urgency*\nHigh" in fields
    assert "*Services*\napi" in fields
    assert "*Source*\ndatadog" in fields
    assert f"*Started*\n<!date^{int(STARTED.timestamp())}^{{date_short_pretty}} at {{time}}|2026-03-01 09:23 UTC>" in (
        fields
    )
    assert "*Paged*\nAnn Lee, Bo" in fields  # triggered: the people on it are the ones paged
    assert not any(f.startswith("*Backend*") for f in fields)
    text = json.dumps(message["blocks"], ensure_ascii=False)
    assert "`env=prod`  `region=eu-west-1`" in text
    assert "> Load average 40\\n> runbook: https://wiki/cpu" in text
    assert "CPU above 95%" in message["text"] and "ALT100005" in message["text"]


def test_age_falls_back_to_created_at() -> None:
    line = alert_line(make_alert(started_at=None))
    assert f"<!date^{int(CREATED.timestamp())}^{{date_short_pretty}} at {{time}}|" in line


@pytest.mark.parametrize(("backend", "name"), [(Backend.ROOTLY, "Rootly"), (Backend.ILERT, "ilert")])
def test_backend_is_named_when_both_are_connected(backend: Backend, name: str) -> None:
    ref = rootly_ref() if backend is Backend.ROOTLY else AlertRef(backend, "42")
    assert f"*Backend*\n{name}" in field_texts(alert_message(make_alert(ref=ref), backend_label=True))


def test_status_cue_differs_by_status() -> None:
    cues = {s: field_texts(alert_message(make_alert(status=s)))[0] for s in AlertStatus}
    assert len(set(cues.values())) == len(cues)
    assert cues[AlertStatus.RESOLVED] == "*Status*\n🟢 Resolved"
    assert cues[AlertStatus.ACKNOWLEDGED] == "*Status*\n🟡 Acknowledged"


def test_stamp_says_who_did_what_and_when() -> None:
    at = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    message = alert_message(make_alert(status=AlertStatus.ACKNOWLEDGED), stamp=Stamp("Acknowledged", "<@U123ABC>", at))
    contexts = [e["text"] for b in message["blocks"] if b["type"] == "context" for e in b["elements"]]
    assert f"✅ Acknowledged by <@U123ABC> · <!date^{int(at.timestamp())}^" in contexts[-1]
    # the stamp sits right above the buttons
    assert message["blocks"][-2]["type"] == "context" and message["blocks"][-1]["type"] == "actions"


def test_stamp_with_a_plain_name_is_escaped() -> None:
    message = alert_message(make_alert(), stamp=Stamp("Resolved", "<!here> Bo & co", CREATED))
    assert "✅ Resolved by &lt;!here&gt; Bo &amp; co ·" in json.dumps(message["blocks"], ensure_ascii=False)
    assert_valid_message(message)


def test_slack_control_characters_are_escaped_and_cannot_ping() -> None:
    alert = make_alert(summary=HOSTILE, description=HOSTILE, source="<!everyone>", labels=(("<k>", "<!channel>"),))
    message = alert_message(alert, stamp=Stamp("Acknowledged", "<@U1>", CREATED))
    dumped = json.dumps(message, ensure_ascii=False)
    for ping in ("<!channel>", "<!here>", "<!everyone>", "<@U999>", "<https://evil.example|click>"):
        # only the resolve confirmation (plain_text, never parsed) may show the summary as typed
        assert dumped.count(ping) == (1 if ping in HOSTILE else 0), ping
    assert "&lt;!channel&gt; &lt;!here&gt;" in message["blocks"][0]["text"]["text"]
    assert "&amp;amp;" in message["blocks"][0]["text"]["text"]
    assert "&lt;!channel&gt;" in message["text"]
    assert_valid_message(message)


def test_a_huge_alert_stays_within_slack_limits() -> None:
    alert = make_alert(
        summary="Disk & <inode> pressure " * 500,  # 12,000 characters
        description="\n".join(f"line {i} " + "x" * 300 for i in range(100)),
        labels=tuple((f"label_{i:02}", "v" * 300 + "&<>") for i in range(40)),
        services=tuple(Service(str(i), f"service-{i}-" + "s" * 100) for i in range(30)),
        responders=tuple(Person(str(i), f"Responder {i}") for i in range(200)),
        urgency=Urgency("u", "U" * 500),
        source="S" * 500,
    )
    message = alert_message(alert, stamp=Stamp("Acknowledged", "<@U1>", CREATED), backend_label=True)
    assert_valid_message(message)
    headline = message["blocks"][0]["text"]["text"]
    assert headline.endswith("…") and len(headline) < 3000
    labels = next(b for b in message["blocks"] if b["type"] == "context")["elements"][0]["text"]
    shown = labels.count("`") // 2
    assert 0 < shown < 40
    assert labels.endswith(f"+{40 - shown} more")
    assert "label_00=" in labels  # first labels first
    assert "+" in next(f for f in field_texts(message) if f.startswith(("*Paged*", "*Responders*")))


@pytest.mark.parametrize("char", ["你", "🔥", "ש", "&", "\u0000"])
def test_summaries_of_10000_wide_characters_still_fit(char: str) -> None:
    alert = make_alert(summary=char * 10_000, description=char * 10_000, labels=((char * 50, char * 400),) * 40)
    message = alert_message(alert)
    assert_valid_message(message)
    assert char in message["blocks"][0]["text"]["text"] or char in "&\u0000"


def test_unsafe_urls_are_not_linked() -> None:
    message = alert_message(make_alert(url="https://rootly.com/a|b>c"))
    assert message["blocks"][0]["text"]["text"].startswith("🔴 *ALT100005* ")
    assert_valid_message(message)


# --- the bounding helpers ---------------------------------------------------------------------------------------


def test_escape_bounded_counts_the_escaped_text_and_never_splits_an_entity() -> None:
    assert escape_bounded("a<b", 10) == "a&lt;b"
    assert escape_bounded("&" * 10, 8) == "&amp;…"
    assert escape_bounded("ab<cd", 5) == "ab…"  # "ab&l…" would show a broken entity
    for limit in range(1, 30):
        assert len(escape_bounded("x&<>y" * 10, limit)) <= limit


def test_join_bounded_keeps_room_for_the_count_of_the_rest() -> None:
    items = [f"item-{i}" for i in range(10)]  # 6 characters each
    assert join_bounded(items, 1000) == ", ".join(items)
    joined = join_bounded(items, 30)
    assert len(joined) <= 30
    shown = joined.count("item-")
    assert joined == ", ".join([*items[:shown], f"+{10 - shown} more"]) and shown == 2
    assert join_bounded(["x" * 50], 20) == "+1 more"


# --- alert_line ----------------------------------------------------------------------------------------------


def test_alert_line_is_one_compact_escaped_line() -> None:
    line = alert_line(make_alert(summary="first line\nsecond <!channel> " + "y" * 1000, status=AlertStatus.OPEN))
    assert "\n" not in line
    assert line.startswith(f"🟠 *<{ROOTLY_URL}|ALT100005>* first line second &lt;!channel&gt; ")
    assert "…" in line and " · *open* · <!date^" in line
    assert len(line) < 400
    assert_safe_mrkdwn(line)


# --- alert_list_message --------------------------------------------------------------------------------------


def many(n: int, backend: Backend = Backend.ROOTLY, **overrides: Any) -> list[Alert]:
    def ref(i: int) -> AlertRef:
        return rootly_ref() if backend is Backend.ROOTLY else AlertRef(backend, str(9000 + i))

    return [
        make_alert(**{"ref": ref(i), "short_id": f"ALT{i:06}", "summary": f"alert number {i}", **overrides})
        for i in range(n)
    ]


def shown_ids(message: dict[str, Any]) -> list[str]:
    return [b["block_id"].split(":", 1)[1] for b in actions_blocks(message["blocks"])]


def footer(message: dict[str, Any]) -> str:
    last = message["blocks"][-1]
    return last["elements"][0]["text"] if last["type"] == "context" else ""


def test_empty_list_names_the_filters() -> None:
    message = alert_list_message([], 0, title="Open alerts", more_url=None, filters_text="service:api urgency:<high>")
    assert_valid_message(message)
    text = message["blocks"][0]["text"]["text"]
    assert "No open alerts match `service:api urgency:&lt;high&gt;`" in text
    assert not actions_blocks(message["blocks"])


def test_empty_list_without_filters() -> None:
    message = alert_list_message([], 0, title="Open alerts", more_url=None)
    assert "No open alerts" in message["blocks"][0]["text"]["text"]
    assert_valid_message(message)


def test_one_alert_is_listed_with_its_buttons_and_no_footer() -> None:
    (alert,) = many(1)
    message = alert_list_message([alert], 1, title="Open alerts", more_url="https://rootly.com/alerts")
    assert_valid_message(message)
    assert shown_ids(message) == [alert.ref.encode()]
    assert action_ids(message) == {Action.ACKNOWLEDGE} | LIST_ROW_LIVE
    assert footer(message) == ""
    row = message["blocks"][1]["text"]["text"]
    assert row.startswith(alert_line(alert)) and row.endswith("\napi · urgency High")


@pytest.mark.parametrize(("n", "total"), [(30, 30), (250, 250), (100, 250)])
def test_long_lists_stop_before_the_limits_and_say_how_many_more(n: int, total: int) -> None:
    alerts = many(n)
    message = alert_list_message(alerts, total, title="Open alerts", more_url="https://rootly.com/alerts")
    assert_valid_message(message)
    shown = shown_ids(message)
    assert shown == [a.ref.encode() for a in alerts[: len(shown)]]  # newest first, as given, no gaps
    assert len(shown) >= 3
    assert footer(message) == f"and {total - len(shown)} more — <https://rootly.com/alerts|open in Rootly>"
    assert f"{len(shown)} of {total}" in message["text"]


def test_more_without_a_url_is_not_a_link() -> None:
    message = alert_list_message(many(30), 30, title="Open alerts", more_url=None)
    assert re.fullmatch(r"and \d+ more — open in Rootly", footer(message))


def test_list_fills_the_budget() -> None:
    """Stops because the next alert would not fit, not earlier, and keeps room to re-render a row later."""
    alerts = many(40, Backend.ILERT)
    message = alert_list_message(alerts, 40, title="Open alerts", more_url=None, backend_label=True)
    assert_valid_message(message)
    one, two = (alert_list_message(alerts[:n], n, title="Open alerts", more_url=None) for n in (1, 2))
    row_cost = len(json.dumps(two["blocks"])) - len(json.dumps(one["blocks"]))
    size = len(json.dumps(message["blocks"]))
    budget = MESSAGE_BLOCKS_JSON_BUDGET - REWRITE_HEADROOM
    assert size <= budget < size + row_cost
    assert "ilert" in message["blocks"][1]["text"]["text"]


def test_a_row_is_re_rendered_in_place_after_an_action() -> None:
    alerts = many(3)
    listed = alert_list_message(alerts, 3, title="Open alerts", more_url=None)["blocks"]
    acked = replace(alerts[1], status=AlertStatus.ACKNOWLEDGED)
    stamp = Stamp("Acknowledged", "<@U42>", CREATED)
    updated = replace_alert_row(listed, acked, stamp=stamp)
    assert updated is not None
    assert_valid_blocks(updated)
    changed = [i for i, (old, new) in enumerate(zip(listed, updated, strict=True)) if old != new]
    row = [b for b in updated if b.get("block_id", "").endswith(acked.ref.encode())]
    assert [updated.index(b) for b in row] == changed
    assert "*acknowledged*" in row[0]["text"]["text"] and "✅ Acknowledged by <@U42>" in row[0]["text"]["text"]
    assert {e["action_id"] for e in row[1]["elements"]} == LIST_ROW_LIVE


def test_no_row_to_re_render() -> None:
    listed = alert_list_message(many(2), 2, title="Open alerts", more_url=None)["blocks"]
    assert replace_alert_row(listed, make_alert(), stamp=None) is None
    single = alert_message(make_alert())["blocks"]
    assert replace_alert_row(single, make_alert(), stamp=None) is None


def test_repeated_alerts_are_listed_once() -> None:
    (alert,) = many(1)
    message = alert_list_message([alert, alert], 2, title="Open alerts", more_url=None)
    assert_valid_message(message)
    assert shown_ids(message) == [alert.ref.encode()]


def test_list_of_huge_hostile_alerts_stays_within_limits() -> None:
    alerts = many(30, summary=HOSTILE * 200, labels=tuple((f"k{i}", "v" * 500) for i in range(40)))
    message = alert_list_message(alerts, 30, title=HOSTILE * 20, more_url="https://rootly.com/alerts")
    assert_valid_message(message)
    assert shown_ids(message)


# --- note_modal ------------------------------------------------------------------------------------------------


def test_note_modal() -> None:
    alert = make_alert(summary="<!channel> disk full")
    view = note_modal(alert, private_metadata='{"ref":"rootly:x"}')
    View(**view).validate_json()
    assert view["type"] == "modal" and view["callback_id"] == Callback.NOTE_MODAL
    assert view["title"]["text"] == "Add note" and len(view["title"]["text"]) <= 24
    assert view["submit"]["text"] == "Add note" and view["close"]["text"] == "Cancel"
    assert view["private_metadata"] == '{"ref":"rootly:x"}'
    context, field = view["blocks"]
    assert context["elements"][0]["text"] == alert_line(alert)
    assert field["block_id"] == Block.NOTE_INPUT
    element = field["element"]
    assert element["action_id"] == Action.NOTE_TEXT
    # Slack refuses a form whose text input asks for more than 3,000 characters; longer notes go by /rootly note.
    assert element["multiline"] is True and element["max_length"] == TEXT_INPUT_MAX == 3000
    assert "initial_value" not in element
    assert_valid_blocks(view["blocks"])


def test_note_modal_hands_back_typed_text_within_the_limit() -> None:
    view = note_modal(make_alert(), private_metadata="m", initial_text="half done")
    assert view["blocks"][1]["element"]["initial_value"] == "half done"
    long = note_modal(make_alert(), private_metadata="m", initial_text="z" * (TEXT_INPUT_MAX + 5))
    assert long["blocks"][1]["element"]["initial_value"] == "z" * TEXT_INPUT_MAX
    View(**long).validate_json()


def test_note_modal_from_the_line_on_the_message_with_an_error() -> None:
    line = alert_line(make_alert())
    view = note_modal(line, private_metadata="m", initial_text="draft", error="Rootly is not answering.")
    View(**view).validate_json()
    context, error, field = view["blocks"]
    assert context["elements"][0]["text"] == line
    assert error["text"]["text"] == "⚠️ Rootly is not answering."
    assert field["element"]["initial_value"] == "draft"


@pytest.mark.parametrize("render", [progress_modal, done_modal])
def test_progress_and_outcome_modals(render: Any) -> None:
    view = render("Add a note to an alert, please", "Adding your note…")
    View(**view).validate_json()
    assert len(view["title"]["text"]) <= 24 and "submit" not in view
    assert "Adding your note…" in view["blocks"][0]["text"]["text"]


# --- property: any alert renders within limits ---------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8"), max_size=300) | st.sampled_from([HOSTILE, "&" * 5000, "🔥" * 4000])
_alerts = st.builds(
    make_alert,
    ref=st.one_of(
        st.uuids().map(lambda u: AlertRef(Backend.ROOTLY, str(u))),
        st.integers(1, 10**15).map(lambda i: AlertRef(Backend.ILERT, str(i))),
    ),
    short_id=st.text(max_size=40),
    summary=_text,
    status=st.sampled_from(list(AlertStatus)),
    source=st.text(max_size=200),
    url=st.none() | st.sampled_from([ROOTLY_URL, "javascript:alert(1)", "https://x/<y>|z", "https://r/" + "p" * 2000]),
    description=st.none() | _text,
    urgency=st.none() | st.builds(Urgency, id=st.just("u"), name=st.text(max_size=200)),
    services=st.lists(st.builds(Service, id=st.just("s"), name=st.text(max_size=200)), max_size=40).map(tuple),
    labels=st.lists(st.tuples(st.text(max_size=100), _text), max_size=60).map(tuple),
    responders=st.lists(st.builds(Person, id=st.just("p"), name=st.text(max_size=120)), max_size=30).map(tuple),
    noise=st.none() | st.booleans(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example])
@given(
    alert=_alerts,
    actor=st.text(max_size=200) | st.just("<@U123>"),
    backend_label=st.booleans(),
    can_declare=st.booleans(),
)
def test_any_alert_renders_within_slack_limits(
    alert: Alert, actor: str, backend_label: bool, can_declare: bool
) -> None:
    message = alert_message(
        alert, stamp=Stamp("Acknowledged", actor, CREATED), backend_label=backend_label, can_declare=can_declare
    )
    assert_valid_message(message)
    assert (Action.ACKNOWLEDGE in action_ids(message)) == (alert.status is AlertStatus.TRIGGERED)
    assert (Action.RESOLVE in action_ids(message)) == (alert.status is not AlertStatus.RESOLVED)
    assert_safe_mrkdwn(alert_line(alert))
    View(**note_modal(alert, private_metadata="m")).validate_json()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example])
@given(alerts=st.lists(_alerts, max_size=40, unique_by=lambda a: a.ref), extra=st.integers(0, 500))
def test_any_alert_list_renders_within_slack_limits(alerts: list[Alert], extra: int) -> None:
    total = len(alerts) + extra
    message = alert_list_message(alerts, total, title="Open alerts", more_url=ROOTLY_URL, filters_text="x")
    assert_valid_message(message)
    shown = len(shown_ids(message))
    assert (footer(message) == "") == (shown == total)
    if shown < total:
        assert footer(message).startswith(f"and {total - shown} more — ")
    if shown:  # the headroom kept while listing lets any row be re-rendered with a stamp
        stamped = replace_alert_row(message["blocks"], alerts[0], stamp=Stamp("Acknowledged", "<@U123>", CREATED))
        assert stamped is not None
        assert_valid_message({"text": "t", "blocks": stamped})


def test_who_is_on_it_is_paged_while_it_rings_then_responders() -> None:
    paged = make_alert(notified=(Person("a@x", "Ann Lee"),), responders=(Person("8", "Bo"),))
    assert "*Paged*\nAnn Lee" in field_texts(alert_message(paged))  # the notified users, not the responders
    taken = replace(paged, status=AlertStatus.ACKNOWLEDGED)
    fields = field_texts(alert_message(taken))
    assert "*Responders*\nBo" in fields and not any(f.startswith("*Paged*") for f in fields)
    assert not any(f.startswith(("*Paged*", "*Responders*")) for f in field_texts(alert_message(make_alert())))
