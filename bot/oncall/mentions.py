"""Backend people as Slack users: ``users.lookupByEmail`` (users:read.email), cached, misses too."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.support.cache import TTLCache

log = logging.getLogger(__name__)

_MISS = ""


class SlackMentions:
    def __init__(self, client: WebClient, *, ttl: float = 3600.0, miss_ttl: float = 900.0) -> None:
        self.client = client
        self.miss_ttl = miss_ttl
        self._found: TTLCache[str, str] = TTLCache(ttl)

    def user_id(self, email: str | None) -> str | None:
        """The Slack user with this email, or None (no such member, or Slack did not answer)."""
        wanted = (email or "").strip().lower()
        if not wanted:
            return None
        cached = self._found.get(wanted)
        if cached is not None:
            return cached or None
        try:
            found = str(self.client.users_lookupByEmail(email=wanted)["user"]["id"])
        except SlackApiError as exc:
            if exc.response.get("error") != "users_not_found":
                log.warning("users.lookupByEmail failed: %s", exc.response.get("error"))
                return None  # not cached: a passing failure should not hide the mention for an hour
            found = _MISS
        self._found.put(wanted, found, None if found else self.miss_ttl)
        return found or None
