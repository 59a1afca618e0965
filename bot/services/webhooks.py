"""Rootly webhook deliveries: verified before anything is parsed or stored, handled once per event id.

Signature (Rootly's docs): ``X-Rootly-Signature: t=<unix>,v1=<hex>``, where v1 is HMAC-SHA256 of the webhook
secret over ``t`` followed by the raw body. Compared in constant time, within a 5-minute replay window.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

REPLAY_WINDOW = 300


def verify_signature(secret: str | None, header: str | None, body: bytes, *, now: float | None = None) -> bool:
    if not secret or not header:
        return False
    parts: dict[str, str] = {}
    for piece in header.split(","):
        key, sep, value = piece.strip().partition("=")
        if sep:
            parts.setdefault(key, value)
    timestamp, signature = parts.get("t", ""), parts.get("v1", "")
    if not timestamp.isdigit() or not signature:
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > REPLAY_WINDOW:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


@dataclass(frozen=True)
class Delivery:
    event_id: str
    event_type: str
    alert_id: str | None


def parse_delivery(body: bytes) -> Delivery | None:
    """``{"event": {"id", "type", "issued_at"}, "data": {...}}``; None when the body is not that shape."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict):
        return None
    event = payload.get("event")
    data = payload.get("data")
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        return None
    alert_id = data.get("id") if isinstance(data, dict) and isinstance(data.get("id"), str) else None
    return Delivery(event["id"], event["type"], alert_id)


class WebhookReceiver:
    """Turns a verified delivery into work; answers at once so Rootly never times out and redelivers."""

    def __init__(
        self,
        secret: str | None,
        first_delivery: Callable[[str], bool],
        handle: Callable[[Delivery], None],
    ) -> None:
        self.secret = secret
        self.first_delivery = first_delivery
        self.handle = handle

    def receive(self, signature: str | None, body: bytes) -> tuple[int, dict[str, str]]:
        if not verify_signature(self.secret, signature, body):
            return 401, {"error": "unauthorized"}
        delivery = parse_delivery(body)
        if delivery is None:
            return 400, {"error": "expected a Rootly webhook payload with event.id and event.type"}
        if not delivery.event_type.startswith(("alert.", "incident.")) or not delivery.alert_id:
            return 200, {"status": "ignored"}
        if not self.first_delivery(delivery.event_id):
            return 200, {"status": "duplicate"}
        self.handle(delivery)
        return 202, {"status": "accepted"}
