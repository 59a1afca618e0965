"""`/rootly page` (preview, Page once however often it is clicked, Cancel) and taking the pager, end to end."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.render.ids import Action
from tests.conftest import RunningBot
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.messages import reply, text_of

NOW = datetime.now(UTC).replace(microsecond=0)


def button(message: dict[str, Any], action_id: str) -> str:
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return str(element["value"])
    raise AssertionError(f"no {action_id} button")


@pytest.fixture
def team(rootly: RootlyFake, slack: SlackFake) -> dict[str, Any]:
    bob = rootly.add_user("bob@example.com", "Bob Builder")
    alice = rootly.add_user("alice@example.com", "Alice Example")
    slack.add_user("U222", "bob@example.com", "Bob Builder")
    platform = rootly.add_team("Platform", "platform")
    primary = rootly.add_schedule("Primary")
    policy = rootly.add_escalation_policy("Platform EP", levels=1, teams=[platform])
    rootly.add_oncall(policy, 1, bob, NOW - timedelta(hours=1), NOW + timedelta(hours=8), schedule_id=primary)
    return {"bob": bob, "alice": alice, "platform": platform, "primary": primary}


def test_page_preview_then_one_alert_however_often_page_is_clicked(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake, team: dict[str, Any]
) -> None:
    bot.sender.slash("page platform Checkout is failing")
    preview = reply(slack)
    said = text_of(preview)
    assert "Page the team *Platform*" in said and "<@U222>" in said  # exactly who will be paged
    assert [r for r in rootly.requests if r.method == "POST"] == []  # nothing paged yet
    value = button(preview, Action.ONCALL_PAGE)

    clicks = [threading.Thread(target=bot.sender.click, args=(Action.ONCALL_PAGE, value)) for _ in range(2)]
    for click in clicks:
        click.start()
    for click in clicks:
        click.join()
    answers = [text_of(m) for m in slack.wait_responses(3, timeout=10)[1:]]
    created = [r for r in rootly.requests if r.method == "POST" and r.path == "/v1/alerts"]
    assert len(created) == 1  # a double click pages once
    attrs = created[0].json["data"]["attributes"]
    assert attrs["notification_target_type"] == "Group" and attrs["notification_target_id"] == team["platform"]
    assert attrs["summary"] == "Checkout is failing"
    alert = next(iter(rootly.alerts.values()))
    paged = next(a for a in answers if "paged" in a and "already" not in a)
    assert alert["id"] in paged and alert["attributes"]["short_id"] in paged  # the asker gets its id and link
    assert any("already sent" in a for a in answers)
    (posted,) = slack.wait_calls("chat.postMessage")  # the alert message, with its buttons, in the channel
    assert posted["channel"] == "C111" and "Checkout is failing" in text_of(posted)
    assert "*Paged*\nBob Builder" in text_of(posted)  # who Rootly notified, while the alert rings


def test_page_cancel_pages_nobody(bot: RunningBot, rootly: RootlyFake, slack: SlackFake, team: dict[str, Any]) -> None:
    bot.sender.slash('page "Platform EP" db down')
    preview = reply(slack)
    bot.sender.click(Action.ONCALL_PAGE_CANCEL, button(preview, Action.ONCALL_PAGE_CANCEL))
    assert "nobody was paged" in text_of(reply(slack, 2))
    assert [r for r in rootly.requests if r.method == "POST"] == []


def test_page_a_person_by_slack_mention(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake, team: dict[str, Any]
) -> None:
    bot.sender.slash("page <@U222|bob> can you look at the queue")
    preview = reply(slack)
    assert "paged directly" in text_of(preview)
    bot.sender.click(Action.ONCALL_PAGE, button(preview, Action.ONCALL_PAGE))
    reply(slack, 2)
    (created,) = [r for r in rootly.requests if r.method == "POST" and r.path == "/v1/alerts"]
    attrs = created.json["data"]["attributes"]
    assert attrs["notification_target_type"] == "User" and attrs["notification_target_id"] == str(team["bob"])


def test_page_unknown_target_hands_the_summary_back(bot: RunningBot, slack: SlackFake, team: dict[str, Any]) -> None:
    bot.sender.slash("page platfrm the summary I typed")
    said = text_of(reply(slack))
    assert "`platfrm`" in said and "Platform" in said and "the summary I typed" in said


def test_take_the_pager_from_the_answer(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake, team: dict[str, Any]
) -> None:
    bot.sender.slash("oncall primary")
    answer = reply(slack)
    bot.sender.click(Action.ONCALL_TAKE, button(answer, Action.ONCALL_TAKE))
    said = text_of(reply(slack, 2))
    assert "<@U111> took the pager for *Primary*" in said and "<!date^" in said
    (override,) = [r for r in rootly.requests if r.path.endswith("/override_shifts")]
    attrs = override.json["data"]["attributes"]
    assert attrs["user_id"] == team["alice"]
    hours = (datetime.fromisoformat(attrs["ends_at"]) - datetime.fromisoformat(attrs["starts_at"])).total_seconds()
    assert hours == 3600
    bot.sender.slash("oncall primary")  # the answer is read afresh after the change, Alice now on call
    assert "<@U111> _(override)_" in text_of(reply(slack, 3))


def test_take_by_command_for_two_hours_and_refused(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake, team: dict[str, Any]
) -> None:
    bot.sender.slash("oncall take primary for 2h")
    assert "took the pager" in text_of(reply(slack))
    attrs = next(r.json for r in rootly.requests if r.path.endswith("/override_shifts"))["data"]["attributes"]
    span = datetime.fromisoformat(attrs["ends_at"]) - datetime.fromisoformat(attrs["starts_at"])
    assert span == timedelta(hours=2)
    rootly.override_refusal = "Override overlaps an existing override"
    bot.sender.slash("oncall take primary")
    said = text_of(reply(slack, 2))
    assert "did not make you on call for *Primary*" in said and "Override overlaps an existing override" in said
