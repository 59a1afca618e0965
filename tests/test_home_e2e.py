"""The App Home tab end to end: ``app_home_opened`` → ``views.publish`` with the person's alerts, incidents and
subscriptions; a click on the tab acts and re-publishes it with the outcome on top."""

from __future__ import annotations

import json
import uuid
from typing import Any

import requests

from bot.render.ids import Action, Block
from tests.conftest import RunningBot
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.messages import action_ids, text_of


def open_home(bot: RunningBot, user: str = "U111", tab: str = "home") -> requests.Response:
    """The ``app_home_opened`` envelope of slack-payloads/app_home_opened.json, for ``user``."""
    envelope = {
        "token": "verification_token",
        "team_id": "T111",
        "api_app_id": "A111",
        "event": {"type": "app_home_opened", "user": user, "channel": "D111", "tab": tab, "event_ts": "1726133700.1"},
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10]}",
        "event_time": 1599616881,
        "authorizations": [{"team_id": "T111", "user_id": "U0BOT", "is_bot": True, "is_enterprise_install": False}],
    }
    return bot.sender.post(json.dumps(envelope).encode(), "application/json")


def click_on_home(bot: RunningBot, view: dict[str, Any], action_id: str, value: str) -> requests.Response:
    """A button on the published home view: the container is the view, and there is no response URL."""
    payload = {
        "type": "block_actions",
        "user": {"id": "U111", "username": "alice", "name": "alice", "team_id": "T111"},
        "api_app_id": "A111",
        "token": "verification_token",
        "container": {"type": "view", "view_id": view["id"]},
        "trigger_id": "4916855695380.xxx.yyy",
        "team": {"id": "T111", "domain": "test"},
        "view": {**view, "type": "home"},
        "actions": [
            {"action_id": action_id, "block_id": "b", "value": value, "type": "button", "action_ts": "1700000001.2"}
        ],
    }
    return bot.sender.interactive(payload)


def seed(rootly: RootlyFake) -> dict[str, Any]:
    alice = rootly.add_user("alice@example.com", "Alice Example")
    payments = rootly.add_service("Payments", "payments")
    rootly.add_service("Search", "search")
    rootly.catalog["services"][payments]["owner_user_ids"] = [alice]
    mine = rootly.add_alert(summary="Checkout 500s", status="acknowledged", responders=[rootly._flat(alice)])
    on_my_service = rootly.add_alert(summary="Card declines up", services=["payments"])
    elsewhere = rootly.add_alert(summary="Search slow", services=["search"])
    rootly.add_alert(summary="Old one", status="resolved", responders=[rootly._flat(alice)])
    active = rootly.call(
        "POST", "/v1/incidents", {"data": {"type": "incidents", "attributes": {"title": "Payments down"}}}
    )
    rootly.call(
        "POST",
        "/v1/incidents",
        {"data": {"type": "incidents", "attributes": {"title": "Long gone", "status": "resolved"}}},
    )
    return {"mine": mine, "on_my_service": on_my_service, "elsewhere": elsewhere, "incident": active["data"]}


def test_home_shows_the_persons_world_and_refreshes_on_open(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    seeded = seed(rootly)
    assert bot.sender.slash("digest daily 09:00 Europe/Berlin service:payments").status_code == 200
    assert bot.sender.slash("feed on service:payments").status_code == 200

    assert open_home(bot).status_code == 200
    [published] = slack.wait_calls("views.publish", 1, timeout=10)
    assert published["user_id"] == "U111"
    view = published["view"]
    assert view["type"] == "home"
    text = text_of(view["blocks"])
    ids = {b.get("block_id") for b in view["blocks"]}

    # responding: the acknowledged alert with Alice among its responders (not the resolved one)
    mine = f"rootly:{seeded['mine']['id']}"
    assert f"{Block.ALERT_SUMMARY}:{mine}" in ids
    assert "Checkout 500s" in text and "Old one" not in text
    # triggered on the services Alice owns, not elsewhere
    assert "Triggered on your services (Payments)" in text
    assert "Card declines up" in text and "Search slow" not in text
    row = next(
        b
        for b in view["blocks"]
        if b.get("block_id") == f"{Block.ALERT_ACTIONS}:rootly:{seeded['on_my_service']['id']}"
    )
    assert {Action.ACKNOWLEDGE, Action.RESOLVE, Action.ADD_NOTE} <= action_ids([row])  # the same buttons as lists
    # active incidents only
    assert "Payments down" in text and "Long gone" not in text
    # the person's subscriptions
    assert "Digest *#" in text and "Feed in <#C111>" in text
    assert slack.violations == []

    # opening again reads again (no cache of the view): a new alert shows up
    rootly.add_alert(summary="Refunds failing", services=["payments"])
    open_home(bot)
    second = slack.wait_calls("views.publish", 2, timeout=10)[-1]
    assert "Refunds failing" in text_of(second["view"]["blocks"])


def test_acknowledge_on_home_acts_and_shows_the_outcome_on_the_refreshed_tab(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    seeded = seed(rootly)
    open_home(bot)
    [published] = slack.wait_calls("views.publish", 1, timeout=10)
    view = {**published["view"], "id": "V-home"}
    alert_id = seeded["on_my_service"]["id"]
    assert click_on_home(bot, view, Action.ACKNOWLEDGE, f"rootly:{alert_id}").status_code == 200
    after = slack.wait_calls("views.publish", 2, timeout=10)[-1]["view"]
    assert rootly.alerts[alert_id]["attributes"]["status"] == "acknowledged"
    top = text_of(after["blocks"][:4])
    assert "Acknowledged" in top and "<@U111>" in top
    assert slack.responses() == []  # a home tab has no response URL: nothing was sent to one


def test_the_messages_tab_and_people_without_a_rootly_user(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    open_home(bot, tab="messages")
    slack.add_user("U222", "bob@example.com", "Bob Nobody")
    open_home(bot, user="U222")
    [published] = slack.wait_calls("views.publish", 1, timeout=10)
    assert published["user_id"] == "U222"  # only the home tab is published
    text = text_of(published["view"]["blocks"])
    assert "Your alerts cannot be found: no Rootly user has the email bob@example.com" in text
    assert "you own no Rootly service, so all of them" in text
