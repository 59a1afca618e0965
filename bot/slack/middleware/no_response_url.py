"""An answer for requests Slack sends without a ``response_url``, so telling the person never raises.

Clicks in a modal or on the Home tab, and global shortcuts, carry no ``response_url``; Bolt's ``respond`` then raises
"respond is unsupported here", which turned a listener's clear problem message ("That button is not one I know")
into an unhandled error. Here ``respond`` falls back to an ephemeral message in the request's channel, or to a
message in the person's conversation with the app when there is no channel; if even that fails it is logged.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot.slack.middleware import direct
from bot.slack.middleware.direct import Next

log = logging.getLogger(__name__)

ANSWERED = ("block_actions", "shortcut", "message_action", "view_submission")  # the kinds a person waits on


class DirectRespond(Respond):
    """``respond`` through the Web API: ephemeral in ``channel``, else in the person's app conversation."""

    def __init__(self, client: WebClient, user: str, channel: str | None) -> None:
        super().__init__(response_url=None)
        self.client, self.user, self.channel = client, user, channel

    def __call__(self, text: str | dict[str, Any] = "", blocks: Any = None, **_: Any) -> Any:  # type: ignore[override]
        message = dict(text) if isinstance(text, dict) else {"text": text, "blocks": blocks}
        content = {k: message[k] for k in ("text", "blocks") if message.get(k)}
        try:
            if not self.user:
                log.warning("could not answer a request without a response_url or a user: %s", content)
                return None
            if self.channel:
                return self.client.chat_postEphemeral(channel=self.channel, user=self.user, **content)
            return self.client.chat_postMessage(channel=self.user, **content)
        except Exception:
            log.warning("could not answer %s (the request had no response_url)", self.user, exc_info=True)
            return None


def register(app: App) -> None:
    @direct.use(app)
    def respond_without_url(req: BoltRequest, _resp: BoltResponse, next_: Next) -> BoltResponse | None:
        context, body = req.context, req.body
        user = context.user_id
        if context.response_url is None and body.get("type") in ANSWERED:
            channel = context.channel_id if body.get("type") != "view_submission" else None
            context["respond"] = DirectRespond(context.client, user or "", channel)
        return next_()
