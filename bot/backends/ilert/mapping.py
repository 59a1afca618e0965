"""ilert REST objects (``Alert``, ``User``, ``UserRel``, ``LogEntry``) → ``bot.domain`` objects.

Tolerant of missing optional fields: the contract marks almost nothing in ``Alert`` as required.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bot.domain import Alert, AlertRef, AlertStatus, Backend, Note, Person, Service, Urgency
from bot.support.timestamps import parse_time

# ilert's three alert states onto the bot's (Rootly's) vocabulary.
STATUS = {
    "PENDING": AlertStatus.TRIGGERED,
    "ACCEPTED": AlertStatus.ACKNOWLEDGED,
    "RESOLVED": AlertStatus.RESOLVED,
}
# ...and back, for filters people type: "open" is ilert's "not resolved".
STATES_FOR = {
    "triggered": ("PENDING",),
    "open": ("PENDING", "ACCEPTED"),
    "acknowledged": ("ACCEPTED",),
    "resolved": ("RESOLVED",),
}
URGENCIES = {"HIGH": Urgency(id="HIGH", name="High", position=1), "LOW": Urgency(id="LOW", name="Low", position=2)}


def ui_base_url(api_url: str) -> str:
    """Where people open ilert in a browser, derived from the API URL.

    Assumption (ilert documents no UI URLs): the web app lives on the API's host without the ``/api`` prefix, except
    that the shared ``api.ilert.com`` serves ``app.ilert.com``; tenant hosts (``acme.ilert.com``) serve both.
    Pass ``ui_url`` to :meth:`bot.backends.ilert.client.IlertClient.create` where that is wrong.
    """
    parts = urlsplit(api_url.rstrip("/"))
    path = parts.path[: -len("/api")] if parts.path.endswith("/api") else parts.path
    host = parts.netloc
    if parts.hostname == "api.ilert.com":
        host = host.replace("api.ilert.com", "app.ilert.com")
    return urlunsplit((parts.scheme, host, path, "", "")).rstrip("/")


def alert_url(ui_base: str | None, alert_id: Any) -> str | None:
    """The alert's page in ilert's web app (``…/alert/view?id=<id>``, the form ``bot.domain.refs`` parses back)."""
    return f"{ui_base}/alert/view?id={alert_id}" if ui_base and alert_id is not None else None


def person(user: dict[str, Any]) -> Person:
    """A ``User`` or ``UserRel``: ids are integers in ilert, strings in the domain."""
    name = " ".join(str(user.get(k) or "").strip() for k in ("firstName", "lastName")).strip()
    return Person(
        id=str(user.get("id")), name=name or str(user.get("email") or f"user {user.get('id')}"), email=user.get("email")
    )


def alert(data: dict[str, Any], *, ui_base: str | None = None) -> Alert:
    source = data.get("alertSource") if isinstance(data.get("alertSource"), dict) else {}
    source_name = str(source.get("name") or "")
    services = (Service(id=str(source.get("id") or source_name), name=source_name),) if source_name else ()
    responders = tuple(
        person(r["user"])
        for r in data.get("responders") or ()
        if isinstance(r, dict) and isinstance(r.get("user"), dict)
    )
    assigned = data.get("assignedTo")
    if not responders and isinstance(assigned, dict) and assigned.get("id") is not None:
        responders = (person(assigned),)  # deprecated field, only an id: still says who has it
    reported = parse_time(data.get("reportTime"))
    alert_id = str(data.get("id"))
    return Alert(
        ref=AlertRef(Backend.ILERT, alert_id),
        short_id=alert_id,
        summary=str(data.get("summary") or "(no summary)"),
        status=STATUS.get(str(data.get("status") or ""), AlertStatus.UNKNOWN),
        source=source_name or "ilert",
        created_at=reported or datetime.now(UTC),
        url=alert_url(ui_base, data.get("id")),
        description=data.get("details") or None,
        urgency=URGENCIES.get(str(data.get("priority") or "")),
        services=services,
        started_at=reported,
        ended_at=parse_time(data.get("resolvedOn")),
        responders=responders,
    )


def comment(entry: dict[str, Any], alert_id: str) -> Note:
    """A comment log entry (``AlertCommentAddedLogEntry``) as a note; ilert names no author id there."""
    return Note(
        id=str(entry.get("id")),
        alert_id=alert_id,
        details=str(entry.get("text") or ""),
        created_at=parse_time(entry.get("timestamp")),
    )
