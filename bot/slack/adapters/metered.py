"""The Slack Web API client, measured: latency and errors of every call.

Why a subclass overriding ``api_call``: every ``WebClient`` method (``chat_postMessage``, ``views_publish``, …)
goes through it, so one override measures them all, with slack_sdk's own retry handlers still inside it (the
latency includes waiting out a 429, which is what a person waiting on the bot experiences).
"""

from __future__ import annotations

import time
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.support import metrics


class MeteredWebClient(WebClient):
    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:  # type: ignore[override]
        started = time.monotonic()
        outcome = "connection_error"
        try:
            response = super().api_call(api_method, **kwargs)
            outcome = "ok"
            return response
        except SlackApiError as exc:
            outcome = str(exc.response.get("error") or f"http_{exc.response.status_code}")
            raise
        finally:
            metrics.slack_call(api_method, outcome, time.monotonic() - started)


def metered_copy(client: WebClient) -> MeteredWebClient:
    """The same client (token, URL, retry handlers), measured: Bolt makes a plain ``WebClient`` for each request's
    listeners, and the request middleware (``bot.slack.middleware.request_log``) swaps it for this."""
    if isinstance(client, MeteredWebClient):
        return client
    copy = MeteredWebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        headers=client.headers,
        logger=client._logger,
        retry_handlers=list(client.retry_handlers),
    )
    copy.default_params = dict(client.default_params)  # the team_id Bolt set, if any
    return copy
