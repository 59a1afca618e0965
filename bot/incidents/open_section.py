"""The "Open incidents" section of digests (``bot.domain.sections``): Rootly's open incidents, newest first.

One ``listIncidents`` a digest (never per alert row): open statuses (in triage, started, detected, acknowledged,
mitigated), narrowed to the digest's services when its filter names some (``filter[services]``, the same slugs),
at most :data:`SHOWN` of them with a link to the rest. Each line: label and title (linked), severity, status, age.
"""

from __future__ import annotations

from typing import Protocol

from bot.domain import OPEN_INCIDENT_STATUSES, Incident
from bot.domain.sections import DigestScope, InfoSection
from bot.render.text import escape_bounded, link, slack_date

TITLE = "Open incidents"
SHOWN = 5
TITLE_MAX = 120


class IncidentList(Protocol):
    """What this section needs of Rootly (``RootlyClient.list_incidents`` satisfies it)."""

    def list_incidents(
        self, *, statuses: tuple[str, ...] = (), limit: int = ..., services: tuple[str, ...] = ()
    ) -> list[Incident]: ...


class OpenIncidentsSection:
    def __init__(self, rootly: IncidentList, *, more_url: str | None = None) -> None:
        self.rootly = rootly
        self.more_url = more_url  # Rootly's incident list, for "and N more"

    def for_digest(self, scope: DigestScope) -> InfoSection:
        services = scope.filters.services
        found = self.rootly.list_incidents(statuses=OPEN_INCIDENT_STATUSES, limit=SHOWN + 1, services=services)
        title = f"{TITLE} on {', '.join(services)}" if services else TITLE
        if not found:
            return InfoSection(title, ("No open incident. 🎉",))
        more = None
        if len(found) > SHOWN:
            more = link(self.more_url, "more open incidents in Rootly") if self.more_url else "more in Rootly"
        return InfoSection(title, tuple(incident_line(i) for i in found[:SHOWN]), more=more)


def incident_line(incident: Incident) -> str:
    """``• *INC-12* Checkout down · SEV1 · *started* · opened 3 hours ago`` (the age in each reader's own terms)."""
    parts = [f"*{link(incident.url, incident.label)}* {escape_bounded(incident.title, TITLE_MAX)}"]
    parts.append(escape_bounded(incident.severity, 40) if incident.severity else "no severity")
    parts.append(f"*{escape_bounded(incident.status or 'started', 40)}*")
    if incident.opened_at is not None:
        parts.append(f"opened {slack_date(incident.opened_at, '{ago}')}")
    return "• " + " · ".join(parts)
