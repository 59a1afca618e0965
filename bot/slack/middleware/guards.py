"""Requests Slack sends more than once are handled once: verified, replayed and retried requests.

- Before Bolt parses anything, :class:`SlackGate` checks the signature and its 5-minute window, then refuses a
  signature it has already accepted: Slack signs every request it sends afresh, so the same signature twice is a
  replay (a captured request sent again inside the window), and a replayed ``/rootly note`` must not add a note.
- Events API deliveries are retried by Slack (``X-Slack-Retry-Num``: when the first answer was slow, failed or
  lost) with the same ``event_id``: the first delivery of an id is handled, later ones are answered 200 at once.
  If the first handling fails, the id is forgotten (see :func:`bot.slack.middleware.failures.answer`) so a
  retry can do it.

Both keys live in the database (:class:`~bot.store.seen.SeenStore`), so they hold across replicas. If the database
cannot be written the request is let through: its signature and window were verified, and refusing every request
while the database is full would take the bot down for a defence in depth.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot.slack.middleware import direct
from bot.slack.middleware.direct import Next
from bot.store.seen import SLACK_EVENT, SLACK_SIGNATURE, SeenStore
from bot.support.urlencoding import form_fields

log = logging.getLogger(__name__)

# Slack retries an event three times within about five minutes; replays outside the 5-minute window fail anyway.
KEEP_EVENTS = timedelta(hours=1)
KEEP_SIGNATURES = timedelta(minutes=10)


class SlackGate:
    """Signature, window and replay, checked on the raw body before anything reads it."""

    def __init__(self, signing_secret: str, first: Callable[[str], bool]) -> None:
        self.verifier = SignatureVerifier(signing_secret)
        self.first = first

    def admit(self, timestamp: str | None, signature: str | None, body: bytes) -> bool:
        if not timestamp or not signature:
            return False
        try:
            valid = self.verifier.is_valid(body, timestamp, signature)
        except Exception:  # a malformed timestamp header
            return False
        if not valid:
            return False
        try:
            fresh = self.first(SLACK_SIGNATURE + signature[:100])
        except Exception:
            log.warning("replay check unavailable (database); letting a verified request through", exc_info=True)
            return True
        if not fresh:
            log.warning("refused a replayed Slack request (signature already used)")
        return fresh


# Types of the fields listeners read from interaction payloads; Slack never sends anything else.
_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "type": str,
    "user": dict,
    "team": (dict, type(None)),
    "channel": (dict, type(None)),
    "container": dict,
    "message": dict,
    "view": dict,
    "actions": list,
    "callback_id": str,
    "trigger_id": str,
    "response_url": str,
    "action_id": str,
    "block_id": str,
    "value": str,
    "event": dict,
    "event_id": str,
}
_VIEW_TYPES: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "type": str,
    "callback_id": str,
    "private_metadata": str,
    "state": dict,
    "blocks": list,
}
# Fields of an action (block_actions) or an input's state (view_submission), as Slack sends them.
_INPUT_TYPES: dict[str, type | tuple[type, ...]] = {
    "action_id": str,
    "block_id": str,
    "type": str,
    "value": (str, type(None)),
    "selected_option": (dict, type(None)),
    "selected_options": list,
    "selected_user": (str, type(None)),
    "selected_users": list,
    "selected_conversation": (str, type(None)),
    "selected_channel": (str, type(None)),
    "selected_date": (str, type(None)),
}
_NESTED_TYPES: dict[str, dict[str, type | tuple[type, ...]]] = {
    "user": {"id": str, "name": str, "username": str},
    "channel": {"id": str, "name": str},
    "container": {"channel_id": str, "message_ts": str, "view_id": str, "is_ephemeral": bool, "thread_ts": str},
    # A bot's message has no person: its user (and, with attachments only, its text) may be null.
    "message": {
        "ts": str,
        "thread_ts": str,
        "text": (str, type(None)),
        "user": (str, type(None)),
        "blocks": list,
        "bot_id": (str, type(None)),
    },
}

# Fields of the events the bot subscribes to (bot/render/ids.py BOT_EVENTS), as Slack sends them.
_EVENT_FIELDS: dict[str, type | tuple[type, ...]] = {
    "type": str,
    "subtype": (str, type(None)),
    "user": str,
    "channel": str,
    "channel_type": str,
    "text": str,
    "ts": str,
    "thread_ts": str,
    "tab": str,
    "bot_id": (str, type(None)),
}
_CHECKED_EVENTS = ("message", "app_home_opened")


def _wrong_field(obj: dict[str, Any], types: dict[str, type | tuple[type, ...]]) -> str | None:
    return next((name for name, kind in types.items() if name in obj and not isinstance(obj[name], kind)), None)


def _wrong_input(state: Any) -> str | None:
    """What is wrong with an action or an input's state, or None when it is as Slack sends it."""
    if not isinstance(state, dict):
        return "not an object"
    wrong = _wrong_field(state, _INPUT_TYPES)
    if wrong:
        return wrong
    options = [
        *state.get("selected_options", ()),
        *([state["selected_option"]] if state.get("selected_option") else []),
    ]
    if any(not isinstance(o, dict) or not isinstance(o.get("value", ""), str) for o in options):
        return "an option is not {value: string}"
    return None


class Malformed(ValueError):
    """A verified Slack body that is not the shape Slack sends; the message says why."""


def parse_slack_body(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The request as Bolt's listeners read it, parsed once, or :class:`Malformed`.

    Interaction payloads arrive as a form with one ``payload`` field of JSON; slash commands as plain form fields;
    events as JSON. The form is told apart by its fields, not by whether its bytes contain "payload" (Bolt's own
    parser does the latter and hands listeners an empty body for ``/rootly note … the payload …``). Fields of a
    JSON payload are type-checked here, before Bolt reads them: a signed body of the wrong shape (only whoever
    holds the signing secret can send one) is a bad request, not an error deep in a listener.
    """
    try:
        text = body.decode("utf-8")
        if (content_type or "").startswith("application/json") or text.startswith("{"):
            payload: Any = json.loads(text) if text else {}
        else:
            form = form_fields(text)  # the last of repeated fields, as Bolt does
            if "payload" not in form:
                return form  # a slash command: form fields are strings by construction
            payload = json.loads(form["payload"])
    except (ValueError, UnicodeDecodeError) as exc:
        raise Malformed("not JSON or form data") from exc
    if not isinstance(payload, dict):
        raise Malformed("not a JSON object")
    problem = _shape_problem(payload)
    if problem is not None:
        raise Malformed(problem)
    return payload


def _shape_problem(payload: dict[str, Any]) -> str | None:
    for name, kind in _FIELD_TYPES.items():
        if name in payload and not isinstance(payload[name], kind):
            return f"{name} is {type(payload[name]).__name__}"
    for name, types in _NESTED_TYPES.items():
        nested = payload.get(name)
        wrong = _wrong_field(nested, types) if isinstance(nested, dict) else None
        if wrong:
            return f"{name}.{wrong} is {type(nested[wrong]).__name__}"  # type: ignore[index]
    url = payload.get("response_url")
    if url and not url.startswith(("https://", "http://")):  # a str by _FIELD_TYPES; Slack's are https URLs
        return "response_url is not a URL"
    event = payload.get("event")
    if isinstance(event, dict) and event.get("type") in _CHECKED_EVENTS:
        wrong = _wrong_field(event, _EVENT_FIELDS)
        if wrong:
            return f"event.{wrong} is {type(event[wrong]).__name__}"
    for action in payload.get("actions") or ():
        problem = _wrong_input(action)
        if problem is None and not isinstance(action.get("action_id"), str):
            problem = "no action_id"
        if problem:
            return f"an action: {problem}"
    view = payload.get("view") or {}
    for name, kind in _VIEW_TYPES.items():
        if name in view and not isinstance(view[name], kind):
            return f"view.{name} is {type(view[name]).__name__}"
    values = (view.get("state") or {}).get("values", {})
    if not isinstance(values, dict) or any(
        not isinstance(block, dict) or any(not isinstance(v, dict) for v in block.values()) for block in values.values()
    ):
        return "view.state.values is not blocks of inputs"
    for block in values.values():
        for state in block.values():
            problem = _wrong_input(state)
            if problem:
                return f"an input: {problem}"
    return None


def event_key(body: dict[str, Any]) -> str | None:
    """The dedupe key of an Events API delivery, or None for any other request."""
    if body.get("type") != "event_callback":
        return None
    event_id = body.get("event_id")
    return f"{SLACK_EVENT}{event_id}" if isinstance(event_id, str) and event_id else None


def register(app: App, seen: SeenStore) -> None:
    @direct.use(app)
    def once_per_event(request: BoltRequest, _resp: BoltResponse, next_: Next) -> BoltResponse | None:
        key = event_key(request.body) if isinstance(request.body, dict) else None
        if key is None:
            return next_()
        try:
            first = seen.first(key)
        except Exception:
            log.warning("event dedupe unavailable (database); handling %s", key, exc_info=True)
            first = True
        if first:
            return next_()
        retry = (request.headers.get("x-slack-retry-num") or ["?"])[0]
        reason = (request.headers.get("x-slack-retry-reason") or ["?"])[0]
        log.info("Slack event %s delivered again (retry %s, %s): already handled", key, retry, reason)
        return BoltResponse(status=200, body="")


def prune(seen: SeenStore) -> None:
    seen.prune(SLACK_EVENT, KEEP_EVENTS)
    seen.prune(SLACK_SIGNATURE, KEEP_SIGNATURES)
