"""Slack's per-channel pace, kept by the bot: a burst, then one a second per channel, a token kept for clicks."""

from __future__ import annotations

import time

from bot.slack.adapters.metered import MeteredWebClient
from bot.support.channel_pacing import ChannelPace, pacing_updates
from tests.conftest import BOT_TOKEN
from tests.fakes.slack import SlackFake


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_one_a_second_per_channel() -> None:
    clock = Clock()
    pace = ChannelPace(per_second=1.0, burst=2, clock=clock)
    assert pace.acquire("C1") == 0.0 and pace.acquire("C1") == 0.0  # the burst
    assert pace.delay("C1") == 1.0  # then a second per post
    assert pace.delay("C2") == 0.0  # another channel has its own allowance
    clock.now += 0.5
    assert pace.delay("C1") == 0.5
    clock.now += 0.5
    assert pace.delay("C1") == 0.0 and pace.acquire("C1") == 0.0
    clock.now += 100
    assert pace.delay("C1", reserve=5) == 0.0  # saved up to the burst, never more: a reserve beyond it is the burst


def test_background_posting_leaves_a_token_for_a_click() -> None:
    clock = Clock()
    pace = ChannelPace(per_second=1.0, burst=2, clock=clock)
    pace.acquire("C1")  # a storm's post
    assert pace.delay("C1", reserve=1) == 1.0  # the poster waits until a token beyond the click's is back ...
    assert pace.delay("C1") == 0.0  # ... while a click may go now
    pace.acquire("C1")
    assert pace.delay("C1", reserve=1) == 2.0


def test_a_clicks_re_render_is_not_paced_but_a_feed_posters_update_is(slack: SlackFake) -> None:
    """Slack's per-channel limit is chat.postMessage's; chat.update waits its turn only on the feed poster's thread."""
    pace = ChannelPace(per_second=0.001, burst=1, max_wait=0.5)  # one token, then none for a long time
    client = MeteredWebClient(token=BOT_TOKEN, base_url=slack.api_url)
    client.pace = pace
    posted = client.chat_postMessage(channel="C111", text="an alert")  # takes the only token
    started = time.monotonic()
    for n in range(3):  # three people's clicks re-render it at once
        client.chat_update(channel="C111", ts=posted["ts"], text=f"acknowledged {n}")
    assert pace.waits == 0  # none waited for the channel's pace
    with pacing_updates():
        client.chat_update(channel="C111", ts=posted["ts"], text="a storm's group grows")
    assert pace.waits == 1  # the feed poster's update waited its turn (here until max_wait)
    assert time.monotonic() - started >= 0.4


def test_requests_share_one_measured_client_that_keeps_the_pace(slack: SlackFake) -> None:
    """Bolt makes a plain client per request; the bot measures and paces it through one shared copy per team."""
    from slack_sdk import WebClient

    from bot.slack.adapters.metered import MeteredClients

    pace = ChannelPace(per_second=1.0, burst=2)
    clients = MeteredClients(pace)

    def per_request(team: object = "T1", token: str = BOT_TOKEN) -> WebClient:
        return WebClient(token=token, base_url=slack.api_url, team_id=team)  # as Bolt builds it for each request

    first = clients.of(per_request())
    assert isinstance(first, MeteredWebClient) and first.pace is pace
    assert first.token == BOT_TOKEN and first.base_url == slack.api_url and first.default_params == {"team_id": "T1"}
    assert clients.of(per_request()) is first  # the next request's client: the same copy, not another
    assert clients.of(first) is first
    other = clients.of(per_request(team="T2"))
    assert other is not first and other.default_params == {"team_id": "T2"}
    assert clients.of(per_request(token="xoxb-rotated")).token == "xoxb-rotated"
    odd = clients.of(per_request(team={"id": "T1"}))  # a signed body of the wrong shape: copied, not kept
    assert odd is not clients.of(per_request(team={"id": "T1"})) and odd.pace is pace
    assert first.chat_postMessage(channel="C111", text="posted through the shared copy")["ok"]
