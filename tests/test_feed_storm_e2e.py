"""Alert storms in a feed, end to end over HTTP, with Slack's per-channel posting limit modelled in the fake.

More new alerts than Slack lets the bot post one by one become one group message, updated in place as more arrive;
what does not fit continues in the next group message; every alert is in the channel by its id, once; a click on a
grouped alert re-renders its row; alerts are posted one by one again when the storm is over; no 429 reaches Slack.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from bot.render.ids import Action, Block
from tests.conftest import RunningBot
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.messages import action_ids, reply, text_of
from tests.test_alert_messages_e2e import WEBHOOK_SECRET, created_event, signed_webhook
from tests.waiting import wait_until

CHANNEL = "C111"
STORM = {
    "ROOTLY_WEBHOOK_SECRET": WEBHOOK_SECRET,
    "FEED_POLL_SECONDS": "0",
    "FEED_GROUP_THRESHOLD": "3",
    "FEED_GROUP_WINDOW_SECONDS": "4",
}
ROW = f"{Block.ALERT_ROW}:rootly:"


def shown_in(message: dict[str, Any]) -> list[str]:
    """Alert ids a channel message shows: the rows of a group message, or the alert of its own message."""
    rows = [b["block_id"].removeprefix(ROW) for b in message.get("blocks", []) if b.get("block_id", "").startswith(ROW)]
    if rows:
        return rows
    for block in message.get("blocks", []):
        if block.get("type") == "actions" and block.get("block_id") == Block.ALERT_ACTIONS:
            return [block["elements"][0]["value"].removeprefix("rootly:")]
    return []


def channel_ids(slack: SlackFake) -> list[str]:
    return [alert_id for m in slack.messages(CHANNEL) for alert_id in shown_in(m)]


def groups(slack: SlackFake) -> list[dict[str, Any]]:
    return [m for m in slack.messages(CHANNEL) if any(b.get("block_id", "").startswith(ROW) for b in m["blocks"])]


def add_services(rootly: RootlyFake) -> None:
    rootly.add_service("Payments", "payments")
    rootly.add_service("Checkout", "checkout")


def storm(bot: RunningBot, rootly: RootlyFake, n: int, start: int = 0) -> list[dict]:
    alerts = [
        rootly.add_alert(
            summary=f"storm alert {start + i}",
            services=["payments" if i % 3 else "checkout"],
            created_at=f"2026-12-06T04:{(start + i) // 60:02d}:{(start + i) % 60:02d}Z",
        )
        for i in range(n)
    ]
    for alert in alerts:
        assert signed_webhook(bot.url, created_event(alert)).status_code == 202
    return alerts


def test_a_storm_is_grouped_grows_in_place_continues_and_ends(make_bot, rootly: RootlyFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    slack.limit_channels(per_second=1.0, burst=3)
    add_services(rootly)
    with make_bot(**STORM) as bot:
        bot.sender.slash("feed on")
        first = storm(bot, rootly, 8)
        wait_until(lambda: groups(slack), message="no group message")
        second = storm(bot, rootly, 60, start=8)
        # The webhooks were answered before the posting was done: it happens off their requests, at Slack's pace.
        assert len(channel_ids(slack)) < 68
        everyone = {a["id"] for a in first + second}
        wait_until(lambda: set(channel_ids(slack)) == everyone, timeout=40, message="not every alert is shown")
        bot.app.services.feeds.delivery.idle()
        shown = channel_ids(slack)
        assert sorted(shown) == sorted(everyone)  # each alert once, none dropped
        posted = groups(slack)
        assert len(posted) >= 2  # what did not fit went on in the next group message
        head = text_of(posted[0]["blocks"][0])
        assert "new alerts · Payments (" in head and "Checkout (" in head
        # Grown in place: the first group message was updated with the second wave's alerts.
        updated = [u for u in slack.calls("chat.update") if u["ts"] == posted[0]["ts"]]
        as_posted = next(
            c for c in slack.calls("chat.postMessage") if any(ROW in b.get("block_id", "") for b in c["blocks"])
        )
        assert updated and len(shown_in(posted[0])) > len(shown_in(as_posted))
        for message in posted:  # newest first within each message
            rows = [b for b in message["blocks"] if b.get("block_id", "").startswith(ROW)]
            numbers = [int(text_of(r).split("storm alert ")[1].split(" ")[0].split("*")[0]) for r in rows]
            assert numbers == sorted(numbers, reverse=True)
            assert {e["action_id"] for r in rows for e in [r["accessory"]]} == {Action.ROW_OPEN}
        assert slack.rate_limited == {}  # paced: no post was refused
        # The storm ends: the next alert has a message of its own again.
        time.sleep(4.5)
        [calm] = storm(bot, rootly, 1, start=100)
        last = wait_until(lambda: [m for m in slack.messages(CHANNEL) if shown_in(m) == [calm["id"]]])
        assert Action.ACKNOWLEDGE in action_ids(last[0]["blocks"])
        assert slack.rate_limited == {}


def test_a_click_on_a_grouped_alert_re_renders_its_row(make_bot, rootly: RootlyFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    slack.limit_channels(per_second=1.0, burst=3)
    add_services(rootly)
    rootly.add_user("alice@example.com", "Alice Example")
    with make_bot(**STORM) as bot:
        bot.sender.slash("feed on")
        alerts = storm(bot, rootly, 12)
        wait_until(lambda: len(channel_ids(slack)) == 12, timeout=20)
        bot.app.services.feeds.delivery.idle()
        group = groups(slack)[0]
        target = next(a for a in alerts if a["id"] in shown_in(group))
        bot.sender.click(Action.ROW_OPEN, f"rootly:{target['id']}", message=group)
        opened = reply(slack)
        assert Action.ACKNOWLEDGE in action_ids(opened["blocks"]) and "storm alert" in text_of(opened["blocks"])
        before = len(slack.calls("chat.update"))
        bot.sender.click(Action.ACKNOWLEDGE, f"rootly:{target['id']}", ephemeral=True)
        update = wait_until(
            lambda: [u for u in slack.calls("chat.update")[before:] if u["ts"] == group["ts"]], message="no re-render"
        )[-1]
        rows = {b["block_id"]: b for b in update["blocks"] if b.get("block_id", "").startswith(ROW)}
        row = text_of(rows[f"{ROW}{target['id']}"])
        assert "*acknowledged*" in row and "Acknowledged by <@U111>" in row
        others = [text_of(b) for k, b in rows.items() if k != f"{ROW}{target['id']}"]
        assert others and all("*triggered*" in t for t in others)  # only its row changed
        assert len(shown_in(update)) == len(shown_in(group))


def test_webhook_and_poll_delivering_the_same_storm_show_each_alert_once(
    make_bot, rootly: RootlyFake, slack: SlackFake
) -> None:  # type: ignore[no-untyped-def]
    slack.limit_channels(per_second=1.0, burst=3)
    with make_bot(**STORM) as bot:
        bot.sender.slash("feed on")
        poller = bot.app.services.poller
        poller.poll_once()  # starts the cursor
        alerts = [rootly.add_alert(summary=f"both ways {i}") for i in range(30)]
        polling = threading.Thread(target=poller.poll_once)
        polling.start()
        for alert in alerts:
            assert signed_webhook(bot.url, created_event(alert)).status_code == 202
        polling.join(20)
        poller.poll_once()
        wait_until(lambda: len(set(channel_ids(slack))) == 30, timeout=30)
        bot.app.services.feeds.delivery.idle()
        assert sorted(channel_ids(slack)) == sorted(a["id"] for a in alerts)
        assert slack.rate_limited == {}


def test_a_storm_sent_to_two_replicas_shows_each_alert_once(make_bot, rootly: RootlyFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    slack.limit_channels(per_second=1.0, burst=3)
    add_services(rootly)
    with make_bot(**STORM) as one, make_bot(**STORM) as two:  # one database: the replicas share the claims
        one.sender.slash("feed on")
        alerts = [rootly.add_alert(summary=f"replicated {i}", services=["payments"]) for i in range(30)]
        for i, alert in enumerate(alerts):  # each alert to both replicas, in turns, as redeliveries do
            for bot in (one, two) if i % 2 else (two, one):
                assert signed_webhook(bot.url, created_event(alert)).status_code == 202
        wait_until(lambda: len(set(channel_ids(slack))) == 30, timeout=40)
        one.app.services.feeds.delivery.idle()
        two.app.services.feeds.delivery.idle()
        assert sorted(channel_ids(slack)) == sorted(a["id"] for a in alerts)  # once each, whichever replica had it
