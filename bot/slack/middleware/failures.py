"""What Slack is answered when a listener or middleware raises: a clear message, never a bare 500.

Bolt answers 500 by default, which Slack shows as "dispatch_failed" (or a modal that silently does nothing): the
person cannot tell whether anything happened. Here every human-facing request gets words and a reference to find
the logged traceback by; the process carries on serving (one failing listener never takes the rest down).
An Events API delivery whose handling failed is forgotten by its dedupe key and answered 500, so Slack's retry
gets a second chance instead of being dropped as a duplicate.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltResponse
from slack_sdk.webhook import WebhookClient

from bot.render import modals, replies
from bot.slack.middleware.guards import event_key
from bot.store.reconnect import is_database_down

log = logging.getLogger(__name__)

Submit = Callable[[Callable[[], Any]], Any]
Forget = Callable[[str], None]


def answer(error: Exception, body: dict[str, Any] | None, forget: Forget, submit: Submit) -> BoltResponse:
    reference = uuid.uuid4().hex[:8]
    log.error("unhandled error in a Slack listener (reference %s): %s", reference, error, exc_info=error)
    body = body if isinstance(body, dict) else {}
    # A database restart is not a bug: say what happened, so the person knows to try again.
    message = replies.database_down(reference) if is_database_down(error) else replies.unexpected(reference)
    if body.get("command"):
        return BoltResponse(status=200, body={"response_type": "ephemeral", **message})
    kind = body.get("type")
    if kind == "view_submission":
        view = modals.done_modal("Something went wrong", message["text"])
        return BoltResponse(status=200, body={"response_action": "update", "view": view})
    if kind == "block_suggestion":
        return BoltResponse(status=200, body={"options": []})
    key = event_key(body)
    if key is not None:
        try:
            forget(key)
        except Exception:
            log.warning("could not forget %s after its failure", key, exc_info=True)
        return BoltResponse(status=500, body="")
    url = body.get("response_url")
    if isinstance(url, str) and url:
        payload = {"response_type": "ephemeral", "replace_original": False, **message}
        submit(lambda: WebhookClient(url, timeout=10).send_dict(payload))
    return BoltResponse(status=200, body="")
