"""Who a permission policy names: Slack users and user groups, parsed from a setting such as
``POLICY_RESOLVE="U123, S456, @sre-leads"``. Pure: settings validate with it, the policy service uses it."""

from __future__ import annotations

import re
from dataclasses import dataclass

_USER = re.compile(r"[UW][A-Z0-9]{2,}")
_GROUP_ID = re.compile(r"S[A-Z0-9]{2,}")
_HANDLE = re.compile(r"@?[a-z0-9][a-z0-9._-]{0,79}")


@dataclass(frozen=True)
class Grantee:
    """One entry of a policy: a person, or a user group by id or by handle."""

    kind: str  # "user" | "group"
    value: str  # U…/W… for users; S… or a handle (without @) for groups

    @property
    def is_handle(self) -> bool:
        return self.kind == "group" and not _GROUP_ID.fullmatch(self.value)


def parse_grantees(text: str | None) -> tuple[Grantee, ...]:
    """``"U123, S456, @sre-leads"`` → grantees; raises ValueError naming every entry that is neither."""
    found: list[Grantee] = []
    bad: list[str] = []
    for raw in (text or "").split(","):
        entry = raw.strip()
        if not entry:
            continue
        if _USER.fullmatch(entry):
            found.append(Grantee("user", entry))
        elif _GROUP_ID.fullmatch(entry):
            found.append(Grantee("group", entry))
        elif _HANDLE.fullmatch(entry):
            found.append(Grantee("group", entry.removeprefix("@")))
        else:
            bad.append(entry)
    if bad:
        raise ValueError(
            "not a Slack user id (U…), user group id (S…) or group handle (@name): " + ", ".join(repr(b) for b in bad)
        )
    return tuple(dict.fromkeys(found))
