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
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse

from bot import metrics, request_context
from bot.slack.metered import metered_copy

log = logging.getLogger("bot.slack.requests")


def describe(body: dict[str, Any]) -> tuple[str, str, str]:
    """(kind, what, user) of a request body, from identifiers only."""
    if body.get("command"):
        words = str(body.get("text") or "").split()
        sub = words[0][:20] if words else ""
        return "command", f"{body['command']} {sub}".strip(), str(body.get("user_id") or "")
    kind = str(body.get("type") or "unknown")
    user = body.get("user") if isinstance(body.get("user"), dict) else {}
    user_id = str(user.get("id") or "")
    if kind == "block_actions":
        what = ",".join(str(a.get("action_id")) for a in body.get("actions") or () if isinstance(a, dict))
    elif kind in ("view_submission", "view_closed"):
        what = str((body.get("view") or {}).get("callback_id") or "")
    elif kind in ("message_action", "shortcut"):
        what = str(body.get("callback_id") or "")
    elif kind == "block_suggestion":
        what = str(body.get("action_id") or "")
    elif kind == "event_callback":
        event = body.get("event") or {}
        kind, what = "event", str(event.get("type") or "")
        user_id = str(event.get("user") or "") if isinstance(event.get("user"), str) else user_id
    else:
        what = ""
    return kind, what, user_id


def register(app: App) -> None:
    @app.middleware
    def log_request(req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse:
        request_context.ensure()
        kind, what, user = describe(req.body if isinstance(req.body, dict) else {})
        retry = (req.headers.get("x-slack-retry-num") or [None])[0]
        log.info("slack %s %s from %s%s", kind, what or "-", user or "-", f" (Slack's retry #{retry})" if retry else "")
        metrics.slack_request(kind)
        if req.context.client is not None:  # the listeners' Slack calls are measured too (bot/slack/metered.py)
            req.context["client"] = metered_copy(req.context.client)
        return next()
