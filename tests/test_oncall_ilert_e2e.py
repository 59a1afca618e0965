"""On call with ilert: alone, and beside Rootly (one answer grouping both), and paging through a routing key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.render.ids import Action
from tests.conftest import ilert_env
from tests.fakes.ilert import IlertFake
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.messages import reply, text_of

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def ilert_rota(ilert: IlertFake) -> dict[str, Any]:
    erin = ilert.add_user("erin@example.com", "Erin", "Example")
    schedule = ilert.add_schedule("EU nights")
    policy = ilert.add_escalation_policy("Database EP", levels=2, routing_key="db-team")
    ilert.add_oncall(policy, 1, erin, NOW - timedelta(hours=1), NOW + timedelta(hours=5), schedule_id=schedule)
    return {"erin": erin, "policy": policy}


def test_ilert_alone(make_bot, ilert: IlertFake, slack: SlackFake, ilert_rota: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    with make_bot(ROOTLY_API_TOKEN="", **ilert_env(ilert)) as bot:
        bot.sender.slash("oncall")
        said = text_of(reply(slack))
    assert "On call now" in said and "*Database EP*" in said
    assert "Level 1: Erin Example until <!date^" in said and "Level 2: *nobody*" in said
    assert [r.query.get("expand") for r in ilert.requests if r.path == "/api/on-calls"] == [["user"]]


def test_both_backends_in_one_answer(  # type: ignore[no-untyped-def]
    make_bot, rootly: RootlyFake, ilert: IlertFake, slack: SlackFake, ilert_rota: dict[str, Any]
) -> None:
    bob = rootly.add_user("bob@example.com", "Bob Builder")
    policy = rootly.add_escalation_policy("Platform EP")
    rootly.add_oncall(policy, 1, bob, NOW - timedelta(hours=1), NOW + timedelta(hours=2))
    with make_bot(**ilert_env(ilert)) as bot:
        bot.sender.slash("oncall", channel_id="C999")
        said = text_of(reply(slack))
        assert "*Database EP*" in said and "*Platform EP*" in said and "Erin Example" in said and "Bob Builder" in said
        rootly.oncall_enabled = False  # Rootly without On-Call: ilert's people still show, and the answer says so
        bot.app.oncall.service.forget()
        bot.sender.slash("oncall", channel_id="C999")
        said = text_of(reply(slack, 2))
        assert "Erin Example" in said and "does not have Rootly On-Call" not in said
        assert "Rootly has no on-call product enabled" in said


def test_page_an_ilert_policy_routes_the_event(  # type: ignore[no-untyped-def]
    make_bot, ilert: IlertFake, slack: SlackFake, ilert_rota: dict[str, Any]
) -> None:
    with make_bot(ROOTLY_API_TOKEN="", **ilert_env(ilert)) as bot:
        bot.sender.slash('page "database ep" replication lag 10 min')
        preview = reply(slack)
        assert "Erin Example" in text_of(preview)
        value = next(
            e["value"]
            for b in preview["blocks"]
            for e in b.get("elements", [])
            if e.get("action_id") == Action.ONCALL_PAGE
        )
        bot.sender.click(Action.ONCALL_PAGE, value)
        said = text_of(reply(slack, 2))
    (event,) = ilert.events
    assert event["routingKey"] == "db-team" and event["summary"] == "replication lag 10 min"
    assert event["alertKey"] in said and "ilert" in said
