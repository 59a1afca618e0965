"""One action path: whatever the surface (a command typed anywhere, a list row, the outbox), every message the bot
posted for the alert is re-rendered with who did what."""

from __future__ import annotations

from bot.render.ids import Action
from tests.conftest import RunningBot
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.messages import action_ids, reply, text_of
from tests.test_alert_messages_e2e import feed_message, updates


def feed_update(slack: SlackFake, message: dict, n: int = 1) -> dict:
    """The n-th ``chat.update`` of the feed message (there may be others, of other messages)."""
    mine = [u for u in updates(slack, n) if u["ts"] == message["ts"]]
    assert len(mine) >= n, f"the feed message was updated {len(mine)} time(s), expected {n}"
    return mine[n - 1]


def short_id(alert: dict) -> str:
    return str(alert["attributes"]["short_id"])


def test_ack_typed_in_another_channel_re_renders_the_feed_message(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    alert, message = feed_message(bot, rootly, slack)
    answer = bot.sender.slash(f"ack {short_id(alert)}", channel_id="C999")
    assert answer.status_code == 200 and "Acknowledging" in answer.text
    update = feed_update(slack, message)
    assert update["channel"] == "C111"
    assert Action.ACKNOWLEDGE not in action_ids(update["blocks"])
    assert Action.RESOLVE in action_ids(update["blocks"])
    assert "Acknowledged by <@U111>" in text_of(update["blocks"])
    # The person who typed it is still told, where they typed it.
    assert "Acknowledged" in text_of(reply(slack))


def test_resolve_typed_re_renders_the_feed_message(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alert, message = feed_message(bot, rootly, slack)
    bot.sender.slash(f"resolve {short_id(alert)} rolled back", channel_id="C999")
    update = feed_update(slack, message)
    assert action_ids(update["blocks"]) & {Action.ACKNOWLEDGE, Action.RESOLVE} == set()
    assert "Resolved by <@U111>" in text_of(update["blocks"])
    assert rootly.get_alert(alert["id"])["attributes"]["status"] == "resolved"


def test_note_typed_shows_on_the_feed_message(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alert, message = feed_message(bot, rootly, slack)
    bot.sender.slash(f"note {short_id(alert)} disk is at 97%, pruning /var/log", channel_id="C999")
    update = feed_update(slack, message)
    said = text_of(update["blocks"])
    assert "Note added by <@U111>" in said and "disk is at 97%, pruning /var/log" in said
    assert Action.ACKNOWLEDGE in action_ids(update["blocks"])  # a note changes no state


def test_update_typed_re_renders_the_feed_message(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    rootly.add_urgency("High", 1)
    rootly.add_urgency("Low", 3)
    alert, message = feed_message(bot, rootly, slack)
    bot.sender.slash(f"update {short_id(alert)} urgency:low", channel_id="C999")
    update = feed_update(slack, message)
    assert "Updated by <@U111>" in text_of(update["blocks"]) and "Low" in text_of(update["blocks"])


def test_menus_on_a_list_row_re_render_the_feed_message(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alert, message = feed_message(bot, rootly, slack)
    bot.sender.slash("alerts", channel_id="C999")
    listing = reply(slack)
    ref = f"rootly:{alert['id']}"
    # A list row offers the menus too (snooze select and overflow), not only the buttons.
    assert {Action.SNOOZE, Action.OVERFLOW} <= action_ids(listing["blocks"])
    shown = {"ts": "1700000000.000100", "text": listing["text"], "blocks": listing["blocks"]}
    choices = (
        (f"snooze:15|{ref}", "Snoozed by <@U111>"),
        (f"escalate|{ref}", "Escalated by <@U111>"),
        (f"noise|{ref}", "Marked as noise by <@U111>"),
    )
    for seen, (value, said) in enumerate(choices, start=1):
        action = Action.SNOOZE if value.startswith("snooze") else Action.OVERFLOW
        bot.sender.click(action, value, channel="C999", message=shown, ephemeral=True, selected=True)
        assert said in text_of(feed_update(slack, message, seen)["blocks"])


def test_an_action_delivered_later_from_the_outbox_re_renders_the_feed_message(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    alert, message = feed_message(bot, rootly, slack)
    outage = RootlyFake.unavailable(503)
    rootly.script("POST", r"/acknowledge$", outage)
    bot.sender.slash(f"ack {short_id(alert)}", channel_id="C999")
    assert "queued" in text_of(reply(slack))
    assert [u for u in slack.calls("chat.update") if u["ts"] == message["ts"]] == []  # not done yet: unchanged
    outbox = bot.app.services.outbox
    landed = 0
    for _ in range(5):
        outbox.store.expedite()
        landed += outbox.deliver_due()
        if landed:
            break
    assert landed == 1
    update = feed_update(slack, message)
    assert "Acknowledged by <@U111>" in text_of(update["blocks"])
    assert Action.ACKNOWLEDGE not in action_ids(update["blocks"])


def test_a_list_posted_here_follows_actions_taken_anywhere(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    alert = rootly.add_alert(summary="Queue backlog growing", status="triggered")
    bot.sender.slash("alerts here")
    [call] = slack.wait_calls("chat.postMessage", 1, timeout=10)
    ts = slack.messages("C111")[-1]["ts"]
    bot.sender.slash(f"ack {short_id(alert)}", channel_id="C999")
    [update] = [u for u in updates(slack, 1) if u["ts"] == ts]
    row = [b for b in update["blocks"] if str(b.get("block_id", "")).endswith(f"rootly:{alert['id']}")]
    assert Action.ACKNOWLEDGE not in action_ids(row) and Action.RESOLVE in action_ids(row)
    assert "Acknowledged by <@U111>" in text_of(update["blocks"])
    assert len(update["blocks"]) == len(call["blocks"])  # the row changed in place; the rest of the list is kept
    # A second action on the same row builds on what the first left.
    bot.sender.slash(f"resolve {short_id(alert)}", channel_id="C999")
    second = [u for u in updates(slack, 2) if u["ts"] == ts][-1]
    row = [b for b in second["blocks"] if str(b.get("block_id", "")).endswith(f"rootly:{alert['id']}")]
    assert action_ids(row) & {Action.ACKNOWLEDGE, Action.RESOLVE} == set()


def test_a_digest_row_follows_actions_taken_anywhere(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alert = rootly.add_alert(summary="Payments 5xx", status="triggered")
    bot.sender.slash("digest now")
    [call] = slack.wait_calls("chat.postMessage", 1, timeout=10)
    assert Action.ACKNOWLEDGE in action_ids(call["blocks"])
    ts = slack.messages("C111")[-1]["ts"]
    bot.sender.slash(f"ack {short_id(alert)}", channel_id="C999")
    [update] = [u for u in updates(slack, 1) if u["ts"] == ts]
    assert Action.ACKNOWLEDGE not in action_ids(update["blocks"])
    assert "Acknowledged by <@U111>" in text_of(update["blocks"])
