"""SLACK_COMMAND renames the slash command: the bot answers only to the configured name, and every reply that
shows syntax (help, usage after a mistake, digest and feed hints, the Home tab) writes that name, never /rootly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import RunningBot
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.messages import text_of
from tests.test_home_e2e import open_home


@pytest.fixture
def oncall(make_bot) -> Iterator[RunningBot]:  # type: ignore[no-untyped-def]
    with make_bot(SLACK_COMMAND="/oncall") as running:
        yield running


def said(response) -> str:  # type: ignore[no-untyped-def]
    """What the ack said: Bolt sends a bare text ack as plain text, a message with blocks as JSON."""
    assert response.status_code == 200, response.text
    is_json = response.headers.get("Content-Type", "").startswith("application/json")
    return text_of(response.json()) if is_json else response.text


def test_help_under_the_configured_name_says_that_name(oncall: RunningBot, slack: SlackFake) -> None:
    text = said(oncall.sender.slash("help", command="/oncall"))
    assert "/oncall ack <alert>" in text and "/oncall digest weekdays 09:00" in text and "/oncall help" in text
    assert "/rootly" not in text
    assert slack.violations == []


def test_rootly_is_not_routed_when_the_command_is_renamed(
    oncall: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    alert = rootly.add_alert(summary="Disk full", status="triggered")
    response = oncall.sender.slash(f"ack {alert['id']}", command="/rootly")  # Rootly's own app's command
    assert response.status_code == 404  # Bolt: no listener for this command
    assert "Acknowledging" not in response.text
    assert rootly.get_alert(alert["id"])["attributes"]["status"] == "triggered"
    # and the configured name does act
    assert "Acknowledging" in said(oncall.sender.slash(f"ack {alert['id']}", command="/oncall"))
    slack.wait_responses(1, timeout=10)
    assert rootly.get_alert(alert["id"])["attributes"]["status"] == "acknowledged"


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("resolve", "/oncall resolve <alert> [message]"),  # the usage after a mistake
        ("digest every", "/oncall digest every 4h"),  # the digest parser's own example
        ("digest off 42", "/oncall digest list"),  # the digest service's refusal
        ("digest list", "/oncall digest daily 09:00"),  # the empty listing's hint
        ("feed off", "/oncall feed on [filters]"),  # the feed reply's hint
    ],
)
def test_replies_that_show_syntax_use_the_configured_name(oncall: RunningBot, typed: str, shown: str) -> None:
    text = said(oncall.sender.slash(typed, command="/oncall"))
    assert shown in text
    assert "/rootly" not in text


def test_digest_subscription_reply_names_the_configured_command(oncall: RunningBot) -> None:
    text = said(oncall.sender.slash("digest daily 09:00", command="/oncall"))
    assert "/oncall digest list" in text and "/oncall digest off" in text and "/rootly" not in text


def test_home_tab_hint_uses_the_configured_name(oncall: RunningBot, slack: SlackFake) -> None:
    assert open_home(oncall).status_code == 200
    [published] = slack.wait_calls("views.publish", 1, timeout=10)
    text = text_of(published["view"]["blocks"])
    assert "`/oncall digest daily 09:00` or `/oncall feed on`" in text and "/rootly" not in text
