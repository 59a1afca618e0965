"""Slash commands whose text contains the word "payload" reach the bot like any other.

Bolt 1.x decides that a form body is an interaction payload when the *bytes* contain ``payload`` anywhere, then finds
no ``payload`` field and hands every listener an empty body: such a command went unanswered. The bot parses the
body itself, once, by its fields (``bot.slack.middleware.guards.parse_slack_body``).
"""

from __future__ import annotations

from tests.conftest import RunningBot
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.messages import reply, text_of


def test_a_note_mentioning_payload_is_added(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alice = rootly.add_user("ALICE@example.com", "Alice Example")
    alert = rootly.add_alert(summary="Webhook failures", status="triggered")
    short_id = alert["attributes"]["short_id"]

    resp = bot.sender.slash(f"note {short_id} the payload from the vendor is malformed")

    assert resp.status_code == 200
    assert short_id in resp.text
    assert "Note added" in text_of(reply(slack))
    assert rootly.notes(alert["id"]) == [("the payload from the vendor is malformed", alice)]


def test_a_command_of_only_the_word_payload_gets_the_usual_answer(bot: RunningBot) -> None:
    resp = bot.sender.slash("payload")
    assert resp.status_code == 200
    assert "payload" in resp.text  # named back as the unknown word it is, with the commands there are
