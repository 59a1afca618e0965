"""What the person is told about an action on an incident (ephemeral messages, modal texts). Pure."""

from __future__ import annotations

from typing import Any

from bot.incidents.actions import PAST, IncidentResult
from bot.incidents.live_render import status_text
from bot.incidents.reliable import IncidentQueued
from bot.render.text import FALLBACK_TEXT_MAX, escape, link, truncate


def result_text(result: IncidentResult) -> str:
    incident = result.incident
    name = link(incident.url, incident.label)
    if not result.done:
        return f"Nothing to do: {name} was not changed. {escape(result.reason or '')}".strip()
    line = f"{PAST[result.verb]} {name}"
    if result.detail:
        line += f": {escape(truncate(result.detail, 300))}"
    line += f" · now {status_text(incident)}"
    for warning in result.warnings:
        line += f"\n⚠️ {escape(warning)}"
    return line


def result_message(result: IncidentResult) -> dict[str, Any]:
    return {"text": truncate(result_text(result), FALLBACK_TEXT_MAX)}


def queued_text(q: IncidentQueued) -> str:
    return (
        f"⏳ Rootly is not answering ({escape(q.reason)}). Your {q.verb.value} on {escape(q.incident)} is queued "
        "and will be delivered once Rootly is back; you will be told when it lands."
    )


def outcome(result: IncidentResult | IncidentQueued) -> dict[str, Any]:
    if isinstance(result, IncidentQueued):
        return {"text": truncate(queued_text(result), FALLBACK_TEXT_MAX)}
    return result_message(result)
