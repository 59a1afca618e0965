"""A backlog's outcomes reach the person who queued them without holding the outbox to Slack's pace: DMs that
cannot be posted at once wait and go together, each outcome whole, in order, never over Slack's limits."""

from __future__ import annotations

import re
import time

from bot.render import replies
from bot.render.replies import MESSAGE_BLOCKS_MAX
from bot.render.text import FALLBACK_TEXT_MAX
from bot.slack.adapters.metered import MeteredWebClient
from bot.slack.adapters.notifier import OutboxNotifier
from bot.support.channel_pacing import ChannelPace
from tests.conftest import BOT_TOKEN
from tests.fakes.slack import SlackFake

USER = "U0QUEUED"


def paced_notifier(slack: SlackFake, per_second: float = 2.0) -> OutboxNotifier:
    client = MeteredWebClient(token=BOT_TOKEN, base_url=slack.api_url)
    client.pace = ChannelPace(per_second=per_second, burst=1)
    return OutboxNotifier(client)


def failure(n: int, typed: str = "") -> dict[str, object]:
    return replies.problem(f"A queued action could not be completed: outcome {n}", typed=typed or None)


def posted_texts(slack: SlackFake) -> list[str]:
    return [str(call.get("text") or "") for call in slack.calls("chat.postMessage")]


def test_a_backlog_of_dms_does_not_hold_the_deliverer_and_arrives_whole_in_order(slack: SlackFake) -> None:
    slack.add_user(USER, "queued@example.com", "Queued Person")
    # Slack's own limit, modelled: a post beyond it is a 429. The bot paces at the same rate; the fake's burst of 2
    # allows for one post reaching it sooner after the last than the bot sent it (two clocks, one HTTP hop).
    slack.limit_channels(per_second=2.0, burst=2)
    notifier = paced_notifier(slack)
    started = time.monotonic()
    for n in range(40):  # forty outcomes land within a moment, as a recovered Rootly drains a backlog
        notifier.deliver({"slack_user_id": USER}, failure(n, typed=f"typed words {n}"))
    handed_over = time.monotonic() - started
    assert handed_over < 1.0, f"the deliverer waited {handed_over:.1f} s for Slack's pace"

    def told() -> list[int]:  # whose words reached the person, in the order they arrived
        return [int(n) for n in re.findall(r"typed words (\d+)", "\n".join(posted_texts(slack)))]

    assert slack.wait_for(lambda: len(told()) >= 40, 20), posted_texts(slack)
    notifier.close()
    assert told() == list(range(40))  # every outcome once, whole with the person's words, in the order they landed
    posts = slack.calls("chat.postMessage")
    assert 2 <= len(posts) <= 10, f"{len(posts)} DMs for 40 outcomes"  # joined, not one post each
    assert not any(slack.rate_limited.values())  # paced, never a 429
    for post in posts:
        assert post["channel"] == USER
        assert len(post.get("blocks") or []) <= MESSAGE_BLOCKS_MAX


def test_one_outcome_alone_goes_at_once_as_it_was_rendered(slack: SlackFake) -> None:
    slack.add_user(USER, "queued@example.com", "Queued Person")
    notifier = paced_notifier(slack)
    message = failure(1, typed="my note")
    notifier.deliver({"slack_user_id": USER}, message)
    posts = slack.calls("chat.postMessage")  # no waiting: the DM could take a post
    assert len(posts) == 1 and posts[0]["text"] == message["text"]
    notifier.close()


def test_joining_keeps_every_typed_word_and_slacks_limits() -> None:
    long_typed = "x" * 15_000  # three of these do not fit in one message's 40,000-character text
    messages = [failure(n, typed=f"{n} {long_typed}") for n in range(5)]
    taken = replies.outbox_outcomes_fitting(messages)
    assert taken == 2
    joined = replies.outbox_outcomes(messages[:taken])
    assert len(joined["text"]) <= FALLBACK_TEXT_MAX
    for n in range(taken):
        assert f"{n} {long_typed}" in joined["text"]  # untruncated
    many = [failure(n) for n in range(40)]  # two blocks each: the 50-block limit decides
    taken = replies.outbox_outcomes_fitting(many)
    assert 1 < taken < 40
    assert len(replies.outbox_outcomes(many[:taken])["blocks"]) <= MESSAGE_BLOCKS_MAX
    assert len(replies.outbox_outcomes(many[: taken + 1])["blocks"]) > MESSAGE_BLOCKS_MAX
    huge = [failure(0, typed="y" * 39_950), failure(1)]
    assert replies.outbox_outcomes_fitting(huge) == 1  # an outcome too big to share a message goes alone
    assert replies.outbox_outcomes(huge[:1]) == huge[0]
