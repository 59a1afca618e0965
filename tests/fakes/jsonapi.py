"""Server-side JSON:API helpers for fakes: error bodies, ransack-style filters, sorting, page and cursor pagination.

They mirror how a Rails JSON:API (Rootly's) reads ``filter[...]``, ``sort`` and ``page[...]``, so a fake answers list
requests the way the real API does without each fake re-deriving it.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

from tests.fakes.server import Recorded, Reply

MEDIA_TYPE = "application/vnd.api+json"
CONTENT_TYPE = f"{MEDIA_TYPE}; charset=utf-8"

Getter = Callable[[dict[str, Any]], set[str]]
_FILTER = re.compile(r"filter\[(\w+)\](?:\[(\w+)\])?")


def iso(value: datetime | str | None = None) -> str:
    """ISO-8601 UTC with milliseconds (now when ``value`` is None); strings pass through."""
    if isinstance(value, str):
        return value
    value = value or datetime.now(UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def error_reply(status: int, title: str | None = None, detail: str | None = None) -> Reply:
    """An ``errors_list`` body: ``{"errors": [{"title", "status", "detail"?}]}``."""
    error: dict[str, Any] = {"title": title or HTTPStatus(status).phrase, "status": str(status)}
    if detail is not None:
        error["detail"] = detail
    return Reply(status, {"errors": [error]}, content_type=CONTENT_TYPE)


class Fail(Exception):
    """Raised by a handler to answer with an error reply."""

    def __init__(self, status: int, title: str | None = None, detail: str | None = None) -> None:
        super().__init__(title)
        self.reply = error_reply(status, title, detail)


def cursor(seq: int) -> str:
    """An opaque cursor for the item created ``seq``-th."""
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def uncursor(token: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().removeprefix("seq:"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise Fail(400, "Invalid cursor", f"page[after]={token!r}") from exc


def page_int(values: list[str] | None, default: int) -> int:
    """A page parameter as Rails reads it: unparseable means the default."""
    try:
        return int(values[-1]) if values else default
    except ValueError:
        return default


def matches(
    attrs: Mapping[str, Any],
    query: Mapping[str, list[str]],
    fields: Mapping[str, Getter],
    search: Iterable[str] = (),
    case_insensitive: Iterable[str] = (),
) -> bool:
    """Ransack-style filters: ``filter[f]=a,b`` (any of), ``[eq]``, ``[not_eq]``, ``[in]``, ``[not_in]``, ``[gt]``/
    ``[gte]``/``[lt]``/``[lte]`` on timestamps and ``filter[search]`` (substring of the ``search`` attributes).
    ``fields`` maps a filter name to the values an item has for it; other filters are ignored.
    """
    for name, values in query.items():
        m = _FILTER.fullmatch(name)
        if not m or not values[-1]:
            continue
        key, op, value = m[1], m[2], values[-1]
        if key == "search":
            ok = any(value.lower() in str(attrs.get(f) or "").lower() for f in search)
        elif op in ("gt", "gte", "lt", "lte"):
            if not attrs.get(key):
                return False
            try:
                have, want = parse_time(attrs[key]), parse_time(value)
            except ValueError as exc:
                raise Fail(400, "Invalid filter", f"{name}={value!r} is not a timestamp") from exc
            ok = {"gt": have > want, "gte": have >= want, "lt": have < want, "lte": have <= want}[op]
        elif key in fields:
            have_values = fields[key](dict(attrs))
            wanted = value.lower() if key in case_insensitive else value
            listed = {v.strip() for v in wanted.split(",")}
            ok = {
                None: bool(have_values & listed),
                "in": bool(have_values & listed),
                "not_in": not have_values & listed,
                "eq": wanted in have_values,
                "not_eq": wanted not in have_values,
            }.get(op, True)
        else:
            ok = True
        if not ok:
            return False
    return True


def sort_items(items: list[tuple[Any, dict[str, Any]]], spec: str) -> list[tuple[Any, dict[str, Any]]]:
    """JSON:API ``sort=a,-b`` over (key, attributes) pairs; ``id`` sorts by the key itself."""
    for term in reversed([t for t in spec.split(",") if t]):
        name = term.lstrip("-")
        items = sorted(
            items, key=lambda x, n=name: x[0] if n == "id" else str(x[1].get(n) or ""), reverse=term[0] == "-"
        )
    return items


def link_builder(base_url: str, req: Recorded, size: int) -> Callable[..., str]:
    """Links keep every non-page query parameter, as Rails JSON:API links do."""
    rest = [(k, v) for k, vs in req.query.items() if not k.startswith("page[") for v in vs]

    def link(number: int | None, **extra: str) -> str:
        """``number=None`` for cursor pages (``after=...``), which have no page number."""
        page = [("page[number]", number)] if number is not None else []
        page += [("page[size]", size), *((f"page[{k}]", v) for k, v in extra.items())]
        return f"{base_url}{req.path}?" + urlencode([*rest, *page])

    return link


def paginate(
    base_url: str, req: Recorded, items: list[Any], default_size: int, max_size: int
) -> tuple[list[Any], dict[str, Any], dict[str, Any]]:
    """Slice by 1-based ``page[number]`` and ``page[size]`` (clamped to ``max_size``); return (page, links, meta)."""
    number = max(page_int(req.query.get("page[number]"), 1), 1)
    size = min(page_int(req.query.get("page[size]"), default_size), max_size)
    size = size if size >= 1 else default_size
    pages = math.ceil(len(items) / size)
    link = link_builder(base_url, req, size)
    links = {
        "self": link(number),
        "first": link(1),
        "prev": link(number - 1) if number > 1 else None,
        "next": link(number + 1) if number < pages else None,
        "last": link(max(pages, 1)),
    }
    meta = {
        "current_page": number,
        "next_page": number + 1 if number < pages else None,
        "prev_page": number - 1 if number > 1 else None,
        "total_count": len(items),
        "total_pages": pages,
    }
    return items[(number - 1) * size : number * size], links, meta


def cursor_page(
    base_url: str,
    req: Recorded,
    items: list[Any],
    seq_of: Callable[[Any], int],
    size: int,
    *,
    descending: bool,
    keep_cursor: bool = False,
    totals: bool = False,
) -> tuple[list[Any], dict[str, Any], dict[str, Any]]:
    """Cursor paging by creation order (``page[after]``); return (page, links, meta).

    ``meta.next_cursor`` names the last item returned when more follow; with ``keep_cursor`` (a polling feed) it is
    always set, echoing the given cursor when nothing is new, so a poller never loses its place. ``totals`` fills
    ``total_count``/``total_pages`` for schemas that require them.
    """
    given = (req.query.get("page[after]") or [None])[-1]
    ordered = sorted(items, key=seq_of, reverse=descending)
    if given:
        after = uncursor(given)
        ordered = [x for x in ordered if (seq_of(x) < after if descending else seq_of(x) > after)]
    page, more = ordered[:size], len(ordered) > size
    next_cursor = cursor(seq_of(page[-1])) if page and (more or keep_cursor) else given if keep_cursor else None
    link = link_builder(base_url, req, size)
    links = {
        "self": link(None, **({"after": given} if given else {})),
        "first": link(None),
        "prev": None,
        "next": link(None, after=next_cursor) if more and next_cursor else None,
        "last": None,
    }
    meta = {"next_cursor": next_cursor, "current_page": None, "next_page": None, "prev_page": None}
    meta |= {"total_count": None, "total_pages": None}
    if totals:
        meta |= {"total_count": len(items), "total_pages": math.ceil(len(items) / size)}
    return page, links, meta
