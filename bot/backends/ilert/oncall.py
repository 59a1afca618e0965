"""ilert on call for the on-call feature: ``GET /on-calls`` (who), ``GET /schedules`` and ``GET
/escalation-policies`` (the names people use), and paging as an ``ALERT`` event routed to the escalation policy's
routing key. ilert has no override API the bot uses, so taking the pager is Rootly's. Satisfies
``bot.oncall.ports.OnCallSource`` structurally."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bot.backends.ilert import mapping
from bot.backends.ilert.client import IlertClient
from bot.domain import Backend, Person
from bot.domain.oncall import OnCallShift, OnCallTarget, OverrideShift, Paged, ShiftMark, TargetKind
from bot.support import errors
from bot.support.timestamps import parse_time

SCHEDULES_PAGE = 20  # GET /schedules: max-results ≤ 20
POLICIES_PAGE = 50  # GET /escalation-policies: max-results ≤ 50
MAX_PAGES = 20


class IlertOnCall:
    kind = Backend.ILERT
    display_name = "ilert"

    def __init__(self, client: IlertClient) -> None:
        self.client = client
        self.http = client.http

    def directory(self) -> list[OnCallTarget]:
        found: list[OnCallTarget] = []
        for item in self._pages("/schedules", SCHEDULES_PAGE):
            found.append(OnCallTarget(Backend.ILERT, TargetKind.SCHEDULE, str(item.get("id")), str(item.get("name"))))
        for item in self._pages("/escalation-policies", POLICIES_PAGE):
            found.append(
                OnCallTarget(
                    Backend.ILERT,
                    TargetKind.ESCALATION_POLICY,
                    str(item.get("id")),
                    str(item.get("name")),
                    levels=len(item.get("escalationRules") or ()),
                    routing_key=item.get("routingKey") or None,
                )
            )
        return found

    def on_call(self, target: OnCallTarget | None, since: datetime, until: datetime) -> list[OnCallShift]:
        params: dict[str, Any] = {"expand": "user", "from": _iso(since), "until": _iso(until)}
        if target is not None and target.kind is TargetKind.SCHEDULE:
            params["schedules"] = target.id
        elif target is not None and target.kind is TargetKind.ESCALATION_POLICY:
            params["policies"] = target.id
        elif target is not None and target.kind is TargetKind.USER:
            params["users"] = target.id
        elif target is not None:
            return []  # ilert cannot narrow on-calls by team or service
        body = self.http.request_json("GET", "/on-calls", params=params)
        shifts: list[OnCallShift] = []
        for item in body if isinstance(body, list) else ():
            starts, ends = parse_time(item.get("start")), parse_time(item.get("end"))
            user, policy = item.get("user") or {}, item.get("escalationPolicy") or {}
            schedule = item.get("schedule") or {}
            if starts is None or ends is None or not user:
                continue
            shifts.append(
                OnCallShift(
                    backend=Backend.ILERT,
                    policy_id=str(policy.get("id") or ""),
                    policy_name=str(policy.get("name") or "Escalation policy"),
                    level=int(item.get("escalationLevel") or 1),
                    person=mapping.person(user),
                    starts_at=starts,
                    ends_at=ends,
                    schedule_id=str(schedule["id"]) if schedule.get("id") is not None else None,
                    schedule_name=schedule.get("name"),
                )
            )
        return shifts

    def shift_marks(self, schedule_ids: Sequence[str], since: datetime, until: datetime) -> list[ShiftMark]:
        return []  # ilert's on-calls carry no override or shadow flags

    def find_user(self, email: str) -> Person | None:
        return self.client.find_user_by_email(email)

    def page(self, target: OnCallTarget, summary: str, details: str, key: str) -> Paged:
        """An ``ALERT`` event routed to the policy's routing key: ilert pages that policy's people."""
        if target.kind is not TargetKind.ESCALATION_POLICY or not target.routing_key:
            raise errors.Unsupported(
                f"ilert pages escalation policies with a routing key; {target.name} has none", backend="ilert"
            )
        key = self.client.trigger(summary, details=details, alert_key=key, routing_key=target.routing_key)
        return Paged(Backend.ILERT, key)

    def take(self, schedule_id: str, user_id: str, starts_at: datetime, ends_at: datetime) -> OverrideShift:
        raise errors.Unsupported("taking the pager works on Rootly schedules only", backend="ilert")

    def _pages(self, path: str, size: int) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for start in range(0, MAX_PAGES * size, size):
            batch = self.http.request_json("GET", path, params={"start-index": start, "max-results": size})
            page = [x for x in batch if isinstance(x, dict)] if isinstance(batch, list) else []
            items.extend(page)
            if len(page) < size:
                break
        return items


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
