"""Rootly incidents and catalog lists ↔ ``bot.domain`` objects. Tolerant of missing optional fields.

Kept apart from :mod:`bot.backends.rootly.mapping` (alerts) so each file maps one part of the API.
"""

from __future__ import annotations

from typing import Any

from bot.domain import CatalogItem, Incident, NewIncident
from bot.support.timestamps import parse_time


def catalog_item(resource: dict[str, Any]) -> CatalogItem:
    attrs = resource.get("attributes") or {}
    position = attrs.get("position")
    return CatalogItem(
        id=str(resource.get("id")),
        name=str(attrs.get("name") or attrs.get("slug") or resource.get("id")),
        slug=attrs.get("slug"),
        position=position if isinstance(position, int) and not isinstance(position, bool) else None,
    )


def incident(resource: dict[str, Any]) -> Incident:
    attrs = resource.get("attributes") or {}
    severity = ((attrs.get("severity") or {}).get("data") or {}).get("attributes") or {}
    labels = attrs.get("labels")
    sequential = attrs.get("sequential_id")
    return Incident(
        id=str(resource.get("id")),
        title=str(attrs.get("title") or "(untitled)"),
        sequential_id=sequential if isinstance(sequential, int) and not isinstance(sequential, bool) else None,
        url=attrs.get("url") or attrs.get("short_url"),
        status=attrs.get("status"),
        severity=severity.get("name"),
        private=bool(attrs.get("private")),
        slack_channel_id=attrs.get("slack_channel_id"),
        slack_channel_url=attrs.get("slack_channel_url"),
        labels=tuple((str(k), str(v)) for k, v in labels.items()) if isinstance(labels, dict) else (),
        created_at=parse_time(attrs.get("created_at")),
    )


def new_incident_attributes(new: NewIncident) -> dict[str, Any]:
    """``new_incident`` attributes: only what was chosen, so Rootly's defaults apply to the rest."""
    attrs: dict[str, Any] = {"title": new.title}
    optional: dict[str, Any] = {
        "summary": new.summary,
        "severity_id": new.severity_id,
        "incident_type_ids": list(new.incident_type_ids),
        "service_ids": list(new.service_ids),
        "group_ids": list(new.group_ids),
        "environment_ids": list(new.environment_ids),
        "parent_incident_id": new.parent_incident_id,
        "alert_ids": list(new.alert_ids),
        "labels": dict(new.labels),
    }
    attrs |= {k: v for k, v in optional.items() if v}
    if new.private:
        attrs["private"] = True  # Rootly cannot make a private incident public again: only ever sent when asked
    return attrs
