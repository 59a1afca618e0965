"""Rootly incidents and catalog lists ↔ ``bot.domain`` objects. Tolerant of missing optional fields.

Kept apart from :mod:`bot.backends.rootly.mapping` (alerts) so each file maps one part of the API.
"""

from __future__ import annotations

from typing import Any

from bot.domain import CatalogItem, Incident, IncidentEvent, IncidentRole, NewIncident, Person, RoleAssignment
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


def incident(resource: dict[str, Any], included: list[dict[str, Any]] | None = None) -> Incident:
    """``included`` (from ``?include=roles``) gives the role assignments; without it ``roles`` stays None."""
    attrs = resource.get("attributes") or {}
    severity_data = (attrs.get("severity") or {}).get("data") or {}
    severity = severity_data.get("attributes") or {}
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
        slug=attrs.get("slug"),
        severity_id=str(severity_data["id"]) if severity_data.get("id") else None,
        summary=attrs.get("summary"),
        started_at=parse_time(attrs.get("started_at")),
        mitigated_at=parse_time(attrs.get("mitigated_at")),
        resolved_at=parse_time(attrs.get("resolved_at")),
        cancelled_at=parse_time(attrs.get("cancelled_at")),
        updated_at=parse_time(attrs.get("updated_at")),
        roles=role_assignments(included) if included is not None else None,
    )


def _inner(value: Any) -> dict[str, Any]:
    """A related object as Rootly nests it (``{"data": {"id", "attributes"}}``) or flat, as id + attributes."""
    if not isinstance(value, dict):
        return {}
    data = value.get("data") if isinstance(value.get("data"), dict) else value
    return {"id": data.get("id"), **(data.get("attributes") or {}), **{k: v for k, v in data.items() if k != "id"}}


def role_assignments(included: list[dict[str, Any]]) -> tuple[RoleAssignment, ...]:
    """Role assignments among an incident's ``included`` resources (``incident_role_assignments``)."""
    found: list[RoleAssignment] = []
    for item in included:
        if not isinstance(item, dict) or "role" not in str(item.get("type") or ""):
            continue
        attrs = item.get("attributes") or {}
        role, user = _inner(attrs.get("incident_role")), _inner(attrs.get("user"))
        if not role or not user or user.get("id") is None:
            continue
        name = user.get("full_name") or user.get("name") or user.get("email") or f"user {user.get('id')}"
        person = Person(str(user.get("id")), str(name), user.get("email"))
        found.append(RoleAssignment(str(role.get("name") or role.get("slug") or "role"), person, role.get("slug")))
    return tuple(found)


def incident_role(resource: dict[str, Any]) -> IncidentRole:
    attrs = resource.get("attributes") or {}
    return IncidentRole(str(resource.get("id")), str(attrs.get("name") or attrs.get("slug")), attrs.get("slug"))


def incident_event(resource: dict[str, Any]) -> IncidentEvent:
    attrs = resource.get("attributes") or {}
    return IncidentEvent(str(resource.get("id")), str(attrs.get("event") or ""), parse_time(attrs.get("created_at")))


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
