"""``/rootly digest …``: every form parses to what it means, and every mistake is named."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.digests.schedule import Kind
from bot.digests.service import DigestRequest
from bot.digests.store import Empty
from bot.digests.syntax import DigestList, DigestNow, DigestOff, DigestSubscribe, parse_digest, tokenize
from bot.domain import AlertFilters
from bot.slack import syntax

OPEN = AlertFilters()


def parse(text: str) -> object:
    """As the command listener routes it: the first word (aliases folded) picks the digest folder's parser."""
    word, rest = syntax.split_word(text)
    assert syntax.canonical(word) == "digest"
    return parse_digest(rest)


def request(kind: Kind, spec: str, zone: str | None = None, filters: AlertFilters = OPEN, empty: Empty = Empty.SKIP):
    return DigestSubscribe(DigestRequest(kind, spec, zone, filters, empty))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("digest daily 09:00", request(Kind.DAILY, "09:00")),
        ("digest daily 9am Europe/Berlin", request(Kind.DAILY, "09:00", "Europe/Berlin")),
        ("DIGEST Daily 17:30 europe/berlin", request(Kind.DAILY, "17:30", "Europe/Berlin")),
        ("digest weekdays 09:00", request(Kind.WEEKDAYS, "09:00")),
        ("digest weekdays 08:15 America/New_York", request(Kind.WEEKDAYS, "08:15", "America/New_York")),
        ("digest every 4h", request(Kind.EVERY, "14400")),
        ("digest every 1m", request(Kind.EVERY, "60")),
        ("digest every 4 hours", request(Kind.EVERY, "14400")),
        ("digest every 1h30m UTC", request(Kind.EVERY, "5400", "UTC")),
        ('digest cron "0 9 * * 1-5"', request(Kind.CRON, "0 9 * * 1-5")),
        ('digest cron "0 9 * * 1-5" Europe/Berlin', request(Kind.CRON, "0 9 * * 1-5", "Europe/Berlin")),
        ("digest cron “0 9 * * 1-5” Europe/Berlin", request(Kind.CRON, "0 9 * * 1-5", "Europe/Berlin")),
        ("digest cron '*/15  *  * * *'", request(Kind.CRON, "*/15 * * * *")),
        ("digest cron 0 9 * * 1-5 Asia/Tokyo", request(Kind.CRON, "0 9 * * 1-5", "Asia/Tokyo")),
        (
            "digest daily 09:00 service:payments urgency:High source:datadog status:triggered empty:note",
            request(
                Kind.DAILY,
                "09:00",
                filters=AlertFilters(("triggered",), ("payments",), ("High",), ("datadog",)),
                empty=Empty.NOTE,
            ),
        ),
        (
            "digest every 4h empty:skip service:api",
            request(Kind.EVERY, "14400", filters=AlertFilters(services=("api",))),
        ),
        ("digest list", DigestList()),
        ("digest off", DigestOff(None)),
        ("digest off 3", DigestOff(3)),
        ("digest off #12", DigestOff(12)),
        ("digest now", DigestNow(OPEN)),
        ("digest now service:api status:open", DigestNow(AlertFilters(("open",), ("api",)))),
        ("digests list", DigestList()),
    ],
)
def test_parses(text: str, expected: object) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("digest", "Say when"),
        ("digest hourly", "I don't know `digest hourly`"),
        ("digest daily", "Say at what time"),
        ("digest daily 25:00", "`25:00` is not a time of day"),
        ("digest weekdays noon", "`noon` is not a time of day"),
        ("digest daily 09:00 Mars/Olympus", "`Mars/Olympus` is not a time zone"),
        ("digest daily 09:00 Europe/Berlin Asia/Tokyo", "Two time zones"),
        ("digest every", "Say how often"),
        ("digest every 4x", "`4x` is not an interval"),
        ("digest every 0m", "no time at all"),
        ("digest every 40d", "longer than 31 days"),
        ("digest cron", "Give the cron expression"),
        ('digest cron "0 9 * *"', "has 4"),
        ('digest cron "0 9 * * 8"', "day-of-week field `8`"),
        ('digest cron "0 9 * * 1-5', "never closed"),
        ('digest cron "61 9 * * *"', "minute field `61`"),
        ("digest daily 09:00 colour:red", "I don't understand the filter `colour:red`"),
        ("digest daily 09:00 status:sleeping", "`sleeping` is not an alert status"),
        ("digest daily 09:00 service:", "has no value"),
        ("digest daily 09:00 empty:maybe", "`empty:` takes `skip`"),
        ("digest daily 09:00 payments", "I don't understand `payments` here"),
        ("digest off three", "`three` is not a digest id"),
        ("digest off 3 4", "takes nothing more"),
        ("digest list all", "takes nothing more"),
        ("digest now colour:red", "colour:red"),
    ],
)
def test_mistakes_name_the_bad_part(text: str, fragment: str) -> None:
    parsed = parse(text)
    assert isinstance(parsed, syntax.Invalid), parsed
    assert parsed.command == "digest"
    assert fragment in parsed.problem


def test_usage_is_known_for_the_hint() -> None:
    assert "digest daily 09:00" in syntax.USAGE["digest"] and "off [id]" in syntax.USAGE["digest"]


def test_tokenize_keeps_quoted_runs_whole() -> None:
    assert [t.text for t in tokenize('cron "0 9 * * 1-5" Europe/Berlin')] == ["cron", "0 9 * * 1-5", "Europe/Berlin"]
    assert [t.quoted for t in tokenize("a ‘b c’ d")] == [False, True, False]


@given(
    st.integers(0, 23),
    st.integers(0, 59),
    st.sampled_from(["daily", "weekdays"]),
    st.sampled_from(["", " UTC", " Europe/Berlin"]),
)
def test_any_valid_clock_time_parses(hour: int, minute: int, verb: str, zone: str) -> None:
    parsed = parse(f"digest {verb} {hour}:{minute:02d}{zone}")
    assert isinstance(parsed, DigestSubscribe)
    assert parsed.request.spec == f"{hour:02d}:{minute:02d}"
    assert parsed.request.timezone == (zone.strip() or None)


@given(st.text(max_size=60))
def test_nothing_typed_crashes_the_parser(text: str) -> None:
    parsed = parse("digest " + text)
    assert isinstance(parsed, DigestSubscribe | DigestList | DigestOff | DigestNow | syntax.Invalid)
