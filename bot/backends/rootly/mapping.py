"""JSON:API resources from Rootly → ``bot.domain`` objects. Tolerant of missing optional fields."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.domain import Alert, AlertEvent, AlertRef, AlertStatus, Backend, Note, Person, Service, Urgency
from bot.support.timestamps import parse_time


def person(data: dict[str, Any]) -> Person:
    """A Rootly user, from a ``users`` resource or a flat ``user_flat_response``."""
    attrs = data.get("attributes") or data
    name = attrs.get("full_name") or attrs.get("name") or attrs.get("email") or f"user {data.get('id')}"
    return Person(id=str(data.get("id")), name=str(name), email=attrs.get("email"))


def _notified(user: dict[str, Any]) -> Person:
    """A ``notified_users`` entry: a user's attributes without an id, so the email stands for it."""
    found = person(user)
    if user.get("id") is not None:
        return found
    return Person(str(user.get("email") or found.name), found.name, found.email)


def alert(resource: dict[str, Any]) -> Alert:
    attrs = resource.get("attributes") or {}
    urgency_attrs = attrs.get("alert_urgency")
    urgency = (
        Urgency(
            id=str(urgency_attrs.get("id") or attrs.get("alert_urgency_id") or urgency_attrs.get("name")),
            name=str(urgency_attrs.get("name") or ""),
            position=urgency_attrs.get("position"),
        )
        if isinstance(urgency_attrs, dict)
        else None
    )
    services = tuple(
        Service(id=str(s.get("id") or s.get("slug") or s.get("name")), name=str(s.get("name")), slug=s.get("slug"))
        for s in attrs.get("services") or ()
        if isinstance(s, dict)
    )
    environments = _embedded(attrs, "environments", "environment_ids")
    groups = _embedded(attrs, "groups", "group_ids")
    labels = tuple(
        (str(label.get("key")), str(label.get("value")))
        for label in attrs.get("labels") or ()
        if isinstance(label, dict) and label.get("key") is not None
    )
    noise = attrs.get("noise")
    created = parse_time(attrs.get("created_at")) or datetime.now(UTC)
    return Alert(
        ref=AlertRef(Backend.ROOTLY, str(resource["id"])),
        short_id=str(attrs.get("short_id") or ""),
        summary=str(attrs.get("summary") or "(no summary)"),
        status=AlertStatus.parse(attrs.get("status")),
        source=str(attrs.get("source") or resource.get("source") or ""),
        created_at=created,
        url=attrs.get("url"),
        description=attrs.get("description"),
        urgency=urgency,
        services=services,
        labels=labels,
        started_at=parse_time(attrs.get("started_at")),
        ended_at=parse_time(attrs.get("ended_at")),
        updated_at=parse_time(attrs.get("updated_at")),
        responders=tuple(person(r) for r in attrs.get("responders") or () if isinstance(r, dict)),
        notified=tuple(_notified(u) for u in attrs.get("notified_users") or () if isinstance(u, dict)),
        noise=None if noise is None else noise == "noise",
        environments=environments,
        groups=groups,
    )


def note(resource: dict[str, Any]) -> Note:
    attrs = resource.get("attributes") or {}
    author = attrs.get("user_id")
    return Note(
        id=str(resource.get("id")),
        alert_id=str(attrs.get("alert_id") or ""),
        details=str(attrs.get("details") or ""),
        author_id=None if author is None else str(author),
        created_at=parse_time(attrs.get("created_at")),
    )


def event(resource: dict[str, Any]) -> AlertEvent:
    attrs = resource.get("attributes") or {}
    return AlertEvent(
        id=str(resource.get("id")),
        alert_id=str(attrs.get("alert_id") or ""),
        kind=str(attrs.get("kind") or ""),
        action=str(attrs.get("action") or ""),
        created_at=parse_time(attrs.get("created_at")),
    )


def urgency(resource: dict[str, Any]) -> Urgency:
    attrs = resource.get("attributes") or resource
    return Urgency(id=str(resource.get("id")), name=str(attrs.get("name") or ""), position=attrs.get("position"))


def service(resource: dict[str, Any]) -> Service:
    attrs = resource.get("attributes") or resource
    return Service(id=str(resource.get("id")), name=str(attrs.get("name") or ""), slug=attrs.get("slug"))


def _embedded(attrs: dict[str, Any], key: str, ids_key: str) -> tuple[Service, ...]:
    """Environments or teams on an alert; their ids come from the objects or, by position, from ``*_ids``."""
    items = [i for i in attrs.get(key) or () if isinstance(i, dict)]
    ids = [str(i) for i in attrs.get(ids_key) or ()]
    return tuple(
        Service(
            id=str(item.get("id") or (ids[n] if n < len(ids) else item.get("slug") or item.get("name"))),
            name=str(item.get("name") or ""),
            slug=item.get("slug"),
        )
        for n, item in enumerate(items)
    )
