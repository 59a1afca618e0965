"""`/rootly oncall follow`: a shift change is posted once in the channel, by one of several app instances sharing
one database (SQLite file and PostgreSQL), even when the replica that claimed it dies or its post fails, and
following many schedules costs one on-call read a poll."""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import RunningBot
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.messages import reply, text_of

NOW = datetime.now(UTC).replace(microsecond=0)
REPLICAS = 3
LEASE = 2.0  # ONCALL_CLAIM_SECONDS in the lease tests: short, so a survivor may take a claim over soon


@pytest.fixture
def rota(rootly: RootlyFake, slack: SlackFake) -> dict[str, Any]:
    bob = rootly.add_user("bob@example.com", "Bob Builder")
    carol = rootly.add_user("carol@example.com", "Carol Danvers")
    slack.add_user("U222", "bob@example.com", "Bob Builder")
    slack.add_user("U333", "carol@example.com", "Carol Danvers")
    primary = rootly.add_schedule("Primary")
    policy = rootly.add_escalation_policy("Platform EP", levels=1)
    rootly.add_oncall(policy, 1, bob, NOW - timedelta(hours=1), NOW + timedelta(hours=8), schedule_id=primary)
    return {"bob": bob, "carol": carol, "primary": primary}


def hand_over(rootly: RootlyFake, rota: dict[str, Any]) -> None:
    """Carol takes over Primary (as if someone did it in Rootly's UI)."""
    attrs = {
        "starts_at": (datetime.now(UTC) - timedelta(seconds=5)).isoformat(),
        "ends_at": (NOW + timedelta(hours=3)).isoformat(),
        "user_id": rota["carol"],
    }
    rootly.call(
        "POST", f"/v1/schedules/{rota['primary']}/override_shifts", {"data": {"type": "shifts", "attributes": attrs}}
    )


def poll_together(bots: list[RunningBot]) -> int:
    posted: list[int] = []
    threads = [threading.Thread(target=lambda b=b: posted.append(b.app.oncall.poller.poll_once())) for b in bots]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(posted)


def test_a_shift_change_is_posted_once_across_replicas(
    make_bot,
    database_url: str,
    rootly: RootlyFake,
    slack: SlackFake,
    rota: dict[str, Any],  # type: ignore[no-untyped-def]
) -> None:
    with ExitStack() as stack:
        bots = [
            stack.enter_context(make_bot(DATABASE_URL=database_url, ONCALL_POLL_SECONDS="0")) for _ in range(REPLICAS)
        ]
        bots[0].sender.slash("oncall follow primary")
        said = text_of(reply(slack))
        assert "follow the schedule *Primary*" in said and "without @-mentions" in said

        assert poll_together(bots) == 0  # nothing changed since the follow
        hand_over(rootly, rota)
        before = len([r for r in rootly.requests if r.path == "/v1/oncalls"])
        assert poll_together(bots) == 1
        assert len([r for r in rootly.requests if r.path == "/v1/oncalls"]) - before == REPLICAS  # one each
        (posted,) = slack.wait_calls("chat.postMessage")
        text = text_of(posted)
        assert posted["channel"] == "C111"
        assert "*Primary*: Bob Builder → Carol Danvers until <!date^" in text  # names: no @-mention by default
        assert "<@" not in text
        assert poll_together(bots) == 0  # and never again
        assert len(slack.calls("chat.postMessage")) == 1

        assert "Primary" in bots[1].sender.slash("oncall following").text  # answered at once, from the database
        assert "no longer follows *Primary*" in bots[2].sender.slash("oncall unfollow primary").text
        assert bots[0].app.oncall.follows.all() == []


class ReplicaDied(BaseException):
    """The process ends between claiming a change and posting it (SIGKILL, OOM): nothing after the claim runs."""


class DiesOnPost:
    """A replica's messenger at the moment its process is killed: no post, no ``mark_posted``, no new state."""

    def post(self, channel: str, message: dict[str, Any]) -> str:
        raise ReplicaDied

    def update(self, channel: str, ts: str, message: dict[str, Any]) -> None:
        raise ReplicaDied


def test_a_change_whose_replica_died_before_posting_is_posted_once_by_a_survivor(
    make_bot,
    database_url: str,
    rootly: RootlyFake,
    slack: SlackFake,
    rota: dict[str, Any],  # type: ignore[no-untyped-def]
) -> None:
    settings = {"DATABASE_URL": database_url, "ONCALL_POLL_SECONDS": "0", "ONCALL_CLAIM_SECONDS": str(LEASE)}
    with ExitStack() as stack:
        dying, *survivors = [stack.enter_context(make_bot(**settings)) for _ in range(REPLICAS)]
        dying.sender.slash("oncall follow primary")
        reply(slack)
        follows = dying.app.oncall.follows
        (follow,) = follows.all()
        hand_over(rootly, rota)

        dying.app.oncall.poller.messenger = DiesOnPost()  # type: ignore[assignment]
        with pytest.raises(ReplicaDied):
            dying.app.oncall.poller.poll_once()  # claims the change, then dies
        assert poll_together(survivors) == 0  # its claim is within the lease: not posted yet, and not forgotten
        assert follows.all()[0].state == follow.state
        assert slack.calls("chat.postMessage") == []

        time.sleep(LEASE + 0.2)  # the dead replica's lease runs out
        assert poll_together(survivors) == 1  # exactly one survivor takes the claim over
        (posted,) = slack.wait_calls("chat.postMessage")
        assert "*Primary*: Bob Builder → Carol Danvers" in text_of(posted)
        assert follows.all()[0].state != follow.state  # posted: the follow moves on

        time.sleep(LEASE + 0.2)
        assert poll_together(survivors) == 0  # a posted change is never taken over
        assert len(slack.calls("chat.postMessage")) == 1


def test_a_survivors_sweep_posts_a_dead_replicas_change_without_asking_the_backend(
    make_bot,
    database_url: str,
    rootly: RootlyFake,
    slack: SlackFake,
    rota: dict[str, Any],  # type: ignore[no-untyped-def]
) -> None:
    """The message kept with the claim is posted by a survivor's sweep (every 10 s by default), not its next
    on-call poll (every 2 min by default): the lease plus one sweep after the death."""
    settings = {"DATABASE_URL": database_url, "ONCALL_POLL_SECONDS": "0", "ONCALL_CLAIM_SECONDS": str(LEASE)}
    with ExitStack() as stack:
        dying, *survivors = [stack.enter_context(make_bot(**settings)) for _ in range(REPLICAS)]
        dying.sender.slash("oncall follow primary")
        reply(slack)
        hand_over(rootly, rota)
        dying.app.oncall.poller.messenger = DiesOnPost()  # type: ignore[assignment]
        with pytest.raises(ReplicaDied):
            dying.app.oncall.poller.poll_once()  # claims the change, then dies
        assert [s.app.oncall.poller.sweep() for s in survivors] == [0] * len(survivors)  # within the lease
        oncall_reads = len([r for r in rootly.requests if r.path == "/v1/oncalls"])

        time.sleep(LEASE + 0.2)
        swept: list[int] = []
        threads = [threading.Thread(target=lambda s=s: swept.append(s.app.oncall.poller.sweep())) for s in survivors]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(swept) == [0] * (len(survivors) - 1) + [1]  # exactly one survivor posts it
        (posted,) = slack.wait_calls("chat.postMessage")
        assert "*Primary*: Bob Builder → Carol Danvers" in text_of(posted)
        assert len([r for r in rootly.requests if r.path == "/v1/oncalls"]) == oncall_reads  # from the database
        # The next poll finds the change posted and moves the follow on, posting nothing more.
        assert poll_together(survivors) == 0
        assert len(slack.calls("chat.postMessage")) == 1


def test_a_change_whose_post_failed_is_posted_by_a_later_poll_once(
    make_bot,
    database_url: str,
    rootly: RootlyFake,
    slack: SlackFake,
    rota: dict[str, Any],  # type: ignore[no-untyped-def]
) -> None:
    settings = {"DATABASE_URL": database_url, "ONCALL_POLL_SECONDS": "0", "ONCALL_CLAIM_SECONDS": str(LEASE)}
    with make_bot(**settings) as bot:
        bot.sender.slash("oncall follow primary")
        reply(slack)
        poller = bot.app.oncall.poller
        hand_over(rootly, rota)

        slack.fail("chat.postMessage", "internal_error")
        assert poller.poll_once() == 0  # Slack refused the post
        assert len(slack.calls("chat.postMessage")) == 1
        assert poller.poll_once() == 0  # within the lease: not tried again yet, and the change is kept
        assert len(slack.calls("chat.postMessage")) == 1

        time.sleep(LEASE + 0.2)
        assert poller.poll_once() == 1
        failed, posted = slack.wait_calls("chat.postMessage", n=2)
        assert text_of(posted) == text_of(failed)
        assert "*Primary*: Bob Builder → Carol Danvers" in text_of(posted)
        assert poller.poll_once() == 0  # posted: the state moved on, the change is not found again
        assert len(slack.calls("chat.postMessage")) == 2
        assert len(slack.messages("C111")) == 1


def test_mention_adds_the_mention(bot: RunningBot, rootly: RootlyFake, slack: SlackFake, rota: dict[str, Any]) -> None:
    bot.sender.slash("oncall follow primary mention")
    reply(slack)
    hand_over(rootly, rota)
    assert bot.app.oncall.poller.poll_once() == 1
    (posted,) = slack.wait_calls("chat.postMessage")
    assert "Bob Builder → <@U333>" in text_of(posted)


def test_following_fifty_schedules_costs_one_read_a_poll(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake, rota: dict[str, Any]
) -> None:
    feature = bot.app.oncall
    for n in range(50):
        schedule = rootly.add_schedule(f"Rota {n:02}")
        feature.follows.add("C111", f"rootly:schedule:{schedule}", f"Rota {n:02}", False, "{}", "U111")
    feature.service.directory()  # names are read once an hour, not per poll
    before = len(rootly.requests)
    feature.poller.poll_once()
    feature.poller.poll_once()
    reads = [r.path for r in rootly.requests[before:]]
    assert reads == ["/v1/oncalls", "/v1/oncalls"]


def test_unknown_name_to_follow(bot: RunningBot, slack: SlackFake, rota: dict[str, Any]) -> None:
    bot.sender.slash("oncall follow primery")
    said = text_of(reply(slack))
    assert "`primery`" in said and "Primary" in said
