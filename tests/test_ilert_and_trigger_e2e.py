"""ilert through every Slack surface, alone and beside Rootly, and raising alerts by hand on either backend."""

from __future__ import annotations

from tests.conftest import ilert_env
from tests.fakes.ilert import IlertFake
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.messages import action_ids, reply, text_of


def test_ack_note_and_resolve_an_ilert_alert(make_bot, rootly: RootlyFake, ilert: IlertFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    alert = ilert.add_alert("Mail queue stuck", state="PENDING")
    ilert.add_user("ALICE@example.com", "Alice", "Example")
    with make_bot(**ilert_env(ilert)) as bot:
        bot.sender.slash(f"ack {alert['id']}")
        assert "Acknowledged" in text_of(reply(slack, 1))
        assert ilert.alert(alert["id"])["status"] == "ACCEPTED"
        bot.sender.slash(f"note {alert['id']} restarted postfix")
        assert "Note added" in text_of(reply(slack, 2))
        bot.sender.slash(f"resolve https://acme.ilert.com/alert/view?id={alert['id']} queue drained")
        assert "Resolved" in text_of(reply(slack, 3))
    assert ilert.alert(alert["id"])["status"] == "RESOLVED"
    comments = {c["content"]: c["creator"] for c in ilert.comments(alert["id"])}
    assert comments["restarted postfix"] == "Alice Example"  # her ilert user, found by email
    assert comments["Acknowledged in Slack by Alice Example"] == "Alice Example"
    assert "queue drained\n\n— Alice Example (via Slack)" in comments
    assert [r for r in rootly.requests if r.method != "GET"] == []  # numeric ids never go to Rootly


def test_both_backends_listed_together_with_labels(
    make_bot, rootly: RootlyFake, ilert: IlertFake, slack: SlackFake
) -> None:  # type: ignore[no-untyped-def]
    rootly.add_alert(summary="Rootly side", status="triggered")
    pending = ilert.add_alert("ilert side", state="PENDING")
    ilert.add_alert("ilert closed", state="RESOLVED")
    with make_bot(**ilert_env(ilert)) as bot:
        bot.sender.slash("alerts")
        message = reply(slack)
    said = text_of(message)
    assert "Rootly side" in said and "ilert side" in said and "ilert closed" not in said
    assert "ilert" in said and "Rootly" in said
    rows = {b["block_id"]: b for b in message["blocks"] if b.get("type") == "actions"}
    ilert_row = rows[f"alert_actions:ilert:{pending['id']}"]
    assert "alert.acknowledge" in action_ids([ilert_row])


def test_ilert_button_click(make_bot, rootly: RootlyFake, ilert: IlertFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    alert = ilert.add_alert("Disk", state="PENDING")
    with make_bot(**ilert_env(ilert)) as bot:
        bot.sender.slash("alerts here")
        [call] = slack.wait_calls("chat.postMessage")
        message = {"ts": slack.messages("C111")[-1]["ts"], "text": call["text"], "blocks": call["blocks"]}
        bot.sender.click("alert.acknowledge", f"ilert:{alert['id']}", message=message)
        [update] = slack.wait_calls("chat.update")
    assert ilert.alert(alert["id"])["status"] == "ACCEPTED"
    row = next(b for b in update["blocks"] if b.get("block_id") == f"alert_actions:ilert:{alert['id']}")
    assert "alert.acknowledge" not in action_ids([row])


def test_ilert_alone(make_bot, ilert: IlertFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    alert = ilert.add_alert("Only ilert here", state="PENDING")
    with make_bot(ROOTLY_API_TOKEN="", **ilert_env(ilert)) as bot:
        bot.sender.slash(f"ack {alert['id']}")
        assert "Acknowledged" in text_of(reply(slack))
        bot.sender.slash("ack t8rgnt")
        said = text_of(reply(slack, 2))
    assert "t8rgnt" in said and "ilert" in said


def test_ilert_already_closed_and_bad_key(make_bot, ilert: IlertFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    alert = ilert.add_alert("Gone", state="RESOLVED")
    with make_bot(ROOTLY_API_TOKEN="", **ilert_env(ilert)) as bot:
        bot.sender.slash(f"resolve {alert['id']}")
        assert "already resolved" in text_of(reply(slack))
    with make_bot(ROOTLY_API_TOKEN="", **(ilert_env(ilert) | {"ILERT_API_TOKEN": "wrong-key-123"})) as bot:
        bot.sender.slash(f"ack {alert['id']}")
        said = text_of(reply(slack, 2))
    assert "ilert rejected the bot's API key" in said and "wrong-key-123" not in said


# --- /rootly trigger ------------------------------------------------------------------------------------------


def test_trigger_on_rootly_posts_the_alert_and_a_repeat_is_the_same_alert(
    bot, rootly: RootlyFake, slack: SlackFake
) -> None:  # type: ignore[no-untyped-def]
    answer = bot.sender.slash('trigger "Checkout 500s" --details error rate 12% --priority high --key checkout-5xx')
    assert "Raising" in answer.text
    said = text_of(reply(slack))
    assert "Raised" in said and "checkout-5xx" in said
    [posted] = slack.wait_calls("chat.postMessage")
    assert "Checkout 500s" in text_of(posted["blocks"]) and "alert.acknowledge" in action_ids(posted["blocks"])
    [create] = [r for r in rootly.requests if r.method == "POST" and r.path == "/v1/alerts"]
    attrs = create.json["data"]["attributes"]
    assert attrs["deduplication_key"] == "checkout-5xx" and "error rate 12%" in attrs["description"]
    assert "Raised in Slack by Alice Example" in attrs["description"]
    bot.sender.slash("trigger Checkout 500s again --key checkout-5xx")
    reply(slack, 2)
    assert len([a for a in rootly.alerts.values() if a["attributes"]["deduplication_key"] == "checkout-5xx"]) == 1


def test_trigger_on_ilert_sends_an_alert_event(
    make_bot, rootly: RootlyFake, ilert: IlertFake, slack: SlackFake
) -> None:  # type: ignore[no-untyped-def]
    with make_bot(**ilert_env(ilert)) as bot:
        bot.sender.slash("trigger Mail relay down --to ilert --priority low --route mail --key relay-1")
        said = text_of(reply(slack))
        bot.sender.slash("trigger Mail relay down --to ilert --key RELAY-1 ")
        reply(slack, 2)
    assert "Sent to ilert" in said and "relay-1" in said
    first = ilert.events[0]
    assert first["eventType"] == "ALERT" and first["priority"] == "LOW" and first["routingKey"] == "mail"
    assert any("slack.com/app_redirect?channel=C111" in link["href"] for link in first["links"])
    assert len([a for a in ilert.alerts.values() if a["summary"] == "Mail relay down"]) == 1


def test_trigger_syntax_errors_hand_the_text_back(bot, rootly: RootlyFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    answer = bot.sender.slash("trigger Disk full --priority urgent").json()
    assert "--priority is `high` or `low`" in answer["text"] and "Disk full" in answer["text"]
    unconfigured = bot.sender.slash("trigger x --to ilert")
    assert "ilert is not configured" in text_of(reply(slack)) and unconfigured.status_code == 200
    assert [r for r in rootly.requests if r.method == "POST"] == []


def test_ilert_feed_polling_posts_new_alerts_and_follows_their_state(
    make_bot, ilert: IlertFake, slack: SlackFake
) -> None:  # type: ignore[no-untyped-def]
    ilert.add_alert("Open before the feed", state="PENDING")
    with make_bot(ROOTLY_API_TOKEN="", FEED_POLL_SECONDS="0", **ilert_env(ilert)) as bot:
        poller = bot.app.services.ilert_poller
        bot.sender.slash("feed on")
        assert poller.poll_once() == (0, 0)  # the first poll learns what is open; it posts nothing old
        new = ilert.add_alert("Mail queue stuck", state="PENDING")
        assert poller.poll_once()[0] == 1
        bot.app.services.feeds.delivery.idle()  # posted off the poll: wait until it is tracked
        [posted] = slack.wait_calls("chat.postMessage")
        assert "Mail queue stuck" in text_of(posted["blocks"]) and "alert.acknowledge" in action_ids(posted["blocks"])
        ilert.alert(new["id"])["status"] = "RESOLVED"  # resolved in ilert's own UI
        assert poller.poll_once() == (0, 1)
        [update] = slack.wait_calls("chat.update")
        assert "alert.resolve" not in action_ids(update["blocks"])
    with make_bot(ROOTLY_API_TOKEN="", FEED_POLL_SECONDS="0", **ilert_env(ilert)) as bot:
        assert bot.app.services.ilert_poller.poll_once()[0] == 0  # a restart does not repost
