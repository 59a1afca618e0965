"""HTTP mode: one WSGI app with ``POST /slack/events``, ``POST /rootly/webhooks``, ``GET /healthz`` and
``GET /metrics`` (Prometheus, see bot/support/metrics.py), served by waitress.

waitress is a production WSGI server with a thread pool, pure Python (no build step on any platform), and
handles slow clients itself, which is all a Slack bot behind a load balancer needs.

Every request body is bounded (:data:`MAX_BODY_BYTES`) and a Slack request's signature, window and freshness are
checked on the raw bytes before Bolt parses anything (:class:`bot.slack.middleware.guards.SlackGate`); failures get
401 and no detail. ``/healthz`` answers 200 while the database works, and says in its body which other dependencies are
failing (from the bot's own recent calls) and how much waits in the outbox.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from slack_bolt.request import BoltRequest

from bot.app import BotApp
from bot.slack.middleware.guards import Malformed, SlackGate, parse_slack_body
from bot.store.seen import MemorySeen, SeenStore
from bot.support import metrics, request_context

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
    # Replayed signatures: in memory on SQLite (one replica by design), in the shared database on PostgreSQL.
    replays = MemorySeen().first if bot.database.is_sqlite else SeenStore(bot.database).first
    gate = SlackGate(bot.settings.slack_signing_secret or "", replays)
    answering = bot.services.work.ack_first.answering

    def health() -> tuple[str, dict[str, Any]]:
        checks: dict[str, str] = {}
        try:
            bot.database.ping()
            checks["database"] = "ok"
        except Exception as exc:
            log.warning("health: database unreachable: %s", exc)
            checks["database"] = "unreachable"
        ready = all(v == "ok" for v in checks.values())
        body: dict[str, Any] = {"status": "ok" if ready else "down", **checks}
        body["dependencies"] = bot.services.health.snapshot()
        degraded = bot.services.health.degraded()
        if ready:
            body["outbox"] = _outbox(bot)
            if degraded or body["outbox"].get("waiting"):
                body["status"] = "degraded"
        body["degraded"] = degraded
        return ("200 OK" if ready else "503 Service Unavailable"), body

    def slack_request(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body = _read_body(environ)
        if body is None:
            return _reply(start_response, "413 Payload Too Large", {"error": "body too large"})
        signed = gate.admit(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"), environ.get("HTTP_X_SLACK_SIGNATURE"), body)
        if not signed:
            log.warning("refused a request to /slack/events: bad, stale or replayed signature")
            return _reply(start_response, "401 Unauthorized", {"error": "invalid request"})
        try:
            parsed = parse_slack_body(body, environ.get("CONTENT_TYPE"))
        except Malformed as exc:
            log.warning("refused a signed Slack request of the wrong shape: %s", exc)
            return _reply(start_response, "400 Bad Request", {"error": "malformed request"})
        return _bolt(bot.bolt, environ, body, parsed, start_response)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method in ("GET", "HEAD"):
            status, body = health()
            return _reply(start_response, status, body)
        if path == "/slack/events":
            if method != "POST":
                return _reply(start_response, "405 Method Not Allowed", {"error": "POST only"})
            with answering():  # follow-up work waits while acknowledgements are due (bot.support.ack_first)
                return slack_request(environ, start_response)
        if path == "/rootly/webhooks":
            if method != "POST":
                return _reply(start_response, "405 Method Not Allowed", {"error": "POST only"})
            body = _read_body(environ)
            if body is None:
                return _reply(start_response, "413 Payload Too Large", {"error": "body too large"})
            code, answer = bot.services.webhooks.receive(environ.get("HTTP_X_ROOTLY_SIGNATURE"), body)
            return _reply(start_response, _STATUS[code], answer)
        if path == "/metrics" and method in ("GET", "HEAD"):
            payload, content_type = metrics.exposition()
            start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(payload)))])
            return [payload]
        return _reply(start_response, "404 Not Found", {"error": "not found"})

    def with_request_id(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Each request in a fresh context with its own id, so its log lines (and its jobs') carry that id."""
        return request_context.in_new_request(app, environ, start_response)

    return with_request_id


def _bolt(
    bolt: App, environ: dict[str, Any], raw: bytes, parsed: dict[str, Any], start_response: StartResponse
) -> Iterable[bytes]:
    """Bolt's WSGI adapter, given the body already parsed (:func:`parse_slack_body`) instead of parsing it again.

    Parsing is most of an acknowledgement's work on a click that carries its whole message (``bench.ack_profile``),
    and Bolt's own parser drops slash commands whose text contains "payload". The request is built as the adapter
    builds it (headers, query, the raw body for Bolt's signature check) with the parsed body; its answer is turned
    into the WSGI response by the adapter's own response class.
    """
    try:
        http = WsgiHttpRequest(environ)
        # BoltRequest takes a parsed body only in Socket Mode; the mode and raw body are then set as HTTP mode's.
        request = BoltRequest(body=parsed, query=http.query_string, headers=http.get_headers(), mode="socket_mode")
        request.mode = "http"
        request.raw_body = raw.decode("utf-8")
        answer = bolt.dispatch(request)
    except Exception as exc:  # fields Bolt's context builder cannot read: signed, so from Slack or the secret's holder
        log.warning("refused a signed Slack request Bolt could not read: %s", type(exc).__name__)
        return _reply(start_response, "400 Bad Request", {"error": "malformed request"})
    response = WsgiHttpResponse(status=answer.status, headers=answer.headers, body=answer.body)
    start_response(response.status, response.get_headers())
    return response.get_body()


def _outbox(bot: BotApp) -> dict[str, Any]:
    """How much waits for Rootly or ilert, and for how long the oldest item has waited."""
    try:
        store = bot.services.outbox_store
        counts = store.counts()
        oldest = store.oldest_waiting()
    except Exception as exc:
        log.warning("health: could not read the outbox: %s", exc)
        return {"error": "unreadable"}
    waiting = counts.get("pending", 0) + counts.get("leased", 0)
    age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
    return {"waiting": waiting, "failed": counts.get("failed", 0), "oldest_waiting_seconds": round(age, 1)}
