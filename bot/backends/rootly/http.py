"""Rootly's flavour of the shared transport (:mod:`bot.support.http`): JSON:API media type, ``errors[]`` bodies, and
``page[number]``/``page[size]`` pagination (at most 100 a page).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import requests

from bot.support.http import ApiSession, ErrorDetail, Params, clean_params, reset_delay

__all__ = [
    "JSONAPI",
    "MAX_PAGE_SIZE",
    "JsonApiSession",
    "Params",
    "clean_params",
    "jsonapi_error_detail",
    "reset_delay",
]

JSONAPI = "application/vnd.api+json"
MAX_PAGE_SIZE = 100


def jsonapi_error_detail(resp: requests.Response) -> ErrorDetail:
    """Rootly's message (``errors[].title/detail``) and any per-field messages."""
    try:
        body = resp.json()
    except ValueError:
        return ErrorDetail((resp.text or resp.reason or "").strip()[:300], {})
    items = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(items, list):
        message = body.get("error") if isinstance(body, dict) else None
        return ErrorDetail(str(message or resp.reason or ""), {})
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
    return ErrorDetail("; ".join(dict.fromkeys(messages)) or resp.reason or "", fields)


class JsonApiSession(ApiSession):
    """The shared session speaking JSON:API to Rootly, plus Rootly's page-number pagination."""

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
        super().__init__(
            base_url,
            token,
            backend=backend,
            media_type=JSONAPI,
            error_detail=jsonapi_error_detail,
            timeout=timeout,
            rate_limit_budget=rate_limit_budget,
            pool_size=pool_size,
            user_agent=user_agent,
            sleep=sleep,
        )

    def pages(
        self, path: str, params: Params | None = None, *, page_size: int = MAX_PAGE_SIZE, max_pages: int = 1000
    ) -> Iterator[dict[str, Any]]:
        """Every page of a collection, following ``meta.next_page`` (page size capped at Rootly's 100)."""
        size = max(1, min(page_size, MAX_PAGE_SIZE))
        number = 1
        for _ in range(max_pages):
            query: dict[str, Any] = dict(params or {})
            query.update({"page[number]": number, "page[size]": size})
            body = self.request("GET", path, params=query)
            yield body
            next_page = (body.get("meta") or {}).get("next_page")
            if not next_page or not body.get("data"):
                return
            number = int(next_page)
