"""Alert messages end to end: lists, feeds from webhooks and polling, and every button re-rendering the message."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

import requests

from bot.render.ids import Action, Block, Callback
from tests.conftest import RunningBot
from tests.fakes.rootly import RootlyFake
from tests.fakes.server import Reply
from tests.fakes.slack import SlackFake
from tests.messages import action_ids, reply, text_of
from tests.waiting import wait_until

WEBHOOK_SECRET = "rootly-webhook-secret-123456"


def signed_webhook(
    url: str, payload: dict, *, secret: str = WEBHOOK_SECRET, at: int | None = None
) -> requests.Response:
    body = json.dumps(payload).encode()
    ts = str(int(time.time()) if at is None else at)
    sig = hmac.new(secret.encode(), ts.encode() + body, hashlib.sha256).hexdigest()
    return requests.post(
        f"{url}/rootly/webhooks",
        data=body,
        headers={"Content-Type": "application/json", "X-Rootly-Signature": f"t={ts},v1={sig}"},
        timeout=5,
    )


def created_event(alert: dict, event_id: str | None = None) -> dict:
    attrs = alert["attributes"]
    return {
        "event": {"id": event_id or str(uuid.uuid4()), "type": "alert.created", "issued_at": attrs["created_at"]},
        "data": {"id": alert["id"], "summary": attrs["summary"], "source": attrs["source"], "labels": []},
    }


def posted(slack: SlackFake, n: int = 1) -> list[dict]:
    return slack.wait_calls("chat.postMessage", n, timeout=10)


def acks(rootly: RootlyFake) -> list:
    return [r for r in rootly.requests if r.method == "POST" and r.path.endswith("/acknowledge")]


# --- /rootly alerts -------------------------------------------------------------------------------------------


def test_alerts_lists_open_alerts_newest_first_with_state_buttons(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    older = rootly.add_alert(summary="Older triggered", status="triggered", created_at="2026-11-26T10:00:00Z")
    newer = rootly.add_alert(summary="Newer open", status="open", created_at="2026-11-26T11:00:00Z")
    rootly.add_alert(summary="Done already", status="resolved", created_at="2026-11-26T12:00:00Z")
    bot.sender.slash("alerts")
    message = reply(slack)
    said = text_of(message)
    assert said.index("Newer open") < said.index("Older triggered")
    assert "Done already" not in said
    rows = {b["block_id"]: b for b in message["blocks"] if b.get("type") == "actions"}
    assert action_ids([rows[f"{Block.ALERT_ACTIONS}:rootly:{older['id']}"]]) >= {Action.ACKNOWLEDGE, Action.RESOLVE}
    assert Action.ACKNOWLEDGE not in action_ids([rows[f"{Block.ALERT_ACTIONS}:rootly:{newer['id']}"]])
    listing = next(r for r in rootly.requests if r.path == "/v1/alerts")
    assert listing.query["filter[status]"] == ["open,triggered"]


def test_alerts_filters_and_more_than_fits(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    rootly.add_service("Payments", "payments")
    rootly.add_service("Search", "search")
    for i in range(30):
        rootly.add_alert(summary=f"payments alert {i}", services=["payments"], urgency="High" if i % 2 else "Low")
    rootly.add_alert(summary="search alert", services=["search"])
    bot.sender.slash("alerts service:payments urgency:high")
    message = reply(slack)
    said = text_of(message)
    assert "search alert" not in said and "payments alert" in said
    assert "more — <https://rootly.com/account/alerts|open in Rootly>" in said
    shown = len([b for b in message["blocks"] if b.get("type") == "actions"])
    assert f"and {15 - shown} more" in said  # 15 High payments alerts in all
    listing = next(r for r in rootly.requests if r.path == "/v1/alerts")
    assert listing.query["filter[services]"] == ["payments"]


def test_alerts_with_a_bad_filter_names_it(bot: RunningBot, rootly: RootlyFake) -> None:
    answer = bot.sender.slash("alerts colour:red").json()
    assert "colour:red" in answer["text"] and "service:<slug>" in answer["text"]
    assert rootly.requests == []


def test_alerts_here_posts_for_everyone(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    rootly.add_alert(summary="Shared view", status="triggered")
    bot.sender.slash("alerts here")
    [call] = posted(slack)
    assert call["channel"] == "C111" and "Shared view" in text_of(call["blocks"])


def test_alerts_here_where_the_bot_cannot_post(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    rootly.add_alert(summary="Private", status="triggered")
    slack.add_channel("G123", "secret-ops", is_private=True)
    slack.not_in_channel.add("G123")
    bot.sender.slash("alerts here", channel_id="G123")
    assert "/invite @rootly" in text_of(reply(slack))


# --- feeds and webhooks ---------------------------------------------------------------------------------------


def test_feed_posts_new_alerts_from_webhooks_once(make_bot, rootly: RootlyFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    rootly.add_service("Payments", "payments")
    with make_bot(ROOTLY_WEBHOOK_SECRET=WEBHOOK_SECRET, FEED_POLL_SECONDS="0") as bot:
        answer = bot.sender.slash("feed on service:payments").json()
        assert answer["response_type"] == "in_channel" and "service payments" in answer["text"]
        other = rootly.add_alert(summary="Not ours", services=[])
        ours = rootly.add_alert(summary="Card declines spiking", services=["payments"], status="triggered")
        event = created_event(ours)
        assert signed_webhook(bot.url, created_event(other)).status_code == 202
        assert signed_webhook(bot.url, event).status_code == 202
        [call] = posted(slack)
        assert call["channel"] == "C111" and "Card declines spiking" in text_of(call["blocks"])
        assert Action.ACKNOWLEDGE in action_ids(call["blocks"])
        # A redelivery of the same event, and a new event for the same alert, post nothing new.
        assert signed_webhook(bot.url, event).json() == {"status": "duplicate"}
        assert signed_webhook(bot.url, created_event(ours)).status_code == 202
        time.sleep(0.5)
        assert len(slack.calls("chat.postMessage")) == 1


def test_webhooks_with_bad_stale_or_no_signature_change_nothing(make_bot, rootly: RootlyFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    alert = rootly.add_alert(summary="x")
    with make_bot(ROOTLY_WEBHOOK_SECRET=WEBHOOK_SECRET, FEED_POLL_SECONDS="0") as bot:
        bot.sender.slash("feed on")
        event = created_event(alert)
        wrong = signed_webhook(bot.url, event, secret="not-the-secret")
        stale = signed_webhook(bot.url, event, at=int(time.time()) - 600)
        unsigned = requests.post(f"{bot.url}/rootly/webhooks", json=event, timeout=5)
        truncated = requests.post(
            f"{bot.url}/rootly/webhooks", data=b"{", headers={"X-Rootly-Signature": "t=1,v1=00"}, timeout=5
        )
        assert [r.status_code for r in (wrong, stale, unsigned, truncated)] == [401, 401, 401, 401]
        # The event id was not burned by the forgeries: the genuine delivery still posts.
        assert signed_webhook(bot.url, event).status_code == 202
        posted(slack)


def test_webhooks_refused_when_no_secret_is_configured(bot: RunningBot, rootly: RootlyFake) -> None:
    alert = rootly.add_alert(summary="x")
    assert signed_webhook(bot.url, created_event(alert)).status_code == 401
    assert rootly.requests == []


def test_feed_list_and_off(bot: RunningBot) -> None:
    bot.sender.slash("feed on urgency:high", channel_id="C222")
    listing = bot.sender.slash("feed list").json()
    assert "<#C222>" in listing["text"] and "urgency high" in listing["text"]
    assert "no longer" in bot.sender.slash("feed off", channel_id="C222").json()["text"]
    assert "No channel has an alert feed" in bot.sender.slash("feed list").json()["text"]


# --- buttons --------------------------------------------------------------------------------------------------


def feed_message(bot: RunningBot, rootly: RootlyFake, slack: SlackFake, **attrs: object) -> tuple[dict, dict]:
    """An alert posted to the channel's feed through the poller; returns (alert, the posted message)."""
    bot.sender.slash("feed on")
    bot.app.services.poller.poll_once()  # starts the cursor
    alert = rootly.add_alert(**({"summary": "Disk full on db-1", "status": "triggered"} | attrs))
    bot.app.services.poller.poll_once()
    bot.app.services.feeds.delivery.idle()  # posted off the poll, at Slack's pace: wait until it is tracked
    call = posted(slack)[-1]
    message = {"ts": slack.messages(call["channel"])[-1]["ts"], "text": call["text"], "blocks": call["blocks"]}
    return alert, message


def updates(slack: SlackFake, n: int = 1) -> list[dict]:
    return slack.wait_calls("chat.update", n, timeout=10)


def test_acknowledge_button_re_renders_the_message(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alice = rootly.add_user("alice@example.com", "Alice Example")
    alert, message = feed_message(bot, rootly, slack)
    assert bot.sender.click(Action.ACKNOWLEDGE, f"rootly:{alert['id']}", message=message).status_code == 200
    [update] = updates(slack)
    assert update["ts"] == message["ts"]
    assert "🟡 Acknowledged" in text_of(update["blocks"]) and "Acknowledged by <@U111>" in text_of(update["blocks"])
    assert Action.ACKNOWLEDGE not in action_ids(update["blocks"])
    assert Action.RESOLVE in action_ids(update["blocks"])
    assert len(acks(rootly)) == 1
    assert rootly.notes(alert["id"]) == [("Acknowledged in Slack by Alice Example", alice)]
    # The click cost: one action call and one attribution note on Rootly, one chat.update on Slack.
    writes = [r for r in rootly.requests if r.method != "GET" and r.path.startswith(f"/v1/alerts/{alert['id']}")]
    assert len(writes) == 2 and len(slack.calls("chat.update")) == 1


def test_double_click_acknowledges_once(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alert, message = feed_message(bot, rootly, slack)
    rootly.latency = 0.3
    bot.sender.click(Action.ACKNOWLEDGE, f"rootly:{alert['id']}", message=message)
    bot.sender.click(Action.ACKNOWLEDGE, f"rootly:{alert['id']}", message=message)
    assert "not repeated" in text_of(reply(slack))
    rootly.latency = 0
    updates(slack)
    assert len(acks(rootly)) == 1


def test_state_changed_in_rootly_before_the_click(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alert, message = feed_message(bot, rootly, slack)
    rootly.call("POST", f"/v1/alerts/{alert['id']}/acknowledge")
    bot.sender.click(Action.ACKNOWLEDGE, f"rootly:{alert['id']}", message=message)
    assert "already acknowledged" in text_of(reply(slack))
    [update] = updates(slack)
    assert Action.ACKNOWLEDGE not in action_ids(update["blocks"])
    assert "🟡 Acknowledged" in text_of(update["blocks"])


def test_resolve_button(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alert, message = feed_message(bot, rootly, slack)
    bot.sender.click(Action.RESOLVE, f"rootly:{alert['id']}", message=message)
    [update] = updates(slack)
    assert action_ids(update["blocks"]) & {Action.ACKNOWLEDGE, Action.RESOLVE, Action.SNOOZE} == set()
    assert Action.ADD_NOTE in action_ids(update["blocks"])
    assert rootly.get_alert(alert["id"])["attributes"]["status"] == "resolved"


def test_snooze_noise_and_escalate_menus(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alert, message = feed_message(bot, rootly, slack)
    ref = f"rootly:{alert['id']}"
    bot.sender.click(Action.SNOOZE, f"snooze:60|{ref}", message=message, selected=True)
    updates(slack, 1)
    [snooze] = [r for r in rootly.requests if r.path.endswith("/snooze")]
    assert snooze.json["data"]["attributes"] == {"delay_minutes": 60}
    bot.sender.click(Action.OVERFLOW, f"noise|{ref}", message=message, selected=True)
    updates(slack, 2)
    [patch] = [r for r in rootly.requests if r.method == "PATCH"]
    assert patch.json["data"]["attributes"] == {"noise": "noise"}
    bot.sender.click(Action.OVERFLOW, f"escalate|{ref}", message=message, selected=True)
    updates(slack, 3)
    assert [r for r in rootly.requests if r.path.endswith("/escalate")]


def test_forged_button_values_are_refused(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    bot.sender.click(Action.ACKNOWLEDGE, "not-a-ref")
    bot.sender.click(Action.OVERFLOW, "launch|rootly:x", selected=True)
    assert "not one I know" in text_of(reply(slack, 1)) and "not one I know" in text_of(reply(slack, 2))
    assert [r for r in rootly.requests if r.method != "GET"] == []


def test_buttons_on_a_list_posted_here_re_render_that_row(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    first = rootly.add_alert(summary="first", status="triggered", created_at="2026-11-26T10:00:00Z")
    second = rootly.add_alert(summary="second", status="triggered", created_at="2026-11-26T11:00:00Z")
    bot.sender.slash("alerts here")
    [call] = posted(slack)
    message = {"ts": slack.messages("C111")[-1]["ts"], "text": call["text"], "blocks": call["blocks"]}
    bot.sender.click(Action.ACKNOWLEDGE, f"rootly:{first['id']}", message=message)
    [update] = updates(slack)
    rows = {b["block_id"]: b for b in update["blocks"] if b.get("block_id")}
    assert Action.ACKNOWLEDGE not in action_ids([rows[f"{Block.ALERT_ACTIONS}:rootly:{first['id']}"]])
    assert Action.ACKNOWLEDGE in action_ids([rows[f"{Block.ALERT_ACTIONS}:rootly:{second['id']}"]])


# --- notes from the modal -------------------------------------------------------------------------------------


def note_values(text: str) -> dict:
    return {Block.NOTE_INPUT: {Action.NOTE_TEXT: {"type": "plain_text_input", "value": text}}}


def test_add_note_button_opens_a_modal_and_the_note_lands(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    alice = rootly.add_user("alice@example.com", "Alice Example")
    alert, message = feed_message(bot, rootly, slack)
    rootly.latency = 1.0  # the modal opens without waiting for Rootly
    bot.sender.click(Action.ADD_NOTE, f"rootly:{alert['id']}", message=message)
    [opened] = slack.wait_calls("views.open")
    assert opened["view"]["callback_id"] == Callback.NOTE_MODAL and "Disk full on db-1" in text_of(opened["view"])
    assert [r for r in rootly.requests if r.at > 0 and r.path.endswith("/events")] == []
    rootly.latency = 0
    view = slack.views[next(iter(slack.views))]
    answer = bot.sender.submit_view(view, note_values("rebooted the replica"))
    assert answer.json()["response_action"] == "update"
    [done] = slack.wait_calls("views.update")
    assert "Note added" in text_of(done["view"])
    assert rootly.notes(alert["id"]) == [("rebooted the replica", alice)]


def test_a_note_rootly_refuses_comes_back_in_the_modal(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alert, message = feed_message(bot, rootly, slack)
    bot.sender.click(Action.ADD_NOTE, f"rootly:{alert['id']}", message=message)
    slack.wait_calls("views.open")
    rootly.script("POST", r"/events$", Reply(422, {"errors": [{"title": "Details is invalid", "status": "422"}]}))
    view = slack.views[next(iter(slack.views))]
    bot.sender.submit_view(view, note_values("the words I typed"))
    [failed] = slack.wait_calls("views.update")
    inputs = [b for b in failed["view"]["blocks"] if b.get("type") == "input"]
    assert inputs[0]["element"]["initial_value"] == "the words I typed"
    assert "Details is invalid" in text_of(failed["view"])
    # The form handed back is a new version of the view (a new hash): submitting it again is not a resend.
    handed_back = slack.views[view["id"]]
    assert handed_back["hash"] != view["hash"]
    answer = bot.sender.submit_view(handed_back, note_values("the words I typed, again"))
    assert answer.json()["response_action"] == "update"
    wait_until(lambda: rootly.notes(alert["id"]), message="the note submitted from the handed-back form never landed")
    [(details, _author)] = rootly.notes(alert["id"])  # one note (signed: no Rootly user matches the person)
    assert details.startswith("the words I typed, again")


def test_a_note_during_an_outage_is_queued_and_lands_once(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    alert, message = feed_message(bot, rootly, slack)
    bot.sender.click(Action.ADD_NOTE, f"rootly:{alert['id']}", message=message)
    slack.wait_calls("views.open")
    rootly.script("GET", rf"/v1/alerts/{alert['id']}$", *[RootlyFake.unavailable(503)] * 3)
    view = slack.views[next(iter(slack.views))]
    bot.sender.submit_view(view, note_values("the words I typed"))
    [queued] = slack.wait_calls("views.update")
    assert "queued" in text_of(queued["view"])
    assert bot.app.services.outbox.deliver_due() == 1
    assert [d for d, _ in rootly.notes(alert["id"])] == ["the words I typed\n\n— Alice Example (via Slack)"]
    assert bot.app.services.outbox.deliver_due() == 0


def test_an_empty_note_keeps_the_modal_open(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alert, message = feed_message(bot, rootly, slack)
    bot.sender.click(Action.ADD_NOTE, f"rootly:{alert['id']}", message=message)
    slack.wait_calls("views.open")
    view = slack.views[next(iter(slack.views))]
    answer = bot.sender.submit_view(view, note_values("   ")).json()
    assert answer["response_action"] == "errors" and Block.NOTE_INPUT in answer["errors"]


# --- polling --------------------------------------------------------------------------------------------------


def test_polling_posts_new_alerts_and_follows_changes_made_in_rootly(
    make_bot, rootly: RootlyFake, slack: SlackFake
) -> None:  # type: ignore[no-untyped-def]
    with make_bot(FEED_POLL_SECONDS="0") as bot:
        alert, message = feed_message(bot, rootly, slack)
        rootly.call("POST", f"/v1/alerts/{alert['id']}/acknowledge")
        assert bot.app.services.poller.poll_once() == (0, 1)
        [update] = updates(slack)
        assert update["ts"] == message["ts"] and Action.ACKNOWLEDGE not in action_ids(update["blocks"])
        assert bot.app.services.poller.poll_once() == (0, 0)  # nothing new: nothing re-rendered
    # A restart keeps the cursor: nothing is posted twice, and what is new since is picked up.
    later = rootly.add_alert(summary="After the restart")
    with make_bot(FEED_POLL_SECONDS="0") as bot:
        assert bot.app.services.poller.poll_once() == (1, 0)
    # Top-level messages: the alert's thread may have told the acknowledgement meanwhile (a reply, not a post).
    calls = [c for c in slack.calls("chat.postMessage") if not c.get("thread_ts")]
    assert len(calls) == 2 and "After the restart" in text_of(calls[-1]["blocks"])
    assert later["id"] != alert["id"]


# --- /rootly update -------------------------------------------------------------------------------------------


def test_update_patches_only_what_changed_and_says_so(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    rootly.add_urgency("Critical", 0)
    rootly.add_service("Payments", "payments")
    alert = rootly.add_alert(summary="Card declines", urgency="High", labels={"team": "core", "env": "prod"})
    bot.sender.slash(
        f"update {alert['attributes']['short_id']} urgency:critical service:payments label:team=pay "
        "label:env=prod noise:yes summary:“Card declines at checkout”"
    )
    said = text_of(reply(slack))
    assert "Updated" in said and "urgency High → Critical" in said and "labels team=pay" in said
    [patch] = [r for r in rootly.requests if r.method == "PATCH"]
    attrs = patch.json["data"]["attributes"]
    assert set(attrs) == {"summary", "alert_urgency_id", "service_ids", "labels", "noise"}
    assert attrs["summary"] == "Card declines at checkout" and attrs["noise"] == "noise"
    assert {"key": "env", "value": "prod"} in attrs["labels"] and {"key": "team", "value": "pay"} in attrs["labels"]
    stored = rootly.get_alert(alert["id"])["attributes"]
    assert stored["alert_urgency"]["name"] == "Critical" and [s["slug"] for s in stored["services"]] == ["payments"]


def test_update_with_an_unknown_urgency_lists_the_real_ones(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    alert = rootly.add_alert(summary="x")
    bot.sender.slash(f"update {alert['id']} urgency:apocalyptic")
    said = text_of(reply(slack))
    assert "apocalyptic" in said and "High" in said and "Low" in said
    assert [r for r in rootly.requests if r.method == "PATCH"] == []


def test_update_that_changes_nothing_sends_nothing(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alert = rootly.add_alert(summary="x", urgency="High")
    bot.sender.slash(f"update {alert['id']} urgency:high")
    assert "Nothing to change" in text_of(reply(slack))
    assert [r for r in rootly.requests if r.method == "PATCH"] == []


def test_update_re_renders_posted_messages(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alert, message = feed_message(bot, rootly, slack)
    bot.sender.slash(f"update {alert['id']} noise:yes")
    [update] = updates(slack)
    assert update["ts"] == message["ts"]
    assert any(
        o["value"].startswith("not_noise|")
        for b in update["blocks"]
        for e in b.get("elements", [])
        if e.get("type") == "overflow"
        for o in e["options"]
    )
