"""What is open, across every configured backend, newest first."""

from __future__ import annotations

import logging

from bot.backends import Backends
from bot.domain import Alert, AlertFilters, AlertPage
from bot.support import errors

log = logging.getLogger(__name__)


class OpenAlerts:
    def __init__(self, backends: Backends) -> None:
        self.backends = backends

    def list(self, filters: AlertFilters, *, limit: int = 50) -> tuple[AlertPage, list[str]]:
        """Alerts and the total matching; the list names backends that could not be read (others still show)."""
        alerts: list[Alert] = []
        total = 0
        failures: list[str] = []
        backends = list(self.backends)
        for backend in backends:
            try:
                page = backend.list_open_alerts(filters, limit=limit)
            except errors.BackendError as exc:
                if len(backends) == 1:
                    raise
                log.warning("listing %s alerts failed: %s", backend.display_name, exc)
                failures.append(f"{backend.display_name}: {exc.message}")
                continue
            alerts.extend(page.alerts)
            total += page.total
        alerts.sort(key=lambda a: a.created_at, reverse=True)
        return AlertPage(tuple(alerts[:limit]), max(total, len(alerts))), failures
