"""ilert alert log entries (``GET /alerts/{id}/log-entries``) → :class:`bot.domain.timeline.TimelineEvent`.

ilert's log names the actor only in the entry's text ("Alert accepted by jane@example.com"), so the name is read
from there; the entry id is stable, which is what posting once needs.
"""

from __future__ import annotations

import re
from typing import Any

from bot.domain.timeline import Happening, TimelineEvent
from bot.support.timestamps import parse_time

_BY = re.compile(r"\bby\s+(.+?)\s*\.?$", re.I)
_STATE_ENTRIES = {"UserResponseLogEntry", "AlertSourceResponseLogEntry", "EmailResolvedLogEntry"}
_FIXED = {
    "AlertCommentAddedLogEntry": Happening.NOTE,
    "AlertAutoResolvedLogEntry": Happening.RESOLVED,
    "AlertEscalatedToLevelLogEntry": Happening.ESCALATED,
    "InComLinkedLogEntry": Happening.INCIDENT,
}


def timeline_event(entry: dict[str, Any]) -> TimelineEvent | None:
    kind = str(entry.get("logEntryType") or "")
    text = str(entry.get("text") or "")
    what = _FIXED.get(kind)
    if what is None and kind in _STATE_ENTRIES:
        lowered = text.lower()
        what = Happening.RESOLVED if "resolv" in lowered else Happening.ACKNOWLEDGED if "accept" in lowered else None
    if what is None:
        return None
    found = _BY.search(text) if what is not Happening.NOTE else None
    variables = entry.get("vars") if isinstance(entry.get("vars"), dict) else {}
    return TimelineEvent(
        id=str(entry.get("id")),
        what=what,
        at=parse_time(entry.get("timestamp")),
        by=found.group(1) if found else None,
        text=text if what is Happening.NOTE else None,
        incident_title=variables.get("incidentSummary") if what is Happening.INCIDENT else None,
    )
