"""What the incident listeners are handed: the alert core plus this folder's own services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.incidents.operations import IncidentOperations
from bot.incidents.service import IncidentDeclarations
from bot.incidents.wiring import IncidentWork
from bot.slack.context import Services as Core


@dataclass(frozen=True)
class Services:
    """Declaring (``incidents``) and working on incidents (``incident_work``), both None without Rootly; what the
    listeners call to work on them (``operations``: policy, resends, acting); every other attribute (the work pool,
    people…) is the core's, so listeners read one object."""

    core: Core
    incidents: IncidentDeclarations | None
    incident_work: IncidentWork | None
    operations: IncidentOperations

    def __getattr__(self, name: str) -> Any:
        return getattr(self.core, name)
