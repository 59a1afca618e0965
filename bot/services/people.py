"""Who is acting: the Slack user, and the backend user with the same email (for attribution)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Hashable

from bot.backends import AlertBackend
from bot.domain import Actor, Person
from bot.services.ports import Directory, Profile
from bot.support import errors
from bot.support.cache import TTLCache

log = logging.getLogger(__name__)

_NO_MATCH = "none"
_LOOKUP_STRIPES = 64


class People:
    """Maps Slack users to backend users by email, case-insensitively, cached so a second click costs nothing."""

    def __init__(self, directory: Directory, *, ttl: float = 3600.0, miss_ttl: float = 300.0) -> None:
        self.directory = directory
        self.miss_ttl = miss_ttl
        self._profiles: TTLCache[str, Profile] = TTLCache(ttl)
        self._users: TTLCache[tuple[str, str], Person | str] = TTLCache(ttl)
        # One lookup per person at a time: clicks by one person arriving together (a burst, a busy channel) wait for
        # the first lookup instead of repeating it; users.info and Rootly's user search both count against limits.
        self._lookups = [threading.Lock() for _ in range(_LOOKUP_STRIPES)]
        self._failed: dict[tuple[str, str], tuple[float, str]] = {}  # last failed lookup: when, and why

    def _lookup(self, key: Hashable) -> threading.Lock:
        return self._lookups[hash(key) % _LOOKUP_STRIPES]

    def profile(self, slack_user_id: str, fallback_name: str | None = None) -> Profile:
        cached = self._profiles.get(slack_user_id)
        if cached:
            return cached
        with self._lookup(("slack", slack_user_id)):
            cached = self._profiles.get(slack_user_id)  # looked up meanwhile by another click
            if cached:
                return cached
            try:
                found = self.directory.profile(slack_user_id)
            except Exception:  # Slack down must not stop the action; the name falls back to what Slack sent
                log.warning("could not read Slack profile of %s", slack_user_id, exc_info=True)
                return Profile(slack_user_id, fallback_name or slack_user_id, None)
            self._profiles.put(slack_user_id, found)
            return found

    def actor(self, slack_user_id: str, backend: AlertBackend, fallback_name: str | None = None) -> Actor:
        profile = self.profile(slack_user_id, fallback_name)
        if not profile.email:
            return Actor(
                slack_user_id,
                profile.name,
                None,
                None,
                "Slack did not share your email address with the bot, so it cannot find your "
                f"{backend.display_name} user (the app needs the users:read.email scope).",
            )
        key = (backend.kind.value, profile.email.lower())
        cached = self._users.get(key)
        if cached is None:
            waiting_since = time.monotonic()
            with self._lookup(key):
                cached = self._users.get(key)  # looked up meanwhile by another click
                failed = self._failed.get(key)
                if cached is None and failed is not None and failed[0] >= waiting_since:
                    # It failed while this click waited for it: share that answer rather than queue up behind one
                    # failing lookup after another (during an outage that serialised every click of the person).
                    return Actor(slack_user_id, profile.name, profile.email, None, failed[1])
                if cached is None:
                    try:
                        found = backend.find_user(profile.email)
                    except errors.BackendError as exc:
                        log.warning("user lookup in %s failed: %s", backend.display_name, exc)
                        why = f"{backend.display_name} could not be asked who you are ({exc.message})."
                        self._failed[key] = (time.monotonic(), why)
                        return Actor(slack_user_id, profile.name, profile.email, None, why)
                    cached = found or _NO_MATCH
                    self._users.put(key, cached, None if found else self.miss_ttl)
        if isinstance(cached, Person):
            return Actor(slack_user_id, profile.name, profile.email, cached)
        return Actor(
            slack_user_id,
            profile.name,
            profile.email,
            None,
            f"no {backend.display_name} user has the email {profile.email}",
        )
