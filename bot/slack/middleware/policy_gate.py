"""Enforces ``POLICY_RESOLVE`` and ``POLICY_DECLARE`` on every Slack surface, before any listener acts.

One middleware, rather than a check in each listener, so that every way in is covered by the same code: resolving
by command and by button; declaring by command, message shortcut, alert button, "declare separately" and the form's
submission (checked again there: membership may have changed since the form opened). It runs before the outbox is
involved, so a refused resolution is never queued. A refused person gets an answer where they asked, naming the
groups and people who may act.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot.render import modals, replies
from bot.render.ids import DEFAULT_COMMAND, Action, Block, Callback
from bot.services.policy import Permission, Policy, Refusal
from bot.slack import syntax
from bot.slack.middleware import direct
from bot.slack.middleware.direct import Next

if TYPE_CHECKING:
    from bot.slack.adapters.work import WorkPool

log = logging.getLogger(__name__)

_BUTTONS = {
    Action.RESOLVE.value: Permission.RESOLVE,
    Action.DECLARE_INCIDENT.value: Permission.DECLARE,
    Action.INCIDENT_DECLARE_SEPARATE.value: Permission.DECLARE,
}


def required(body: dict[str, Any], command: str = DEFAULT_COMMAND) -> Permission | None:
    """The permission this request needs, or None when the policy has nothing to say about it (``command``: the
    configured slash command)."""
    if body.get("command") == command:
        text = str(body.get("text") or "")
        word, rest = syntax.split_word(text)
        if syntax.canonical(word) == "incident":  # working on an incident is checked by bot.incidents itself
            return Permission.DECLARE if syntax.declares_incident(rest) else None
        return Permission.RESOLVE if isinstance(syntax.parse(text, command), syntax.Resolve) else None
    kind = body.get("type")
    if kind == "block_actions":
        actions = body.get("actions")
        first = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
        return _BUTTONS.get(str(first.get("action_id")))
    if kind == "message_action" and body.get("callback_id") == Callback.DECLARE_INCIDENT_SHORTCUT.value:
        return Permission.DECLARE
    if kind == "view_submission":
        view = body.get("view") if isinstance(body.get("view"), dict) else {}
        if view.get("callback_id") == Callback.INCIDENT_MODAL.value:
            return Permission.DECLARE
    return None


def user_of(body: dict[str, Any]) -> str:
    if body.get("command"):
        return str(body.get("user_id") or "")
    user = body.get("user")
    return str(user.get("id") or "") if isinstance(user, dict) else ""


HomeNotice = Callable[[WebClient, str, list[dict[str, Any]]], None]  # (client, user, blocks): refresh the tab with them


def register(
    app: App,
    policy: Policy,
    work: WorkPool,
    home_notice: HomeNotice | None = None,
    *,
    command: str = DEFAULT_COMMAND,
) -> None:
    if not policy.active:
        return

    @direct.use(app)
    def enforce_policy(req: BoltRequest, _resp: BoltResponse, next_: Next) -> BoltResponse | None:
        body, client = req.body, req.context.client
        permission = required(body, command)
        if permission is None:
            return next_()
        user = user_of(body)
        refusal = policy.check(permission, user)
        if refusal is None:
            return next_()
        log.info("policy: refused %s to %s", permission.value, user)
        return refuse(body, refusal, client, work, home_notice)


def refuse(
    body: dict[str, Any], refusal: Refusal, client: WebClient, work: WorkPool, home_notice: HomeNotice | None = None
) -> BoltResponse:
    """Answer the request with the refusal, where the person asked."""
    message = replies.problem(refusal.text.removeprefix("⛔ "))
    if body.get("command"):
        return BoltResponse(status=200, body={"response_type": "ephemeral", **message})
    if body.get("type") == "view_submission":
        errors = {Block.INCIDENT_TITLE.value: refusal.plain[:1900]}
        return BoltResponse(status=200, body={"response_action": "errors", "errors": errors})
    view = body.get("view") if isinstance(body.get("view"), dict) else None
    url = body.get("response_url")
    if isinstance(url, str) and url:
        work.call(lambda: _respond(url, message))
    elif view and view.get("type") == "home":  # the App Home tab: shown on top of the refreshed tab
        user, blocks = user_of(body), list(message.get("blocks") or [])
        if home_notice is not None:
            work.call(lambda: home_notice(client, user, blocks))
        else:
            work.call(lambda: client.chat_postMessage(channel=user, **message))
    elif view and view.get("id"):  # a button inside a modal: the modal is where the person is looking
        view_id = str(view["id"])
        work.call(lambda: client.views_update(view_id=view_id, view=modals.done_modal("Not allowed", refusal.text)))
    elif body.get("trigger_id"):
        trigger = str(body["trigger_id"])
        work.call(lambda: client.views_open(trigger_id=trigger, view=modals.done_modal("Not allowed", refusal.text)))
    return BoltResponse(status=200, body="")


def _respond(url: str, message: dict[str, Any]) -> None:
    payload = {"response_type": "ephemeral", "replace_original": False, **message}
    resp = WebhookClient(url, timeout=10).send_dict(payload)
    if resp.status_code != 200:
        log.warning("could not deliver a policy refusal: %s %s", resp.status_code, json.dumps(resp.body)[:200])
