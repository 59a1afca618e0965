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
from bot.support.channel_pacing import ChannelPace, updates_paced

# Calls that put a message in a channel: held back by the channel's pace (bot/support/channel_pacing.py). Slack's
# one-a-second-per-channel limit is chat.postMessage's; chat.update is a Tier 3 method (about 50 a minute, bursts
# allowed) with no per-channel limit, so pacing it would only delay the re-render a person's click is waiting for
# (a second per click in the same channel, bench.incident_click). Only the feed poster's group-message updates are
# paced too (bot/services/feed_delivery.py, ``pacing_updates``).
PACED_METHODS = frozenset({"chat.postMessage"})


class MeteredWebClient(WebClient):
    # Set by build_app when pacing is on; shared by the copies Bolt makes for each request (metered_copy).
    pace: ChannelPace | None = None

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:  # type: ignore[override]
        if self.pace is not None and (api_method in PACED_METHODS or (api_method == "chat.update" and updates_paced())):
            channel = _channel_of(kwargs)
            if channel:
                self.pace.acquire(channel)
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


def metered_copy(client: WebClient, pace: ChannelPace | None = None) -> MeteredWebClient:
    """The same client (token, URL, retry handlers), measured: Bolt makes a plain ``WebClient`` for each request's
    listeners, and the request middleware (``bot.slack.middleware.request_log``) swaps it for this."""
    if isinstance(client, MeteredWebClient):
        return client  # already measured, and paced as built
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
    copy.pace = pace  # the app client's pace: a listener's posts wait their channel's turn like any other
    return copy


class MeteredClients:
    """One measured client per (token, Slack URL, team), made once and shared by every request that carries them.

    Bolt makes a fresh ``WebClient`` for each request; copying it again built a second one on every request's
    acknowledgement path (bench/README.md, "Bolt's keyword injection"). A ``WebClient`` keeps no per-call state,
    so one copy serves all threads, as the app's own client does. A different token or team gets its own copy (at
    most ``limit``, for a bot installed in one workspace that is one or two)."""

    def __init__(self, pace: ChannelPace | None = None, limit: int = 32) -> None:
        self.pace = pace
        self.limit = limit
        self._copies: dict[tuple[str | None, str, str | None], MeteredWebClient] = {}

    def of(self, client: WebClient) -> MeteredWebClient:
        if isinstance(client, MeteredWebClient):
            return client
        team = client.default_params.get("team_id")
        if not isinstance(client.token, str | None) or not isinstance(team, str | None):
            return metered_copy(client, self.pace)  # Slack sends strings; anything else is not worth keeping
        key = (client.token, client.base_url, team)
        copy = self._copies.get(key)
        if copy is None:
            if len(self._copies) >= self.limit:
                self._copies.clear()  # tokens rotated many times: start over rather than grow
            copy = self._copies[key] = metered_copy(client, self.pace)
        return copy


def _channel_of(kwargs: dict[str, Any]) -> str | None:
    for key in ("json", "params", "data"):
        found = kwargs.get(key)
        if isinstance(found, dict) and found.get("channel"):
            return str(found["channel"])
    return None
