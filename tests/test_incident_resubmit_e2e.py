"""A timeline note handed back after Rootly refused it can be submitted again from the same modal; a resend of one
submission still acts once (tests/test_incident_work_e2e.py)."""

from __future__ import annotations

from bot.render.ids import Action, Callback
from tests.conftest import RunningBot
from tests.fakes.rootly import RootlyFake
from tests.fakes.server import Reply
from tests.fakes.slack import SlackFake
from tests.incident_work import click, events, latest_view, live_post, text_values, wait_until
from tests.messages import text_of


def test_a_handed_back_note_can_be_submitted_again(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    incident, message = live_post(bot, rootly, slack)
    click(bot, Action.INCIDENT_ADD_NOTE, incident["id"], message)
    view = latest_view(slack, Callback.INCIDENT_ACTION_MODAL)
    rootly.script("POST", r"/events$", Reply(422, {"errors": [{"title": "Event is invalid", "status": "422"}]}))
    bot.sender.submit_view(view, text_values("the words I typed"))
    handed_back = latest_view(slack, Callback.INCIDENT_ACTION_MODAL, 2)
    assert "Event is invalid" in text_of(handed_back) and handed_back["hash"] != view["hash"]
    answer = bot.sender.submit_view(handed_back, text_values("the words I typed"))
    assert answer.json()["response_action"] == "update"  # taken, not dropped as a resend
    wait_until(lambda: events(rootly, incident["id"]))
    assert events(rootly, incident["id"]) == ["the words I typed\n\n— Alice Example (via Slack)"]
