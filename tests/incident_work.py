"""Helpers for the end-to-end tests of working incidents from Slack: seeding, clicking, submitting, reading."""

from __future__ import annotations

from typing import Any

from bot.domain import Incident
from bot.render.ids import Action, Block, Callback
from tests.conftest import RunningBot
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.messages import action_ids, text_of
from tests.waiting import wait_until


def live_post(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake, title: str = "Checkout is down", **attrs: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An incident in Rootly and its live message in C111 (as after declaring); (stored incident, message)."""
    incident = rootly.add_incident(title, **attrs)
    work = bot.app.incident_work
    assert work is not None
    found: Incident = work.actions.get(incident["id"])
    ts = work.messages.post("C111", found, stamp="🚨 Declared by <@U111>")
    return incident, message_at(slack, "C111", ts)


def message_at(slack: SlackFake, channel: str, ts: str) -> dict[str, Any]:
    found = next(m for m in slack.messages(channel) if m["ts"] == ts)
    return {"ts": ts, "text": found.get("text", ""), "blocks": found.get("blocks", [])}


def click(bot: RunningBot, action: Action, incident_id: str, message: dict[str, Any], *, user: str = "U111") -> Any:
    return bot.sender.click(action.value, incident_id, message=message, user=user)


def menu(
    bot: RunningBot,
    value: str,
    message: dict[str, Any],
    *,
    action: Action = Action.INCIDENT_MENU,
    block_id: str = "b",
    user: str = "U111",
) -> Any:
    """A choice in a menu (overflow or static select) on the message."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": "alice", "name": "alice", "team_id": "T111"},
        "api_app_id": "A111",
        "token": "verification_token",
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": "C111", "is_ephemeral": False},
        "trigger_id": "4916855695380.xxx.menu",
        "team": {"id": "T111", "domain": "test"},
        "channel": {"id": "C111", "name": "oncall"},
        "state": {"values": {}},
        "response_url": bot.sender.response_url,
        "message": {"type": "message", **message},
        "actions": [
            {
                "action_id": action.value,
                "block_id": block_id,
                "type": "static_select" if action is Action.INCIDENT_SET_SEVERITY else "overflow",
                "selected_option": {"value": value, "text": {"type": "plain_text", "text": value}},
                "action_ts": "1700000001.000200",
            }
        ],
    }
    return bot.sender.interactive(payload)


def latest_view(slack: SlackFake, callback: Callback, n: int = 1, timeout: float = 10.0) -> dict[str, Any]:
    """The view the person now sees, once the bot has shown ``n`` views with this callback."""
    wait_until(
        lambda: (
            len(
                [
                    c
                    for m in ("views.open", "views.update")
                    for c in slack.calls(m)
                    if c["view"].get("callback_id") == callback
                ]
            )
            >= n
        ),
        timeout,
        message=f"no {callback} view #{n}",
    )
    return [v for v in slack.views.values() if v.get("callback_id") == callback][-1]


def text_values(text: str) -> dict[str, Any]:
    return {Block.INCIDENT_TEXT: {Action.INCIDENT_TEXT: {"type": "plain_text_input", "value": text}}}


def updated_views(slack: SlackFake, n: int = 1) -> list[dict[str, Any]]:
    return [c["view"] for c in slack.wait_calls("views.update", n, timeout=10)]


def buttons(blocks: list[dict[str, Any]]) -> set[str]:
    return action_ids(blocks)


def writes(rootly: RootlyFake, incident_id: str, suffix: str = "") -> list[Any]:
    return [
        r
        for r in rootly.requests
        if r.method in ("PUT", "POST") and r.path.startswith(f"/v1/incidents/{incident_id}{suffix}")
    ]


def events(rootly: RootlyFake, incident_id: str) -> list[str]:
    return [e["attributes"]["event"] for e in rootly.incident_events.get(incident_id, [])]


__all__ = ["text_of"]


ACTIONS_ALL = {
    Action.INCIDENT_MITIGATE,
    Action.INCIDENT_RESOLVE,
    Action.INCIDENT_ADD_NOTE,
    Action.INCIDENT_SET_SEVERITY,
    Action.INCIDENT_ASSIGN_ROLE,
    Action.INCIDENT_MENU,
}
