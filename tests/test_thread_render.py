"""Replies in a list's thread: each headed by its alert, on every reply of a long story, within Slack's limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain import AlertRef, Backend
from bot.domain.timeline import Happening, TimelineEvent
from bot.threads.render import EVENTS_PER_REPLY, alert_heading, story_replies
from tests.test_render_alerts import make_alert

AT = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def notes(n: int) -> list[TimelineEvent]:
    return [TimelineEvent(f"e{i}", Happening.NOTE, AT + timedelta(seconds=i), "Bob", text=f"n{i}") for i in range(n)]


def test_every_reply_of_a_long_story_in_a_list_names_its_alert() -> None:
    alert = make_alert(summary="CPU <above> 95% on api-1")
    heading = alert_heading(alert)
    assert heading.startswith(f"*<{alert.url}|ALT100005>* · ") and "&lt;above&gt;" in heading
    replies = story_replies(notes(EVENTS_PER_REPLY + 3), heading=heading)
    assert [len(told) for told, _ in replies] == [EVENTS_PER_REPLY, 3]
    for _, message in replies:
        assert message["blocks"][0]["text"]["text"] == heading
        assert message["text"].startswith("ALT100005 · CPU")  # the notification names the alert too
        assert len(message["blocks"]) <= 50


def test_an_alert_not_seen_since_the_start_is_headed_by_its_id() -> None:
    assert alert_heading(AlertRef(Backend.ROOTLY, "abc-123")) == "*abc-123*"


def test_an_alerts_own_thread_has_no_heading() -> None:
    [(_, message)] = story_replies(notes(2))
    assert "·" not in message["text"] and message["blocks"][0]["text"]["text"].startswith("📝")
