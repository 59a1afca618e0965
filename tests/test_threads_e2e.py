"""Alert threads end to end over HTTP: the story of each alert told in its message's thread, once and in order,
from every source (Rootly itself, clicks, webhooks, polling, ilert); replies and the shortcut becoming notes."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import pytest

from bot.render.ids import Action, Callback
from tests.conftest import RunningBot, ilert_env
from tests.fakes.ilert import IlertFake
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.messages import text_of
from tests.test_alert_messages_e2e import WEBHOOK_SECRET, feed_message, signed_webhook
from tests.waiting import wait_until

INCIDENT_URL = "https://rootly.com/account/incidents/1-database-outage"
FAST = {"FEED_POLL_SECONDS": "0", "THREAD_COALESCE_SECONDS": "0.1"}


def thread(slack: SlackFake, channel: str, ts: str) -> list[dict[str, Any]]:
    """Replies in the thread of (channel, ts), oldest first."""
    return [m for m in slack.messages(channel) if m.get("thread_ts") == ts and m["ts"] != ts]


def wait_thread(slack: SlackFake, channel: str, ts: str, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    def enough() -> list[dict[str, Any]] | None:
        found = thread(slack, channel, ts)
        return found if len(found) >= n else None

    try:
        return wait_until(enough, timeout, 0.05)
    except AssertionError:
        raise AssertionError(f"thread has {len(thread(slack, channel, ts))} replies, expected {n}") from None


def settle(bot: RunningBot, timeout: float = 10.0) -> None:
    """Wait until no story run is waiting or running (coalescing delays, then the run)."""
    story = bot.app.threads.story  # type: ignore[union-attr]

    def idle() -> bool:
        if story.coalescer.pending():
            return False
        time.sleep(0.15)  # and still idle a moment later: no run was about to start
        return story.coalescer.pending() == 0

    wait_until(idle, timeout, 0.05, message="story runs did not settle")


def story_text(slack: SlackFake, channel: str, ts: str) -> str:
    return "\n".join(text_of(m.get("blocks") or []) for m in thread(slack, channel, ts))


def message_event(
    channel: str, text: str, *, ts: str, thread_ts: str | None, user: str = "U111", **extra: Any
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel_type": "channel",
        "team": "T111",
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event | extra


def send_event(bot: RunningBot, event: dict[str, Any], *, event_id: str | None = None, retry: int = 0) -> Any:
    """An Events API delivery as Slack signs it; ``retry`` > 0 adds Slack's retry headers."""
    envelope = {
        "token": "verification_token",
        "team_id": "T111",
        "api_app_id": "A111",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10]}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": "T111", "user_id": "U0BOT", "is_bot": True, "is_enterprise_install": False}],
    }
    headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else None
    return bot.sender.post(json.dumps(envelope).encode(), "application/json", headers=headers)


def reply_in(slack: SlackFake, channel: str, thread_ts: str, text: str, user: str = "U111") -> str:
    """A person's reply as Slack stores it (so reactions have a message to land on); returns its ts."""
    return slack.add_message(channel, text, user=user, thread_ts=thread_ts)


# --- the story ------------------------------------------------------------------------------------------------


def test_every_event_kind_made_in_rootly_is_told_once_in_order(make_bot, rootly: RootlyFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    bob = rootly.add_user("bob@example.com", "Bob Builder")
    with make_bot(**FAST) as bot:
        alert, message = feed_message(bot, rootly, slack)
        settle(bot)
        assert thread(slack, "C111", message["ts"]) == []  # the alert's creation is the message itself
        key = alert["id"]
        rootly.act_in_rootly(key, "acknowledged", bob)
        rootly.act_in_rootly(key, "note", bob, "Looking at the disk now")
        rootly.act_in_rootly(key, "snoozed", bob)
        rootly.act_in_rootly(key, "escalated", bob, level=2)
        rootly.act_in_rootly(key, "noise", bob)
        rootly.act_in_rootly(key, "not_noise", bob)
        rootly.act_in_rootly(key, "incident", bob, title="Database outage")
        rootly.act_in_rootly(key, "resolved", bob, "Freed 40 GB")
        rootly.act_in_rootly(key, "retriggered")
        bot.app.services.poller.poll_once()
        [reply] = wait_thread(slack, "C111", message["ts"], 1)  # a burst: one reply
        lines = text_of(reply["blocks"]).splitlines()
        told = [line for line in lines if not line.startswith(">") and "<!date" not in line]
        assert told == [
            "👀 Acknowledged by *Bob Builder*",
            "📝 *Bob Builder* added a note:",
            "💤 Snoozed by *Bob Builder*",
            "📣 Escalated by *Bob Builder* (level 2)",
            "🔇 Marked as noise by *Bob Builder*",
            "🔈 Marked as not noise by *Bob Builder*",
            f"🚨 Linked to incident <{INCIDENT_URL}|#1 Database outage> by *Bob Builder*",
            "✅ Resolved by *Bob Builder*: Freed 40 GB",
            "🔁 Retriggered",
        ]
        assert ">Looking at the disk now" in lines
        # Polling again, and another change of the same alert, tell nothing twice.
        bot.app.services.poller.poll_once()
        bot.app.services.messages.refresh(bot.app.services.backends.get(alert_ref(alert).backend).get_alert(key))
        settle(bot)
        assert len(thread(slack, "C111", message["ts"])) == 1
        # The root message keeps its re-rendered state.
        root = next(m for m in slack.messages("C111") if m["ts"] == message["ts"])
        assert "Triggered" in text_of(root["blocks"]) or "🔴" in text_of(root["blocks"])


def alert_ref(alert: dict[str, Any]) -> Any:
    from bot.domain import AlertRef, Backend

    return AlertRef(Backend.ROOTLY, alert["id"])


def test_a_click_is_told_with_the_clickers_name_and_no_extra_note(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    rootly.add_user("alice@example.com", "Alice Example")
    alert, message = feed_message(bot, rootly, slack)
    started = time.monotonic()
    assert bot.sender.click(Action.ACKNOWLEDGE, f"rootly:{alert['id']}", message=message).status_code == 200
    slack.wait_calls("chat.update", 1, timeout=10)
    [reply] = wait_thread(slack, "C111", message["ts"], 1)
    assert time.monotonic() - started < 8
    text = text_of(reply["blocks"])
    assert "👀 Acknowledged by *Alice Example (in Slack)*" in text
    assert "added a note" not in text  # the attribution note is folded into the line


def test_a_command_typed_elsewhere_reaches_the_thread_through_the_webhook(
    make_bot, rootly: RootlyFake, slack: SlackFake
) -> None:  # type: ignore[no-untyped-def]
    with make_bot(ROOTLY_WEBHOOK_SECRET=WEBHOOK_SECRET, **FAST) as bot:
        alert, message = feed_message(bot, rootly, slack)
        assert (
            bot.sender.slash(f"resolve {alert['attributes']['short_id']} disk cleaned", channel_id="C999").status_code
            == 200
        )
        slack.wait_responses(1, timeout=10)
        started = time.monotonic()
        payload = {
            "event": {"id": str(uuid.uuid4()), "type": "alert.updated", "issued_at": "2024-01-01T00:00:00Z"},
            "data": {"id": alert["id"], "summary": "x", "source": "datadog", "labels": []},
        }
        assert signed_webhook(bot.url, payload).status_code == 202
        [reply] = wait_thread(slack, "C111", message["ts"], 1)
        assert time.monotonic() - started < 5
        assert "✅ Resolved by *Alice Example (in Slack)*: disk cleaned" in text_of(reply["blocks"])


def test_broadcast_of_resolution_is_a_setting(make_bot, rootly: RootlyFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    with make_bot(THREAD_BROADCAST_RESOLVED="true", **FAST) as bot:
        alert, message = feed_message(bot, rootly, slack)
        rootly.act_in_rootly(alert["id"], "acknowledged")
        bot.app.services.poller.poll_once()
        wait_thread(slack, "C111", message["ts"], 1)
        rootly.act_in_rootly(alert["id"], "resolved")
        bot.app.services.poller.poll_once()
        replies = wait_thread(slack, "C111", message["ts"], 2)
        assert "subtype" not in replies[0] and replies[1]["subtype"] == "thread_broadcast"


def test_told_once_across_a_restart(make_bot, rootly: RootlyFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    with make_bot(**FAST) as bot:
        alert, message = feed_message(bot, rootly, slack)
        rootly.act_in_rootly(alert["id"], "acknowledged")
        bot.app.services.poller.poll_once()
        wait_thread(slack, "C111", message["ts"], 1)
    rootly.act_in_rootly(alert["id"], "note", None, "after the restart")
    with make_bot(**FAST) as bot:
        story = bot.app.threads.story  # type: ignore[union-attr]
        assert story.tell(alert_ref(alert)) is True  # reads every event again
        assert story.tell(alert_ref(alert)) is True
        replies = thread(slack, "C111", message["ts"])
        assert len(replies) == 2 and "after the restart" in text_of(replies[1]["blocks"])


def test_two_instances_on_one_postgres_database_tell_each_event_once(
    make_bot, rootly: RootlyFake, slack: SlackFake, postgres_url: str
) -> None:  # type: ignore[no-untyped-def]
    with make_bot(DATABASE_URL=postgres_url, **FAST) as one, make_bot(DATABASE_URL=postgres_url, **FAST) as two:
        alert, message = feed_message(one, rootly, slack)
        for n in range(6):
            rootly.act_in_rootly(alert["id"], "note", None, f"note {n}")
        stories = [one.app.threads.story, two.app.threads.story]  # type: ignore[union-attr]
        start = threading.Barrier(4)

        def tell(story: Any) -> None:
            start.wait()
            for _ in range(20):  # a busy lease answers False: the caller tries again, as the coalescer does
                if story.tell(alert_ref(alert)):
                    return
                time.sleep(0.05)

        workers = [threading.Thread(target=tell, args=(s,)) for s in stories * 2]
        for w in workers:
            w.start()
        for w in workers:
            w.join(20)
        settle(one)
        settle(two)
        text = story_text(slack, "C111", message["ts"])
        for n in range(6):
            assert text.count(f"note {n}") == 1
        assert [text.index(f"note {n}") for n in range(6)] == sorted(text.index(f"note {n}") for n in range(6))


# --- replies become notes ---------------------------------------------------------------------------------------


def test_replies_become_notes_only_where_the_channel_opted_in(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    alice = rootly.add_user("alice@example.com", "Alice Example")
    alert, message = feed_message(bot, rootly, slack)
    root = message["ts"]
    # Not opted in: nothing happens.
    ts = reply_in(slack, "C111", root, "Restarting the db")
    assert send_event(bot, message_event("C111", "Restarting the db", ts=ts, thread_ts=root)).status_code == 200
    time.sleep(0.5)
    assert rootly.notes(alert["id"]) == []
    on = bot.sender.slash("threads on").json()
    assert on["response_type"] == "in_channel" and "become notes" in on["text"]
    ts = reply_in(slack, "C111", root, "Restarting the db now")
    event = message_event("C111", "Restarting the db now", ts=ts, thread_ts=root)
    event_id = f"Ev{uuid.uuid4().hex[:10]}"
    assert send_event(bot, event, event_id=event_id).status_code == 200
    assert send_event(bot, event, event_id=event_id, retry=1).status_code == 200  # Slack's retry: one note
    wait_until(lambda: rootly.notes(alert["id"]), message="the reply did not become a note")
    slack.wait_calls("reactions.add", 1, timeout=10)
    time.sleep(0.3)
    assert rootly.notes(alert["id"]) == [("Restarting the db now", alice)]
    [reaction] = slack.calls("reactions.add")
    assert reaction["timestamp"] == ts and reaction["name"] == "white_check_mark"
    # The note went through the action path: the alert's own message shows it, as for any other surface.
    shown = wait_until(
        lambda: [u for u in slack.calls("chat.update") if u["ts"] == root and "Restarting the db now" in text_of(u)],
        message="the alert message did not show the note",
    )
    assert "Note added by <@" in text_of(shown[-1]["blocks"])
    # Ignored: the bot's own and other bots' messages, edits, deletions, "//" remarks, emoji-only, top-level.
    ignored = [
        message_event("C111", "bot says", ts="1.1", thread_ts=root, bot_id="B0BOT"),
        message_event("C111", "other bot", ts="1.2", thread_ts=root, bot_id="B999", user="U999"),
        message_event(
            "C111",
            "",
            ts="1.3",
            thread_ts=root,
            subtype="message_changed",
            message={"text": "edited", "ts": ts, "thread_ts": root},
        ),
        message_event("C111", "", ts="1.4", thread_ts=root, subtype="message_deleted"),
        message_event("C111", "// just between us", ts="1.5", thread_ts=root),
        message_event("C111", ":+1: 👍🏽", ts="1.6", thread_ts=root),
        message_event("C111", "top level chatter", ts="1.7", thread_ts=None),
        message_event("C111", "a thread that is not an alert's", ts="1.9", thread_ts="1.8"),
    ]
    for event in ignored:
        assert send_event(bot, event).status_code == 200
    time.sleep(0.8)
    assert len(rootly.notes(alert["id"])) == 1
    # No feedback loop: the poller sees the note, and the thread does not get it back.
    bot.app.services.poller.poll_once()
    settle(bot)
    assert "Restarting the db now" not in story_text(slack, "C111", root)
    off = bot.sender.slash("threads off").json()
    assert "no longer" in off["text"]
    ts = reply_in(slack, "C111", root, "after off")
    send_event(bot, message_event("C111", "after off", ts=ts, thread_ts=root))
    time.sleep(0.5)
    assert len(rootly.notes(alert["id"])) == 1


def test_a_reply_without_a_rootly_user_is_signed_and_a_failure_is_explained(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    alert, message = feed_message(bot, rootly, slack)
    root = message["ts"]
    bot.sender.slash("threads on")
    ts = reply_in(slack, "C111", root, "no rootly user here")
    send_event(bot, message_event("C111", "no rootly user here", ts=ts, thread_ts=root))
    slack.wait_calls("reactions.add", 1, timeout=10)
    [(details, user_id)] = rootly.notes(alert["id"])
    assert details == "no rootly user here\n\n— Alice Example (via Slack)" and user_id is None
    too_long = "x" * 10_001
    ts = reply_in(slack, "C111", root, too_long)
    send_event(bot, message_event("C111", too_long, ts=ts, thread_ts=root))
    [failed] = [r for r in wait_thread(slack, "C111", root, 3) if "not added" in r["text"]]
    assert "at most 10,000 characters" in failed["text"]


def test_the_shortcut_adds_one_message_without_opting_in(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alice = rootly.add_user("alice@example.com", "Alice Example")
    alert, message = feed_message(bot, rootly, slack)
    root = message["ts"]
    ts = reply_in(slack, "C111", root, "Root cause: log rotation was off")
    payload = {
        "type": "message_action",
        "token": "verification_token",
        "action_ts": "1583637157.207593",
        "team": {"id": "T111", "domain": "test"},
        "user": {"id": "U111", "name": "alice"},
        "channel": {"id": "C111", "name": "oncall"},
        "callback_id": Callback.NOTE_SHORTCUT.value,
        "trigger_id": "111.222.xxx",
        "message_ts": ts,
        "message": {
            "type": "message",
            "text": "Root cause: log rotation was off",
            "user": "U111",
            "ts": ts,
            "thread_ts": root,
            "parent_user_id": "U0BOT",
        },
        "response_url": bot.sender.response_url,
    }
    assert bot.sender.interactive(payload).status_code == 200
    answer = slack.wait_responses(1, timeout=10)[0]
    assert "Added to" in answer["text"]
    assert rootly.notes(alert["id"]) == [("Root cause: log rotation was off", alice)]
    assert bot.sender.interactive(payload).status_code == 200  # the same message again: not a second note
    assert "already a note" in text_of(slack.wait_responses(2, timeout=10)[1])
    assert len(rootly.notes(alert["id"])) == 1
    # Outside an alert's thread: a form asks which alert (tests/test_thread_note_form_e2e.py).
    top = dict(payload, message={"type": "message", "text": "hi", "user": "U111", "ts": "5.5"})
    bot.sender.interactive(top)
    [opened] = slack.wait_calls("views.open", 1, timeout=10)
    assert opened["view"]["callback_id"] == Callback.NOTE_SHORTCUT_MODAL


# --- ilert ------------------------------------------------------------------------------------------------------


@pytest.fixture
def ilert_bot(make_bot, ilert: IlertFake):  # type: ignore[no-untyped-def]
    with make_bot(**ilert_env(ilert), **FAST) as running:
        yield running


def test_ilert_log_entries_are_told_and_replies_become_comments(
    ilert_bot: RunningBot, ilert: IlertFake, slack: SlackFake
) -> None:
    bot = ilert_bot
    bob = ilert.add_user("bob@example.com", "Bob", "Builder")
    alert_id = ilert.add_alert("Queue backlog", alert_key="q-1")["id"]
    services = bot.app.services
    from bot.domain import Backend

    alert = services.backends.get(Backend.ILERT).get_alert(str(alert_id))
    ts = services.messages.post("C111", alert)
    ilert.accept_as(alert_id, bob)
    services.ilert_poller.poll_once()  # type: ignore[union-attr]
    [reply] = wait_thread(slack, "C111", ts, 1)
    assert "👀 Acknowledged by *bob@example.com*" in text_of(reply["blocks"])
    bot.sender.slash("threads on")
    reply_ts = reply_in(slack, "C111", ts, "draining the queue")
    send_event(bot, message_event("C111", "draining the queue", ts=reply_ts, thread_ts=ts))
    slack.wait_calls("reactions.add", 1, timeout=10)
    assert [c["content"] for c in ilert.comments(alert_id)][-1].startswith("draining the queue")
    services.ilert_poller.poll_once()  # type: ignore[union-attr]
    settle(bot)
    assert "draining the queue" not in story_text(slack, "C111", ts)  # no feedback loop
    assert len([m for m in thread(slack, "C111", ts) if m.get("bot_id")]) == 1
