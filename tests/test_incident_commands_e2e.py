"""``/rootly incident <sub-command>`` and ``/rootly incidents`` end to end against the fakes."""

from __future__ import annotations

from tests.conftest import RunningBot
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.incident_work import ACTIONS_ALL, events, live_post, wait_until, writes
from tests.messages import action_ids, reply, text_of


def said(slack: SlackFake, n: int = 1) -> str:
    return text_of(reply(slack, n))


def test_mitigate_resolve_by_number_and_refusal(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    incident, _ = live_post(bot, rootly, slack)
    assert "Working on it" in bot.sender.slash("incident mitigate #1 rolled back").text
    assert "Mitigated" in said(slack)
    [put] = writes(rootly, incident["id"], "/mitigate")
    assert put.json["data"]["attributes"] == {"mitigation_message": "rolled back"}
    wait_until(lambda: slack.calls("chat.update"))
    assert "Mitigated by <@U111>" in text_of(slack.calls("chat.update")[0]["blocks"])
    bot.sender.slash(f"incident resolve {incident['id']}")
    assert "Resolved" in said(slack, 2)
    bot.sender.slash(f"incident cancel {incident['attributes']['url']}")
    assert "already resolved" in said(slack, 3)
    assert writes(rootly, incident["id"], "/cancel") == []


def test_an_unknown_incident_names_what_was_typed(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    bot.sender.slash("incident resolve #4242")
    assert "No incident `#4242`" in said(slack)
    bot.sender.slash("incident mitigate")
    assert "Say which incident" in said(slack, 2)


def test_inside_the_incident_channel_the_incident_may_be_left_out(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    incident = rootly.add_incident("DB failover", slack_channel_id="CINC1")
    bot.sender.slash("incident note rolled the replica", channel_id="CINC1")
    assert "Added to the timeline" in said(slack)
    assert events(rootly, incident["id"]) == ["rolled the replica\n\n— Alice Example (via Slack)"]
    bot.sender.slash("incident severity SEV1", channel_id="CINC1")
    assert "SEV1" in said(slack, 2)
    bot.sender.slash("incident severity SEV9", channel_id="CINC1")
    assert "Valid severities: `SEV0`, `SEV1`, `SEV2`, `SEV3`" in said(slack, 3)


def test_role_and_task(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    bob = rootly.add_user("bob@example.com", "Bob Example")
    slack.add_user("U222", "bob@example.com", "Bob Example")
    incident = rootly.add_incident("Checkout")
    bot.sender.slash("incident role 1 commander <@U222|bob>")
    assert "Commander: Bob Example" in said(slack)
    assert rootly.incident_roles[incident["id"]] == [(rootly.commander_role, bob)]
    bot.sender.slash("incident role 1 captain <@U222|bob>")
    assert "Valid roles: `Commander`, `Communications Lead`" in said(slack, 2)
    bot.sender.slash("incident task 1 write the postmortem")
    assert "Task added" in said(slack, 3)
    [item] = rootly.action_items[incident["id"]]
    assert item["attributes"]["summary"] == "write the postmortem"


def test_incidents_lists_open_ones_with_their_buttons(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    rootly.add_incident("Open one")
    rootly.add_incident("Mitigated one", status="mitigated")
    rootly.add_incident("Over", status="resolved")
    bot.sender.slash("incidents")
    listing = reply(slack)
    text = text_of(listing)
    assert "Open one" in text and "Mitigated one" in text and "Over" not in text
    assert action_ids(listing["blocks"]) >= ACTIONS_ALL
    bot.sender.slash("incidents status:mitigated")
    assert "Open one" not in text_of(reply(slack, 2))
    assert "is not a filter" in text_of(bot.sender.slash("incidents colour:red").json())


def test_any_other_first_word_still_declares(bot: RunningBot, slack: SlackFake) -> None:
    bot.sender.slash("incident Checkout is down")
    [opened] = slack.wait_calls("views.open")
    assert opened["view"].get("callback_id") == "incident_modal" or "⏳" in text_of(opened["view"])


def test_resolving_by_command_follows_the_policy(make_bot, rootly: RootlyFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    with make_bot(POLICY_INCIDENT_RESOLVE="U999") as bot:
        rootly.add_incident("Checkout")
        assert "Resolving or cancelling incidents" in text_of(bot.sender.slash("incident resolve 1").json())
        assert [r for r in rootly.requests if r.method == "PUT"] == []
