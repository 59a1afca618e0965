"""On call where it helps: the "On call" section of digests and of the App Home (``bot.domain.sections``).

Both read the whole on-call answer of each backend from :meth:`OnCall.everyone` (the 60 s cache that ``/rootly
oncall`` fills: one ``listOncalls`` a backend a minute however many digests and tabs ask) and the directory of names
(read once an hour), and narrow it here; nothing is read per alert or per digest row.

Digests, for the escalation policies of:

- the services the digest's filter names (``service:payments``), each service's policies as Rootly lists them
  (the policy's ``service_ids``, the service's ``escalation_policy_id``);
- else the Rootly team whose ``slack_channels`` list the digest's channel (what ``/rootly oncall`` shows there);
- else every escalation policy: a digest of every alert goes to whoever is on call anywhere.

Each policy shows its first level (who is paged first), by name: a digest posted every hour must not notify the
people it names. Nothing is shown when no backend has an on-call product.

The App Home, for the person (by their Slack email, matched to the shifts' emails): "You are on call for <policy>
until <date>" (or when their next shift starts, within a week), and who is on call now for the escalation policies
of the Rootly teams whose members (``user_ids``) include the person's Rootly user.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain import Backend
from bot.domain.oncall import OnCallShift, OnCallTarget, TargetKind
from bot.domain.sections import DigestScope, InfoSection
from bot.oncall.render import until
from bot.oncall.service import OnCall, PolicyOnCall
from bot.render.text import code, escape, escape_bounded
from bot.services.people import People

TITLE = "On call"
NAME_MAX = 80
TEAMS_MAX = 5


class OnCallSections:
    def __init__(self, service: OnCall, people: People, *, command: str = "/rootly") -> None:
        self.service = service
        self.people = people
        self.command = command

    # digests --------------------------------------------------------------------------------------------------------
    def for_digest(self, scope: DigestScope) -> InfoSection | None:
        shifts, failures, missing = self.service.everyone()
        if not shifts and len(missing) == len(self.service.sources):
            return None  # no on-call product anywhere: nothing worth a line in every digest
        directory = self.service.directory()
        lines: list[str] = []
        wanted: set[str] | None = None  # policy ids; None: every policy
        title = TITLE
        if scope.filters.services:
            wanted = set()
            names = []
            for typed in scope.filters.services:
                found = _service(directory, typed)
                names.append(found.name if found else typed)  # the title is plain words, escaped when rendered
                if found is None:
                    lines.append(f"• Service {code(escape_bounded(typed, NAME_MAX))}: not found in Rootly")
                elif not found.policy_ids:
                    lines.append(f"• Service *{escape_bounded(found.name, NAME_MAX)}*: no escalation policy")
                wanted |= set(found.policy_ids if found else ())
            title = f"{TITLE} for {', '.join(names)}"
        elif (team := self.service.team_for_channel(scope.channel)) is not None:
            wanted = set(team.policy_ids)
            title = f"{TITLE} for team {team.name}"
            if not wanted:
                lines.append(f"• Team *{escape_bounded(team.name, NAME_MAX)}*: no escalation policy")
        found = self._first_levels(shifts, wanted)
        lines = [*(f"• {text}" for text in found), *lines]
        if wanted is None and not found:
            lines.append("Nobody is on call right now.")
        lines += [f"⚠️ {escape(f)}" for f in failures]
        return InfoSection(title, tuple(lines), more=f"`{self.command} oncall` for every level")

    # the App Home ---------------------------------------------------------------------------------------------------
    def for_person(self, slack_user_id: str) -> InfoSection | None:
        shifts, failures, missing = self.service.everyone()
        if not shifts and len(missing) == len(self.service.sources):
            return None
        email = (self.people.profile(slack_user_id).email or "").lower()
        if not email:
            return InfoSection.failed(TITLE, "Slack did not share your email address with the bot")
        now = self.service.clock()
        mine = [s for s in shifts if (s.person.email or "").lower() == email]
        current = _dedupe_policies(s for s in mine if s.starts_at <= now < s.ends_at)
        lines = [f"You are on call for {_duty(s)} until {until(s.ends_at)}" for s in current]
        if not current:
            upcoming = sorted((s for s in mine if s.starts_at > now), key=lambda s: s.starts_at)
            lines.append(
                f"You are not on call now; your next shift: {_duty(upcoming[0])} from {until(upcoming[0].starts_at)}"
                if upcoming
                else "You are not on call now, nor in the next 7 days."
            )
        lines += self._teams(email, mine, shifts)
        lines += [f"⚠️ {escape(f)}" for f in failures]
        return InfoSection(TITLE, tuple(lines), more=f"`{self.command} oncall` shows everyone")

    def _teams(self, email: str, mine: list[OnCallShift], shifts: list[OnCallShift]) -> list[str]:
        """Who is on call now for the person's Rootly teams (by the teams' members)."""
        if Backend.ROOTLY not in self.service.sources:
            return []
        me = next((s.person.id for s in mine if s.backend is Backend.ROOTLY), None)
        if me is None:
            person = self.service.person_for(Backend.ROOTLY, email)
            me = person.id if person else None
        if me is None:
            return []
        teams = [t for t in self.service.directory() if t.kind is TargetKind.TEAM and me in t.member_ids]
        # Mentions on the tab notify nobody; looked up (once an hour each) only for the people shown.
        shown = {p for t in teams[:TEAMS_MAX] for p in t.policy_ids}
        mentions = self.service.mentions_for(s for s in shifts if s.policy_id in shown)
        lines = []
        for team in teams[:TEAMS_MAX]:
            who = " · ".join(self._first_levels(shifts, set(team.policy_ids), mentions)) or "no escalation policy"
            lines.append(f"• Your team *{escape_bounded(team.name, NAME_MAX)}*: {who}")
        if len(teams) > TEAMS_MAX:
            lines.append(f"…and {len(teams) - TEAMS_MAX} more of your teams")
        return lines

    def _first_levels(
        self, shifts: list[OnCallShift], wanted: set[str] | None, mentions: dict[str, str] | None = None
    ) -> list[str]:
        """Level 1 of each policy (``wanted`` ids, or all); a wanted policy nobody is on call for is a gap."""
        chosen = [s for s in shifts if wanted is None or s.policy_id in wanted]
        found = [p for p in self.service.policies(chosen) if wanted is None or p.policy_id in wanted]
        texts = [_first_level(p, mentions) for p in found]
        if wanted:
            names = {t.id: t.name for t in self.service.directory() if t.kind is TargetKind.ESCALATION_POLICY}
            gaps = sorted(names[p] for p in wanted - {p.policy_id for p in found} if p in names)
            texts += [f"*{escape_bounded(name, NAME_MAX)}*: *nobody*" for name in gaps]
        return texts


def _service(directory: list[OnCallTarget], typed: str) -> OnCallTarget | None:
    wanted = typed.strip().casefold()
    return next(
        (
            t
            for t in directory
            if t.kind is TargetKind.SERVICE and wanted in (t.name.casefold(), (t.slug or "").casefold())
        ),
        None,
    )


def _first_level(policy: PolicyOnCall, mentions: dict[str, str] | None = None) -> str:
    """``*Policy*: Bob until <date>`` for level 1 (a gap says *nobody*); names, or mentions where given."""
    level = policy.levels[0] if policy.levels else None
    people = [_name(s, mentions or {}) + f" until {until(s.ends_at)}" for s in (level.now if level else ())]
    return f"*{escape_bounded(policy.name, NAME_MAX)}*: {', '.join(people) or '*nobody*'}"


def _name(shift: OnCallShift, mentions: dict[str, str]) -> str:
    user = mentions.get((shift.person.email or "").lower())
    return f"<@{user}>" if user else escape_bounded(shift.person.name, NAME_MAX)


def _duty(shift: OnCallShift) -> str:
    where = f"*{escape_bounded(shift.policy_name, NAME_MAX)}* (level {shift.level}"
    if shift.schedule_name:
        where += f", schedule {escape_bounded(shift.schedule_name, NAME_MAX)}"
    return where + ")"


def _dedupe_policies(shifts: Iterable[OnCallShift]) -> list[OnCallShift]:
    found: dict[tuple[Backend, str, int], OnCallShift] = {}
    for s in sorted(shifts, key=lambda s: (s.policy_name.casefold(), s.level)):
        found.setdefault((s.backend, s.policy_id, s.level), s)
    return list(found.values())
