"""Working an incident from Slack: mitigate, resolve, cancel, severity, timeline, roles and tasks, as the person.

Each action reads the incident first (with its roles), so a stale button or a state Rootly would refuse is explained
in plain words without a write, and the re-rendered message shows the commander. Double clicks and Slack retries are
claimed in the database (as for alerts), so an incident changes once. People act as their Rootly user, matched by
email: Rootly's incident endpoints take no author, so the timeline entry that records the action names them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum

from bot.backends import AlertBackend
from bot.domain import Actor, CatalogItem, CatalogKind, Incident, IncidentRole, Person
from bot.incidents.ports import RootlyIncidentApi
from bot.incidents.syntax import IncidentRef, PersonRef, Work
from bot.services.people import People
from bot.support import errors
from bot.support.cache import TTLCache

log = logging.getLogger(__name__)

CATALOG_TTL = 300.0
Claim = Callable[[str, str, float], str | None]  # (key, owner, ttl) → None when taken, else the holder


class Verb(StrEnum):
    MITIGATE = "mitigate"
    RESOLVE = "resolve"
    CANCEL = "cancel"
    SEVERITY = "severity"
    NOTE = "note"
    ROLE = "role"
    TASK = "task"


PAST = {
    Verb.MITIGATE: "🟡 Mitigated",
    Verb.RESOLVE: "✅ Resolved",
    Verb.CANCEL: "⚪ Cancelled",
    Verb.SEVERITY: "Severity changed",
    Verb.NOTE: "📝 Added to the timeline",
    Verb.ROLE: "👤 Role assigned",
    Verb.TASK: "☑️ Task added",
}
TRANSITIONS = (Verb.MITIGATE, Verb.RESOLVE, Verb.CANCEL)


class UnknownIncident(errors.NotFound):
    """What the person typed names no incident; the message says what was typed."""


class UnknownName(errors.Invalid):
    """An unknown severity or role; the message lists the valid names."""


@dataclass(frozen=True)
class IncidentResult:
    verb: Verb
    incident: Incident
    slack_user_id: str
    done: bool  # False when the incident's state made the action unnecessary or impossible (or a double click)
    detail: str | None = None  # what changed, in words ("SEV1 → SEV0", "Commander: Bob")
    reason: str | None = None  # why nothing was done, in plain words, with what can be done instead
    warnings: tuple[str, ...] = field(default=())
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def stamp(self) -> str | None:
        """The "who did what" line for the incident's messages (only for what was done)."""
        if not self.done:
            return None
        from bot.incidents.live_render import stamp_text  # render is pure; imported late to keep this module light

        return stamp_text(PAST[self.verb], self.slack_user_id, self.at, self.detail)


def refusal(verb: Verb, incident: Incident) -> str | None:
    """Why ``verb`` cannot apply to the incident as it is, and what can be done; None when it can."""
    status = incident.status or "unknown"
    over = status in ("resolved", "closed", "completed")
    if status == "cancelled":
        if verb in TRANSITIONS:
            return (
                f"{incident.label} was cancelled, so it cannot be {_past(verb)}. "
                "Declare a new incident if the problem is real."
            )
        if verb in (Verb.SEVERITY, Verb.ROLE):
            return f"{incident.label} was cancelled: there is nothing left to change."
        return None
    if over and verb in TRANSITIONS:
        return (
            f"{incident.label} is already {status}: nothing to {verb.value}. If the problem is back, declare a new "
            "incident (or reopen this one in Rootly)."
        )
    if verb is Verb.MITIGATE and status == "mitigated":
        return f"{incident.label} is already mitigated. You can resolve it when the fix is confirmed."
    if over and verb in (Verb.SEVERITY, Verb.ROLE):
        return f"{incident.label} is already {status}: change it in Rootly if it must be corrected."
    return None


def _past(verb: Verb) -> str:
    return {Verb.MITIGATE: "mitigated", Verb.RESOLVE: "resolved", Verb.CANCEL: "cancelled"}.get(verb, verb.value)


_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class IncidentActions:
    def __init__(
        self,
        rootly: RootlyIncidentApi,
        people: People,
        backend: AlertBackend,
        *,
        claim: Claim | None = None,
        claim_seconds: float = 30.0,
        attribution: bool = True,
    ) -> None:
        self.rootly = rootly
        self.people = people
        self.backend = backend  # Rootly as an alert backend: how People finds a Slack user's Rootly user
        self.claim = claim
        self.claim_seconds = claim_seconds
        self.attribution = attribution
        self._catalog: TTLCache[str, tuple[CatalogItem, ...] | tuple[IncidentRole, ...]] = TTLCache(CATALOG_TTL)

    # lists -------------------------------------------------------------------------------------------------------
    def severities(self) -> tuple[CatalogItem, ...]:
        cached = self._catalog.get("severities")
        if cached is None:
            cached = self.rootly.catalog(CatalogKind.SEVERITIES).items
            self._catalog.put("severities", cached)
        return cached  # type: ignore[return-value]

    def severities_or_none(self) -> tuple[CatalogItem, ...]:
        """For rendering: a message without the severity menu beats no message."""
        try:
            return self.severities()
        except errors.BackendError as exc:
            log.info("no severities for the incident message: %s", exc.message)
            return ()

    def roles(self) -> tuple[IncidentRole, ...]:
        cached = self._catalog.get("roles")
        if cached is None:
            cached = tuple(self.rootly.incident_roles())
            self._catalog.put("roles", cached)
        return cached  # type: ignore[return-value]

    # finding the incident ----------------------------------------------------------------------------------------
    def get(self, incident_id: str) -> Incident:
        return self.rootly.get_incident(incident_id)

    def in_channel(self, channel: str | None) -> Incident | None:
        """The incident whose own Slack channel this is (newest, if Rootly has several)."""
        if not channel:
            return None
        found = self.rootly.list_incidents(slack_channel_id=channel, limit=5)
        return self.rootly.get_incident(found[0].id) if found else None

    def locate(self, ref: IncidentRef | None, channel: str | None) -> Incident:
        """The incident a person named (number, UUID, slug or link), or this channel's when they named none."""
        if ref is None:
            found = self.in_channel(channel)
            if found is None:
                raise UnknownIncident(
                    "Say which incident: its number (`42` or `#42`), its slug or its Rootly link. Only inside an "
                    "incident's own channel may it be left out."
                )
            return found
        try:
            if ref.number is not None:
                listed = self.rootly.list_incidents(sequential_id=ref.number, limit=1)
                if not listed:
                    raise errors.NotFound(f"no incident {ref.number}")
                return self.rootly.get_incident(listed[0].id)
            return self.rootly.get_incident(ref.key or "")
        except errors.NotFound as exc:
            raise UnknownIncident(
                f"No incident `{ref.typed}` in Rootly. Use its number (`42` or `#42`), its slug or its link."
            ) from exc

    def target(self, work: Work, channel: str | None) -> tuple[Incident, str]:
        """The incident a sub-command means, and its text: a certain reference is used as typed; a word that may be
        a slug is tried, and inside an incident's channel the whole text belongs to that channel's incident."""
        if work.ref is not None and work.ref.certain:
            return self.locate(work.ref, channel), work.rest
        if work.ref is not None:
            try:
                return self.locate(work.ref, channel), work.rest
            except UnknownIncident:
                here = self.in_channel(channel)
                if here is None:
                    raise
                return here, work.whole
        return self.locate(None, channel), work.whole

    # acting --------------------------------------------------------------------------------------------------
    def actor(self, slack_user_id: str, user_name: str | None = None) -> Actor:
        return self.people.actor(slack_user_id, self.backend, user_name)

    def _duplicate(self, key: str, slack_user_id: str) -> str | None:
        if self.claim is None:
            return None
        holder = self.claim(f"incident:{key}", slack_user_id, self.claim_seconds)
        if holder is None:
            return None
        who = "you" if holder == slack_user_id else f"<@{holder}>"
        return f"This was just done by {who}; not repeated."

    def transition(
        self, verb: Verb, incident_id: str, slack_user_id: str, message: str | None = None, user_name: str | None = None
    ) -> IncidentResult:
        if duplicate := self._duplicate(f"{verb.value}:{incident_id}", slack_user_id):
            return IncidentResult(verb, self.get(incident_id), slack_user_id, False, reason=duplicate)
        before = self.get(incident_id)
        if why := refusal(verb, before):
            return IncidentResult(verb, before, slack_user_id, False, reason=why)
        actor = self.actor(slack_user_id, user_name)
        text = message.strip() if message and message.strip() else None
        call = {
            Verb.MITIGATE: self.rootly.mitigate_incident,
            Verb.RESOLVE: self.rootly.resolve_incident,
            Verb.CANCEL: self.rootly.cancel_incident,
        }[verb]
        try:
            updated = call(before.id, text)
        except (errors.Conflict, errors.Invalid) as exc:
            fresh = self.get(before.id)
            why = refusal(verb, fresh) or f"Rootly refused: {exc.message}."
            return IncidentResult(verb, fresh, slack_user_id, False, reason=why)
        updated = replace(updated, roles=before.roles)
        said = f"{_past(verb).capitalize()} in Slack by {_who(actor)}" + (f": {text}" if text else "")
        warnings = self._attribute(updated.id, said)
        return IncidentResult(verb, updated, slack_user_id, True, detail=text, warnings=warnings)

    def set_severity(
        self, incident_id: str, slack_user_id: str, severity: str, user_name: str | None = None
    ) -> IncidentResult:
        """``severity``: an id (the menu) or a name or slug (a command); unknown names list the valid ones."""
        before = self.get(incident_id)
        if why := refusal(Verb.SEVERITY, before):
            return IncidentResult(Verb.SEVERITY, before, slack_user_id, False, reason=why)
        choices = self.severities()
        wanted = severity.strip().lower()
        found = next((s for s in choices if wanted in (s.id.lower(), s.name.lower(), (s.slug or "").lower())), None)
        if found is None:
            names = ", ".join(f"`{s.name}`" for s in choices) or "none (Rootly lists no severities)"
            raise UnknownName(f"No severity `{severity}` in Rootly. Valid severities: {names}.")
        if found.id == before.severity_id:
            return IncidentResult(
                Verb.SEVERITY, before, slack_user_id, False, reason=f"{before.label} is already {found.name}."
            )
        if duplicate := self._duplicate(f"severity:{incident_id}:{found.id}", slack_user_id):
            return IncidentResult(Verb.SEVERITY, before, slack_user_id, False, reason=duplicate)
        actor = self.actor(slack_user_id, user_name)
        updated = replace(self.rootly.update_incident(before.id, {"severity_id": found.id}), roles=before.roles)
        change = f"{before.severity or 'none'} → {found.name}"
        warnings = self._attribute(before.id, f"Severity changed in Slack by {_who(actor)}: {change}")
        return IncidentResult(Verb.SEVERITY, updated, slack_user_id, True, detail=change, warnings=warnings)

    def add_note(
        self, incident_id: str, slack_user_id: str, text: str, user_name: str | None = None, *, signed: bool = True
    ) -> IncidentResult:
        """A timeline entry; ``signed`` adds who wrote it (the shortcut's entries already name their author)."""
        incident = self.get(incident_id)
        if why := refusal(Verb.NOTE, incident):
            return IncidentResult(Verb.NOTE, incident, slack_user_id, False, reason=why)
        entry = text.strip()
        if signed:
            entry = f"{entry}\n\n— {_who(self.actor(slack_user_id, user_name))} (via Slack)"
        self.rootly.add_incident_event(incident.id, entry)
        return IncidentResult(Verb.NOTE, incident, slack_user_id, True)

    def assign_role(
        self, incident_id: str, slack_user_id: str, role: str, person: PersonRef, user_name: str | None = None
    ) -> IncidentResult:
        before = self.get(incident_id)
        if why := refusal(Verb.ROLE, before):
            return IncidentResult(Verb.ROLE, before, slack_user_id, False, reason=why)
        roles = self.roles()
        wanted = role.strip().lower()
        found = next(
            (r for r in roles if wanted in (r.id.lower(), r.name.lower(), (r.slug or "").lower())), None
        ) or next((r for r in roles if wanted and wanted in r.name.lower()), None)
        if found is None:
            names = ", ".join(f"`{r.name}`" for r in roles) or "none (Rootly lists no roles)"
            raise UnknownName(f"No role `{role}` in Rootly. Valid roles: {names}.")
        user = self._rootly_user(person)
        if duplicate := self._duplicate(f"role:{incident_id}:{found.id}:{user.id}", slack_user_id):
            return IncidentResult(Verb.ROLE, before, slack_user_id, False, reason=duplicate)
        self.rootly.assign_incident_role(before.id, found.id, user.id)
        updated = self.get(before.id)
        return IncidentResult(Verb.ROLE, updated, slack_user_id, True, detail=f"{found.name}: {user.name}")

    def add_task(self, incident_id: str, slack_user_id: str, text: str, user_name: str | None = None) -> IncidentResult:
        incident = self.get(incident_id)
        actor = self.actor(slack_user_id, user_name)
        summary = text.strip()
        self.rootly.create_incident_action_item(
            incident.id, summary[:255], description=f"{summary}\n\n— {_who(actor)} (via Slack)"
        )
        return IncidentResult(Verb.TASK, incident, slack_user_id, True, detail=summary[:200])

    def _rootly_user(self, person: PersonRef) -> Person:
        """The Rootly user for a Slack mention (by the Slack user's email), an email, or a name."""
        if person.slack_user_id:
            actor = self.actor(person.slack_user_id)
            if actor.backend_user is None:
                raise UnknownName(f"<@{person.slack_user_id}> has no Rootly user: {actor.unmatched_reason}.")
            return actor.backend_user
        if person.email:
            found = self.rootly.find_user_by_email(person.email)
            if found is None:
                raise UnknownName(f"No Rootly user has the email {person.email}.")
            return found
        matches = self.rootly.search_users(person.name or "")
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise UnknownName(f"No Rootly user matches `@{person.name}`. Mention them, or give their email.")
        names = ", ".join(m.name for m in matches[:5])
        raise UnknownName(
            f"`@{person.name}` matches several Rootly users ({names}): mention them, or give their email."
        )

    def _attribute(self, incident_id: str, text: str) -> tuple[str, ...]:
        """A timeline entry saying who acted from Slack; its failure never undoes the action."""
        if not self.attribution:
            return ()
        try:
            self.rootly.add_incident_event(incident_id, text)
        except errors.BackendError as exc:
            log.warning("attribution entry on incident %s failed: %s", incident_id, exc.message)
            return (f"The timeline entry saying you did this could not be added ({exc.message}).",)
        return ()


def _who(actor: Actor) -> str:
    return actor.backend_user.name if actor.backend_user is not None else actor.name
