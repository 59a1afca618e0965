"""The "Add to incident timeline" message shortcut end to end over HTTP against the fakes: prefilled in an incident's
channel or thread, a typed reference elsewhere, an unknown incident, Rootly down (queued, delivered once), a resent
submission, and the limits.

The ``rootly`` and ``slack`` fixtures fail a test on any contract violation (every ``createIncidentEvent`` body is
checked against the contract) or any view Slack would refuse.
"""

from __future__ import annotations

from typing import Any

from bot.render.ids import Action, Block, Callback
from tests.conftest import RunningBot
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.incident_work import events, latest_view, live_post
from tests.messages import text_of
from tests.waiting import wait_until

MESSAGE_TS = "1764994327.000200"  # 2025-12-06 04:12:07 UTC


def shortcut(
    bot: RunningBot, slack: SlackFake, channel: str, *, text: str = "the replica is 40 s behind", **message: Any
) -> None:
    """Use the shortcut on a message by U222 (Bob), as Slack sends it (shared/slack-payloads/message_action.json)."""
    raw = {"type": "message", "user": "U222", "ts": MESSAGE_TS, "text": text, **message}
    payload = {
        "type": "message_action",
        "token": "verification_token",
        "action_ts": "1764994400.000300",
        "team": {"id": "T111", "domain": "test"},
        "user": {"id": "U111", "name": "alice"},
        "channel": {"id": channel, "name": "oncall"},
        "callback_id": Callback.ADD_TO_TIMELINE_SHORTCUT.value,
        "trigger_id": "111.222.timeline",
        "message_ts": raw["ts"],
        "message": raw,
        "response_url": bot.sender.response_url,
    }
    assert bot.sender.interactive(payload).status_code == 200


def form(slack: SlackFake, n: int = 1) -> dict[str, Any]:
    return latest_view(slack, Callback.TIMELINE_MODAL, n)


def field(view: dict[str, Any], block: Block) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block)["element"]


def values(reference: str, comment: str = "") -> dict[str, Any]:
    return {
        Block.INCIDENT_PICK: {Action.INCIDENT_PICK: {"type": "plain_text_input", "value": reference}},
        Block.TIMELINE_COMMENT: {Action.TIMELINE_COMMENT: {"type": "plain_text_input", "value": comment or None}},
    }


def outcome(slack: SlackFake, n: int = 1) -> str:
    """What the modal says once the bot is done with the ``n``-th submission (not the form, not "Telling Rootly…")."""

    def done() -> list[str]:
        views = [c["view"] for c in slack.calls("views.update") if c["view"]["title"]["text"] == "Add to timeline"]
        return [
            text_of(v) for v in views if v.get("callback_id") != Callback.TIMELINE_MODAL and "Telling" not in text_of(v)
        ]

    wait_until(lambda: len(done()) >= n, message=f"no outcome #{n}")
    return done()[n - 1]


def seeded(rootly: RootlyFake, slack: SlackFake, **attrs: Any) -> dict[str, Any]:
    slack.add_user("U222", "bob@example.com", "Bob Example")
    return rootly.add_incident("Checkout is down", **attrs)


def test_in_an_incident_channel_the_incident_is_prefilled(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    incident = seeded(rootly, slack, slack_channel_id="CINC1")
    shortcut(bot, slack, "CINC1", text="the replica is <@U111> 40 s behind")
    view = form(slack)
    assert field(view, Block.INCIDENT_PICK)["initial_value"] == "INC-1"
    said = text_of(view)
    assert "This channel is" in said and "INC-1" in said and "Checkout is down" in said and "40 s behind" in said
    answer = bot.sender.submit_view(view, values("INC-1", "this is when we noticed"))
    assert answer.json()["response_action"] == "update"
    assert "Added to the timeline" in outcome(slack)
    permalink = f"{slack.workspace_url}archives/CINC1/p{MESSAGE_TS.replace('.', '')}"
    assert events(rootly, incident["id"]) == [
        "Slack message from Bob Example (<@U222>), 2025-12-06 04:12:07 UTC:\n"
        "the replica is @Alice Example 40 s behind\n"
        f"{permalink}\n"
        "Comment: this is when we noticed\n\n"
        "— Alice Example (via Slack)"
    ]
    [post] = [r for r in rootly.requests if r.method == "POST" and r.path.endswith("/events")]
    assert post.json["data"]["type"] == "incident_events" and set(post.json["data"]["attributes"]) <= {
        "event",
        "visibility",
    }
    assert rootly.violations == []  # the body, and Rootly's answer, validate against the contract
    # Rootly was asked which incident the channel is, by its Slack channel, at opening; the submission asked nothing.
    lists = [r for r in rootly.requests if r.method == "GET" and r.path == "/v1/incidents"]
    assert [r.query.get("filter[slack_channel_id]") for r in lists] == [["CINC1"]]


def test_in_the_thread_of_a_live_incident_message_it_is_prefilled(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    slack.add_user("U222", "bob@example.com", "Bob Example")
    incident, message = live_post(
        bot, rootly, slack
    )  # the live message in C111: replies in its thread are the incident's
    shortcut(bot, slack, "C111", thread_ts=message["ts"])
    view = form(slack)
    assert field(view, Block.INCIDENT_PICK)["initial_value"] == "INC-1" and "This thread is" in text_of(view)
    assert not [r for r in rootly.requests if r.query.get("filter[slack_channel_id]")]  # known from the database
    bot.sender.submit_view(view, values("INC-1"))
    assert "Added to the timeline" in outcome(slack)
    [entry] = events(rootly, incident["id"])
    assert entry.startswith("Slack message from Bob Example (<@U222>)") and "40 s behind" in entry


def test_elsewhere_the_incident_is_typed_as_in_the_commands(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    seeded(rootly, slack)
    second = rootly.add_incident("Search is slow")
    shortcut(bot, slack, "C999")
    view = form(slack)
    assert "initial_value" not in field(view, Block.INCIDENT_PICK)
    bot.sender.submit_view(view, values("#2"))
    said = outcome(slack)
    assert "Added to the timeline" in said and "INC-2" in said
    assert len(events(rootly, second["id"])) == 1
    # By its Rootly link, in a new modal.
    shortcut(bot, slack, "C999")
    bot.sender.submit_view(form(slack, 2), values(second["attributes"]["url"]))
    wait_until(lambda: len(events(rootly, second["id"])) == 2)


def test_an_unknown_incident_is_named_next_to_the_field_and_nothing_is_lost(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    incident = seeded(rootly, slack)
    shortcut(bot, slack, "C999")
    view = form(slack)
    answer = bot.sender.submit_view(view, values("#4242", "my words")).json()
    assert answer["response_action"] == "errors" and "No incident `#4242`" in answer["errors"][Block.INCIDENT_PICK]
    answer = bot.sender.submit_view(view, values("not an incident", "my words")).json()
    assert "`not an incident` does not name an incident" in answer["errors"][Block.INCIDENT_PICK]
    assert rootly.incident_events == {}
    # The same modal, corrected, is taken: an error answer does not use the submission up.
    bot.sender.submit_view(view, values("1", "my words"))
    assert "Added to the timeline" in outcome(slack)
    assert events(rootly, incident["id"])[0].endswith("Comment: my words\n\n— Alice Example (via Slack)")


def test_a_resent_submission_adds_one_event(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    incident = seeded(rootly, slack, slack_channel_id="CINC1")
    shortcut(bot, slack, "CINC1")
    view = form(slack)
    rootly.latency = 0.3
    first = bot.sender.submit_view(view, values("INC-1"))
    again = bot.sender.submit_view(view, values("INC-1"))
    assert first.status_code == again.status_code == 200
    outcome(slack)
    rootly.latency = 0
    wait_until(lambda: events(rootly, incident["id"]))
    assert len([r for r in rootly.requests if r.method == "POST" and r.path.endswith("/events")]) == 1


def test_rootly_down_queues_the_event_and_it_lands_once(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    incident = seeded(rootly, slack, slack_channel_id="CINC1")
    shortcut(bot, slack, "CINC1")
    view = form(slack)
    rootly.script("POST", r"/events$", RootlyFake.unavailable(500))
    bot.sender.submit_view(view, values("INC-1", "queued words"))
    said = outcome(slack)
    assert "queued" in said and "INC-1" in said
    assert events(rootly, incident["id"]) == []
    assert bot.app.services.outbox.deliver_due() == 1
    [entry] = events(rootly, incident["id"])
    assert entry.startswith("Slack message from Bob Example") and "Comment: queued words" in entry
    [told] = slack.wait_calls("chat.postEphemeral")
    assert told["user"] == "U111" and "Delivered" in told["text"]
    assert bot.app.services.outbox.deliver_due() == 0
    assert len(events(rootly, incident["id"])) == 1


def test_a_timeout_that_landed_is_not_added_twice(make_bot, rootly: RootlyFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    with make_bot(ROOTLY_TIMEOUT="1") as bot:
        incident = seeded(rootly, slack, slack_channel_id="CINC1")
        shortcut(bot, slack, "CINC1")
        view = form(slack)
        rootly.timeout_sleep = 1.5
        rootly.script("POST", r"/events$", "timeout")  # Rootly takes it, but answers too late
        bot.sender.submit_view(view, values("INC-1"))
        assert "queued" in outcome(slack)
        wait_until(lambda: events(rootly, incident["id"]))
        assert bot.app.services.outbox.deliver_due() == 1  # checked against the timeline: it had landed
        assert len(events(rootly, incident["id"])) == 1
        [told] = slack.wait_calls("chat.postEphemeral")
        assert "had landed after all" in told["text"]


def test_a_long_message_fits_the_modal_and_the_event_links_the_rest(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    incident = seeded(rootly, slack, slack_channel_id="CINC1")
    shortcut(bot, slack, "CINC1", text='"quoted" line\n' * 2000)  # 28,000 characters; JSON doubles the quotes
    view = form(slack)
    assert len(view["private_metadata"]) <= 3000
    bot.sender.submit_view(view, values("INC-1", "x" * 3000))
    assert "Added to the timeline" in outcome(slack)
    [entry] = events(rootly, incident["id"])
    assert "(shortened: the whole message is at its link)" in entry and "/archives/CINC1/p" in entry
    assert len(entry) <= 10_000


def test_a_bot_message_and_a_refusal_hand_the_typed_text_back(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    from tests.fakes.server import Reply

    seeded(rootly, slack, slack_channel_id="CINC1")
    shortcut(bot, slack, "CINC1", user=None, username="Deploy Bot", subtype="bot_message", bot_id="B1")
    view = form(slack)
    assert "Deploy Bot" in text_of(view)
    rootly.script("POST", r"/events$", Reply(422, {"errors": [{"title": "Event is invalid", "status": "422"}]}))
    bot.sender.submit_view(view, values("INC-1", "the words I typed"))
    failed = form(slack, 2)
    assert field(failed, Block.TIMELINE_COMMENT)["initial_value"] == "the words I typed"
    assert field(failed, Block.INCIDENT_PICK)["initial_value"] == "INC-1" and "Event is invalid" in text_of(failed)
    bot.sender.submit_view(failed, values("INC-1", "the words I typed"))  # handed back: may be submitted again
    assert "Added to the timeline" in outcome(slack, 1)


def test_in_the_thread_an_incident_was_declared_from_it_is_prefilled(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    from tests.test_incidents_e2e import form as incident_form
    from tests.test_incidents_e2e import shortcut as declare
    from tests.test_incidents_e2e import thread_message
    from tests.test_incidents_e2e import values as incident_values

    slack.add_user("U222", "bob@example.com", "Bob Example")
    thread_ts = slack.add_thread("C111", "Payments look slow", [("U222", "p99 is 4s")], parent_user="U111")
    declare(bot, thread_message(slack, "C111", thread_ts))
    bot.sender.submit_view(incident_form(slack), incident_values("Payments slow"))
    wait_until(lambda: rootly.incidents)
    [incident] = rootly.incidents.values()
    wait_until(lambda: bot.app.incidents.store.get(f"thread:C111:{thread_ts}").incident is not None)
    before = len(rootly.requests)
    shortcut(bot, slack, "C111", ts="1764994400.000900", thread_ts=thread_ts, text="p99 back to 300 ms")
    view = form(slack)
    assert field(view, Block.INCIDENT_PICK)["initial_value"] == "INC-1" and "This thread is" in text_of(view)
    # Known from the database: Rootly was only asked for the incident's current title, not by channel.
    assert not [r for r in rootly.requests[before:] if r.path == "/v1/incidents"]
    bot.sender.submit_view(view, values("INC-1"))
    assert "Added to the timeline" in outcome(slack)
    assert any("p99 back to 300 ms" in e for e in events(rootly, incident["id"]))


def test_when_rootly_is_slow_to_say_which_incident_the_answer_comes_in_the_modal(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    incident = seeded(rootly, slack)
    shortcut(bot, slack, "C999")
    view = form(slack)
    rootly.latency = 2.0  # past the 1.8 s a submission waits for Rootly
    answer = bot.sender.submit_view(view, values("#4242", "kept words"))
    assert answer.json()["response_action"] == "update"  # "Telling Rootly…": Slack's 3 s are kept
    failed = form(slack, 2)  # the form again, with the error and everything typed
    assert "No incident `#4242`" in text_of(failed)
    assert field(failed, Block.INCIDENT_PICK)["initial_value"] == "#4242"
    assert field(failed, Block.TIMELINE_COMMENT)["initial_value"] == "kept words"
    bot.sender.submit_view(failed, values("1", "kept words"))
    assert "Added to the timeline" in outcome(slack)
    rootly.latency = 0
    assert len(events(rootly, incident["id"])) == 1
