"""Slack side of on call: ``/rootly oncall …`` and ``/rootly page …`` (``handle_command``), and the Page, Cancel and
I'll-take-it buttons (``register``). Thin: parse, ack, hand the work to the pool, render."""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.domain import Backend
from bot.domain.oncall import OnCallTarget, TargetKind
from bot.oncall import render
from bot.oncall.feature import OnCallFeature
from bot.oncall.jobs import WINDOW, encode, follow_state
from bot.oncall.service import NameProblem, NoOnCall
from bot.oncall.syntax import (
    Follow,
    Following,
    Invalid,
    Page,
    ShowOnCall,
    TakePager,
    Unfollow,
    parse_oncall,
    parse_page,
    usage,
)
from bot.render import replies
from bot.render.ids import Action
from bot.slack.context import Services as Core
from bot.support import errors

log = logging.getLogger(__name__)

PAGE_CLAIM_SECONDS = 7 * 86400  # a preview's Page button works once, for as long as anyone could click it
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_EMAIL = re.compile(r"^(?:<mailto:)?([^<>|@\s]+@[^<>|@\s]+\.[^<>|@\s]+)(?:\|[^>]*)?>?$")
_PAGE_KINDS = (TargetKind.TEAM, TargetKind.ESCALATION_POLICY, TargetKind.SERVICE)
_FOLLOW_KINDS = (TargetKind.SCHEDULE, TargetKind.ESCALATION_POLICY)


def handle_command(feature: OnCallFeature, name: str, rest: str, command: dict[str, Any], ack: Ack, respond: Respond):  # type: ignore[no-untyped-def]
    """``name`` is ``oncall`` or ``page``; ``rest`` the text after it."""
    channel = command.get("channel_id") or ""
    user = command.get("user_id") or ""
    parsed = parse_page(rest) if name == "page" else parse_oncall(rest)
    work = feature.work
    match parsed:
        case Invalid(command=which, problem=problem, typed=typed):
            ack(**replies.problem(problem, typed=typed, hint=f"Use: `{usage(which, feature.command)}`"))
        case ShowOnCall(query=query, here=here):
            ack(**replies.working(f"Looking up who is on call{f' for “{query[:80]}”' if query else ''}…"))
            work.submit(lambda: _show(feature, channel, query, here), respond, subject="who is on call")
        case Page(target=target, summary=summary):
            ack(**replies.working(f"Finding who “{target[:80]}” pages…"))
            work.submit(lambda: _preview(feature, target, summary), respond, subject="the page", typed=summary)
        case TakePager(schedule=schedule, minutes=minutes):
            ack(**replies.working(f"Asking Rootly to put you on call for “{schedule[:80]}”…"))
            work.submit(lambda: _take_named(feature, schedule, user, minutes), respond, subject="the override")
        case Follow(name=target, mention=mention):
            ack(**replies.working(f"Following “{target[:80]}”…"))
            work.submit(lambda: _follow(feature, channel, user, target, mention), respond, subject="the follow")
        case Unfollow(name=target):
            ack(**_unfollow(feature, channel, target))
        case Following():
            follows = feature.follows.for_channel(channel)
            ack(**render.following([(f.target_name, f.mention) for f in follows], feature.command))


def _show(feature: OnCallFeature, channel: str, query: str | None, here: bool) -> dict[str, Any] | None:
    try:
        answer = feature.service.answer(channel, query)
    except NameProblem as problem:
        return render.name_problem(problem, usage("oncall", feature.command))
    except NoOnCall as none:
        return render.no_oncall(none.backends)
    message = render.oncall_message(answer, take_minutes=feature.take_minutes)
    if not here:
        return message
    feature.messages.messenger.post(channel, message)
    return None


def _page_target(feature: OnCallFeature, typed: str) -> OnCallTarget:
    if mention := _MENTION.match(typed):
        profile = feature.people.profile(mention.group(1))
        if not profile.email:
            raise NameProblem(typed, [], ambiguous=False, kinds=(TargetKind.USER,))
        return feature.service.user_target(profile.email, profile.name)
    if email := _EMAIL.match(typed):
        return feature.service.user_target(email.group(1))
    return feature.service.resolve(typed, _PAGE_KINDS)


def _preview(feature: OnCallFeature, typed: str, summary: str) -> dict[str, Any]:
    try:
        target = _page_target(feature, typed)
    except NameProblem as problem:
        message = render.name_problem(problem, usage("page", feature.command))
        return replies.problem(message["text"], typed=summary) | {"blocks": message["blocks"]}
    except NoOnCall as none:
        return render.no_oncall(none.backends)
    return render.page_preview(feature.service.preview(target, summary), uuid.uuid4().hex[:16])


def _take_named(feature: OnCallFeature, typed: str, slack_user: str, minutes: int) -> dict[str, Any]:
    try:
        schedule = feature.service.resolve(typed, (TargetKind.SCHEDULE,))
    except NameProblem as problem:
        return render.name_problem(problem, usage("oncall", feature.command))
    return _take(feature, schedule, slack_user, minutes)


def _take(feature: OnCallFeature, schedule: OnCallTarget, slack_user: str, minutes: int) -> dict[str, Any]:
    email = feature.people.profile(slack_user).email
    try:
        override = feature.service.take(schedule, email, minutes)
    except errors.Invalid as exc:
        return render.take_refused(exc.message, schedule, exc.backend)
    return render.took(override, schedule, slack_user)


def _follow(feature: OnCallFeature, channel: str, slack_user: str, typed: str, mention: bool) -> dict[str, Any]:
    service = feature.service
    try:
        target = service.resolve(typed, _FOLLOW_KINDS)
    except NameProblem as problem:
        return render.name_problem(problem, usage("oncall", feature.command))
    now = service.clock()
    # The state now is the baseline: only later changes are announced.
    state = follow_state(target, service.sources[target.backend].on_call(None, now, now + WINDOW), now)
    new = feature.follows.add(channel, target.key, target.name, mention, encode(state), slack_user)
    message = render.followed(target, mention, new, slack_user, feature.poll_seconds / 60)
    return {"response_type": "in_channel", **message}


def _unfollow(feature: OnCallFeature, channel: str, typed: str | None) -> dict[str, Any]:
    follows = feature.follows.for_channel(channel)
    if typed:
        wanted = " ".join(typed.split()).casefold()
        keys = [f.target_key for f in follows if f.target_name.casefold() == wanted or f.target_key == typed]
        gone = [g for key in keys for g in feature.follows.remove(channel, key)]
    else:
        gone = feature.follows.remove(channel)
    message = render.unfollowed([g.target_name for g in gone], typed)
    return {"response_type": "in_channel", **message} if gone else message


# --- buttons --------------------------------------------------------------------------------------------------------
def register(app: App, core: Core, feature: OnCallFeature) -> None:
    """Hand ``/rootly oncall …`` and ``/rootly page …`` to this folder, and listen to its buttons."""
    for word in ("oncall", "page"):
        core.subcommands[word] = lambda rest, command, ack, respond, word=word: handle_command(
            feature, word, rest, command, ack, respond
        )

    @app.action(Action.ONCALL_PAGE)
    def on_page(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        user = (body.get("user") or {}).get("id") or ""
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
        try:
            value = json.loads(action.get("value") or "")
            token, key, summary = str(value["t"]), str(value["k"]), str(value["s"])
        except (ValueError, KeyError, TypeError):
            respond(replace_original=False, **replies.problem("That Page button is not one I know: page again."))
            return
        feature.work.submit(
            lambda: _page(feature, token, key, value, summary, user, channel),
            lambda **m: respond(**m),
            subject="the page",
            typed=summary,
        )

    @app.action(Action.ONCALL_PAGE_CANCEL)
    def on_cancel(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        user = (body.get("user") or {}).get("id") or ""
        respond(replace_original=True, **render.page_cancelled(user))

    @app.action(Action.ONCALL_TAKE)
    def on_take(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        user = (body.get("user") or {}).get("id") or ""
        key = str(action.get("value") or "")

        def take() -> dict[str, Any]:
            schedule = feature.service.target(key)
            if schedule is None:
                return replies.problem("That schedule no longer exists in Rootly.")
            return _take(feature, schedule, user, feature.take_minutes)

        feature.work.submit(take, lambda **m: respond(replace_original=False, **m), subject="the override")


def _page(
    feature: OnCallFeature, token: str, key: str, value: dict[str, Any], summary: str, user: str, channel: str
) -> dict[str, Any]:
    owner = feature.claim(f"oncall.page:{token}", user, PAGE_CLAIM_SECONDS)
    if owner is not None:
        return {"replace_original": False, **render.already_paged(owner)}
    target = feature.service.target(key)
    backend, kind, target_id = key.split(":", 2) if key.count(":") >= 2 else ("", "", "")
    if target is None and kind == TargetKind.USER.value:
        target = OnCallTarget(Backend(backend), TargetKind.USER, target_id, str(value.get("n") or target_id))
    if target is None:
        return {"replace_original": False, **replies.problem("What that button pages no longer exists.", typed=summary)}
    name = feature.people.profile(user).name
    paged = feature.service.page(target, summary, f"Paged from Slack by {name}", f"slack-page-{token}")
    if paged.alert is not None and channel:
        try:
            feature.messages.post(channel, paged.alert)
        except Exception:  # the alert exists either way; the reply links it
            log.warning("paged %s but could not post it to %s", paged.alert.label, channel, exc_info=True)
    return {"replace_original": True, **render.paged(paged, target.name, user, feature.command)}
