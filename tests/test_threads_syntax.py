"""Which Slack messages may become notes, the threads command, and folding the bot's attribution notes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.timeline import Happening, TimelineEvent
from bot.slack import syntax
from bot.threads.render import fold_attribution, story_replies
from bot.threads.syntax import ThreadsOff, ThreadsOn, ThreadsStatus, only_emoji, parse_threads, thread_reply

REPLY = {"type": "message", "channel": "C1", "user": "U1", "text": "on it", "ts": "2.0", "thread_ts": "1.0"}


def test_a_persons_reply_in_a_thread_is_a_candidate() -> None:
    found = thread_reply(REPLY | {"channel_type": "group"})
    assert found is not None and (found.channel, found.thread_ts, found.ts, found.text) == ("C1", "1.0", "2.0", "on it")


@pytest.mark.parametrize(
    "change",
    [
        {"bot_id": "B1"},
        {"subtype": "message_changed"},
        {"subtype": "message_deleted"},
        {"subtype": "bot_message"},
        {"thread_ts": None},
        {"thread_ts": "2.0"},  # the thread's root itself
        {"text": "// aside"},
        {"text": "  :tada: :+1:"},
        {"text": "👍🏽✅"},
        {"channel_type": "im"},
        {"user": None},
    ],
)
def test_what_never_becomes_a_note(change: dict) -> None:
    assert thread_reply({k: v for k, v in (REPLY | change).items() if v is not None}) is None


def test_emoji_with_words_is_text() -> None:
    assert not only_emoji("👍 restarted it") and only_emoji(":white_check_mark:")


def parse(text: str) -> object:
    """As the command listener routes it: the first word picks the threads folder's parser."""
    word, rest = syntax.split_word(text)
    assert syntax.canonical(word) == "threads"
    return parse_threads(rest)


def test_threads_command() -> None:
    assert isinstance(parse("threads on"), ThreadsOn)
    assert isinstance(parse("threads off"), ThreadsOff)
    assert isinstance(parse("threads"), ThreadsStatus)
    invalid = parse("threads maybe")
    assert isinstance(invalid, syntax.Invalid) and "`maybe`" in invalid.problem


AT = datetime(2025, 1, 1, tzinfo=UTC)


def test_attribution_notes_fold_into_their_action_and_others_stay() -> None:
    events = [
        TimelineEvent("1", Happening.ACKNOWLEDGED, AT, by="Rootly Bot"),
        TimelineEvent("2", Happening.NOTE, AT, by="Rootly Bot", text="Acknowledged in Slack by Alice Example"),
        TimelineEvent("3", Happening.NOTE, AT, by="Bob", text="Snoozed in Slack by Carol"),  # no snooze here
        TimelineEvent("4", Happening.RESOLVED, AT, by="Rootly Bot", text="Resolved in Slack by Alice Example"),
    ]
    folded = fold_attribution(events)
    assert [(e.id, e.by, e.text) for e in folded] == [
        ("1", "Alice Example (in Slack)", None),
        ("3", "Bob", "Snoozed in Slack by Carol"),
        ("4", "Alice Example (in Slack)", None),
    ]


def test_a_storm_is_split_into_replies_within_slacks_limits() -> None:
    events = [TimelineEvent(str(n), Happening.NOTE, AT, by="Bob", text="x" * 3000) for n in range(45)]
    replies = story_replies(events)
    assert [len(chunk) for chunk, _ in replies] == [20, 20, 5]
    for _, message in replies:
        assert len(message["blocks"]) <= 50 and all(
            len(b.get("text", {}).get("text", "")) <= 3000 for b in message["blocks"]
        )
