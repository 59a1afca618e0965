"""Turn "what a person asked to change" into the smallest Rootly PATCH, and into words for the reply.

Pure: lookups of urgency and service ids happen in the backend, which passes their results in.
"""

from __future__ import annotations

from bot.domain import Alert, AlertChanges, AlertEdit, Service, Urgency
from bot.support import errors


def plan_update(
    alert: Alert, changes: AlertChanges, *, urgencies: list[Urgency], services: list[Service] | None
) -> tuple[dict[str, object], list[str]]:
    """(attributes to PATCH, descriptions like "urgency High → Low"); only what differs from the alert."""
    attrs: dict[str, object] = {}
    said: list[str] = []
    if changes.summary is not None and changes.summary.strip() != alert.summary:
        attrs["summary"] = changes.summary.strip()
        said.append("summary updated")
    if changes.urgency is not None:
        match = next((u for u in urgencies if u.name.lower() == changes.urgency.strip().lower()), None)
        if match is None:
            known = ", ".join(u.name for u in urgencies) or "none"
            raise errors.Invalid(
                f"Rootly has no urgency called '{changes.urgency}'. Urgencies: {known}.", fields={"urgency": "unknown"}
            )
        if alert.urgency is None or alert.urgency.id != match.id:
            attrs["alert_urgency_id"] = match.id
            said.append(f"urgency {alert.urgency.name if alert.urgency else 'none'} → {match.name}")
    if services is not None:
        current = {s.id for s in alert.services}
        if {s.id for s in services} != current:
            attrs["service_ids"] = [s.id for s in services]
            names = ", ".join(s.name for s in services) or "none"
            said.append(f"services → {names}")
    if changes.set_labels or changes.remove_labels:
        labels = dict(alert.labels)
        for key, value in changes.set_labels:
            labels[key] = value
        for key in changes.remove_labels:
            labels.pop(key, None)
        if labels != dict(alert.labels):
            attrs["labels"] = [{"key": k, "value": v} for k, v in labels.items()]
            changed = [f"{k}={v}" for k, v in changes.set_labels if dict(alert.labels).get(k) != v]
            removed = [k for k in changes.remove_labels if k in dict(alert.labels)]
            said.append("labels " + ", ".join([*changed, *(f"-{k}" for k in removed)]))
    if changes.noise is not None and changes.noise != bool(alert.noise):
        attrs["noise"] = "noise" if changes.noise else "not_noise"
        said.append("marked as noise" if changes.noise else "marked as not noise")
    return attrs, said


def plan_edit(
    alert: Alert, edit: AlertEdit, *, names: dict[str, str] | None = None
) -> tuple[dict[str, object], list[str]]:
    """The edit form's values against the alert: (attributes that differ, what changed in words).

    ``names`` maps ids to names for the words (urgencies, services… as the form showed them).
    """
    names = names or {}
    attrs: dict[str, object] = {}
    said: list[str] = []
    if edit.summary is not None and edit.summary.strip() and edit.summary.strip() != alert.summary:
        attrs["summary"] = edit.summary.strip()
        said.append("summary updated")
    if edit.description is not None and (edit.description.strip() or None) != (alert.description or None):
        attrs["description"] = edit.description.strip() or None
        said.append("description updated")
    if edit.urgency_id is not None and edit.urgency_id != (alert.urgency.id if alert.urgency else None):
        attrs["alert_urgency_id"] = edit.urgency_id
        said.append(f"urgency → {names.get(edit.urgency_id, edit.urgency_id)}")
    for key, wanted, current, label in (
        ("service_ids", edit.service_ids, alert.services, "services"),
        ("environment_ids", edit.environment_ids, alert.environments, "environments"),
        ("group_ids", edit.group_ids, alert.groups, "teams"),
    ):
        if wanted is not None and set(wanted) != {c.id for c in current}:
            attrs[key] = list(wanted)
            said.append(f"{label} → " + (", ".join(names.get(i, i) for i in wanted) or "none"))
    if edit.labels is not None and dict(edit.labels) != dict(alert.labels):
        attrs["labels"] = [{"key": k, "value": v} for k, v in edit.labels]
        said.append("labels updated")
    return attrs, said
