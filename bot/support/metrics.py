"""Every Prometheus metric the bot exports, in one place, and the small helpers the seams call to record them.

Why one module: the names, labels and help texts are the operators' interface (dashboards and alerts are built on
them, and docs/operations.md lists them), so they are declared once here and nowhere else. The seams that record
them (the API transport, the Slack client, the action services, the digest jobs) call the helpers below, which
never raise: a metric must never fail the work it measures.

Labels are bounded on purpose: API paths are templated (``/v1/alerts/{id}/acknowledge``), Slack methods and error
codes come from a closed set, and nothing carries a user, channel or alert id.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

log = logging.getLogger(__name__)

# No ``*_created`` series: one more series per label set, which no dashboard here uses.
disable_created_metrics()

# Buckets for calls that take milliseconds to seconds (and up to the 10 s timeouts, plus retries).
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

ACTIONS = Counter(
    "rootly_bot_actions",
    "Actions people took from Slack, by kind (acknowledge, resolve, note, …) and outcome (done, unchanged, queued, "
    "or the failure: not_found, unavailable, rate_limited, …).",
    ["kind", "outcome"],
)
API_REQUEST_SECONDS = Histogram(
    "rootly_bot_api_request_seconds",
    "Rootly and ilert API calls: seconds per HTTP request (including transport retries), by backend, HTTP method, "
    "templated endpoint and status (the HTTP status, or timeout / connection_error).",
    ["backend", "method", "endpoint", "status"],
    buckets=LATENCY_BUCKETS,
)
API_ERRORS = Counter(
    "rootly_bot_api_errors",
    "Rootly and ilert API calls that failed (HTTP 4xx/5xx, timeouts, refused connections), by backend and status.",
    ["backend", "status"],
)
SLACK_REQUEST_SECONDS = Histogram(
    "rootly_bot_slack_api_seconds",
    "Slack Web API calls: seconds per call (including waiting out Slack's 429s), by method and outcome "
    "(ok, or Slack's error code).",
    ["method", "outcome"],
    buckets=LATENCY_BUCKETS,
)
SLACK_ERRORS = Counter(
    "rootly_bot_slack_api_errors",
    "Slack Web API calls that failed, by method and error (Slack's error code, http_<status>, or connection_error).",
    ["method", "error"],
)
RATE_LIMIT_WAITS = Counter(
    "rootly_bot_rate_limit_waits",
    "Times the bot waited out a rate limit (HTTP 429) before trying again, by API (rootly, ilert, slack).",
    ["api"],
)
RATE_LIMIT_WAIT_SECONDS = Counter(
    "rootly_bot_rate_limit_wait_seconds",
    "Seconds spent waiting out rate limits, by API (rootly, ilert, slack).",
    ["api"],
)
DIGESTS = Counter(
    "rootly_bot_digests",
    "Scheduled digest slots handled by this replica, by outcome (posted, skipped, found, taken, failed, released, …).",
    ["outcome"],
)
OUTBOX_DEPTH = Gauge(
    "rootly_bot_outbox_depth",
    "Notes and actions waiting in the outbox for Rootly or ilert to come back (read from the database on scrape; "
    "NaN when the database cannot be read).",
)
SLACK_REQUESTS = Counter(
    "rootly_bot_slack_requests",
    "Requests from Slack that reached the bot's listeners, by kind (command, block_actions, view_submission, event…).",
    ["kind"],
)

_depth_lock = threading.Lock()
_depth_source: Callable[[], int] | None = None


def _outbox_depth() -> float:
    with _depth_lock:
        source = _depth_source
    if source is None:
        return 0.0
    try:
        return float(source())
    except Exception as exc:  # the database is down: say so without failing the scrape
        log.debug("outbox depth unavailable: %s", exc)
        return math.nan


OUTBOX_DEPTH.set_function(_outbox_depth)


def read_outbox_depth_from(source: Callable[[], int]) -> None:
    """Where the outbox gauge reads its value on each scrape (``OutboxStore.depth`` of the running app)."""
    global _depth_source
    with _depth_lock:
        _depth_source = source


def forget_outbox_depth_source(source: Callable[[], int]) -> None:
    """Stop reading from ``source`` (its app is closing) unless another app has taken its place."""
    global _depth_source
    with _depth_lock:
        if _depth_source == source:
            _depth_source = None


def _safely(record: Callable[[], None]) -> None:
    try:
        record()
    except Exception:  # pragma: no cover - a wrong label set is a bug; it must not fail the call being measured
        log.debug("could not record a metric", exc_info=True)


def endpoint(path: str) -> str:
    """A bounded label for an API path: ids replaced by ``{id}``.

    Rootly paths are ``/v1/<collection>[/<id>[/<action>]]`` and ilert's ``/<collection>[/<id>[/<action>]]``; the
    segment after a collection is an id, except the named singletons ``me`` and ``current``.
    """
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    prefix = []
    if parts and parts[0] in ("v1", "api"):
        prefix, parts = parts[:1], parts[1:]
    templated = []
    for i, part in enumerate(parts):
        templated.append("{id}" if i % 2 == 1 and part not in ("me", "current") else part)
    return "/" + "/".join(prefix + templated)


def api_call(backend: str, method: str, path: str, status: str, seconds: float) -> None:
    """One HTTP request to Rootly or ilert; ``status`` is the HTTP status or ``timeout`` / ``connection_error``."""

    def record() -> None:
        name = backend.lower()
        API_REQUEST_SECONDS.labels(name, method.upper(), endpoint(path), status).observe(seconds)
        if not status.isdigit() or int(status) >= 400:
            API_ERRORS.labels(name, status).inc()

    _safely(record)


def rate_limit_wait(api: str, seconds: float) -> None:
    def record() -> None:
        RATE_LIMIT_WAITS.labels(api.lower()).inc()
        RATE_LIMIT_WAIT_SECONDS.labels(api.lower()).inc(max(0.0, seconds))

    _safely(record)


def slack_call(method: str, outcome: str, seconds: float) -> None:
    """One Slack Web API call; ``outcome`` is ``ok`` or the error."""

    def record() -> None:
        SLACK_REQUEST_SECONDS.labels(method, outcome).observe(seconds)
        if outcome != "ok":
            SLACK_ERRORS.labels(method, outcome).inc()

    _safely(record)


def action(kind: str, outcome: str) -> None:
    _safely(lambda: ACTIONS.labels(kind, outcome).inc())


def digest(outcome: str) -> None:
    _safely(lambda: DIGESTS.labels(outcome).inc())


def slack_request(kind: str) -> None:
    _safely(lambda: SLACK_REQUESTS.labels(kind).inc())


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, and its content type (for ``GET /metrics``)."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def serve(port: int, host: str = "0.0.0.0") -> Callable[[], None] | None:
    """``/metrics`` on its own port (Socket Mode has no HTTP server of its own); returns a stopper, None when off."""
    if port <= 0:
        return None
    from prometheus_client import start_http_server

    try:
        server, thread = start_http_server(port, addr=host)
    except OSError as exc:  # the port is taken: the bot's work matters more than its metrics
        log.error("cannot serve /metrics on port %s (%s); running without metrics", port, exc)
        return None
    log.info("metrics on http://%s:%s/metrics", host, port)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    return stop
