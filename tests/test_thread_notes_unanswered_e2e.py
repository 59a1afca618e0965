"""A thread reply whose note got no answer from Rootly (a timeout, a dropped connection) becomes one note: the bot
looks for it on the alert (``listAlertEvents``) before it tries again or queues it, so a write that landed is not
written twice."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.conftest import ROOTLY_TOKEN, RunningBot
from tests.fakes.faults import LateAnswerRootly
from tests.fakes.slack import SlackFake
from tests.test_alert_messages_e2e import feed_message
from tests.test_threads_e2e import FAST, message_event, reply_in, send_event, thread
from tests.waiting import wait_until

NOTE_POST = r"/v1/alerts/[^/]+/events"
# The bot gives up on Rootly after 1 s; the late answer comes after 2.5 s, the note already written.
QUICK = {**FAST, "ROOTLY_TIMEOUT": "1"}


@pytest.fixture
def rootly() -> Iterator[LateAnswerRootly]:
    fake = LateAnswerRootly(token=ROOTLY_TOKEN).start()
    try:
        yield fake
    finally:
        fake.stop()
    assert fake.violations == [], "requests or responses broke the Rootly contract"


def note_writes(rootly: LateAnswerRootly) -> int:
    return len([r for r in rootly.writes("/events") if re.fullmatch(NOTE_POST, r.path)])


def note_reads(rootly: LateAnswerRootly) -> list[str]:
    with rootly._lock:
        return [r.path for r in rootly.requests if r.method == "GET" and re.fullmatch(NOTE_POST, r.path)]


def opted_in_reply(bot: RunningBot, rootly: LateAnswerRootly, slack: SlackFake, text: str) -> tuple[str, str, str]:
    alert, message = feed_message(bot, rootly, slack)
    root = message["ts"]
    bot.sender.slash("threads on")
    ts = reply_in(slack, "C111", root, text)
    return alert["id"], root, ts


def test_a_note_that_landed_before_its_timeout_is_found_not_written_again(
    make_bot, rootly: LateAnswerRootly, slack: SlackFake
) -> None:  # type: ignore[no-untyped-def]
    alice = rootly.add_user("alice@example.com", "Alice Example")
    with make_bot(**QUICK) as bot:
        alert_id, root, ts = opted_in_reply(bot, rootly, slack, "Failing over to the replica")
        rootly.answer_late("POST", NOTE_POST, 2.5)
        event = message_event("C111", "Failing over to the replica", ts=ts, thread_ts=root)
        assert send_event(bot, event, event_id="EvLATE1").status_code == 200
        [reaction] = slack.wait_calls("reactions.add", 1, timeout=15)
        assert reaction["name"] == "white_check_mark" and reaction["timestamp"] == ts
        assert send_event(bot, event, event_id="EvLATE1", retry=1).status_code == 200  # Slack retries: nothing new
        assert rootly.notes(alert_id) == [("Failing over to the replica", alice)]
        assert note_writes(rootly) == 1  # looked for, found: never sent again
        assert note_reads(rootly), "the alert's notes were not read before deciding"
        assert bot.app.services.outbox_store.depth() == 0
        assert not [m for m in thread(slack, "C111", root) if "not" in str(m.get("text"))]


def test_a_signed_note_is_recognised_by_its_signature(make_bot, rootly: LateAnswerRootly, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    # No Rootly user for alice@example.com: the note is the API key's, signed with her name.
    with make_bot(**QUICK) as bot:
        alert_id, root, ts = opted_in_reply(bot, rootly, slack, "Disk at 91%")
        # Someone else's note with the same words, unsigned, is not taken for hers.
        rootly.act_in_rootly(alert_id, "note", None, "Disk at 91%")
        rootly.answer_late("POST", NOTE_POST, 2.5)
        send_event(bot, message_event("C111", "Disk at 91%", ts=ts, thread_ts=root))
        slack.wait_calls("reactions.add", 1, timeout=15)
        assert rootly.notes(alert_id) == [("Disk at 91%", None), ("Disk at 91%\n\n— Alice Example (via Slack)", None)]
        assert note_writes(rootly) == 1


def test_a_note_lost_on_the_way_is_sent_again_once(make_bot, rootly: LateAnswerRootly, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    alice = rootly.add_user("alice@example.com", "Alice Example")
    with make_bot(**QUICK) as bot:
        alert_id, root, ts = opted_in_reply(bot, rootly, slack, "Rolling back deploy 4411")
        rootly.script("POST", NOTE_POST + "$", "drop")  # the connection drops: nothing written, no answer
        send_event(bot, message_event("C111", "Rolling back deploy 4411", ts=ts, thread_ts=root))
        [reaction] = slack.wait_calls("reactions.add", 1, timeout=15)
        assert reaction["name"] == "white_check_mark"
        assert rootly.notes(alert_id) == [("Rolling back deploy 4411", alice)]
        assert note_writes(rootly) == 2  # the dropped one, then the one that landed after looking


def test_when_rootly_cannot_be_asked_the_note_is_queued_and_checked_before_sending(
    make_bot, rootly: LateAnswerRootly, slack: SlackFake
) -> None:  # type: ignore[no-untyped-def]
    alice = rootly.add_user("alice@example.com", "Alice Example")
    with make_bot(**QUICK) as bot:
        alert_id, root, ts = opted_in_reply(bot, rootly, slack, "Paging the DBA")
        rootly.answer_late("POST", NOTE_POST, 2.5)
        send_event(bot, message_event("C111", "Paging the DBA", ts=ts, thread_ts=root))
        wait_until(lambda: note_writes(rootly) == 1, message="the note was not sent")
        rootly.down = 503  # written, but Rootly goes down before the bot can look
        [reaction] = slack.wait_calls("reactions.add", 1, timeout=15)
        assert reaction["name"] == "hourglass_flowing_sand"
        [said] = wait_until(lambda: [m for m in thread(slack, "C111", root) if "not a note yet" in m["text"]])
        assert "Rootly did not answer" in said["text"]
        assert bot.app.services.outbox_store.depth() == 1
        rootly.down = None
        assert bot.app.services.outbox.deliver_due() == 1
        assert rootly.notes(alert_id) == [("Paging the DBA", alice)]  # found on the alert: not sent again
        assert note_writes(rootly) == 1
        told = wait_until(lambda: [c for c in slack.calls("chat.postEphemeral") if c.get("user") == "U111"])
        assert "Paging the DBA" in str(told[-1]) or "note" in str(told[-1]).lower()
