"""Rootly On-Call for the on-call feature: who is on call (``listOncalls``), the names people use (teams, schedules,
escalation policies, services), shift flags (``listShifts``), paging (``createAlert`` with a notification target)
and taking the pager (``createOverrideShift``). Satisfies ``bot.oncall.ports.OnCallSource`` structurally."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from bot.backends.rootly import mapping
from bot.backends.rootly.client import RootlyClient
from bot.domain import Backend, Person
from bot.domain.oncall import OnCallShift, OnCallTarget, OverrideShift, Paged, ShiftMark, TargetKind
from bot.support.timestamps import parse_time

DIRECTORY_PAGES = 10  # at most 1,000 of each kind; names are for people to type
# Rootly's notification target types (createAlert), by what people name.
NOTIFICATION_TARGET = {
    TargetKind.TEAM: "Group",
    TargetKind.USER: "User",
    TargetKind.ESCALATION_POLICY: "EscalationPolicy",
    TargetKind.SERVICE: "Service",
}
_PAGED_THROUGH = (TargetKind.TEAM, TargetKind.SERVICE)
_FILTER = {
    TargetKind.TEAM: "filter[group_ids]",
    TargetKind.SCHEDULE: "filter[schedule_ids]",
    TargetKind.ESCALATION_POLICY: "filter[escalation_policy_ids]",
    TargetKind.SERVICE: "filter[service_ids]",
    TargetKind.USER: "filter[user_ids]",
}


class RootlyOnCall:
    kind = Backend.ROOTLY
    display_name = "Rootly"

    def __init__(self, client: RootlyClient) -> None:
        self.client = client
        self.http = client.http

    def directory(self) -> list[OnCallTarget]:
        found: list[OnCallTarget] = []
        for body in self.http.pages("/v1/teams", max_pages=DIRECTORY_PAGES):
            for item in body.get("data") or ():
                attrs = item.get("attributes") or {}
                channels = tuple(str(c.get("id")) for c in attrs.get("slack_channels") or () if isinstance(c, dict))
                members = tuple(str(u) for u in attrs.get("user_ids") or ())
                found.append(_target(TargetKind.TEAM, item, slack_channel_ids=channels, member_ids=members))
        for body in self.http.pages("/v1/schedules", max_pages=DIRECTORY_PAGES):
            found.extend(_target(TargetKind.SCHEDULE, item) for item in body.get("data") or ())
        params = {"include": "escalation_policy_levels"}
        pages: dict[str, set[str]] = {}  # team or service id → the escalation policies alerting it pages
        for body in self.http.pages("/v1/escalation_policies", params, max_pages=DIRECTORY_PAGES):
            levels: dict[str, set[int]] = {}
            for inc in body.get("included") or ():
                attrs = inc.get("attributes") or {}
                if attrs.get("escalation_policy_id") is not None and isinstance(attrs.get("position"), int):
                    levels.setdefault(str(attrs["escalation_policy_id"]), set()).add(attrs["position"])
            for item in body.get("data") or ():
                count = len(levels.get(str(item.get("id")), ()))
                found.append(_target(TargetKind.ESCALATION_POLICY, item, levels=count))
                attrs = item.get("attributes") or {}
                for owner in (*(attrs.get("group_ids") or ()), *(attrs.get("service_ids") or ())):
                    pages.setdefault(str(owner), set()).add(str(item.get("id")))
        for body in self.http.pages("/v1/services", max_pages=DIRECTORY_PAGES):
            for item in body.get("data") or ():
                own = (item.get("attributes") or {}).get("escalation_policy_id")
                if own:
                    pages.setdefault(str(item.get("id")), set()).add(str(own))
                found.append(_target(TargetKind.SERVICE, item))
        return [
            replace(t, policy_ids=tuple(sorted(pages.get(t.id, ())))) if t.kind in _PAGED_THROUGH else t for t in found
        ]

    def on_call(self, target: OnCallTarget | None, since: datetime, until: datetime) -> list[OnCallShift]:
        params: dict[str, str] = {"include": "user", "since": _iso(since), "until": _iso(until)}
        if target is not None:
            params[_FILTER[target.kind]] = target.id
        body = self.http.request("GET", "/v1/oncalls", params=params)
        users = {
            str(inc.get("id")): mapping.person(inc) for inc in body.get("included") or () if inc.get("type") == "users"
        }
        shifts: list[OnCallShift] = []
        for item in body.get("data") or ():
            attrs = item.get("attributes") or {}
            starts, ends = parse_time(attrs.get("starts_at")), parse_time(attrs.get("ends_at"))
            if starts is None or ends is None:
                continue
            user_id = str(attrs.get("user_id"))
            shifts.append(
                OnCallShift(
                    backend=Backend.ROOTLY,
                    policy_id=str(attrs.get("escalation_policy_id") or ""),
                    policy_name=str(attrs.get("escalation_policy_name") or "Escalation policy"),
                    level=int(attrs.get("escalation_level") or 1),
                    person=users.get(user_id) or Person(user_id, f"Rootly user {user_id}"),
                    starts_at=starts,
                    ends_at=ends,
                    schedule_id=attrs.get("schedule_id"),
                    schedule_name=attrs.get("schedule_name"),
                )
            )
        return shifts

    def shift_marks(self, schedule_ids: Sequence[str], since: datetime, until: datetime) -> list[ShiftMark]:
        if not schedule_ids:
            return []
        params: dict[str, Any] = {"schedule_ids[]": list(schedule_ids), "from": _iso(since), "to": _iso(until)}
        marks: list[ShiftMark] = []
        for body in self.http.pages("/v1/shifts", params, max_pages=3):
            for item in body.get("data") or ():
                attrs = item.get("attributes") or {}
                starts, ends = parse_time(attrs.get("starts_at")), parse_time(attrs.get("ends_at"))
                if starts is None or ends is None or attrs.get("user_id") is None:
                    continue
                marks.append(
                    ShiftMark(
                        schedule_id=str(attrs.get("schedule_id")),
                        user_id=str(attrs["user_id"]),
                        starts_at=starts,
                        ends_at=ends,
                        override=bool(attrs.get("is_override")),
                        shadow=bool(attrs.get("is_shadow")),
                    )
                )
        return marks

    def find_user(self, email: str) -> Person | None:
        return self.client.find_user_by_email(email)

    def page(self, target: OnCallTarget, summary: str, details: str, key: str) -> Paged:
        """``createAlert`` addressed to the target. A schedule is paged through its escalation policy by the caller
        (Rootly cannot address a schedule)."""
        attributes = {
            "summary": summary,
            "description": details,
            "source": "api",
            "notification_target_type": NOTIFICATION_TARGET[target.kind],
            "notification_target_id": target.id,
            "deduplication_key": key,
        }
        return Paged(Backend.ROOTLY, key, self.client.create_alert(attributes))

    def take(self, schedule_id: str, user_id: str, starts_at: datetime, ends_at: datetime) -> OverrideShift:
        attributes = {"starts_at": _iso(starts_at), "ends_at": _iso(ends_at), "user_id": int(user_id)}
        path = f"/v1/schedules/{quote(schedule_id, safe='')}/override_shifts"
        data = self.http.request("POST", path, body={"data": {"type": "shifts", "attributes": attributes}})["data"]
        attrs = data.get("attributes") or {}
        return OverrideShift(
            id=str(data.get("id")),
            schedule_id=str(attrs.get("schedule_id") or schedule_id),
            user_id=str(attrs.get("user_id") or user_id),
            starts_at=parse_time(attrs.get("starts_at")) or starts_at,
            ends_at=parse_time(attrs.get("ends_at")) or ends_at,
        )


def _target(kind: TargetKind, item: dict[str, Any], **extra: Any) -> OnCallTarget:
    attrs = item.get("attributes") or {}
    return OnCallTarget(
        backend=Backend.ROOTLY,
        kind=kind,
        id=str(item.get("id")),
        name=str(attrs.get("name") or item.get("id")),
        slug=attrs.get("slug"),
        **extra,
    )


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
