"""JSON-over-HTTP transport shared by the Rootly and ilert clients, on one pooled ``requests.Session``.

What it adds to requests, and why:
- urllib3's ``Retry`` retries connection failures (safe for any method: nothing reached the API) and 5xx on
  GETs only, with jittered backoff. A POST or PUT that may have reached the API is never repeated here.
- A 429 names when the window resets (``X-RateLimit-Reset``, ``RateLimit-Reset`` or ``Retry-After``), which urllib3
  cannot read for every method, so 429s are waited out here, within the time budget the caller gives. A 429 was not
  applied, so waiting and repeating is safe for every method.
- Every failure becomes a typed :mod:`bot.support.errors` exception carrying the API's own words (and error code),
  read by a per-API ``error_detail`` parser: Rootly speaks JSON:API ``errors[]``,
  ilert ``{"status", "message", "code"}``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from bot.support import errors, metrics
from bot.support.rate_pacing import RateGate

log = logging.getLogger(__name__)

JSON = "application/json"
ParamValue = str | int | None | Sequence[str | int]
Params = Mapping[str, ParamValue]


class ErrorDetail(NamedTuple):
    """What an error body says: a message for people, per-field messages, and a machine-readable code."""

    message: str
    fields: dict[str, str] = {}  # noqa: RUF012 - NamedTuple defaults are never mutated here
    code: str | None = None


ErrorParser = Callable[[requests.Response], ErrorDetail]


def _filled(value: Any) -> bool:
    return value is not None and str(value).strip() != ""


def clean_params(params: Params | None) -> dict[str, str | list[str]]:
    """Drop empty values (Rootly answers 500 to ``filter[status]=``); lists become repeated parameters
    (ilert's ``states=PENDING&states=ACCEPTED``) and lose their empty items.
    """
    if not params:
        return {}
    out: dict[str, str | list[str]] = {}
    for key, value in params.items():
        if isinstance(value, Sequence) and not isinstance(value, str):
            items = [str(v) for v in value if _filled(v)]
            if items:
                out[key] = items
        elif _filled(value):
            out[key] = str(value)
    return out


def reset_delay(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds until the rate-limit window resets, from whichever header the API sent."""
    for name in ("X-RateLimit-Reset", "RateLimit-Reset", "Retry-After"):
        raw = headers.get(name)
        if not raw:
            continue
        try:
            value = float(raw.split(",")[0].strip())
        except ValueError:
            continue
        # Epoch seconds (X-RateLimit-Reset) or delta seconds (RateLimit-Reset draft, Retry-After).
        return max(0.0, value - now) if value > 1_000_000_000 else max(0.0, value)
    return None


def json_error_detail(resp: requests.Response) -> ErrorDetail:
    """The common REST shape: ``{"message", "code"}`` (ilert), or ``{"error": …}``; text when not JSON."""
    try:
        body = resp.json()
    except ValueError:
        return ErrorDetail((resp.text or resp.reason or "").strip()[:300])
    if not isinstance(body, dict):
        return ErrorDetail(str(resp.reason or ""))
    message = body.get("message") or body.get("error") or resp.reason or ""
    code = body.get("code")
    return ErrorDetail(str(message).strip(), {}, str(code) if code else None)


class ApiSession:
    """Sends requests, waits out rate limits, maps errors. One instance is shared by every thread."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        backend: str,
        media_type: str = JSON,
        error_detail: ErrorParser = json_error_detail,
        timeout: float = 10.0,
        rate_limit_budget: float = 20.0,
        pool_size: int = 32,
        user_agent: str = "rootly-chatops",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = (3.05, timeout)
        self.rate_limit_budget = rate_limit_budget
        self.backend = backend
        self.media_type = media_type
        self.error_detail = error_detail
        self.sleep = sleep
        self.session = requests.Session()
        retry = Retry(
            total=3,
            connect=3,
            read=2,
            status=2,
            other=0,
            allowed_methods=frozenset({"GET", "HEAD"}),
            status_forcelist=(500, 502, 503, 504),
            backoff_factor=0.3,
            backoff_jitter=0.3,
            raise_on_status=False,
            respect_retry_after_header=False,
        )
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_size, max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update(
            {"Authorization": f"Bearer {token}", "Accept": media_type, "User-Agent": user_agent}
        )
        self._token_hint = f"…{token[-4:]}" if len(token) > 8 else "…"
        # Told each call's outcome ("ok" | "failing" | "rate_limited", detail), for /healthz; set by the app.
        self.observe: Callable[[str, str | None], None] | None = None
        # One gate for every thread using this session: requests wait while X-RateLimit-Remaining is nearly spent.
        self.gate = RateGate(backend)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        budget: float | None = None,
        authenticated: bool = True,
    ) -> dict[str, Any]:
        """One logical call; the decoded JSON object (``{}`` for an empty body, ``{"data": [...]}`` for an array)."""
        data = self.request_json(method, path, params=params, body=body, budget=budget, authenticated=authenticated)
        if data is None:
            return {}
        return data if isinstance(data, dict) else {"data": data}

    def request_json(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        budget: float | None = None,
        authenticated: bool = True,
    ) -> Any:
        """One logical call; the decoded JSON as sent (``None`` for an empty body). ``authenticated=False`` leaves
        the token out (ilert's events API is keyed by the body, and the user's token has no business there).
        """
        budget = self.rate_limit_budget if budget is None else budget
        deadline = time.monotonic() + budget
        url = f"{self.base_url}{path}"
        headers: dict[str, str | None] = {} if authenticated else {"Authorization": None}
        if body is not None:
            headers["Content-Type"] = self.media_type
        query = clean_params(params)
        while True:
            ticket = self.gate.acquire(method, deadline - time.monotonic())  # RateLimited when past the budget
            started = time.monotonic()
            answer: requests.Response | None = None
            try:
                resp = answer = self._send(method, url, query, body, headers or None)
            except errors.Unavailable as exc:
                self._observed("failing", exc.message)
                raise
            finally:
                self.gate.release(ticket, answer)
            self._observed(*_reachability(resp.status_code, self.backend))
            elapsed = time.monotonic() - started
            # Writes and failures at INFO (one line each, carrying the Slack request's id), reads at DEBUG.
            log.log(
                logging.DEBUG if method == "GET" and resp.status_code < 400 else logging.INFO,
                "%s %s %s → %s in %.0f ms (key %s)",
                self.backend,
                method,
                path,
                resp.status_code,
                elapsed * 1000,
                self._token_hint if authenticated else "none",
            )
            if resp.status_code == 429:
                wait = reset_delay(resp.headers, time.time())
                wait = 1.0 if wait is None else wait + 1.0
                remaining = deadline - time.monotonic()
                if wait > remaining:
                    detail = self.error_detail(resp)
                    raise errors.RateLimited(
                        f"{self.backend} is rate limiting this bot's API key",
                        retry_after=wait,
                        status=429,
                        backend=self.backend,
                        code=detail.code,
                    )
                log.info("%s rate limit hit on %s %s; waiting %.1f s", self.backend, method, path, wait)
                metrics.rate_limit_wait(self.backend, wait)
                self.sleep(wait + random.uniform(0, 0.25))
                continue
            return self._decode(method, resp)

    def _send(
        self, method: str, url: str, query: dict[str, Any], body: Any, headers: dict[str, str | None] | None
    ) -> requests.Response:
        status, started = "connection_error", time.monotonic()  # for the latency histogram (bot/support/metrics.py)
        try:
            resp = self.session.request(method, url, params=query, json=body, headers=headers, timeout=self.timeout)
            status = str(resp.status_code)
            return resp
        except requests.exceptions.ConnectTimeout as exc:
            raise errors.Unavailable(f"{self.backend} did not accept the connection", backend=self.backend) from exc
        except requests.exceptions.ReadTimeout as exc:
            status = "timeout"
            raise errors.Unavailable(
                f"{self.backend} did not answer within {self.timeout[1]:g} s",
                ambiguous=method != "GET",
                backend=self.backend,
            ) from exc
        except requests.exceptions.ConnectionError as exc:
            # Refused connections never reached the API; a dropped one may have, after the request was sent.
            refused = "NewConnectionError" in repr(exc)
            raise errors.Unavailable(
                f"{self.backend} could not be reached",
                ambiguous=method != "GET" and not refused,
                backend=self.backend,
            ) from exc
        finally:
            metrics.api_call(self.backend, method, url.removeprefix(self.base_url), status, time.monotonic() - started)

    def _decode(self, method: str, resp: requests.Response) -> Any:
        status = resp.status_code
        if status < 400:
            if not resp.content:
                return None
            try:
                return resp.json()
            except ValueError as exc:
                raise errors.Unavailable(
                    f"{self.backend} sent an unreadable answer", status=status, backend=self.backend
                ) from exc
        message, fields, code = self.error_detail(resp)
        kw: dict[str, Any] = {"status": status, "backend": self.backend, "code": code}
        if status in (401, 403):
            raise errors.Unauthorized(message or "the API key was rejected", **kw)
        if status == 404:
            raise errors.NotFound(message or "not found", **kw)
        if status == 422:
            raise errors.Invalid(message or "the request was refused", fields=fields, **kw)
        if status in (400, 409):
            raise errors.Conflict(message or "the request was refused", **kw)
        if status >= 500:
            raise errors.Unavailable(
                f"{self.backend} answered {status}" + (f": {message}" if message else ""),
                ambiguous=method != "GET" and status != 503,
                **kw,
            )
        raise errors.BackendError(message or f"{self.backend} answered {status}", **kw)

    def _observed(self, state: str, detail: str | None) -> None:
        if self.observe is not None:
            try:
                self.observe(state, detail)
            except Exception:  # health bookkeeping must never fail a call
                log.debug("health observer failed", exc_info=True)

    def close(self) -> None:
        self.session.close()


def _reachability(status: int, backend: str) -> tuple[str, str | None]:
    """What one answer says about the API being up: any answer below 500 is an API that works."""
    if status == 429:
        return "rate_limited", f"{backend} answered 429"
    if status >= 500:
        return "failing", f"{backend} answered {status}"
    return "ok", None
