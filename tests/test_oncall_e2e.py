"""`/rootly oncall` end to end: signed slash commands in, Rootly (and ilert) on-call reads and Slack answers out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import RunningBot
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.messages import reply, text_of

Org = dict[str, Any]
NOW = datetime.now(UTC).replace(microsecond=0)


def calls(rootly: RootlyFake, path: str) -> list:
    return [r for r in rootly.requests if r.method == "GET" and r.path == path]


@pytest.fixture
def org(rootly: RootlyFake, slack: SlackFake) -> Org:
    """Platform team (channel C111) with a two-level policy on schedule Primary; Payments with its own policy."""
    bob = rootly.add_user("bob@example.com", "Bob Builder")
    carol = rootly.add_user("carol@example.com", "Carol Danvers")
    dave = rootly.add_user("dave@example.com", "Dave Grohl")
    slack.add_user("U222", "bob@example.com", "Bob Builder")
    platform = rootly.add_team("Platform", "platform", slack_channels=[("C111", "oncall")])
    payments = rootly.add_team("Payments", "payments")
    primary = rootly.add_schedule("Primary")
    policy = rootly.add_escalation_policy("Platform EP", levels=2, teams=[platform])
    pay_policy = rootly.add_escalation_policy("Payments EP", levels=1, teams=[payments])
    rootly.add_oncall(policy, 1, bob, NOW - timedelta(hours=2), NOW + timedelta(hours=6), schedule_id=primary)
    rootly.add_oncall(policy, 1, carol, NOW + timedelta(hours=6), NOW + timedelta(days=1), schedule_id=primary)
    rootly.add_oncall(pay_policy, 1, dave, NOW - timedelta(hours=1), NOW + timedelta(hours=3))
    return {"bob": bob, "carol": carol, "dave": dave, "primary": primary, "policy": policy, "platform": platform}


def test_channel_of_a_team_shows_that_teams_on_call(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake, org: Org
) -> None:
    resp = bot.sender.slash("oncall")
    assert resp.status_code == 200 and "on call" in resp.text
    said = text_of(reply(slack))
    assert "On call for team Platform" in said
    assert "Level 1: <@U222> until <!date^" in said  # Bob is a Slack user: a mention, in each reader's time zone
    ends = int((NOW + timedelta(hours=6)).timestamp())
    assert f"<!date^{ends}^" in said
    assert "next: Carol Danvers from" in said  # Carol has no Slack user: her full name, and the answer says so
    assert "Level 2: *nobody*" in said  # a gap is shown, not dropped
    assert "Dave" not in said and "Payments" not in said
    assert "Shown by name" in said and "Carol Danvers" in said
    (oncalls,) = calls(rootly, "/v1/oncalls")
    assert oncalls.query["filter[group_ids]"] == [org["platform"]] and oncalls.query["include"] == ["user"]


def test_other_channel_shows_everyone_grouped_by_policy(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake, org: Org
) -> None:
    bot.sender.slash("oncall", channel_id="C999")
    said = text_of(reply(slack))
    assert "On call now" in said
    assert said.index("Payments EP") < said.index("Platform EP")
    assert "Dave Grohl until" in said and "<@U222> until" in said
    assert all("filter[" not in k for k in calls(rootly, "/v1/oncalls")[0].query)


def test_by_name_case_insensitive_and_cached(bot: RunningBot, rootly: RootlyFake, slack: SlackFake, org: Org) -> None:
    bot.sender.slash("oncall payments ep", channel_id="C999")
    said = text_of(reply(slack))
    assert "On call for escalation policy Payments EP" in said and "Dave Grohl" in said and "Bob" not in said
    bot.sender.slash("oncall PAYMENTS EP", channel_id="C999")
    assert "Dave Grohl" in text_of(reply(slack, 2))
    # Cost: the second answer came from the 60 s cache; names and Slack users were read once.
    assert len(calls(rootly, "/v1/oncalls")) == 1
    assert len(calls(rootly, "/v1/teams")) == 1 and len(calls(rootly, "/v1/schedules")) == 1
    assert len(slack.calls("users.lookupByEmail")) == 1  # Dave, once


def test_schedule_answer_marks_overrides_and_offers_to_take(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake, org: Org
) -> None:
    rootly.call(
        "POST",
        f"/v1/schedules/{org['primary']}/override_shifts",
        {
            "data": {
                "type": "shifts",
                "attributes": {
                    "starts_at": (NOW - timedelta(minutes=5)).isoformat(),
                    "ends_at": (NOW + timedelta(hours=1)).isoformat(),
                    "user_id": org["carol"],
                },
            }
        },
    )
    bot.sender.slash("oncall primary")
    message = reply(slack)
    said = text_of(message)
    assert "On call for schedule Primary" in said and "Carol Danvers _(override)_" in said
    assert any(b.get("type") == "actions" for b in message["blocks"]) and "take it" in said


def test_unknown_name_suggests_the_closest(bot: RunningBot, slack: SlackFake, org: Org) -> None:
    bot.sender.slash("oncall platfrom")
    said = text_of(reply(slack))
    assert "`platfrom`" in said and "Closest" in said and "Platform" in said


def test_ambiguous_name_lists_the_choices(bot: RunningBot, rootly: RootlyFake, slack: SlackFake, org: Org) -> None:
    rootly.add_schedule("Payments")  # a schedule and a team both called Payments
    bot.sender.slash("oncall payments")
    said = text_of(reply(slack))
    assert "more than one" in said and "team *Payments*" in said and "schedule *Payments*" in said


def test_organisation_without_rootly_oncall(bot: RunningBot, rootly: RootlyFake, slack: SlackFake, org: Org) -> None:
    rootly.oncall_enabled = False
    bot.sender.slash("oncall")
    said = reply(slack)["text"]
    assert "does not have Rootly On-Call" in said and said.count(".") == 1  # one sentence


def test_rate_limit_gets_the_usual_clear_reply(bot: RunningBot, rootly: RootlyFake, slack: SlackFake, org: Org) -> None:
    bot.sender.slash("oncall platform")  # names are cached; the on-call read is what fails
    reply(slack)
    rootly.script("GET", "^/v1/oncalls$", *[rootly.rate_limited(30)] * 3)
    bot.sender.slash("oncall payments ep")
    said = text_of(reply(slack, 2))
    assert "rate limiting" in said


def test_here_posts_in_the_channel(bot: RunningBot, slack: SlackFake, org: Org) -> None:
    bot.sender.slash("oncall here")
    (posted,) = slack.wait_calls("chat.postMessage")
    assert posted["channel"] == "C111" and "On call for team Platform" in text_of(posted)
