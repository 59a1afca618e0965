"""No one in who does not belong: ``POLICY_RESOLVE`` and ``POLICY_DECLARE`` hold on every surface, before anything
is done or queued, and a refused person is told which group (or person) may act."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bot.config import ConfigError, Settings
from bot.domain.grantees import Grantee, parse_grantees
from bot.render.ids import Action, Block
from bot.services.policy import LookupFailed, Permission, Policy
from tests import guarantees
from tests.conftest import RunningBot
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.messages import text_of
from tests.test_incidents_e2e import form, shortcut, values
from tests.waiting import wait_until

GUARANTEE = "No one in who does not belong"
POLICY = {"POLICY_RESOLVE": "@sre-leads, U0BOSS", "POLICY_DECLARE": "S0INC"}


@pytest.fixture
def team(slack: SlackFake) -> SlackFake:
    slack.add_user("U222", "bob@example.com", "Bob Example")
    slack.add_usergroup("S0SRE", "sre-leads", ["U222"])
    slack.add_usergroup("S0INC", "incident-commanders", ["U222"])
    return slack


def writes(rootly: RootlyFake) -> list[Any]:
    return [r for r in rootly.requests if r.method != "GET"]


def test_resolving_is_refused_everywhere_to_people_outside_the_policy(
    make_bot, rootly: RootlyFake, team: SlackFake
) -> None:  # type: ignore[no-untyped-def]
    alert = rootly.add_alert(summary="Disk", status="acknowledged")
    refused = 0
    with make_bot(**POLICY) as bot:
        answer = bot.sender.slash(f"resolve {alert['id']} fixed it").json()
        refused += 1
        assert "@sre-leads" in answer["text"] and "<@U0BOSS>" in answer["text"]
        assert "ask a Slack admin to add you to @sre-leads" in answer["text"]
        bot.sender.click(Action.RESOLVE, f"rootly:{alert['id']}")
        refused += 1
        wait_until(lambda: len(team.responses()) >= 1)
        assert "Resolving alerts from Slack is limited to members of @sre-leads" in text_of(team.responses()[0])
        home = {"type": "home", "id": "VHOME"}
        payload_view = {"view": home}
        bot.sender.interactive(
            {
                "type": "block_actions",
                "user": {"id": "U111", "name": "alice", "team_id": "T111"},
                "team": {"id": "T111"},
                "api_app_id": "A111",
                "trigger_id": "1.2.home",
                "container": {"type": "view", "view_id": "VHOME"},
                "actions": [{"action_id": Action.RESOLVE.value, "value": f"rootly:{alert['id']}", "type": "button"}],
                **payload_view,
            }
        )
        refused += 1
        [tab] = team.wait_calls("views.publish")
        assert "limited to members of @sre-leads" in text_of(tab["view"])
        time.sleep(0.3)
        assert writes(rootly) == [] and bot.app.services.outbox_store.depth() == 0
        assert rootly.get_alert(alert["id"])["attributes"]["status"] == "acknowledged"

        bot.sender.slash(f"resolve {alert['id']} fixed it", user_id="U222", user_name="bob")
        wait_until(lambda: rootly.get_alert(alert["id"])["attributes"]["status"] == "resolved")
    guarantees.record(GUARANTEE, f"resolve by people outside POLICY_RESOLVE ({refused} surfaces) → side effects", 0)


def test_resolving_is_refused_before_the_outbox_even_during_an_outage(
    make_bot, rootly: RootlyFake, team: SlackFake
) -> None:  # type: ignore[no-untyped-def]
    alert = rootly.add_alert(summary="Disk", status="acknowledged")
    rootly.script("*", r"/", *[RootlyFake.unavailable(503)] * 20)
    with make_bot(**POLICY) as bot:
        assert "limited to" in bot.sender.slash(f"resolve {alert['id']}").json()["text"]
        time.sleep(0.3)
        assert rootly.requests == [] and bot.app.services.outbox_store.depth() == 0


def test_declaring_is_refused_on_every_surface_and_allowed_to_the_group(
    make_bot, rootly: RootlyFake, team: SlackFake
) -> None:  # type: ignore[no-untyped-def]
    alert = rootly.add_alert(summary="Disk", status="triggered")
    thread = team.add_thread("C111", "checkout is down", [])
    with make_bot(**POLICY) as bot:
        command = bot.sender.slash("incident Checkout down").json()
        assert "Declaring incidents from Slack is limited to members of @incident-commanders" in command["text"]
        shortcut(bot, {"ts": thread, "text": "checkout is down", "user": "U0PARENT"})
        bot.sender.click(Action.DECLARE_INCIDENT, f"rootly:{alert['id']}")
        wait_until(lambda: len(team.responses()) >= 2)
        assert all("@incident-commanders" in text_of(r) for r in team.responses())
        assert team.calls("views.open") == []

        bot.sender.slash("incident Checkout down", user_id="U222", user_name="bob")  # a member opens the form …
        view = form(team)
        refused = bot.sender.submit_view(view, values("Checkout down"), user="U111").json()  # … a non-member submits
        assert refused["response_action"] == "errors"
        assert "limited to members of @incident-commanders" in refused["errors"][Block.INCIDENT_TITLE]
        assert rootly.incidents == {} and writes(rootly) == []

        done = bot.sender.submit_view(view, values("Checkout down"), user="U222").json()
        assert done["response_action"] == "update" and len(rootly.incidents) == 1
    guarantees.record(GUARANTEE, "declare by people outside POLICY_DECLARE (4 surfaces) → incidents", 0)


def test_membership_is_cached_and_a_slack_failure_keeps_the_last_known_members(
    make_bot, rootly: RootlyFake, team: SlackFake
) -> None:  # type: ignore[no-untyped-def]
    alert = rootly.add_alert(summary="Disk", status="acknowledged")
    with make_bot(**POLICY) as bot:
        for _ in range(5):
            bot.sender.slash(f"resolve {alert['id']}")
        lookups = len(team.calls("usergroups.users.list")) + len(team.calls("usergroups.list"))
        assert lookups == 2  # the handle once, the members once
    guarantees.record(GUARANTEE, "policy checks per Slack membership look-up (cached)", "5 checks → 2 look-ups")


class Directory:
    def __init__(self) -> None:
        self.groups = {"S0SRE": frozenset({"U222"})}
        self.failing: str | None = None
        self.calls = 0

    def members(self, group_id: str) -> frozenset[str]:
        self.calls += 1
        if self.failing:
            raise LookupFailed(self.failing)
        return self.groups[group_id]

    def handles(self) -> dict[str, str]:
        return {"sre-leads": "S0SRE"}


def test_policy_cache_expiry_stale_fallback_and_failing_closed() -> None:
    now = [0.0]
    directory = Directory()
    policy = Policy({Permission.RESOLVE: (Grantee("group", "S0SRE"),)}, directory, ttl=60, clock=lambda: now[0])
    assert policy.check(Permission.RESOLVE, "U222") is None
    assert policy.check(Permission.DECLARE, "U111") is None  # no policy for declaring: everyone may
    now[0] = 120
    directory.failing = "ratelimited"
    assert policy.check(Permission.RESOLVE, "U222") is None  # stale members kept while Slack fails
    assert directory.calls == 2
    cold = Policy({Permission.RESOLVE: (Grantee("group", "S0SRE"),)}, directory)
    refusal = cold.check(Permission.RESOLVE, "U222")
    assert refusal is not None and "could not say who is in" in refusal.text and "ratelimited" in refusal.text


def test_policy_entries_are_validated_with_every_problem_named() -> None:
    assert parse_grantees(" U0AB12, S0CD34 ,@sre-leads, oncall ,") == (
        Grantee("user", "U0AB12"),
        Grantee("group", "S0CD34"),
        Grantee("group", "sre-leads"),
        Grantee("group", "oncall"),
    )
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "ROOTLY_API_TOKEN": "r"}
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**env, "POLICY_RESOLVE": "U0AB12, Bob Smith, <!subteam^S1>"})
    [problem] = [p for p in caught.value.problems if "POLICY_RESOLVE" in p]
    assert "'Bob Smith'" in problem and "'<!subteam^S1>'" in problem


def test_without_a_policy_everyone_may_act(bot: RunningBot, rootly: RootlyFake, team: SlackFake) -> None:
    alert = rootly.add_alert(summary="Disk", status="acknowledged")
    bot.sender.slash(f"resolve {alert['id']}")
    wait_until(lambda: rootly.get_alert(alert["id"])["attributes"]["status"] == "resolved")
    assert team.calls("usergroups.users.list") == []
