"""The timeline shortcut's pure parts: what the modal carries (within Slack's 3,000 characters of private_metadata)
and the event text."""

from __future__ import annotations

import pytest

from bot.incidents.timeline_entry import ENTRY_MAX, METADATA_MAX, SHORTENED, Quoted, entry_text


def quoted(text: str, **kw: object) -> Quoted:
    fields: dict = {"channel": "C1", "ts": "1764994327.000200", "text": text, "author": "Bob Example"}
    return Quoted(**{**fields, "user_id": "U2", "permalink": "https://x.slack.com/archives/C1/p1", **kw})


@pytest.mark.parametrize("unit", ['"', "\\", "\n", "é", "🔥", "a"])
def test_the_metadata_fits_whatever_the_text_is_made_of(unit: str) -> None:
    raw = quoted(unit * 50_000).encode()
    assert len(raw) <= METADATA_MAX
    back = Quoted.decode(raw)
    assert back.cut and back.text and set(back.text) == {unit} and back.permalink


def test_a_short_message_rides_whole_and_round_trips() -> None:
    original = quoted("p99 is 4s", incident_id="abc", incident_ref="INC-4")
    assert Quoted.decode(original.encode()) == original


@pytest.mark.parametrize(
    "raw", ["", "[]", '{"channel": "C1"}', '{"x": 1}', "not json", '{"channel":"","ts":"1","text":"","author":"a"}']
)
def test_metadata_the_bot_did_not_write_is_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        Quoted.decode(raw)


def test_the_event_names_author_time_link_and_comment() -> None:
    assert entry_text(quoted("the replica lags"), " why it matters ") == (
        "Slack message from Bob Example (<@U2>), 2025-12-06 04:12:07 UTC:\n"
        "the replica lags\n"
        "https://x.slack.com/archives/C1/p1\n"
        "Comment: why it matters"
    )


def test_a_bot_message_has_no_mention_and_a_shortened_one_says_so() -> None:
    entry = entry_text(quoted("", user_id=None, author="Deploy Bot", cut=True, permalink=None))
    assert entry == f"Slack message from Deploy Bot, 2025-12-06 04:12:07 UTC:\n(no text){SHORTENED}"


def test_the_event_stays_within_the_bound_by_shortening_the_comment() -> None:
    entry = entry_text(quoted("m" * 2900), "c" * 20_000)
    assert len(entry) <= ENTRY_MAX and "m" * 2900 in entry and entry.endswith("…")
