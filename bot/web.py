"""HTTP mode: one WSGI app with ``POST /slack/events`` and ``GET /healthz``, served by waitress.

waitress is a production WSGI server with a thread pool, pure Python (no build step on any platform), and
handles slow clients itself, which is all a Slack bot behind a load balancer needs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.app import BotApp

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_048_576  # Slack's largest payloads (view submissions) are far below this
StartResponse = Callable[..., Any]


def _reply(start_response: StartResponse, status: str, body: dict[str, Any]) -> Iterable[bytes]:
    payload = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


_STATUS = {200: "200 OK", 202: "202 Accepted", 400: "400 Bad Request", 401: "401 Unauthorized"}


def _read_body(environ: dict[str, Any]) -> bytes | None:
    """The request body, or None when it is over the bound (nothing is read then)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length > MAX_BODY_BYTES or length < 0:
        return None
    return environ["wsgi.input"].read(length) if length else b""


def make_wsgi(bot: BotApp) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    slack = SlackRequestHandler(bot.bolt)

    def health() -> tuple[str, dict[str, Any]]:
        checks: dict[str, str] = {}
        try:
            bot.database.ping()
            checks["database"] = "ok"
        except Exception as exc:
            log.warning("health: database unreachable: %s", exc)
            checks["database"] = "unreachable"
        ready = all(v == "ok" for v in checks.values())
        return ("200 OK" if ready else "503 Service Unavailable"), {"status": "ok" if ready else "down", **checks}

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method in ("GET", "HEAD"):
            status, body = health()
            return _reply(start_response, status, body)
        if path == "/slack/events":
            if method != "POST":
                return _reply(start_response, "405 Method Not Allowed", {"error": "POST only"})
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = MAX_BODY_BYTES + 1
            if length > MAX_BODY_BYTES:
                return _reply(start_response, "413 Payload Too Large", {"error": "body too large"})
            return slack(environ, start_response)
        if path == "/rootly/webhooks":
            if method != "POST":
                return _reply(start_response, "405 Method Not Allowed", {"error": "POST only"})
            body = _read_body(environ)
            if body is None:
                return _reply(start_response, "413 Payload Too Large", {"error": "body too large"})
            code, answer = bot.services.webhooks.receive(environ.get("HTTP_X_ROOTLY_SIGNATURE"), body)
            return _reply(start_response, _STATUS[code], answer)
        return _reply(start_response, "404 Not Found", {"error": "not found"})

    return app
