"""A button click whose action goes to the outbox (Rootly down, or its rate limit past the budget: both end in
``Queued``) tells the person it is queued, and the outbox lands it later; it never ends in "something went wrong"."""

from __future__ import annotations

from typing import Any

from bot.render.ids import Action
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake


def test_a_click_rootly_cannot_take_now_is_queued_and_lands_from_the_outbox(
    bot: Any, rootly: RootlyFake, slack: SlackFake
) -> None:
    bot.sender.slash("feed on")
    bot.app.services.poller.poll_once()  # starts the cursor
    alert = rootly.add_alert(summary="Disk full", status="triggered")
    bot.app.services.poller.poll_once()
    bot.app.services.feeds.delivery.idle()  # posted off the poll, at Slack's pace: wait until it is tracked
    call = slack.wait_calls("chat.postMessage", 1, timeout=10)[-1]
    message = {"ts": slack.messages(call["channel"])[-1]["ts"], "text": call["text"], "blocks": call["blocks"]}
    rootly.script("POST", r"/acknowledge$", RootlyFake.unavailable(503))

    bot.sender.click(Action.ACKNOWLEDGE, f"rootly:{alert['id']}", message=message)

    [said] = slack.wait_responses(1, timeout=10)
    assert "when it is reachable again" in said["text"] and "went wrong" not in said["text"]
    assert "outbox item" in str(said["blocks"])
    assert slack.calls("chat.update") == []  # the message keeps its buttons until the action lands
    assert bot.app.services.outbox.deliver_due() == 1
    assert rootly.get_alert(alert["id"])["attributes"]["status"] == "acknowledged"
    assert "From the outbox: Acknowledged" in slack.wait_responses(2, timeout=10)[-1]["text"]
