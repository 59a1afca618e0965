"""JSON:API transport for Rootly on one pooled ``requests.Session``.

What it adds to requests, and why:
- urllib3's ``Retry`` retries connection failures (safe for any method: nothing reached Rootly) and 5xx on
  GETs only, with jittered backoff. A POST that may have reached Rootly is never repeated here.
- Rootly's 429 names when the window resets (``X-RateLimit-Reset``, epoch seconds), which urllib3 cannot read,
  so 429s are waited out here, within the time budget the caller gives. A 429 was not applied, so waiting and
  repeating is safe for every method.
- Every failure becomes a typed :mod:`bot.errors` exception with Rootly's own words in it.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from bot import errors

log = logging.getLogger(__name__)

JSONAPI = "application/vnd.api+json"
MAX_PAGE_SIZE = 100
Params = Mapping[str, str | int | None]


def clean_params(params: Params | None) -> dict[str, str]:
    """Drop empty values: Rootly answers 500 to ``filter[status]=``."""
    if not params:
        return {}
    return {k: str(v) for k, v in params.items() if v is not None and str(v).strip() != ""}


def reset_delay(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds until the rate-limit window resets, from whichever header Rootly sent."""
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


def _error_detail(resp: requests.Response) -> tuple[str, dict[str, str]]:
    """Rootly's message (``errors[].title/detail``) and any per-field messages."""
    try:
        body = resp.json()
    except ValueError:
        return (resp.text or resp.reason or "").strip()[:300], {}
    items = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(items, list):
        message = body.get("error") if isinstance(body, dict) else None
        return str(message or resp.reason or ""), {}
    messages: list[str] = []
    fields: dict[str, str] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        text = str(item.get("detail") or item.get("title") or "").strip()
        if text:
            messages.append(text)
        pointer = (item.get("source") or {}).get("pointer") if isinstance(item.get("source"), dict) else None
        if pointer and text:
            fields[str(pointer).rsplit("/", 1)[-1]] = text
    return "; ".join(dict.fromkeys(messages)) or resp.reason or "", fields


class JsonApiSession:
    """Sends requests, waits out rate limits, maps errors. One instance is shared by every thread."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        rate_limit_budget: float = 20.0,
        pool_size: int = 32,
        user_agent: str = "rootly-chatops",
        backend: str = "Rootly",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = (3.05, timeout)
        self.rate_limit_budget = rate_limit_budget
        self.backend = backend
        self._sleep = sleep
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
        self.session.headers.update({"Authorization": f"Bearer {token}", "Accept": JSONAPI, "User-Agent": user_agent})
        self._token_hint = f"…{token[-4:]}" if len(token) > 8 else "…"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        budget: float | None = None,
    ) -> dict[str, Any]:
        """One logical call; returns the decoded JSON body (``{}`` for an empty one)."""
        budget = self.rate_limit_budget if budget is None else budget
        deadline = time.monotonic() + budget
        url = f"{self.base_url}{path}"
        headers = {"Content-Type": JSONAPI} if body is not None else None
        query = clean_params(params)
        while True:
            started = time.monotonic()
            try:
                resp = self.session.request(method, url, params=query, json=body, headers=headers, timeout=self.timeout)
            except requests.exceptions.ConnectTimeout as exc:
                raise errors.Unavailable(f"{self.backend} did not accept the connection", backend=self.backend) from exc
            except requests.exceptions.ReadTimeout as exc:
                raise errors.Unavailable(
                    f"{self.backend} did not answer within {self.timeout[1]:g} s",
                    ambiguous=method != "GET",
                    backend=self.backend,
                ) from exc
            except requests.exceptions.ConnectionError as exc:
                # Refused connections never reached Rootly; a dropped one may have, after the request was sent.
                refused = "NewConnectionError" in repr(exc)
                raise errors.Unavailable(
                    f"{self.backend} could not be reached",
                    ambiguous=method != "GET" and not refused,
                    backend=self.backend,
                ) from exc
            elapsed = time.monotonic() - started
            log.debug(
                "%s %s %s → %s in %.0f ms (key %s)",
                self.backend,
                method,
                path,
                resp.status_code,
                elapsed * 1000,
                self._token_hint,
            )
            if resp.status_code == 429:
                wait = reset_delay(resp.headers, time.time())
                wait = 1.0 if wait is None else wait + 1.0
                remaining = deadline - time.monotonic()
                if wait > remaining:
                    raise errors.RateLimited(
                        f"{self.backend} is rate limiting this bot's API key",
                        retry_after=wait,
                        status=429,
                        backend=self.backend,
                    )
                log.info("%s rate limit hit on %s %s; waiting %.1f s", self.backend, method, path, wait)
                self._sleep(wait + random.uniform(0, 0.25))
                continue
            return self._decode(method, path, resp)

    def _decode(self, method: str, path: str, resp: requests.Response) -> dict[str, Any]:
        status = resp.status_code
        if status < 400:
            if not resp.content:
                return {}
            try:
                data = resp.json()
            except ValueError as exc:
                raise errors.Unavailable(
                    f"{self.backend} sent an unreadable answer", status=status, backend=self.backend
                ) from exc
            return data if isinstance(data, dict) else {"data": data}
        message, fields = _error_detail(resp)
        kw: dict[str, Any] = {"status": status, "backend": self.backend}
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

    def pages(
        self, path: str, params: Params | None = None, *, page_size: int = MAX_PAGE_SIZE, max_pages: int = 1000
    ) -> Iterator[dict[str, Any]]:
        """Every page of a collection, following ``meta.next_page`` (page size capped at Rootly's 100)."""
        size = max(1, min(page_size, MAX_PAGE_SIZE))
        number = 1
        for _ in range(max_pages):
            query = dict(params or {})
            query.update({"page[number]": number, "page[size]": size})
            body = self.request("GET", path, params=query)
            yield body
            next_page = (body.get("meta") or {}).get("next_page")
            if not next_page or not body.get("data"):
                return
            number = int(next_page)

    def close(self) -> None:
        self.session.close()
