"""Who may resolve alerts, declare incidents and resolve or cancel them from Slack (``POLICY_RESOLVE``,
``POLICY_DECLARE``, ``POLICY_INCIDENT_RESOLVE``).

Each policy is a comma list of Slack user ids (``U…``/``W…``) and user groups, by id (``S…``) or handle
(``@sre-leads``). An empty policy lets everyone act. Group membership comes from Slack (``usergroups.users.list``)
and is cached for ``POLICY_CACHE_SECONDS``; a refresh that fails keeps the last known members, so a Slack hiccup
does not lock the on-call person out. A group whose members were never learnt grants nothing (the check fails
closed) and the refusal says so. A refused person is told which groups and people may act, so they know whom to ask.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.domain.grantees import Grantee

log = logging.getLogger(__name__)


class Permission(StrEnum):
    RESOLVE = "resolve"
    DECLARE = "declare"
    INCIDENT_RESOLVE = "incident_resolve"  # resolving or cancelling incidents (POLICY_INCIDENT_RESOLVE)

    @property
    def doing(self) -> str:
        return {
            Permission.RESOLVE: "Resolving alerts",
            Permission.DECLARE: "Declaring incidents",
            Permission.INCIDENT_RESOLVE: "Resolving or cancelling incidents",
        }[self]


class GroupDirectory(Protocol):
    """Slack's user groups (``usergroups:read``)."""

    def members(self, group_id: str) -> frozenset[str]: ...

    def handles(self) -> dict[str, str]:
        """handle → group id, for every group of the workspace."""
        ...


class LookupFailed(Exception):
    """Slack could not say who is in a group; ``code`` is Slack's error (``missing_scope``, ``ratelimited`` …)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Refusal:
    permission: Permission
    text: str  # mrkdwn, for messages
    plain: str  # for places without mrkdwn (a modal's field error)


@dataclass
class _Cached:
    value: frozenset[str] | dict[str, str]
    at: float


class Policy:
    def __init__(
        self,
        rules: Mapping[Permission, tuple[Grantee, ...]],
        directory: GroupDirectory | None,
        *,
        ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rules = {permission: grantees for permission, grantees in rules.items() if grantees}
        self.directory = directory
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, _Cached] = {}

    @property
    def active(self) -> bool:
        return bool(self.rules)

    @property
    def uses_groups(self) -> bool:
        return any(g.kind == "group" for grantees in self.rules.values() for g in grantees)

    def check(self, permission: Permission, user_id: str) -> Refusal | None:
        """None when ``user_id`` may act; otherwise what to tell them."""
        grantees = self.rules.get(permission)
        if not grantees:
            return None
        if any(g.kind == "user" and g.value == user_id for g in grantees):
            return None
        unchecked: list[str] = []
        for grantee in grantees:
            if grantee.kind != "group":
                continue
            try:
                if user_id in self._members(grantee):
                    return None
            except LookupFailed as exc:
                unchecked.append(f"{self._label(grantee, plain=True)} ({exc.code})")
        return self._refusal(permission, grantees, unchecked)

    def warm(self) -> None:
        """Fetch every group's members now (at start and on a timer), so checks seldom wait on Slack."""
        for grantees in self.rules.values():
            for grantee in grantees:
                if grantee.kind == "group":
                    try:
                        self._members(grantee, refresh=True)
                    except LookupFailed as exc:
                        log.warning("policy: could not read user group %s: %s", grantee.value, exc.code)

    # membership ----------------------------------------------------------------------------------------------
    def _members(self, grantee: Grantee, *, refresh: bool = False) -> frozenset[str]:
        group_id = self._group_id(grantee, refresh=refresh)
        members = self._cached(f"members:{group_id}", lambda: self._directory().members(group_id), refresh)
        assert isinstance(members, frozenset)
        return members

    def _group_id(self, grantee: Grantee, *, refresh: bool = False) -> str:
        if not grantee.is_handle:
            return grantee.value
        handles = self._cached("handles", lambda: self._directory().handles(), refresh)
        assert isinstance(handles, dict)
        if grantee.value not in handles:
            raise LookupFailed("no_such_handle")
        return handles[grantee.value]

    def _directory(self) -> GroupDirectory:
        if self.directory is None:
            raise LookupFailed("no_directory")
        return self.directory

    def _cached(
        self, key: str, fetch: Callable[[], frozenset[str] | dict[str, str]], refresh: bool
    ) -> frozenset[str] | dict[str, str]:
        now = self.clock()
        with self._lock:
            entry = self._cache.get(key)
        if entry is not None and not refresh and now - entry.at < self.ttl:
            return entry.value
        try:
            value = fetch()
        except LookupFailed:
            if entry is not None:
                return entry.value
            raise
        except Exception as exc:
            code = _error_code(exc)
            if entry is not None:
                log.info("policy: keeping the last known %s (%s)", key, code)
                return entry.value
            raise LookupFailed(code) from exc
        with self._lock:
            self._cache[key] = _Cached(value, now)
        return value

    # words ---------------------------------------------------------------------------------------------------
    def _label(self, grantee: Grantee, *, plain: bool = False) -> str:
        if grantee.kind == "user":
            return grantee.value if plain else f"<@{grantee.value}>"
        if grantee.is_handle:
            return f"@{grantee.value}"
        with self._lock:
            handles = self._cache.get("handles")
        if handles is not None and isinstance(handles.value, dict):
            for handle, group_id in handles.value.items():
                if group_id == grantee.value:
                    return f"@{handle}"
        return grantee.value if plain else f"<!subteam^{grantee.value}>"

    def _refusal(self, permission: Permission, grantees: tuple[Grantee, ...], unchecked: list[str]) -> Refusal:
        if any(g.kind == "group" and not g.is_handle for g in grantees):
            # Name groups given by id by their handles, as people know them (else Slack's mention markup names them).
            with contextlib.suppress(LookupFailed):
                self._cached("handles", lambda: self._directory().handles(), False)

        def names(plain: bool) -> str:
            groups = [self._label(g, plain=plain) for g in grantees if g.kind == "group"]
            people = [self._label(g, plain=plain) for g in grantees if g.kind == "user"]
            parts = []
            if groups:
                parts.append("members of " + _either(groups))
            if people:
                parts.append(_either(people))
            return " and ".join(parts)

        first_group = next((g for g in grantees if g.kind == "group"), None)
        ask = "Ask one of them to do it"
        if first_group is not None:
            ask += f", or ask a Slack admin to add you to {self._label(first_group)}"
        text = f"⛔ {permission.doing} from Slack is limited to {names(False)} in this workspace. {ask}."
        plain = f"{permission.doing} is limited to {names(True)}. Ask one of them."
        if unchecked:
            note = (
                f" Slack could not say who is in {', '.join(unchecked)}, so membership there could not be checked: "
                "try again in a minute, and tell whoever runs the bot if it persists."
            )
            text += note
            plain += note
        return Refusal(permission, text, plain)


def _either(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            code = response.get("error")
        except Exception:
            code = None
        if code:
            return str(code)
    return type(exc).__name__
