"""Slack markup → readable text, titles from messages, timeline lines (bot.incidents.thread_text)."""

from __future__ import annotations

import pytest

from bot.incidents.thread_text import ThreadMessage, slack_to_text, timeline_entry, title_from

NAMES = {"U1": "Alice Example", "U2": "Bob"}
CHANNELS = {"C1": "payments-ops"}


def text(raw: str) -> str:
    return slack_to_text(raw, user_name=lambda u: NAMES.get(u, u), channel_name=lambda c: CHANNELS.get(c, c))


@pytest.mark.parametrize(
    ("raw", "readable"),
    [
        ("ping <@U1>", "ping @Alice Example"),
        ("ping <@U9|legacy>", "ping @legacy"),
        ("in <#C1>", "in #payments-ops"),
        ("in <#C7|general>", "in #general"),
        ("<!here> <!channel> <!everyone>", "@here @channel @everyone"),
        ("<!subteam^S1|@sre> look", "@sre look"),
        ("<!subteam^S1>", "@group"),
        ("at <!date^1700000000^{time}|10:13 PM>", "at 10:13 PM"),
        ("<https://x.example/a?b=1&amp;c=2|the graph>", "the graph (https://x.example/a?b=1&c=2)"),
        ("<https://x.example/a>", "https://x.example/a"),
        ("<https://x.example/a|https://x.example/a>", "https://x.example/a"),
        ("<mailto:sre@example.com|sre@example.com>", "sre@example.com"),
        ("1 &lt; 2 &amp;&amp; 3 &gt; 2", "1 < 2 && 3 > 2"),
        ("```\nif a &lt;b&gt; c:\n```", "```\nif a <b> c:\n```"),  # Slack escapes < > in code too
        (":fire: *bold* _it_", ":fire: *bold* _it_"),
        ("", ""),
    ],
)
def test_slack_markup_becomes_readable_text(raw: str, readable: str) -> None:
    assert text(raw) == readable


def test_an_escaped_angle_bracket_is_not_taken_for_markup() -> None:
    assert text("&lt;@U1&gt; is literal") == "<@U1> is literal"


@pytest.mark.parametrize(
    ("message", "title"),
    [
        ("\n\n  Checkout   is *down*  \nmore", "Checkout is down"),
        ("> quoted first line\nsecond", "quoted first line"),
        ("```\n```\nTraceback here\n```", "Traceback here"),
        ("• bullet point", "bullet point"),
        ("`inline` code", "inline code"),
        ("", ""),
    ],
)
def test_titles_come_from_the_first_line_with_words(message: str, title: str) -> None:
    assert title_from(message, 255) == title


def test_titles_are_bounded() -> None:
    title = title_from("x" * 400, 255)
    assert len(title) == 255 and title.endswith("…")


def test_timeline_entries_read_as_time_name_text() -> None:
    message = ThreadMessage(ts="1700000000.000100", text="ignored here", user_id="U1")
    assert timeline_entry(message, "Alice Example", "it broke", 10_000) == "[22:13Z] Alice Example: it broke"
    with_file = ThreadMessage(ts="1700000000.000100", text="", files=("trace.log", "shot.png"))
    assert timeline_entry(with_file, "Bob", "", 10_000) == "[22:13Z] Bob: [file: trace.log, shot.png]"
    assert timeline_entry(message, "Bob", "", 10_000).endswith("Bob: (no text)")
    assert len(timeline_entry(message, "Bob", "y" * 20_000, 10_000)) == 10_000
