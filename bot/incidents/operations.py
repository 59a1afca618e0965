"""What the incident listeners call, so they only parse, call and render: who may act (``POLICY_INCIDENT_RESOLVE``),
whether a modal submission is the first one (Slack may resend it), acting on an incident for a command or a modal,
listing incidents, and re-rendering what an action changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.domain import CatalogItem, Incident, IncidentFilters, IncidentRole
from bot.incidents import live_render
from bot.incidents import replies as incident_replies
from bot.incidents.actions import TRANSITIONS, Claim, IncidentResult, Verb
from bot.incidents.reliable import IncidentQueued
from bot.incidents.syntax import PersonRef, Work
from bot.incidents.wiring import IncidentWork
from bot.services.policy import Permission, Policy
from bot.services.reliable import Origin

NEEDS = {Verb.RESOLVE: Permission.INCIDENT_RESOLVE, Verb.CANCEL: Permission.INCIDENT_RESOLVE}
SUBMISSION_SECONDS = 3600.0  # a modal submission is recognised as a resend for this long
LIST_LIMIT = 25

Outcome = IncidentResult | IncidentQueued


@dataclass(frozen=True)
class Finished:
    """After an action: the clicked ephemeral list's rows re-rendered (the listener replaces it through its response
    URL), and the answer the person still needs (None when the re-rendered message says it all)."""

    ephemeral_rows: list[dict[str, Any]] | None
    answer: dict[str, Any] | None


class IncidentOperations:
    def __init__(self, policy: Policy, claim: Claim, work: IncidentWork | None) -> None:
        self.policy = policy
        self.claim = claim
        self.work = work

    # who may, and once ----------------------------------------------------------------------------------------------
    def refusal(self, verb: Verb, user: str) -> str | None:
        """The policy's refusal (mrkdwn) when ``user`` may not do ``verb``; None when they may."""
        permission = NEEDS.get(verb)
        if permission is None:
            return None
        refused = self.policy.check(permission, user)
        return refused.text if refused else None

    def first_submission(self, kind: str, view_id: str, user: str) -> bool:
        """True the first time this submission is seen (``kind`` + the view, or the view and its hash); a resend of
        the same submission, on any replica, is not."""
        return self.claim(f"{kind}:{view_id}", user or "?", SUBMISSION_SECONDS) is None

    # acting ---------------------------------------------------------------------------------------------------------
    def _work(self) -> IncidentWork:
        if self.work is None:  # listeners check first; reaching here is a wiring mistake
            raise RuntimeError("working on incidents needs Rootly")
        return self.work

    def command(self, parsed: Work, verb: Verb, origin: Origin) -> Outcome:
        """``/rootly incident <verb> …``: find the incident (this channel's when none is named), act, re-render."""
        work = self._work()
        user, name = origin.slack_user_id, origin.user_name
        incident, text = work.actions.target(parsed, origin.channel)
        outcome: Outcome
        if verb in TRANSITIONS:
            outcome = work.reliable.transition(verb, incident.id, origin, text or None, label=incident.label)
        elif verb is Verb.NOTE:
            outcome = work.reliable.add_note(incident.id, origin, text, label=incident.label)
        elif verb is Verb.SEVERITY:
            outcome = work.actions.set_severity(incident.id, user, text, name)
        elif verb is Verb.ROLE:
            assert parsed.person is not None
            outcome = work.actions.assign_role(incident.id, user, text, parsed.person, name)
        else:
            outcome = work.actions.add_task(incident.id, user, text, name)
        if isinstance(outcome, IncidentResult) and outcome.done:
            work.messages.refresh(outcome.incident, outcome.stamp)
        return outcome

    def submit(self, verb: Verb, incident_id: str, origin: Origin, text: str) -> Outcome:
        """A mitigate / resolve / cancel / timeline modal: the change, or the outbox when Rootly is down."""
        work = self._work()
        if verb is Verb.NOTE:
            return work.reliable.add_note(incident_id, origin, text)
        return work.reliable.transition(verb, incident_id, origin, text or None)

    def set_severity(self, incident_id: str, user: str, severity: str, name: str | None) -> IncidentResult:
        return self._work().actions.set_severity(incident_id, user, severity, name)

    def roles(self) -> tuple[IncidentRole, ...]:
        return self._work().actions.roles()

    def assign_role(self, incident_id: str, user: str, role: str, person: str, name: str | None) -> IncidentResult:
        """From the role modal: ``person`` is the Slack user chosen."""
        return self._work().actions.assign_role(
            incident_id, user, role, PersonRef(f"<@{person}>", slack_user_id=person), name
        )

    # listing ----------------------------------------------------------------------------------------------------
    def list(self, filters: IncidentFilters) -> tuple[list[Incident], tuple[CatalogItem, ...]]:
        """``/rootly incidents``: severities are filtered by slug, so names people type are mapped to slugs."""
        actions = self._work().actions
        severities = actions.severities_or_none()
        by_name = {s.name.lower(): s.slug or s.name for s in severities}
        wanted = tuple(by_name.get(s.lower(), s) for s in filters.severities)
        incidents = actions.rootly.list_incidents(
            statuses=filters.statuses, severities=wanted, teams=filters.teams, limit=LIST_LIMIT
        )
        return incidents, severities

    # after an action -----------------------------------------------------------------------------------------------
    def finish(
        self, result: IncidentResult, container: dict[str, Any], blocks: list[dict[str, Any]] | None
    ) -> Finished:
        """Re-render every message of the incident, and the row of the list message clicked (an in-channel list is
        updated here; an ephemeral one is handed back for the listener's response URL)."""
        work = self._work()
        work.messages.refresh(result.incident, result.stamp)
        channel, ts = container.get("channel_id"), container.get("message_ts")
        shown = work.messages.is_tracked(channel, ts)
        ephemeral_rows = None
        if not shown and blocks:
            rows = live_render.replace_incident(blocks, result.incident, work.messages.severities(), result.stamp)
            if rows is not None:
                if container.get("is_ephemeral"):
                    ephemeral_rows = rows
                elif channel and ts:
                    work.messages.conversations.update(
                        channel, ts, {"text": result.incident.title[:300], "blocks": rows}
                    )
                shown = True
        answer = None if result.done and not result.warnings and shown else incident_replies.result_message(result)
        return Finished(ephemeral_rows, answer)
