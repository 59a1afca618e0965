"""When digests are due: clock times, intervals, cron's own meaning, zones, DST changes and slot keys."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.digests.schedule import (
    Cron,
    Kind,
    Schedule,
    ScheduleError,
    interval_anchor,
    local_words,
    parse_clock,
    parse_interval,
    parse_zone,
    until_words,
)

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def local(zone: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold)  # type: ignore[misc]


# --- words ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("word", "expected"),
    [("09:00", "09:00"), ("9:00", "09:00"), ("23:59", "23:59"), ("0:05", "00:05"), ("9am", "09:00"),
     ("12am", "00:00"), ("12pm", "12:00"), ("5:15pm", "17:15"), ("9 a.m.", "09:00")],
)  # fmt: skip
def test_clock_times(word: str, expected: str) -> None:
    assert parse_clock(word) == expected


@pytest.mark.parametrize("word", ["24:00", "25:00", "9", "09:60", "13pm", "0am", "nine", "", "09:0", "9.30"])
def test_bad_clock_times_are_named(word: str) -> None:
    with pytest.raises(ScheduleError, match="is not a time of day"):
        parse_clock(word)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1m", 60), ("30m", 1800), ("4h", 14400), ("1h30m", 5400), ("1d", 86400), ("4 hours", 14400), ("hour", 3600),
     ("90min", 5400), ("2days", 172800), ("31d", 31 * 86400), ("45s", 45)],
)  # fmt: skip
def test_intervals(text: str, seconds: int) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize(
    ("text", "problem"),
    [("4x", "is not an interval"), ("h4", "is not an interval"), ("", "is not an interval"), ("0m", "no time at all"),
     ("32d", "longer than 31 days"), ("4h and", "is not an interval"), ("-4h", "is not an interval")],
)  # fmt: skip
def test_bad_intervals_are_named(text: str, problem: str) -> None:
    with pytest.raises(ScheduleError, match=problem):
        parse_interval(text)


def test_zones_are_canonical_and_unknown_ones_named() -> None:
    assert parse_zone("europe/berlin") == BERLIN
    assert parse_zone("UTC") == "UTC"
    with pytest.raises(ScheduleError, match="`Mars/Olympus` is not a time zone"):
        parse_zone("Mars/Olympus")


def test_local_words_and_until_words() -> None:
    assert local_words(datetime(2026, 11, 27, 8, tzinfo=UTC), BERLIN) == "Fri 27 Nov 2026, 09:00 CET"
    assert until_words(timedelta(hours=14, minutes=5, seconds=3)) == "in 14 h 5 min"
    assert until_words(timedelta(days=2, hours=1)) == "in 2 d 1 h"
    assert until_words(timedelta(seconds=30)) == "in 30 s"


# --- cron ---------------------------------------------------------------------------------------------------------
def test_weekday_0_and_7_are_sunday_not_monday() -> None:
    """APScheduler's from_crontab would count 0 as Monday; cron means Sunday."""
    for expression in ("0 9 * * 0", "0 9 * * 7", "0 9 * * sun", "0 9 * * SUN"):
        sched = Schedule(Kind.CRON, expression, "UTC")
        due = sched.upcoming(datetime(2026, 11, 23, tzinfo=UTC), 3)  # from a Monday
        assert [d.date() for d in due] == [date(2026, 11, 29), date(2026, 12, 6), date(2026, 12, 13)]
        assert all(d.isoweekday() == 7 for d in due)


def test_weekday_ranges_in_cron_numbering() -> None:
    sched = Schedule(Kind.CRON, "0 9 * * 1-5", "UTC")
    due = sched.upcoming(datetime(2026, 11, 27, 10, tzinfo=UTC), 3)  # Friday after 09:00
    assert [d.strftime("%a %H:%M") for d in due] == ["Mon 09:00", "Tue 09:00", "Wed 09:00"]
    assert Cron.parse("0 9 * * 5-7").weekdays == (0, 5, 6)  # Friday, Saturday, Sunday


def test_day_of_month_or_day_of_week_when_both_are_restricted() -> None:
    """Vixie cron: "0 9 1 * mon" runs on the 1st and on every Monday, not only on Mondays that are the 1st."""
    sched = Schedule(Kind.CRON, "0 9 1 * mon", "UTC")
    due = sched.upcoming(datetime(2026, 11, 26, tzinfo=UTC), 4)
    assert [d.date() for d in due] == [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 7), date(2026, 12, 14)]
    starred = Schedule(Kind.CRON, "0 9 */2 * mon", "UTC")  # a field starting with * does not restrict
    assert all(d.isoweekday() == 1 for d in starred.upcoming(datetime(2026, 11, 26, tzinfo=UTC), 4))


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("0 9 * * 1-5", "at 09:00 on Monday to Friday"),
        ("*/15 * * * *", "every 15 minutes"),
        ("* * * * *", "every minute"),
        ("30 2 * * *", "at 02:30 every day"),
        ("0 0,12 * * 0,7", "at 00:00 and 12:00 on Sunday"),
        ("0 9 1 * mon", "at 09:00 on day 1 of the month or on Monday"),
        ("0 9 * jan,jul sat,sun", "at 09:00 on Saturday and Sunday in January and July"),
        ("5/20 8-9 * * *", "at 08:05, 08:25, 08:45, 09:05, 09:25 and 09:45 every day"),
    ],
)
def test_cron_in_words(expression: str, words: str) -> None:
    assert Cron.parse(expression).describe() == words


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("0 9 * *", "has 4"),
        ("0 9 * * * *", "has 6"),
        ("60 9 * * *", "minute field `60`"),
        ("0 24 * * *", "hour field `24`"),
        ("0 9 0 * *", "day-of-month field `0`"),
        ("0 9 * 13 *", "month field `13`"),
        ("0 9 * * 8", "day-of-week field `8`"),
        ("0 9 * * 1-8", "day-of-week field `1-8`"),
        ("0 9 L * *", "`L`, which is not a value"),
        ("0 9 * * MON#2", "`MON#2`"),
        ("*/0 * * * *", "step `/0`"),
        ("0 9 5-1 * *", "runs backwards"),
        ("0 9 1,,2 * *", "empty list item"),
    ],
)
def test_bad_cron_names_the_field(expression: str, fragment: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        Cron.parse(expression)
    assert fragment in str(caught.value)


def _cron_field(low: int, high: int, names: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    value = st.integers(low, high).map(str)
    if names:
        value = value | st.sampled_from(names)
    rng = st.tuples(st.integers(low, high), st.integers(low, high)).map(lambda t: f"{min(t)}-{max(t)}")
    step = st.tuples(st.sampled_from(["*", f"{low}-{high}"]), st.integers(1, max(1, high - low))).map(
        lambda t: f"{t[0]}/{t[1]}"
    )
    item = value | rng | step
    return st.just("*") | st.lists(item, min_size=1, max_size=3).map(",".join)


CRONS = st.tuples(
    _cron_field(0, 59),
    _cron_field(0, 23),
    _cron_field(1, 28),
    _cron_field(1, 12, ("jan", "mar", "dec")),
    _cron_field(0, 7, ("sun", "mon", "fri")),
).map(" ".join)


def _reference_next(cron: Cron, after: datetime) -> datetime:
    """Cron's meaning, by brute force over days: the first matching minute at or after ``after`` (UTC)."""
    day = after.replace(hour=0, minute=0, second=0, microsecond=0)
    for _ in range(366 * 5):
        dom, dow = day.day in cron.days, (day.isoweekday() % 7) in cron.weekdays
        if cron.days_restricted and cron.weekdays_restricted:
            day_ok = dom or dow
        else:
            day_ok = (dom or not cron.days_restricted) and (dow or not cron.weekdays_restricted)
        if day_ok and day.month in cron.months:
            for hour in cron.hours:
                for minute in cron.minutes:
                    candidate = day.replace(hour=hour, minute=minute)
                    if candidate >= after:
                        return candidate
        day += timedelta(days=1)
    raise AssertionError("no match in five years")


@settings(max_examples=150, deadline=None)
@given(CRONS, st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31)))
def test_cron_trigger_agrees_with_cron_by_brute_force(expression: str, start: datetime) -> None:
    cron = Cron.parse(expression)
    after = start.replace(second=0, microsecond=0, tzinfo=UTC)
    fired = Schedule(Kind.CRON, expression, "UTC").next_slot(after)
    assert fired == _reference_next(cron, after)


# --- DST ------------------------------------------------------------------------------------------------------------
def _fired(sched: Schedule, start: datetime, end: datetime) -> list[datetime]:
    found = []
    for slot in sched.upcoming(start, 400):
        if slot > end:
            break
        found.append(slot)
    return found


@pytest.mark.parametrize(("zone", "day"), [(BERLIN, date(2026, 10, 25)), (NEW_YORK, date(2026, 11, 1))])
def test_autumn_change_fires_twice_but_is_one_slot(zone: str, day: date) -> None:
    """A raw trigger at the repeated hour fires twice on the change; both firings carry one slot key."""
    hour = 2 if zone == BERLIN else 1
    sched = Schedule(Kind.CRON, f"30 {hour} * * *", zone)
    start = datetime.combine(day - timedelta(days=1), datetime.min.time(), ZoneInfo(zone))
    fired = _fired(sched, start, start + timedelta(days=3))
    keys = [sched.slot_key(f) for f in fired]
    assert len(fired) == 4  # the day before, twice on the change day, the day after
    assert len(set(keys)) == 3
    assert keys.count(f"{day.isoformat()}T{hour:02d}:30") == 2


@pytest.mark.parametrize(("zone", "day"), [(BERLIN, date(2026, 3, 29)), (NEW_YORK, date(2026, 3, 8))])
def test_spring_change_neither_skips_nor_doubles(zone: str, day: date) -> None:
    """02:30 does not exist on the change day: the digest comes an hour later in wall time, once."""
    sched = Schedule(Kind.DAILY, "02:30", zone)
    start = datetime.combine(day - timedelta(days=1), datetime.min.time(), ZoneInfo(zone))
    fired = _fired(sched, start, start + timedelta(days=3))
    assert [sched.slot_key(f) for f in fired] == [
        f"{day - timedelta(days=1)}T02:30",
        f"{day}T03:30",
        f"{day + timedelta(days=1)}T02:30",
    ]
    assert fired[1].astimezone(UTC).astimezone(ZoneInfo(zone)).strftime("%H:%M") == "03:30"


@pytest.mark.parametrize("zone", [BERLIN, NEW_YORK])
def test_daily_digest_keeps_its_wall_clock_time_across_both_changes(zone: str) -> None:
    sched = Schedule(Kind.DAILY, "09:00", zone)
    for start in (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 10, 20, tzinfo=UTC)):
        fired = sched.upcoming(start, 30)
        assert {f.astimezone(ZoneInfo(zone)).strftime("%H:%M") for f in fired} == {"09:00"}
        assert len({sched.slot_key(f) for f in fired}) == 30
        assert len({f.date() for f in fired}) == 30


def test_latest_slot_identifies_both_autumn_firings_as_one() -> None:
    sched = Schedule(Kind.DAILY, "02:30", BERLIN)
    first = local(BERLIN, 2026, 10, 25, 2, 30, fold=0)
    second = local(BERLIN, 2026, 10, 25, 2, 30, fold=1)
    assert second.astimezone(UTC) - first.astimezone(UTC) == timedelta(hours=1)
    at_first = sched.latest_slot(first + timedelta(seconds=2), timedelta(minutes=15))
    at_second = sched.latest_slot(second + timedelta(seconds=2), timedelta(minutes=15))
    assert at_first is not None and at_second is not None
    assert sched.slot_key(at_first) == sched.slot_key(at_second) == "2026-10-25T02:30"


def test_weekdays_skip_the_weekend_in_the_zone() -> None:
    sched = Schedule(Kind.WEEKDAYS, "09:00", NEW_YORK)
    due = sched.upcoming(datetime(2026, 11, 27, 15, tzinfo=UTC), 3)  # Friday 10:00 in New York
    assert [d.astimezone(ZoneInfo(NEW_YORK)).strftime("%a %d %H:%M") for d in due] == [
        "Mon 30 09:00",
        "Tue 01 09:00",
        "Wed 02 09:00",
    ]


# --- intervals ----------------------------------------------------------------------------------------------------
def test_every_4h_runs_across_midnight_from_its_anchor() -> None:
    anchor = interval_anchor(datetime(2026, 11, 26, 21, 17, 33, tzinfo=UTC), 4 * 3600)
    assert anchor == datetime(2026, 11, 26, 21, 17, tzinfo=UTC)
    sched = Schedule(Kind.EVERY, str(4 * 3600), BERLIN, anchor)
    due = sched.upcoming(datetime(2026, 11, 26, 22, tzinfo=UTC), 4)
    assert [d.astimezone(ZoneInfo(BERLIN)).strftime("%d %H:%M") for d in due] == [
        "27 02:17",
        "27 06:17",
        "27 10:17",
        "27 14:17",
    ]
    assert [sched.slot_key(d) for d in due[:2]] == ["2026-11-27T01:17:00Z", "2026-11-27T05:17:00Z"]


def test_every_4h_keeps_elapsed_time_across_the_spring_change() -> None:
    anchor = datetime(2026, 3, 28, 21, 0, tzinfo=UTC)  # 22:00 CET
    sched = Schedule(Kind.EVERY, str(4 * 3600), BERLIN, anchor)
    due = sched.upcoming(anchor + timedelta(minutes=1), 3)
    assert [d.astimezone(ZoneInfo(BERLIN)).strftime("%H:%M %Z") for d in due] == [
        "03:00 CEST",
        "07:00 CEST",
        "11:00 CEST",
    ]
    gaps = {b.astimezone(UTC) - a.astimezone(UTC) for a, b in itertools.pairwise(due)}
    assert gaps == {timedelta(hours=4)}


def test_latest_slot_is_the_newest_within_the_lookback() -> None:
    anchor = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    sched = Schedule(Kind.EVERY, "60", "UTC", anchor)
    now = datetime(2026, 11, 26, 9, 10, 20, tzinfo=UTC)
    assert sched.latest_slot(now, timedelta(minutes=5)) == datetime(2026, 11, 26, 9, 10, tzinfo=UTC)
    assert sched.latest_slot(now, timedelta(seconds=10)) is None
    assert sched.period(now) == timedelta(minutes=1)


def test_describe_says_the_zone() -> None:
    assert Schedule(Kind.DAILY, "09:00", BERLIN).describe() == "every day at 09:00, Europe/Berlin time"
    assert Schedule(Kind.EVERY, "14400", "UTC").describe() == "every 4 hours, UTC time"
    assert "Monday to Friday" in Schedule(Kind.WEEKDAYS, "09:00", "UTC").describe()
    assert "(cron `0 9 * * 1-5`)" in Schedule(Kind.CRON, "0 9 * * 1-5", "UTC").describe()


@pytest.mark.parametrize(
    ("zone", "gap_end"),
    [(BERLIN, datetime(2026, 3, 29, 1, 0, tzinfo=UTC)), (NEW_YORK, datetime(2026, 3, 8, 7, 0, tzinfo=UTC))],
)
def test_the_slot_moved_out_of_the_spring_gap_is_found_after_the_change(zone: str, gap_end: datetime) -> None:
    """Asked from after the change, APScheduler alone would move 02:30 to the next day; the scheduler itself fires
    it at 03:30 summer time, and the firing must find its slot (a regression test)."""
    sched = Schedule(Kind.DAILY, "02:30", zone)
    fired = gap_end + timedelta(minutes=30)  # 03:30 summer time, the first instant after the change
    # (compared as UTC instants: Python's == between zones is always False for a time in a DST gap, PEP 495)
    assert sched.next_slot(gap_end + timedelta(minutes=10)).astimezone(UTC) == fired  # type: ignore[union-attr]
    latest = sched.latest_slot(fired + timedelta(seconds=2), timedelta(minutes=15))
    assert latest is not None and latest.astimezone(UTC) == fired and sched.slot_key(latest).endswith("T03:30")
