"""When digests are due: the schedule grammar, its APScheduler triggers and DST-safe slot keys. Pure, no I/O.

``daily 09:00``, ``weekdays 09:00``, ``every 4h`` and ``cron "0 9 * * 1-5"``, each in an IANA time zone.
APScheduler's triggers compute the fire times; this module gives cron expressions cron's own meaning (weekday 0
and 7 are Sunday; when both day-of-month and day-of-week are restricted, either may match) and names each
digest by a *slot key*:

* calendar schedules (daily, weekdays, cron): the slot's local date and time, ``2026-10-25T02:30``. On the
  October change a raw 02:30 Europe/Berlin trigger fires twice (02:30 CEST, then 02:30 CET); both firings carry
  the same key, so the digest is claimed, and posted, once. A 02:30 that does not exist (March) fires at 03:30
  CEST under its own key, so it is not skipped either.
* intervals (``every 4h``): elapsed time from an anchor, keyed by the UTC instant. DST does not touch them: the
  wall-clock times shift by the hour, the gap between digests stays four hours.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

MAX_INTERVAL = timedelta(days=31)
_DST_MARGIN = timedelta(hours=3)  # more than any zone's clock change
DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December")  # fmt: skip
_APS_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # cron's 0..6 (7 is folded into 0)
CRON_SYNTAX = "`minute hour day-of-month month day-of-week`, e.g. `0 9 * * 1-5` (weekdays at 09:00)"


class ScheduleError(ValueError):
    """A schedule the bot cannot use; the message names the bad part and shows the accepted form."""


class Kind(StrEnum):
    DAILY = "daily"
    WEEKDAYS = "weekdays"
    EVERY = "every"
    CRON = "cron"


# --- time zones -------------------------------------------------------------------------------------------------
_ZONE_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)+$|^(UTC|GMT|utc|gmt)$")


def looks_like_zone(word: str) -> bool:
    """``Area/City`` (or UTC): what a person types as a zone, as opposed to a filter (``key:value``)."""
    return bool(_ZONE_LIKE.match(word))


@cache
def _zones_by_lower() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def parse_zone(word: str) -> str:
    """The canonical IANA name (case-insensitive), or :class:`ScheduleError` naming the unknown zone."""
    candidate = _zones_by_lower().get(word.lower(), word)
    try:
        ZoneInfo(candidate)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"`{word[:60]}` is not a time zone I know: use an IANA name such as `Europe/Berlin`,"
            " `America/New_York` or `UTC`."
        ) from None
    return candidate


# --- clock times and intervals ----------------------------------------------------------------------------------
_CLOCK = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*([ap]\.?m\.?)?$", re.I)


def parse_clock(word: str) -> str:
    """``09:00``, ``9:30``, ``9am``, ``5:15pm`` → ``HH:MM`` (24-hour)."""
    match = _CLOCK.match(word.strip())
    if match and (match.group(2) is not None or match.group(3)):
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        suffix = (match.group(3) or "").lower().replace(".", "")
        if suffix and 1 <= hour <= 12:
            hour = hour % 12 + (12 if suffix == "pm" else 0)
        elif suffix:
            hour = 99
        if hour <= 23 and minute <= 59:
            return f"{hour:02d}:{minute:02d}"
    raise ScheduleError(f"`{word[:40]}` is not a time of day: use HH:MM on the 24-hour clock, e.g. `09:00` or `17:30`.")


_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
}  # fmt: skip
_PART = re.compile(r"(\d+)\s*([a-z]+)")


def parse_interval(text: str) -> int:
    """``4h``, ``30m``, ``1h30m``, ``4 hours``, ``hour`` → seconds (at least 1, at most :data:`MAX_INTERVAL`)."""
    raw = text.strip().lower()
    if raw in _UNITS:  # "every hour", "every day"
        raw = "1" + raw
    parts = _PART.findall(raw)
    if not parts or _PART.sub("", raw).strip() or any(unit not in _UNITS for _, unit in parts):
        raise ScheduleError(
            f"`{text[:40]}` is not an interval: write a number and a unit, e.g. `every 30m`, `every 4h` or `every 1d`."
        )
    seconds = sum(int(n) * _UNITS[unit] for n, unit in parts)
    if seconds <= 0:
        raise ScheduleError(f"`{text[:40]}` is no time at all: the shortest interval is `every 1m`.")
    if seconds > MAX_INTERVAL.total_seconds():
        raise ScheduleError(f"`{text[:40]}` is longer than 31 days: use `cron` for rarer digests.")
    return seconds


def interval_words(seconds: int) -> str:
    """4 hours, 90 minutes, 1 day 2 hours: how a person would say it."""
    if seconds % 86400 == 0:
        n, unit = seconds // 86400, "day"
    elif seconds % 3600 == 0:
        n, unit = seconds // 3600, "hour"
    elif seconds % 60 == 0:
        n, unit = seconds // 60, "minute"
    else:
        n, unit = seconds, "second"
    return unit if n == 1 else f"{n} {unit}s"


# --- cron ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # index + low → value
    hint: str = ""


_FIELDS = (
    _Field("minute", 0, 59, hint="0–59"),
    _Field("hour", 0, 23, hint="0–23"),
    _Field("day-of-month", 1, 31, hint="1–31"),
    _Field("month", 1, 12, tuple(m[:3].lower() for m in MONTH_NAMES), "1–12 or JAN–DEC"),
    _Field("day-of-week", 0, 7, tuple(d[:3].lower() for d in DAY_NAMES), "0–7 (0 and 7 are Sunday) or SUN–SAT"),
)


@dataclass(frozen=True)
class Cron:
    """A parsed five-field cron expression: the values each field allows, in cron's numbering."""

    text: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]
    months: tuple[int, ...]
    weekdays: tuple[int, ...]  # 0 = Sunday … 6 = Saturday (7 folded into 0)
    days_restricted: bool  # cron: a field starting with "*" does not restrict
    weekdays_restricted: bool

    @classmethod
    def parse(cls, text: str) -> Cron:
        fields = text.split()
        if len(fields) != 5:
            raise ScheduleError(f"A cron expression has 5 fields ({CRON_SYNTAX}); `{text[:80]}` has {len(fields)}.")
        values = [_parse_field(raw, spec, text) for raw, spec in zip(fields, _FIELDS, strict=True)]
        weekdays = tuple(sorted({d % 7 for d in values[4]}))
        return cls(
            " ".join(fields),
            *(tuple(v) for v in values[:4]),
            weekdays,
            days_restricted=not fields[2].startswith("*"),
            weekdays_restricted=not fields[4].startswith("*"),
        )

    def trigger(self, zone: ZoneInfo) -> BaseTrigger:
        """APScheduler's trigger with cron's meaning: weekday names (no 0-is-Monday), and OR of the two day fields."""
        common = {
            "minute": _csv(self.minutes),
            "hour": _csv(self.hours),
            "month": _csv(self.months),
            "timezone": zone,
        }
        by_weekday = CronTrigger(day_of_week=",".join(_APS_DAYS[d] for d in self.weekdays), **common)
        by_day = CronTrigger(day=_csv(self.days), **common)
        if self.days_restricted and self.weekdays_restricted:
            return OrTrigger([by_day, by_weekday])
        if self.days_restricted:
            return by_day
        if self.weekdays_restricted:
            return by_weekday
        return CronTrigger(**common)

    def describe(self) -> str:
        """In words: "at 09:00 on Monday to Friday", "every 15 minutes", "at minute 5 of hours 0, 6, 12 and 18"."""
        return " ".join(part for part in (self._times(), self._days(), self._months()) if part)

    def _times(self) -> str:
        if len(self.minutes) * len(self.hours) <= 6:
            return "at " + _and([f"{h:02d}:{m:02d}" for h in self.hours for m in self.minutes])
        minutes = _step_of(self.minutes, 0, 59)
        if len(self.hours) == 24 and minutes:
            return "every minute" if minutes == 1 else f"every {minutes} minutes"
        every_hour = "every hour" if len(self.hours) == 24 else f"of hours {_and([str(h) for h in self.hours])}"
        return f"at minute {_and([str(m) for m in self.minutes])} {every_hour}"

    def _days(self) -> str:
        weekdays = _weekday_words(self.weekdays) if self.weekdays_restricted else ""
        days = f"on day {_and([str(d) for d in self.days])} of the month" if self.days_restricted else ""
        if weekdays and days:
            return f"{days} or {weekdays}"
        return weekdays or days or ("every day" if self._times().startswith("at ") else "")

    def _months(self) -> str:
        return "" if len(self.months) == 12 else "in " + _and([MONTH_NAMES[m - 1] for m in self.months])


def _csv(values: tuple[int, ...]) -> str:
    return ",".join(str(v) for v in values)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _step_of(values: tuple[int, ...], low: int, high: int) -> int | None:
    """n when values are exactly low, low+n, … (a ``*/n`` field)."""
    if len(values) < 2:
        return None
    step = values[1] - values[0]
    return step if values[0] == low and values == tuple(range(low, high + 1, step)) else None


def _weekday_words(days: tuple[int, ...]) -> str:
    ordered = sorted(days, key=lambda d: (d + 6) % 7)  # Monday first, as people list them
    if len(ordered) >= 3 and [(d + 6) % 7 for d in ordered] == list(
        range((ordered[0] + 6) % 7, (ordered[-1] + 6) % 7 + 1)
    ):
        return f"on {DAY_NAMES[ordered[0]]} to {DAY_NAMES[ordered[-1]]}"
    return "on " + _and([DAY_NAMES[d] for d in ordered])


def _parse_field(raw: str, spec: _Field, whole: str) -> list[int]:
    def bad(why: str) -> ScheduleError:
        return ScheduleError(
            f"The {spec.name} field `{raw[:40]}` of `{whole[:80]}` {why}: use {spec.hint}, with `*`, `,`, `-` and `/`."
        )

    def number(token: str) -> int:
        lower = token.lower()
        if spec.names and lower in spec.names:
            return spec.names.index(lower) + spec.low
        if not token.isdigit():
            raise bad(f"has `{token[:20]}`, which is not a value")
        value = int(token)
        if not spec.low <= value <= spec.high:
            raise bad("is out of range")
        return value

    found: set[int] = set()
    for part in raw.split(","):
        if not part:
            raise bad("has an empty list item")
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise bad(f"has the step `/{step_text[:10]}`, which is not a positive number")
            step = int(step_text)
        if base == "*":
            low, high = spec.low, spec.high
        elif "-" in base:
            first, _, last = base.partition("-")
            low, high = number(first), number(last)
            if low > high:
                raise bad(f"has the range `{base}`, which runs backwards")
        else:
            low = number(base)
            high = spec.high if slash else low  # cron: "5/15" means 5-max/15
        found.update(range(low, high + 1, step))
    return sorted(found)


# --- schedules ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Schedule:
    """One subscription's timing. ``spec``: ``HH:MM`` (daily, weekdays), seconds (every) or the cron text."""

    kind: Kind
    spec: str
    timezone: str
    anchor: datetime | None = None  # every: slots are anchor + k·interval

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def interval(self) -> int | None:
        return int(self.spec) if self.kind is Kind.EVERY else None

    @property
    def calendar(self) -> bool:
        """Keyed by local date and time (everything but intervals)."""
        return self.kind is not Kind.EVERY

    def cron(self) -> Cron:
        """Daily and weekdays are cron expressions too; one code path computes them all."""
        if self.kind is Kind.CRON:
            return Cron.parse(self.spec)
        hour, minute = (int(x) for x in self.spec.split(":"))
        return Cron.parse(f"{minute} {hour} * * {'1-5' if self.kind is Kind.WEEKDAYS else '*'}")

    def trigger(self) -> BaseTrigger:
        if self.kind is Kind.EVERY:
            anchor = self.anchor or datetime(2000, 1, 1, tzinfo=UTC)
            return IntervalTrigger(seconds=int(self.spec), start_date=anchor, timezone=self.zone)
        return self.cron().trigger(self.zone)

    def _slots(self, start: datetime) -> Iterator[datetime]:
        """Slots at or after ``start``, as the scheduler fires them.

        Iteration begins :data:`_DST_MARGIN` earlier: asked from a moment after a spring change, a cron trigger
        moves a wall time that fell into the gap (02:30) to the next day, while the scheduler, iterating from the
        previous firing, fires it at 03:30 summer time. Starting before the change finds that slot too.
        """
        trigger = self.trigger()
        start = _aware(start)
        slot = trigger.get_next_fire_time(None, start - _DST_MARGIN if self.calendar else start)
        while slot is not None:
            if slot >= start:
                yield slot
            slot = trigger.get_next_fire_time(slot, slot)

    def next_slot(self, after: datetime) -> datetime | None:
        """The first slot at or after ``after``."""
        return next(self._slots(after), None)

    def upcoming(self, after: datetime, count: int) -> list[datetime]:
        return list(itertools.islice(self._slots(after), count))

    def latest_slot(self, now: datetime, lookback: timedelta) -> datetime | None:
        """The newest slot in [now − lookback, now]: the one a (possibly late) firing stands for."""
        now = _aware(now)
        latest = None
        for slot in self._slots(now - lookback):
            if slot > now:
                break
            latest = slot
        return latest

    def period(self, now: datetime) -> timedelta:
        """The gap between the next two slots: how stale a late digest may be before the next one replaces it."""
        if self.interval:
            return timedelta(seconds=self.interval)
        nxt = self.upcoming(now, 2)
        return nxt[1] - nxt[0] if len(nxt) == 2 else timedelta(days=1)

    def slot_key(self, slot: datetime) -> str:
        """Calendar slots: the local date and time (both October 02:30s are one slot; March's missing 02:30 fires
        at 03:30 and is keyed so, so a cron that also names 03:30 posts once); intervals: the UTC instant."""
        if self.calendar:
            return _aware(slot).astimezone(UTC).astimezone(self.zone).replace(tzinfo=None).isoformat(timespec="minutes")
        return slot.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def describe(self) -> str:
        """In words, with the zone: "every day at 09:00 (Europe/Berlin)"."""
        if self.kind is Kind.DAILY:
            text = f"every day at {self.spec}"
        elif self.kind is Kind.WEEKDAYS:
            text = f"on weekdays (Monday to Friday) at {self.spec}"
        elif self.kind is Kind.EVERY:
            text = f"every {interval_words(int(self.spec))}"
        else:
            text = f"{self.cron().describe()} (cron `{self.spec}`)"
        return f"{text}, {self.timezone} time"


def interval_anchor(now: datetime, seconds: int) -> datetime:
    """Where an interval's slots start: now, cut to the whole minute (second, for sub-minute test intervals)."""
    now = _aware(now).astimezone(UTC)
    return now.replace(microsecond=0) if seconds < 60 else now.replace(second=0, microsecond=0)


def local_words(at: datetime, zone: str) -> str:
    """ "Fri 27 Nov 2026, 09:00 CET": a slot as the channel's clock shows it."""
    local = _aware(at).astimezone(ZoneInfo(zone))
    return f"{local:%a %d %b %Y, %H:%M} {local.tzname()}"


def until_words(delta: timedelta) -> str:
    """ "in 14 h 5 min": rounded to what matters."""
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"in {days} d {hours} h"
    if hours:
        return f"in {hours} h {minutes} min"
    if minutes:
        return f"in {minutes} min"
    return f"in {secs} s"


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
