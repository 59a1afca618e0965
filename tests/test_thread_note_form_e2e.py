"""The "Add to alert as note" shortcut on a message outside any alert's thread: a form asks which alert (as
`/rootly note` takes it), with the message's text to edit; the note goes through the action path, once."""

from __future__ import annotations

from typing import Any

from bot.render.ids import Action, Block, Callback
from tests.conftest import RunningBot
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.messages import text_of
from tests.test_alert_messages_e2e import feed_message
from tests.waiting import wait_until


def shortcut(bot: RunningBot, message: dict[str, Any], channel: str = "C222") -> None:
    payload = {
        "type": "message_action",
        "token": "verification_token",
        "action_ts": "1583637157.207593",
        "team": {"id": "T111", "domain": "test"},
        "user": {"id": "U111", "name": "alice"},
        "channel": {"id": channel, "name": "db-team"},
        "callback_id": Callback.NOTE_SHORTCUT.value,
        "trigger_id": "111.222.valid",
        "message_ts": message["ts"],
        "message": {"type": "message", **message},
        "response_url": bot.sender.response_url,
    }
    assert bot.sender.interactive(payload).status_code == 200


def values(alert: str, note: str) -> dict[str, dict[str, dict[str, Any]]]:
    return {
        Block.NOTE_ALERT: {Action.NOTE_ALERT: {"type": "plain_text_input", "value": alert}},
        Block.NOTE_INPUT: {Action.NOTE_TEXT: {"type": "plain_text_input", "value": note}},
    }


def the_form(slack: SlackFake) -> dict[str, Any]:
    [opened] = slack.wait_calls("views.open", 1, timeout=10)
    assert opened["view"]["callback_id"] == Callback.NOTE_SHORTCUT_MODAL
    return slack.views[next(iter(slack.views))]


def inputs(view: dict[str, Any]) -> dict[str, str | None]:
    return {b["block_id"]: b["element"].get("initial_value") for b in view["blocks"] if b.get("type") == "input"}


def test_any_message_becomes_a_note_on_the_alert_named_in_the_form(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    alice = rootly.add_user("alice@example.com", "Alice Example")
    alert, posted = feed_message(bot, rootly, slack)
    short_id = alert["attributes"]["short_id"]
    before = len(rootly.requests)
    shortcut(bot, {"text": "db-1 swap is at 95%, restarting pgbouncer", "user": "U222", "ts": "1700000000.000100"})
    view = the_form(slack)
    assert len(rootly.requests) == before  # opened at once, before any Rootly call
    assert inputs(view) == {Block.NOTE_ALERT: None, Block.NOTE_INPUT: "db-1 swap is at 95%, restarting pgbouncer"}
    # What cannot name an alert, and an empty note, are field errors; Slack keeps the form as typed.
    answer = bot.sender.submit_view(view, values("not an alert!!", "")).json()
    assert answer["response_action"] == "errors"
    assert "doesn't look like an alert" in answer["errors"][Block.NOTE_ALERT]
    assert answer["errors"][Block.NOTE_INPUT] == "Write something first."
    # The text as edited, on the alert named by its short id.
    edited = values(short_id, "db-1 swap at 95%: restarted pgbouncer")
    answer = bot.sender.submit_view(view, edited).json()
    assert answer["response_action"] == "update"
    assert bot.sender.submit_view(view, edited).status_code == 200  # Slack resends the submission: one note
    [done] = slack.wait_calls("views.update", 1, timeout=10)
    assert "Note added" in text_of(done["view"])
    assert rootly.notes(alert["id"]) == [("db-1 swap at 95%: restarted pgbouncer", alice)]
    # Through the action path: the alert's own message shows the note.
    wait_until(
        lambda: [u for u in slack.calls("chat.update") if u["ts"] == posted["ts"] and "restarted" in text_of(u)],
        message="the alert message did not show the note",
    )
    assert len(rootly.notes(alert["id"])) == 1


def test_a_note_by_link_without_a_rootly_user_is_signed(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alert, _ = feed_message(bot, rootly, slack)
    shortcut(bot, {"text": "customer reports 502s", "user": "U222", "ts": "1700000000.000200"})
    view = the_form(slack)
    link = f"<https://rootly.com/account/alerts/{alert['id']}|the alert>"
    assert bot.sender.submit_view(view, values(link, "customer reports 502s")).json()["response_action"] == "update"
    slack.wait_calls("views.update", 1, timeout=10)
    assert rootly.notes(alert["id"]) == [("customer reports 502s\n\n— Alice Example (via Slack)", None)]


def test_an_unknown_alert_hands_the_form_back_with_the_text(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    shortcut(bot, {"text": "from a bot", "bot_id": "B999", "subtype": "bot_message", "ts": "1700000000.000300"})
    view = the_form(slack)  # another bot's message (a monitor's) may be a note too: the person edits it first
    bot.sender.submit_view(view, values("nosuch1", "from a bot, checked"))
    [again] = slack.wait_calls("views.update", 1, timeout=10)
    assert again["view"]["callback_id"] == Callback.NOTE_SHORTCUT_MODAL
    assert inputs(again["view"]) == {Block.NOTE_ALERT: "nosuch1", Block.NOTE_INPUT: "from a bot, checked"}
    assert "no alert" in text_of(again["view"]).lower()
    # The form handed back is a new try: corrected, it adds the note.
    alert, _ = feed_message(bot, rootly, slack)
    fixed = slack.views[next(iter(slack.views))]
    assert fixed["hash"] != view["hash"]
    bot.sender.submit_view(fixed, values(alert["attributes"]["short_id"], "from a bot, checked"))
    done = slack.wait_calls("views.update", 2, timeout=10)[-1]
    assert "Note added" in text_of(done["view"])
    assert [d for d, _ in rootly.notes(alert["id"])] == ["from a bot, checked\n\n— Alice Example (via Slack)"]


def test_a_message_longer_than_a_form_field_opens_the_form_with_its_start_and_says_so(
    bot: RunningBot, slack: SlackFake
) -> None:
    long_text = "stack trace line\n" * 400  # 6,800 characters: Slack's text inputs hold 3,000
    shortcut(bot, {"text": long_text, "user": "U222", "ts": "1700000000.000300"})
    view = the_form(slack)
    assert slack.violations == []  # the form opened: no input asks Slack for more than 3,000 characters
    note = next(b for b in view["blocks"] if b.get("block_id") == Block.NOTE_INPUT)
    assert note["element"]["initial_value"] == long_text[:3000]
    assert note["element"]["max_length"] == 3000
    assert "first 3,000 characters" in note["hint"]["text"] and "/rootly note" in note["hint"]["text"]
