"""Features' sections in digests and on the App Home, end to end: the real app over HTTP against the fakes.

A digest posted to a channel carries "On call" (from the on-call feature) and "Open incidents" (from the incidents
feature); the App Home tells the person "You are on call for …"; a provider that fails leaves the digest posted with
its section named as unavailable.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import RunningBot
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.messages import text_of
from tests.test_home_e2e import open_home

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def org(rootly: RootlyFake, slack: SlackFake) -> dict[str, Any]:
    """Alice (Slack U111) is in team Platform (channel C111) and on call for Platform EP; Dave for Payments EP,
    which pages for the payments service. Two open incidents, one on payments; a resolved one."""
    alice = rootly.add_user("alice@example.com", "Alice Example")
    bob = rootly.add_user("bob@example.com", "Bob Builder")
    dave = rootly.add_user("dave@example.com", "Dave Grohl")
    slack.add_user("U222", "bob@example.com", "Bob Builder")
    payments = rootly.add_service("Payments", "payments")
    rootly.add_service("Search", "search")
    platform = rootly.add_team("Platform", "platform", slack_channels=[("C111", "ops")], members=[alice, bob])
    primary = rootly.add_schedule("Primary")
    policy = rootly.add_escalation_policy("Platform EP", levels=2, teams=[platform])
    pay_policy = rootly.add_escalation_policy("Payments EP", levels=1, services=["payments"])
    rootly.add_oncall(policy, 1, alice, NOW - timedelta(hours=2), NOW + timedelta(hours=6), schedule_id=primary)
    rootly.add_oncall(policy, 2, bob, NOW - timedelta(hours=2), NOW + timedelta(hours=6))
    rootly.add_oncall(pay_policy, 1, dave, NOW - timedelta(hours=1), NOW + timedelta(hours=3))
    payments_down = rootly.add_incident("Payments down", service_ids=[payments])
    rootly.add_incident("Search slow", status="mitigated")
    rootly.add_incident("Long gone", status="resolved")
    rootly.add_alert(summary="Card declines up", services=["payments"])
    rootly.add_alert(summary="Search latency", services=["search"])
    return {"alice": alice, "platform": platform, "payments_down": payments_down}


def posted_digest(slack: SlackFake) -> dict[str, Any]:
    [call] = slack.wait_calls("chat.postMessage", 1, timeout=15)
    return call


def test_digest_of_a_service_carries_its_on_call_and_its_open_incidents(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake, org: dict[str, Any]
) -> None:
    assert bot.sender.slash("digest now service:payments", channel_id="C999").status_code == 200
    said = text_of(posted_digest(slack)["blocks"])
    # On call for the payments service: Payments EP's first level, by name (a digest notifies nobody).
    assert "*On call for Payments*" in said
    ends = int((NOW + timedelta(hours=3)).timestamp())
    assert f"*Payments EP*: Dave Grohl until <!date^{ends}^" in said
    assert "Platform EP" not in said and "<@" not in said
    # Open incidents on payments only: the service's filter is Rootly's filter[services].
    assert "*Open incidents on payments*" in said
    assert "Payments down" in said and "Search slow" not in said and "Long gone" not in said
    assert "*started*" in said and "opened <!date^" in said
    assert "Card declines up" in said  # the alerts are still the digest's body
    incidents = [r for r in rootly.requests if r.method == "GET" and r.path == "/v1/incidents"]
    assert [r.query["filter[services]"] for r in incidents] == [["payments"]]


def test_digest_in_a_teams_channel_shows_the_teams_on_call_and_every_open_incident(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake, org: dict[str, Any]
) -> None:
    bot.sender.slash("digest now")  # channel C111: Platform's
    said = text_of(posted_digest(slack)["blocks"])
    assert "*On call for team Platform*" in said and "*Platform EP*: Alice Example until" in said
    assert "Dave" not in said
    assert "Payments down" in said and "Search slow" in said and "*mitigated*" in said and "Long gone" not in said
    # Cost: one listOncalls (the on-call feature's cached answer), one listIncidents, nothing per alert.
    assert len([r for r in rootly.requests if r.path == "/v1/oncalls"]) == 1
    assert len([r for r in rootly.requests if r.method == "GET" and r.path == "/v1/incidents"]) == 1


def test_digest_elsewhere_shows_everyone_and_a_second_digest_reuses_the_answer(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake, org: dict[str, Any]
) -> None:
    bot.sender.slash("digest now", channel_id="C999")
    said = text_of(posted_digest(slack)["blocks"])
    assert "*On call*" in said and "*Payments EP*: Dave Grohl" in said and "*Platform EP*: Alice Example" in said
    bot.sender.slash("digest now service:search", channel_id="C999")
    second = text_of(slack.wait_calls("chat.postMessage", 2, timeout=15)[-1]["blocks"])
    assert "Service *Search*: no escalation policy" in second  # a gap is said, not dropped
    assert len([r for r in rootly.requests if r.path == "/v1/oncalls"]) == 1  # the 60 s cache served the second


def test_failing_on_call_leaves_the_digest_posted_with_the_section_named_unavailable(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake, org: dict[str, Any]
) -> None:
    rootly.script("GET", r"/v1/oncalls$", *[RootlyFake.unavailable(500)] * 10)
    bot.sender.slash("digest now service:payments", channel_id="C999")
    said = text_of(posted_digest(slack)["blocks"])
    assert "*On call*\n⚠️ Unavailable right now:" in said
    assert "Payments down" in said and "Card declines up" in said  # the rest of the digest is there


def test_home_says_you_are_on_call_and_who_is_for_your_teams(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake, org: dict[str, Any]
) -> None:
    assert open_home(bot).status_code == 200
    [published] = slack.wait_calls("views.publish", 1, timeout=15)
    text = text_of(published["view"]["blocks"])
    ends = int((NOW + timedelta(hours=6)).timestamp())
    assert f"You are on call for *Platform EP* (level 1, schedule Primary) until <!date^{ends}^" in text
    # Alice's team Platform: its policy's first level, as mentions where Slack knows the person (a tab notifies nobody)
    assert "Your team *Platform*: *Platform EP*: <@U111> until" in text
    assert text.index("You are on call for") < text.index("Alerts you are responding to")
    assert "Active incidents" in text  # the home's own incidents section stays


def test_home_of_someone_not_on_call_names_their_next_shift(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake, org: dict[str, Any]
) -> None:
    carol = rootly.add_user("carol@example.com", "Carol Danvers")
    slack.add_user("U333", "carol@example.com", "Carol Danvers")
    policy = next(i for i, p in rootly.policies.items() if p["name"] == "Platform EP")
    rootly.add_oncall(policy, 1, carol, NOW + timedelta(hours=6), NOW + timedelta(days=1))
    open_home(bot, user="U333")
    [published] = slack.wait_calls("views.publish", 1, timeout=15)
    text = text_of(published["view"]["blocks"])
    assert "You are not on call now; your next shift: *Platform EP* (level 1) from <!date^" in text
    assert "Your team" not in text  # Carol is in no Rootly team


def test_failing_on_call_leaves_the_home_published_with_the_section_named_unavailable(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake, org: dict[str, Any]
) -> None:
    rootly.script("GET", r"/v1/oncalls$", *[RootlyFake.unavailable(500)] * 10)
    open_home(bot)
    [published] = slack.wait_calls("views.publish", 1, timeout=15)
    text = text_of(published["view"]["blocks"])
    assert "*On call*\n⚠️ Unavailable right now:" in text
    assert "Payments down" in text and "Alerts you are responding to" in text  # the rest of the tab is there
