"""One log line per Slack request that passed verification, with its request id, and a count by kind.

A Bolt global middleware runs after Bolt's own (signature check, authorization) and before any listener, in both
HTTP and Socket Mode, so this is the one place that sees every accepted request. The line says what arrived
(``command /rootly ack``, ``block_actions alert.acknowledge``, ``view_submission incident_modal``, ``event
app_home_opened``) and from whom, never what was typed: notes and titles stay out of the logs.

It also swaps the plain ``WebClient`` Bolt makes for each request for a measured copy, so the listeners' own Slack
calls (``views.open``, ``views.publish``, ``chat.update``) show in the Slack latency metrics like every other call.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse

from bot.slack.adapters.metered import MeteredClients
from bot.slack.middleware import direct
from bot.slack.middleware.direct import Next
from bot.support import metrics, request_context

log = logging.getLogger("bot.slack.requests")


def _dict(value: Any) -> dict[str, Any]:
    """Slack's shapes are not trusted: anything that should be an object and is not counts as empty."""
    return value if isinstance(value, dict) else {}


def _word(value: Any, limit: int = 60) -> str:
    return str(value)[:limit] if isinstance(value, str | int) else ""


def describe(body: dict[str, Any]) -> tuple[str, str, str]:
    """(kind, what, user) of a request body, from identifiers only; never raises, whatever the body's shape."""
    body = _dict(body)
    if body.get("command"):
        words = _word(body.get("text"), 200).split()
        sub = words[0][:20] if words else ""
        return "command", f"{_word(body['command'])} {sub}".strip(), _word(body.get("user_id"))
    kind = _word(body.get("type"), 40) or "unknown"
    user_id = _word(_dict(body.get("user")).get("id"))
    actions = body.get("actions") if isinstance(body.get("actions"), list) else []
    if kind == "block_actions":
        what = ",".join(_word(_dict(a).get("action_id")) for a in actions[:5])
    elif kind in ("view_submission", "view_closed"):
        what = _word(_dict(body.get("view")).get("callback_id"))
    elif kind in ("message_action", "shortcut"):
        what = _word(body.get("callback_id"))
    elif kind == "block_suggestion":
        what = _word(body.get("action_id"))
    elif kind == "event_callback":
        event = _dict(body.get("event"))
        kind, what = "event", _word(event.get("type"))
        user_id = _word(event.get("user")) or user_id
    else:
        what = ""
    return kind, what, user_id


def register(app: App) -> None:
    pace = getattr(app.client, "pace", None)
    measured = MeteredClients(pace)

    @direct.use(app)
    def log_request(req: BoltRequest, resp: BoltResponse, next: Next) -> BoltResponse | None:
        request_context.ensure()
        kind, what, user = describe(req.body if isinstance(req.body, dict) else {})
        retry = (req.headers.get("x-slack-retry-num") or [None])[0]
        log.info("slack %s %s from %s%s", kind, what or "-", user or "-", f" (Slack's retry #{retry})" if retry else "")
        metrics.slack_request(kind)
        if req.context.client is not None:  # the listeners' Slack calls are measured too (adapters/metered.py)
            req.context["client"] = measured.of(req.context.client)
        return next()
