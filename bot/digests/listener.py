"""``/rootly digest …`` in Slack: subscribe, list, stop, or post one now. Changes answer in the channel, so everyone
sees what was set up; mistakes answer only the person, naming the part that was wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, Respond

from bot.digests import replies as digest_replies
from bot.digests.schedule import ScheduleError
from bot.digests.service import DigestInvalid, Digests, PostRefused
from bot.digests.syntax import DigestCommand, DigestList, DigestNow, DigestOff, DigestSubscribe, parse_digest
from bot.render import replies
from bot.slack.adapters.work import WorkPool
from bot.slack.context import Services as Core
from bot.slack.syntax import Invalid, usage


@dataclass(frozen=True)
class Services:
    """What the digest listener needs: the digests service, and the work pool for slow posts."""

    digests: Digests
    work: WorkPool
    command: str  # the configured slash command (SLACK_COMMAND), for the syntax replies show


def register(core: Core, digests: Digests) -> None:
    """Hand ``/rootly digest …`` to this folder."""
    services = Services(digests, core.work, core.settings.slack_command)
    core.subcommands["digest"] = lambda rest, payload, ack, respond: handle(
        services, parse_digest(rest, services.command), payload, ack, respond
    )


def handle(
    services: Services, parsed: DigestCommand | Invalid, command: dict[str, Any], ack: Ack, respond: Respond
) -> None:
    digests = services.digests
    channel = command.get("channel_id") or ""
    now = digests.clock()
    name = services.command
    hint = f"Use: `{usage('digest', name)}`"
    match parsed:
        case Invalid(problem=problem, typed=typed):
            ack(**replies.problem(problem, typed=typed, hint=hint))
        case DigestSubscribe(request=request):
            try:
                result = digests.subscribe(channel, request, command.get("user_id") or "")
            except (DigestInvalid, ScheduleError) as exc:
                ack(**replies.problem(str(exc), hint=hint))
                return
            message = digest_replies.subscribed(
                result.subscription, result.next_due, now, existing=result.existing, command=name
            )
            ack(response_type="ephemeral" if result.existing else "in_channel", **message)
        case DigestList():
            subs = digests.subscriptions()
            due = {s.id: digests.next_due(s, now) for s in subs if s.channel == channel}
            ack(**digest_replies.listing(subs, due, channel, digests.channel_zone(channel), now, command=name))
        case DigestOff(subscription_id=wanted):
            try:
                removed = digests.unsubscribe(channel, wanted)
            except DigestInvalid as exc:
                ack(**replies.problem(str(exc), hint=hint))
                return
            ack(
                response_type="in_channel" if removed else "ephemeral",
                **digest_replies.removed(channel, removed, wanted, command=name),
            )
        case DigestNow(filters=filters):
            ack(**replies.working(f"Putting a digest of open alerts ({filters.describe()}) together…"))
            services.work.submit(lambda: _post_now(services, channel, filters), respond, subject="the digest")
        case _:
            ack(**replies.problem("I could not read that digest command.", hint=hint))


def _post_now(services: Services, channel: str, filters: Any) -> dict[str, Any] | None:
    try:
        services.digests.post_now(channel, filters)
    except PostRefused as exc:
        return replies.slack_refused(exc.code)
    return None  # the digest itself is the answer
