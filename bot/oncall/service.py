"""What the on-call commands mean: naming things, who is on call, paging, taking the pager.

Cost of ``/rootly oncall``: one ``listOncalls`` (or ilert ``/on-calls``) per backend asked, cached for
``answer_ttl`` seconds; the directory of names (teams, schedules, escalation policies, services) is read once an
hour; Slack users are looked up by email once an hour each. An answer for one schedule also reads that schedule's
shifts (one ``listShifts``), the only place override and shadow flags exist.
"""

from __future__ import annotations

import difflib
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from bot.domain import Backend, Person
from bot.domain.oncall import OnCallShift, OnCallTarget, OverrideShift, Paged, TargetKind
from bot.oncall.mentions import SlackMentions
from bot.oncall.ports import OnCallSource
from bot.support import errors
from bot.support.cache import TTLCache

log = logging.getLogger(__name__)

HORIZON = timedelta(days=7)  # how far ahead "who is next" looks
SUGGESTIONS = 5


class NameProblem(Exception):
    """A name that matched nothing, or several things; ``choices`` are the closest or the candidates."""

    def __init__(self, typed: str, choices: Sequence[OnCallTarget], *, ambiguous: bool, kinds: Iterable[TargetKind]):
        super().__init__(typed)
        self.typed = typed
        self.choices = tuple(choices)
        self.ambiguous = ambiguous
        self.kinds = tuple(kinds)


class NoOnCall(Exception):
    """Every backend asked has no on-call product (Rootly answers 404 to listOncalls)."""

    def __init__(self, backends: Sequence[str]) -> None:
        super().__init__(", ".join(backends))
        self.backends = tuple(backends)


@dataclass(frozen=True)
class Level:
    number: int
    now: tuple[OnCallShift, ...]  # empty: a gap, shown as "nobody"
    next: OnCallShift | None = None


@dataclass(frozen=True)
class PolicyOnCall:
    backend: Backend
    policy_id: str
    name: str
    levels: tuple[Level, ...]


@dataclass(frozen=True)
class OnCallAnswer:
    title: str
    target: OnCallTarget | None
    policies: tuple[PolicyOnCall, ...]
    mentions: dict[str, str]  # email (lower case) → Slack user id
    at: datetime
    by_channel: bool = False  # the channel's team was found from its Slack channel
    failures: tuple[str, ...] = ()  # one line per backend that could not be asked
    can_take: bool = False  # a Rootly schedule: "I'll take it" applies

    @property
    def unmatched(self) -> list[str]:
        """People shown by name because no Slack user has their email."""
        names = {
            s.person.name
            for p in self.policies
            for lvl in p.levels
            for s in (*lvl.now, *((lvl.next,) if lvl.next else ()))
            if (s.person.email or "").lower() not in self.mentions
        }
        return sorted(names)


@dataclass(frozen=True)
class PagePreview:
    target: OnCallTarget
    summary: str
    levels: tuple[Level, ...]  # who is on call for the target now, level 1 first
    mentions: dict[str, str] = field(default_factory=dict)


class OnCall:
    def __init__(
        self,
        sources: Sequence[OnCallSource],
        mentions: SlackMentions,
        *,
        answer_ttl: float = 60.0,
        names_ttl: float = 3600.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sources = {s.kind: s for s in sources}
        self.mentions = mentions
        self.clock = clock
        self._names: TTLCache[Backend, list[OnCallTarget]] = TTLCache(names_ttl)
        self._answers: TTLCache[tuple[str, str], list[OnCallShift]] = TTLCache(answer_ttl)
        self._users: TTLCache[tuple[str, str], Person | str] = TTLCache(names_ttl)
        self._lock = threading.Lock()

    # names -------------------------------------------------------------------------------------------------------
    def directory(self) -> list[OnCallTarget]:
        found: list[OnCallTarget] = []
        for kind, source in self.sources.items():
            cached = self._names.get(kind)
            if cached is None:
                cached = source.directory()
                self._names.put(kind, cached)
            found.extend(cached)
        return found

    def warm(self) -> None:
        """Read the names at start (``rootly-bot run``), so the first digest or tab with an "On call" section does not
        wait for four lists; a failure is only logged: the names are read again when first asked for."""
        try:
            self.directory()
        except errors.BackendError as exc:
            log.info("on-call names not read at start: %s", exc.message)

    def target(self, key: str) -> OnCallTarget | None:
        return next((t for t in self.directory() if t.key == key), None)

    def resolve(self, typed: str, kinds: Iterable[TargetKind]) -> OnCallTarget:
        """By name or slug, case-insensitively; raises :class:`NameProblem` with the closest names or the choices."""
        kinds = tuple(kinds)
        wanted = " ".join(typed.split()).casefold()
        candidates = [t for t in self.directory() if t.kind in kinds]
        exact = [t for t in candidates if wanted in (t.name.casefold(), (t.slug or "").casefold())]
        if len(exact) == 1:
            return exact[0]
        if len(exact) > 1:
            raise NameProblem(typed, exact, ambiguous=True, kinds=kinds)
        names = {t.name.casefold(): t for t in candidates}
        names |= {(t.slug or "").casefold(): t for t in candidates if t.slug}
        close = difflib.get_close_matches(wanted, list(names), n=SUGGESTIONS, cutoff=0.5)
        partial = [t for t in candidates if wanted and wanted in t.name.casefold()]
        suggestions = list(dict.fromkeys([*(names[c] for c in close), *partial]))[:SUGGESTIONS]
        raise NameProblem(typed, suggestions, ambiguous=False, kinds=kinds)

    def team_for_channel(self, channel: str) -> OnCallTarget | None:
        if not channel:
            return None
        return next((t for t in self.directory() if t.kind is TargetKind.TEAM and channel in t.slack_channel_ids), None)

    # who is on call ------------------------------------------------------------------------------------------------
    def shifts(self, source: OnCallSource, target: OnCallTarget | None, now: datetime) -> list[OnCallShift]:
        key = (source.kind.value, target.key if target else "*")
        cached = self._answers.get(key)
        if cached is None:
            cached = source.on_call(target, now, now + HORIZON)
            self._answers.put(key, cached)
        return cached

    def forget(self) -> None:
        """After a change the bot made (an override), the next answer is read afresh."""
        self._answers = TTLCache(self._answers.ttl)

    def answer(self, channel: str, query: str | None) -> OnCallAnswer:
        now = self.clock()
        target = None
        by_channel = False
        if query:
            target = self.resolve(
                query, (TargetKind.TEAM, TargetKind.SCHEDULE, TargetKind.ESCALATION_POLICY, TargetKind.SERVICE)
            )
        else:
            target = self.team_for_channel(channel)
            by_channel = target is not None
        shifts, failures, missing = self._gather(target, now)
        if not shifts and missing and len(missing) == len(self._asked(target)):
            raise NoOnCall(missing)
        failures += [f"{name} has no on-call product enabled, so nobody from it is shown." for name in missing]
        if target is not None and target.kind is TargetKind.SCHEDULE:
            shifts = self._marked(target, shifts, now)
        policies = self._policies(shifts, target, now)
        title = f"On call for {target.kind.value} {target.name}" if target else "On call now"
        return OnCallAnswer(
            title=title,
            target=target,
            policies=policies,
            mentions=self._mentions(shifts),
            at=now,
            by_channel=by_channel,
            failures=tuple(failures),
            can_take=target is not None and target.kind is TargetKind.SCHEDULE and target.backend is Backend.ROOTLY,
        )

    def everyone(self) -> tuple[list[OnCallShift], list[str], list[str]]:
        """Every backend's whole on-call answer from the cache ``/rootly oncall`` fills (one ``listOncalls`` a
        backend per ``answer_ttl``, however many digests and tabs ask): shifts, failures, backends without on call.
        Raises the error when every backend asked failed, so a caller can say the part is unavailable."""
        now = self.clock()
        shifts: list[OnCallShift] = []
        failures: list[str] = []
        missing: list[str] = []
        last: errors.BackendError | None = None
        for source in self.sources.values():
            try:
                shifts.extend(self.shifts(source, None, now))
            except errors.NotFound:
                missing.append(source.display_name)
            except errors.BackendError as exc:
                last = exc
                failures.append(f"{source.display_name} could not be asked ({exc.message}).")
        if last is not None and len(failures) == len(self.sources):
            raise last
        return shifts, failures, missing

    def policies(self, shifts: list[OnCallShift]) -> tuple[PolicyOnCall, ...]:
        """Shifts grouped by escalation policy and level as of now, gaps included (as ``/rootly oncall`` shows)."""
        return self._policies(shifts, None, self.clock())

    def mentions_for(self, shifts: Iterable[OnCallShift]) -> dict[str, str]:
        """Email (lower case) → Slack user id for these shifts' people (each looked up once an hour)."""
        return self._mentions(shifts)

    def person_for(self, backend: Backend, email: str) -> Person | None:
        """The backend's user with this email (looked up once an hour), or None."""
        source = self.sources.get(backend)
        return self._user(source, email) if source is not None else None

    def _asked(self, target: OnCallTarget | None) -> list[OnCallSource]:
        return [s for k, s in self.sources.items() if target is None or target.backend is k]

    def _gather(self, target: OnCallTarget | None, now: datetime) -> tuple[list[OnCallShift], list[str], list[str]]:
        shifts: list[OnCallShift] = []
        failures: list[str] = []
        missing: list[str] = []
        asked = self._asked(target)
        for source in asked:
            try:
                shifts.extend(self.shifts(source, target, now))
            except errors.NotFound:
                missing.append(source.display_name)
            except errors.BackendError as exc:
                if len(asked) == 1:
                    raise  # the work pool explains it, as for alert actions
                failures.append(f"{source.display_name} could not be asked ({exc.message}).")
        return shifts, failures, missing

    def _marked(self, target: OnCallTarget, shifts: list[OnCallShift], now: datetime) -> list[OnCallShift]:
        try:
            marks = self.sources[target.backend].shift_marks([target.id], now, now + HORIZON)
        except errors.BackendError as exc:  # flags are a nicety: the answer stands without them
            log.info("shift flags unavailable: %s", exc.message)
            return shifts
        out = []
        for shift in shifts:
            mark = next(
                (
                    m
                    for m in marks
                    if m.user_id == shift.person.id
                    and m.starts_at < shift.ends_at
                    and shift.starts_at < m.ends_at
                    and (m.override or m.shadow)
                ),
                None,
            )
            out.append(replace(shift, override=mark.override, shadow=mark.shadow) if mark else shift)
        return out

    def _policies(
        self, shifts: list[OnCallShift], target: OnCallTarget | None, now: datetime
    ) -> tuple[PolicyOnCall, ...]:
        by_policy: dict[tuple[Backend, str], list[OnCallShift]] = {}
        names: dict[tuple[Backend, str], str] = {}
        for shift in shifts:
            by_policy.setdefault((shift.backend, shift.policy_id), []).append(shift)
            names[(shift.backend, shift.policy_id)] = shift.policy_name
        if target is not None and target.kind is TargetKind.ESCALATION_POLICY:
            by_policy.setdefault((target.backend, target.id), [])
            names.setdefault((target.backend, target.id), target.name)
        known = {(t.backend, t.id): t.levels for t in self._cached_policies()}
        result = []
        for key, items in by_policy.items():
            count = max([known.get(key, 0), *(s.level for s in items)]) or 1
            levels = []
            for number in range(1, count + 1):
                at_level = [s for s in items if s.level == number]
                current = tuple(_dedupe(s for s in at_level if s.starts_at <= now < s.ends_at))
                ends = max((s.ends_at for s in current), default=now)
                upcoming = sorted((s for s in at_level if s.starts_at >= ends), key=lambda s: s.starts_at)
                levels.append(Level(number, current, upcoming[0] if upcoming else None))
            result.append(PolicyOnCall(key[0], key[1], names[key], tuple(levels)))
        return tuple(sorted(result, key=lambda p: p.name.casefold()))

    def _cached_policies(self) -> list[OnCallTarget]:
        found: list[OnCallTarget] = []
        for kind in self.sources:
            found.extend(t for t in self._names.get(kind) or () if t.kind is TargetKind.ESCALATION_POLICY)
        return found

    def _mentions(self, shifts: Iterable[OnCallShift]) -> dict[str, str]:
        found: dict[str, str] = {}
        for email in {(s.person.email or "").lower() for s in shifts} - {""}:
            user = self.mentions.user_id(email)
            if user:
                found[email] = user
        return found

    # paging ---------------------------------------------------------------------------------------------------------
    def user_target(self, email: str, name: str | None = None) -> OnCallTarget:
        """A person to page, found by email in the first backend that knows them."""
        for kind, source in self.sources.items():
            person = self._user(source, email)
            if person is not None:
                return OnCallTarget(kind, TargetKind.USER, person.id, name or person.name, email=person.email)
        raise NameProblem(email, [], ambiguous=False, kinds=(TargetKind.USER,))

    def _user(self, source: OnCallSource, email: str) -> Person | None:
        key = (source.kind.value, email.strip().lower())
        cached = self._users.get(key)
        if cached is None:
            cached = source.find_user(email) or ""
            self._users.put(key, cached)
        return cached or None

    def preview(self, target: OnCallTarget, summary: str) -> PagePreview:
        now = self.clock()
        if target.kind is TargetKind.USER:
            person = Person(target.id, target.name, target.email)
            shift = OnCallShift(target.backend, "", "", 1, person, now, now)
            return PagePreview(target, summary, (Level(1, (shift,)),), self._mentions([shift]))
        shifts = self.shifts(self.sources[target.backend], target, now)
        levels = [lvl for p in self._policies(shifts, target, now) for lvl in p.levels]
        merged: dict[int, list[OnCallShift]] = {}
        for lvl in levels:
            merged.setdefault(lvl.number, []).extend(lvl.now)
        ordered = tuple(Level(n, tuple(_dedupe(merged[n]))) for n in sorted(merged))
        return PagePreview(target, summary, ordered, self._mentions(shifts))

    def page(self, target: OnCallTarget, summary: str, details: str, key: str) -> Paged:
        return self.sources[target.backend].page(target, summary, details, key)

    # taking the pager -----------------------------------------------------------------------------------------------
    def take(self, schedule: OnCallTarget, email: str | None, minutes: int) -> OverrideShift:
        source = self.sources[schedule.backend]
        if not email:
            raise errors.Invalid(
                "Slack did not share your email address with the bot, so it cannot tell who you are in "
                f"{source.display_name}",
                backend=source.display_name,
            )
        person = self._user(source, email)
        if person is None:
            raise errors.Invalid(f"no {source.display_name} user has the email {email}", backend=source.display_name)
        now = self.clock()
        done = source.take(schedule.id, person.id, now, now + timedelta(minutes=minutes))
        self.forget()
        return done


def _dedupe(shifts: Iterable[OnCallShift]) -> list[OnCallShift]:
    seen: dict[str, OnCallShift] = {}
    for s in shifts:
        seen.setdefault(s.person.id, s)
    return list(seen.values())
