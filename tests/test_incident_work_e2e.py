"""Working an incident from its live message, end to end over HTTP against the fakes: every button in every status,
refusals, double clicks and resent submissions, an outage, changes made in Rootly, and the policy.

The ``rootly`` and ``slack`` fixtures fail a test on any contract violation or any view Slack would refuse.
"""

from __future__ import annotations

import pytest

from bot.render.ids import Action, Block, Callback
from tests.conftest import RunningBot
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.incident_work import (
    buttons,
    click,
    events,
    latest_view,
    live_post,
    menu,
    text_values,
    updated_views,
    wait_until,
    writes,
)
from tests.messages import reply, text_of

ACTIVE = {
    Action.INCIDENT_MITIGATE,
    Action.INCIDENT_RESOLVE,
    Action.INCIDENT_ADD_NOTE,
    Action.INCIDENT_SET_SEVERITY,
    Action.INCIDENT_ASSIGN_ROLE,
    Action.INCIDENT_MENU,
}


def updates_of(slack: SlackFake, ts: str) -> list[dict]:
    return [c for c in slack.calls("chat.update") if c["ts"] == ts]


def act(
    bot: RunningBot, slack: SlackFake, action: Action, incident_id: str, message: dict, text: str, n: int = 1
) -> dict:
    """Click a button that opens the action modal, submit it with ``text``; the outcome view."""
    click(bot, action, incident_id, message)
    view = latest_view(slack, Callback.INCIDENT_ACTION_MODAL, n)
    answer = bot.sender.submit_view(view, text_values(text))
    assert answer.status_code == 200 and answer.json()["response_action"] == "update"
    return updated_views(slack, n)[-1]


@pytest.mark.parametrize("status", ["in_triage", "started", "detected", "acknowledged"])
def test_an_active_incident_offers_every_action(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake, status: str
) -> None:
    _, message = live_post(bot, rootly, slack, status=status)
    assert buttons(message["blocks"]) == ACTIVE
    said = text_of(message["blocks"])
    assert "INC-1" in said and "Checkout is down" in said and "*Commander* nobody yet" in said and "{ago}" in said


def test_declaring_posts_the_live_message_with_its_buttons(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    from tests.test_incidents_e2e import form, values

    bot.sender.slash("incident Checkout is down")
    bot.sender.submit_view(form(slack), values("Checkout is down"))
    [post] = slack.wait_calls("chat.postMessage")
    assert buttons(post["blocks"]) == ACTIVE
    [incident] = rootly.incidents.values()
    # Tracked: a change re-renders it.
    rootly.call("PUT", f"/v1/incidents/{incident['id']}/mitigate", {"data": {"type": "incidents", "attributes": {}}})
    assert bot.app.incident_work.poller.follow(incident["id"]) == 1
    [update] = slack.wait_calls("chat.update")
    assert "Mitigated" in text_of(update["blocks"]) and Action.INCIDENT_MITIGATE not in buttons(update["blocks"])


def test_mitigate_opens_a_modal_and_re_renders_every_message(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    alice = rootly.add_user("alice@example.com", "Alice Example")
    incident, message = live_post(bot, rootly, slack)
    other = bot.app.incident_work.messages.post("C222", bot.app.incident_work.actions.get(incident["id"]))
    rootly.latency = 1.0  # the modal opens without waiting for Rootly
    click(bot, Action.INCIDENT_MITIGATE, incident["id"], message)
    [opened] = slack.wait_calls("views.open")
    assert opened["view"]["callback_id"] == Callback.INCIDENT_ACTION_MODAL and "Checkout is down" in text_of(
        opened["view"]
    )
    rootly.latency = 0
    done = act_submit(bot, slack, "rolled back the 14:02 deploy")
    assert "Mitigated" in text_of(done) and "INC-1" in text_of(done)
    [put] = writes(rootly, incident["id"], "/mitigate")
    assert put.json["data"]["attributes"] == {"mitigation_message": "rolled back the 14:02 deploy"}
    assert events(rootly, incident["id"]) == ["Mitigated in Slack by Alice Example: rolled back the 14:02 deploy"]
    wait_until(lambda: updates_of(slack, message["ts"]) and updates_of(slack, other))
    for ts in (message["ts"], other):
        [update] = updates_of(slack, ts)
        said = text_of(update["blocks"])
        assert "🟡 Mitigated" in said and "Mitigated by <@U111>" in said and "rolled back" in said
        assert buttons(update["blocks"]) == ACTIVE - {Action.INCIDENT_MITIGATE}
    assert alice


def act_submit(bot: RunningBot, slack: SlackFake, text: str, n: int = 1) -> dict:
    view = latest_view(slack, Callback.INCIDENT_ACTION_MODAL, n)
    bot.sender.submit_view(view, text_values(text))
    wait_until(lambda: any("⏳" not in text_of(c["view"]) for c in slack.calls("views.update")[n - 1 :]))
    return [c["view"] for c in slack.calls("views.update")][-1]


def test_resolve_then_only_the_timeline_is_left(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    incident, message = live_post(bot, rootly, slack, status="mitigated")
    assert buttons(message["blocks"]) == ACTIVE - {Action.INCIDENT_MITIGATE}
    done = act(bot, slack, Action.INCIDENT_RESOLVE, incident["id"], message, "")
    assert "Resolved" in text_of(done)
    [put] = writes(rootly, incident["id"], "/resolve")
    assert put.json["data"]["attributes"] == {}
    wait_until(lambda: updates_of(slack, message["ts"]))
    [update] = updates_of(slack, message["ts"])
    assert buttons(update["blocks"]) == {Action.INCIDENT_ADD_NOTE, Action.INCIDENT_MENU}
    assert "✅ Resolved" in text_of(update["blocks"]) and "*Open* for" in text_of(update["blocks"])


def test_cancel_is_in_the_menu_and_asks_why(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    incident, message = live_post(bot, rootly, slack)
    menu(bot, f"cancel|{incident['id']}", message)
    view = latest_view(slack, Callback.INCIDENT_ACTION_MODAL)
    assert "cannot be undone" in text_of(view)
    bot.sender.submit_view(view, text_values("false alarm"))
    wait_until(lambda: writes(rootly, incident["id"], "/cancel"))
    [put] = writes(rootly, incident["id"], "/cancel")
    assert put.json["data"]["attributes"] == {"cancellation_message": "false alarm"}
    wait_until(lambda: updates_of(slack, message["ts"]))
    [update] = updates_of(slack, message["ts"])
    assert buttons(update["blocks"]) == {Action.INCIDENT_MENU}  # only "Open in Rootly" is left
    assert "⚪ Cancelled" in text_of(update["blocks"])


def test_a_stale_button_is_explained_and_nothing_is_sent(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    incident, message = live_post(bot, rootly, slack)
    rootly.call("PUT", f"/v1/incidents/{incident['id']}/cancel", {"data": {"type": "incidents", "attributes": {}}})
    done = act(bot, slack, Action.INCIDENT_RESOLVE, incident["id"], message, "fixed")
    said = text_of(done)
    assert "Nothing to do" in said and "was cancelled" in said and "Declare a new incident" in said
    assert [r for r in writes(rootly, incident["id"]) if r.path.endswith("/resolve")] == []


def test_a_transition_rootly_refuses_is_said_in_plain_words(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    incident, message = live_post(bot, rootly, slack)
    # Between the bot's read and its write, someone resolves it in Rootly: the fake refuses the mitigation (422).
    rootly.script(
        "PUT",
        r"/mitigate$",
        rootly.unavailable(422)
        if False
        else __import__("tests.fakes.server", fromlist=["Reply"]).Reply(
            422, {"errors": [{"title": "Cannot mitigate a resolved incident", "status": "422"}]}
        ),
    )
    done = act(bot, slack, Action.INCIDENT_MITIGATE, incident["id"], message, "")
    assert "Nothing to do" in text_of(done) and "Cannot mitigate a resolved incident" in text_of(done)


def test_a_resent_submission_acts_once(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    incident, message = live_post(bot, rootly, slack)
    click(bot, Action.INCIDENT_MITIGATE, incident["id"], message)
    view = latest_view(slack, Callback.INCIDENT_ACTION_MODAL)
    rootly.latency = 0.3
    bot.sender.submit_view(view, text_values("once"))
    bot.sender.submit_view(view, text_values("once"))
    wait_until(lambda: updates_of(slack, message["ts"]))
    rootly.latency = 0
    assert len(writes(rootly, incident["id"], "/mitigate")) == 1


def test_two_people_mitigating_at_once_change_it_once(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    slack.add_user("U222", "bob@example.com", "Bob Example")
    incident, message = live_post(bot, rootly, slack)
    click(bot, Action.INCIDENT_MITIGATE, incident["id"], message)
    first = latest_view(slack, Callback.INCIDENT_ACTION_MODAL, 1)
    click(bot, Action.INCIDENT_MITIGATE, incident["id"], message, user="U222")
    second = latest_view(slack, Callback.INCIDENT_ACTION_MODAL, 2)
    assert first["id"] != second["id"]
    bot.sender.submit_view(first, text_values(""))
    bot.sender.submit_view(second, text_values(""), user="U222")
    wait_until(lambda: len([c for c in slack.calls("views.update") if "⏳" not in text_of(c["view"])]) == 2)
    outcomes = [text_of(c["view"]) for c in slack.calls("views.update") if "⏳" not in text_of(c["view"])]
    assert len(writes(rootly, incident["id"], "/mitigate")) == 1
    assert any("not repeated" in o or "already mitigated" in o for o in outcomes)


def test_an_outage_queues_the_change_and_it_lands_once(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    incident, message = live_post(bot, rootly, slack)
    rootly.script("PUT", r"/mitigate$", RootlyFake.unavailable(503))  # writes are not retried blindly
    done = act(bot, slack, Action.INCIDENT_MITIGATE, incident["id"], message, "failover")
    assert "queued" in text_of(done)
    assert rootly.incidents[incident["id"]]["attributes"]["status"] == "started"
    assert bot.app.services.outbox.deliver_due() == 1
    assert rootly.incidents[incident["id"]]["attributes"]["status"] == "mitigated"
    assert rootly.incidents[incident["id"]]["attributes"]["mitigation_message"] == "failover"
    wait_until(lambda: updates_of(slack, message["ts"]))
    assert "Mitigated by <@U111>" in text_of(updates_of(slack, message["ts"])[-1]["blocks"])
    [told] = slack.wait_calls("chat.postEphemeral")  # a modal has no response URL: told in the channel
    assert told["user"] == "U111" and "Delivered" in told["text"]
    assert bot.app.services.outbox.deliver_due() == 0


def test_a_timeline_note_during_an_outage_is_queued_and_lands_once(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    incident, message = live_post(bot, rootly, slack)
    rootly.script("GET", rf"/v1/incidents/{incident['id']}$", *[RootlyFake.unavailable(503)] * 3)
    done = act(bot, slack, Action.INCIDENT_ADD_NOTE, incident["id"], message, "cache warmed")
    assert "queued" in text_of(done)
    assert bot.app.services.outbox.deliver_due() == 1
    assert events(rootly, incident["id"]) == ["cache warmed\n\n— Alice Example (via Slack)"]
    assert bot.app.services.outbox.deliver_due() == 0


def test_add_to_timeline_and_a_refused_note_comes_back(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    incident, message = live_post(bot, rootly, slack)
    done = act(bot, slack, Action.INCIDENT_ADD_NOTE, incident["id"], message, "paged the DBA")
    assert "Added to the timeline" in text_of(done)
    assert events(rootly, incident["id"]) == ["paged the DBA\n\n— Alice Example (via Slack)"]
    from tests.fakes.server import Reply

    rootly.script("POST", r"/events$", Reply(422, {"errors": [{"title": "Event is invalid", "status": "422"}]}))
    failed = act(bot, slack, Action.INCIDENT_ADD_NOTE, incident["id"], message, "the words I typed", n=2)
    inputs = [b for b in failed["blocks"] if b.get("type") == "input"]
    assert inputs[0]["element"]["initial_value"] == "the words I typed" and "Event is invalid" in text_of(failed)


def test_an_empty_timeline_entry_keeps_the_modal_open(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    incident, message = live_post(bot, rootly, slack)
    click(bot, Action.INCIDENT_ADD_NOTE, incident["id"], message)
    answer = bot.sender.submit_view(latest_view(slack, Callback.INCIDENT_ACTION_MODAL), text_values("  ")).json()
    assert answer["response_action"] == "errors" and Block.INCIDENT_TEXT in answer["errors"]


def test_severity_menu_changes_it_and_re_renders(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    incident, message = live_post(bot, rootly, slack)
    sev0 = next(i for i, a in rootly.catalog["severities"].items() if a["name"] == "SEV0")
    block = f"{Block.INCIDENT_ACTIONS}:{incident['id']}"
    menu(bot, sev0, message, action=Action.INCIDENT_SET_SEVERITY, block_id=block)
    wait_until(lambda: updates_of(slack, message["ts"]))
    [put] = [r for r in writes(rootly, incident["id"]) if r.method == "PUT"]
    assert put.json["data"]["attributes"] == {"severity_id": sev0}
    said = text_of(updates_of(slack, message["ts"])[0]["blocks"])
    assert "*Severity* SEV0" in said and "Severity changed by <@U111>" in said and "none → SEV0" in said
    menu(bot, sev0, message, action=Action.INCIDENT_SET_SEVERITY, block_id=block)  # the same again: nothing sent
    assert "already SEV0" in text_of(reply(slack))
    assert len([r for r in writes(rootly, incident["id"]) if r.method == "PUT"]) == 1


def test_assign_role_from_the_button(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    bob = rootly.add_user("bob@example.com", "Bob Example")
    slack.add_user("U222", "bob@example.com", "Bob Example")
    incident, message = live_post(bot, rootly, slack)
    click(bot, Action.INCIDENT_ASSIGN_ROLE, incident["id"], message)
    view = latest_view(slack, Callback.INCIDENT_ROLE_MODAL)
    role = next(o for o in view["blocks"][1]["element"]["options"] if o["text"]["text"] == "Commander")
    state = {
        Block.INCIDENT_ROLE: {Action.INCIDENT_ROLE: {"type": "static_select", "selected_option": role}},
        Block.INCIDENT_ROLE_USER: {Action.INCIDENT_ROLE_USER: {"type": "users_select", "selected_user": "U222"}},
    }
    bot.sender.submit_view(view, state)
    wait_until(lambda: updates_of(slack, message["ts"]))
    assert rootly.incident_roles[incident["id"]] == [(role["value"], bob)]
    said = text_of(updates_of(slack, message["ts"])[0]["blocks"])
    assert "*Commander* Bob Example" in said and "Role assigned by <@U111>" in said


def test_policy_limits_resolving_and_cancelling(make_bot, rootly: RootlyFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    with make_bot(POLICY_INCIDENT_RESOLVE="U999") as bot:
        incident, message = live_post(bot, rootly, slack)
        click(bot, Action.INCIDENT_RESOLVE, incident["id"], message)
        assert "Resolving or cancelling incidents" in text_of(reply(slack))
        menu(bot, f"cancel|{incident['id']}", message)
        assert "Resolving or cancelling incidents" in text_of(reply(slack, 2))
        assert slack.calls("views.open") == []
        click(bot, Action.INCIDENT_MITIGATE, incident["id"], message)  # mitigating stays open to everyone
        slack.wait_calls("views.open")


def test_changes_made_in_rootly_are_followed_by_polling_and_webhooks(
    make_bot, rootly: RootlyFake, slack: SlackFake
) -> None:  # type: ignore[no-untyped-def]
    from tests.test_alert_messages_e2e import WEBHOOK_SECRET, signed_webhook

    with make_bot(ROOTLY_WEBHOOK_SECRET=WEBHOOK_SECRET) as bot:
        incident, message = live_post(bot, rootly, slack)
        work = bot.app.incident_work
        assert work.poller.poll_once() == 0  # nothing changed: nothing re-rendered
        rootly.call(
            "PUT", f"/v1/incidents/{incident['id']}/mitigate", {"data": {"type": "incidents", "attributes": {}}}
        )
        assert work.poller.poll_once() == 1
        assert "🟡 Mitigated" in text_of(updates_of(slack, message["ts"])[0]["blocks"])
        rootly.call("PUT", f"/v1/incidents/{incident['id']}/resolve", {"data": {"type": "incidents", "attributes": {}}})
        payload = {
            "event": {"id": "evt-1", "type": "incident.resolved", "issued_at": "2026-01-01T00:00:00Z"},
            "data": {"id": incident["id"]},
        }
        assert signed_webhook(bot.url, payload).status_code == 202
        wait_until(lambda: len(updates_of(slack, message["ts"])) == 2)
        assert "✅ Resolved" in text_of(updates_of(slack, message["ts"])[1]["blocks"])


def test_forged_values_are_refused(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    click(bot, Action.INCIDENT_MITIGATE, "../../etc", {"ts": "1.1", "blocks": []})
    assert "not one I know" in text_of(reply(slack))
    assert [r for r in rootly.requests if r.method != "GET"] == []
