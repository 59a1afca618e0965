"""Rootly alert events (``GET /v1/alerts/{id}/events``) → :class:`bot.domain.timeline.TimelineEvent`."""

from __future__ import annotations

from typing import Any

from bot.domain.timeline import Happening, TimelineEvent
from bot.support.timestamps import parse_time

# (kind, action) → what a thread says; ``None`` kind matches any kind. Anything else is not told.
_ACTIONS: dict[str, Happening] = {
    "acknowledged": Happening.ACKNOWLEDGED,
    "resolved": Happening.RESOLVED,
    "snoozed": Happening.SNOOZED,
    "escalated": Happening.ESCALATED,
    "retriggered": Happening.RETRIGGERED,
    "attached": Happening.INCIDENT,
}


def timeline_event(resource: dict[str, Any]) -> TimelineEvent | None:
    attrs = resource.get("attributes") or {}
    kind, action = str(attrs.get("kind") or ""), str(attrs.get("action") or "")
    if kind == "note":
        what: Happening | None = Happening.NOTE if action in ("created", "added") else None
    elif kind == "noise":
        what = {"marked": Happening.NOISE, "not_marked": Happening.NOT_NOISE}.get(action)
    else:
        what = _ACTIONS.get(action)
    if what is None:
        return None
    user = attrs.get("user") if isinstance(attrs.get("user"), dict) else {}
    by = user.get("full_name") or user.get("name") or user.get("email") if user else None
    user_id = attrs.get("user_id") if attrs.get("user_id") is not None else (user or {}).get("id")
    incident = attrs.get("incident") if isinstance(attrs.get("incident"), dict) else {}
    target = _target_name(attrs.get("escalation_target"))
    if what is Happening.INCIDENT and not incident and not attrs.get("incident_ids"):
        return None  # attached to something other than an incident
    title = incident.get("title")
    if title and incident.get("sequential_id") is not None:
        title = f"#{incident['sequential_id']} {title}"
    return TimelineEvent(
        id=str(resource.get("id")),
        what=what,
        at=parse_time(attrs.get("created_at")),
        by=str(by) if by else None,
        by_id=None if user_id is None else str(user_id),
        text=(attrs.get("details") or None),
        level=attrs.get("escalation_level") if isinstance(attrs.get("escalation_level"), int) else None,
        target=target,
        incident_title=title or None,
        incident_url=incident.get("url") or None,
    )


def _target_name(target: Any) -> str | None:
    data = (target or {}).get("data") if isinstance(target, dict) else None
    attrs = (data or {}).get("attributes") if isinstance(data, dict) else None
    if not isinstance(attrs, dict):
        return None
    name = attrs.get("full_name") or attrs.get("name") or attrs.get("email")
    return str(name) if name else None
