"""Every surface that shows an alert offers the same actions for the same state: its own message (feeds, triggers),
a list row (``/rootly alerts``), a digest row and an App Home row."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.digests.render import DigestView, digest_message
from bot.domain import Alert, AlertRef, AlertStatus, Backend, Service, Urgency
from bot.render.alert_list import alert_list_message
from bot.render.alert_message import alert_message
from bot.render.home import HomeData, home_view
from bot.render.ids import Action

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def make(status: AlertStatus, backend: Backend, noise: bool) -> Alert:
    return Alert(
        ref=AlertRef(backend, str(uuid.uuid4()) if backend is Backend.ROOTLY else "4242"),
        short_id="t8rgnt",
        summary="Checkout 500s",
        status=status,
        source="datadog",
        created_at=NOW - timedelta(minutes=20),
        url="https://rootly.com/account/alerts/t8rgnt",
        urgency=Urgency("u1", "High"),
        services=(Service("s1", "checkout"),),
        noise=noise,
    )


def offered(blocks: list[dict[str, Any]], alert: Alert) -> set[tuple[str, tuple[str, ...]]]:
    """(action id, option values) of every element that acts on this alert."""
    ref = alert.ref.encode()
    found: set[tuple[str, tuple[str, ...]]] = set()
    for block in blocks:
        for element in block.get("elements") or ():
            if not isinstance(element, dict) or "action_id" not in element:
                continue
            options = tuple(sorted(str(o.get("value")) for o in element.get("options") or ()))
            if element.get("value") == ref or any(v.endswith(f"|{ref}") for v in options):
                found.add((element["action_id"], options))
    return found


SURFACES: dict[str, Callable[[Alert], list[dict[str, Any]]]] = {
    "alert message": lambda a: alert_message(a)["blocks"],
    "list row": lambda a: alert_list_message([a], 1, title="Open alerts", more_url=None)["blocks"],
    "digest row": lambda a: digest_message(DigestView([a], 1, NOW, can_declare=True))["blocks"],
    "App Home row": lambda a: home_view(HomeData("U111", NOW, responding=(a,)), command="/rootly")["blocks"],
}

STATES = [(s, b, n) for s in AlertStatus for b in (Backend.ROOTLY, Backend.ILERT) for n in (False, True)]


@pytest.mark.parametrize(("status", "backend", "noise"), STATES, ids=lambda v: getattr(v, "value", str(v)))
def test_every_surface_offers_the_same_actions(status: AlertStatus, backend: Backend, noise: bool) -> None:
    alert = make(status, backend, noise)
    by_surface = {name: offered(render(alert), alert) for name, render in SURFACES.items()}
    if status is not AlertStatus.TRIGGERED:
        # A digest gives rows (line and actions) to its most urgent triggered alerts; the others are lines.
        assert by_surface.pop("digest row") == set()
    expected = by_surface["alert message"]
    assert expected, "the alert's own message offers nothing"
    for name, actions in by_surface.items():
        assert actions == expected, f"{name} offers {sorted(actions)}, the alert message {sorted(expected)}"
    ids = {action_id for action_id, _ in expected}
    # What the state allows, as the README's table says.
    assert (Action.ACKNOWLEDGE in ids) == (status is AlertStatus.TRIGGERED)
    assert (Action.RESOLVE in ids) == (status is not AlertStatus.RESOLVED)
    assert Action.ADD_NOTE in ids
    assert (Action.OVERFLOW in ids) == (backend is Backend.ROOTLY)  # edit, noise, escalate: Rootly's
