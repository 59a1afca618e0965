"""Turn whatever a person pasted into an alert reference: a short id, a UUID, a Rootly or ilert URL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from bot.domain import Backend

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_SHORT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,31}$")
_NUMERIC = re.compile(r"^\d{1,19}$")
# Slack wraps links as <url> or <url|label>.
_SLACK_LINK = re.compile(r"^<([^>|]+)(?:\|[^>]*)?>$")

SYNTAX_HINT = "the short id (e.g. `t8rgnt`), the alert's UUID, or its Rootly link (ilert: the numeric id or link)"


class BadReference(ValueError):
    """The text cannot name an alert; the message says what would."""


@dataclass(frozen=True)
class ParsedRef:
    """An id and, when the text says so, the backend it belongs to (``None``: ask each configured one)."""

    id: str
    backend: Backend | None


def parse_alert_reference(text: str) -> ParsedRef:
    raw = (text or "").strip()
    if not raw:
        raise BadReference(f"Which alert? Give {SYNTAX_HINT}.")
    link = _SLACK_LINK.match(raw)
    if link:
        raw = link.group(1).strip()
    if raw.lower().startswith(("http://", "https://")):
        return _from_url(raw)
    if _UUID.match(raw):
        return ParsedRef(raw.lower(), Backend.ROOTLY)
    if _NUMERIC.match(raw):
        return ParsedRef(raw, Backend.ILERT)
    if _SHORT_ID.match(raw):
        return ParsedRef(raw, Backend.ROOTLY)
    shown = raw if len(raw) <= 60 else raw[:57] + "…"
    raise BadReference(f"`{shown}` doesn't look like an alert. Give {SYNTAX_HINT}.")


def _from_url(url: str) -> ParsedRef:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if host == "rootly.com" or host.endswith(".rootly.com"):
        for i, seg in enumerate(segments[:-1]):
            if seg == "alerts":
                candidate = segments[i + 1]
                if _UUID.match(candidate) or _SHORT_ID.match(candidate):
                    return ParsedRef(candidate, Backend.ROOTLY)
        raise BadReference("That Rootly link doesn't point at an alert (expected …/alerts/<id>).")
    if host == "ilert.com" or host.endswith(".ilert.com"):
        ids = parse_qs(parts.query).get("id") or []
        if ids and _NUMERIC.match(ids[0]):
            return ParsedRef(ids[0], Backend.ILERT)
        for i, seg in enumerate(segments[:-1]):
            if seg in ("alerts", "alert", "incidents") and _NUMERIC.match(segments[i + 1]):
                return ParsedRef(segments[i + 1], Backend.ILERT)
        raise BadReference("That ilert link doesn't point at an alert (expected …/alerts/<number>).")
    raise BadReference(f"That link isn't a Rootly or ilert alert link. Give {SYNTAX_HINT}.")
