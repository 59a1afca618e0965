"""Socket Mode with a request id per request, as HTTP mode's WSGI app gives one (see ``bot.support.request_context``).

Bolt's handler runs each envelope on a thread of its own pool; without a fresh context per envelope a thread would
keep the id of whatever request it handled before.
"""

from __future__ import annotations

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.support import request_context


class RequestIdSocketModeHandler(SocketModeHandler):
    def handle(self, client: BaseSocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        request_context.in_new_request(super().handle, client, req)
