"""Fast failover with the defaults: three ``rootly-bot run`` replicas on PostgreSQL and ``digest every 1m``, with no
``DIGEST_*`` setting changed. The replica holding a slot's claim is killed (SIGKILL) while it works on the slot; a
survivor must post that slot within 45 s of the death, exactly once.

With a 20 s lease renewed every third of it and a sweep every half lease, the take-over comes at most 30 s after
the death (plus the time to read the alerts and post). Reading alerts is slowed so that the claim is held long
enough to be seen and killed. The test waits for the next whole minute, so it takes one to two minutes.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import VARIABLES
from tests.conftest import SIGNING_SECRET, bot_env
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.slack_requests import SlackSender
from tests.test_digest_replicas import Replica, runs

pytestmark = pytest.mark.postgres

REPLICAS = 3
FAILOVER_TARGET = 45.0  # seconds from the death of the claimant to the slot in the channel


@pytest.fixture
def default_replicas(
    tmp_path: Path, postgres_url: str, rootly: RootlyFake, slack: SlackFake
) -> Iterator[list[Replica]]:
    env = bot_env(tmp_path, rootly, slack, DATABASE_URL=postgres_url, FEED_POLL_SECONDS="0", LOG_LEVEL="INFO")
    assert not any(name.startswith("DIGEST_") for name in env), "the defaults are what is tested"
    started: list[Replica] = []
    try:
        for i in range(REPLICAS):
            started.append(Replica(i, env, tmp_path))
            started[-1].wait_healthy(time.monotonic() + 30)
        yield started
    finally:
        for replica in started:
            replica.stop()


def digest_posts(slack: SlackFake) -> Counter[str]:
    return Counter(
        c["metadata"]["event_payload"]["slot"]
        for c in slack.calls("chat.postMessage")
        if (c.get("metadata") or {}).get("event_type") == "rootly_digest"
    )


def test_a_killed_claimant_s_slot_is_posted_by_a_survivor_within_45_s_with_the_defaults(
    default_replicas: list[Replica], postgres_url: str, rootly: RootlyFake, slack: SlackFake
) -> None:
    defaults = {v.name: v.default for v in VARIABLES}
    assert float(defaults["DIGEST_CLAIM_SECONDS"]) <= 30
    for i in range(3):
        rootly.add_alert(summary=f"Failover alert {i}", status="triggered")
    sender = SlackSender(f"{default_replicas[0].url}/slack/events", SIGNING_SECRET, slack.response_url())
    answer = sender.slash("digest every 1m")
    assert answer.status_code == 200 and "Digest *#1*" in answer.text
    rootly.latency = 4.0  # reading the alerts takes a while: the claim is held long enough to kill its holder

    by_pid = {r.proc.pid: r for r in default_replicas}
    victim, slot, died = None, "", 0.0
    deadline = time.monotonic() + 90  # the first slot comes within a minute
    while victim is None and time.monotonic() < deadline:
        for row in runs(postgres_url):
            pid = int(row.owner.split(":")[1])
            if row.status == "claimed" and pid in by_pid:
                os.kill(pid, signal.SIGKILL)
                died = time.monotonic()
                by_pid[pid].proc.wait(5)
                victim, slot = by_pid[pid], row.slot_key
                break
        time.sleep(0.05)
    assert victim is not None, "no replica was ever seen holding a claim"

    while time.monotonic() - died < FAILOVER_TARGET and digest_posts(slack)[slot] == 0:
        time.sleep(0.1)
    took = time.monotonic() - died
    print(f"killed pid {victim.proc.pid} holding slot {slot}; a survivor posted it {took:.1f} s later")
    assert digest_posts(slack)[slot] == 1, f"slot {slot} not posted within {FAILOVER_TARGET:.0f} s of the death"
    time.sleep(3)  # a second post of the slot, if any were coming, would come now
    for replica in default_replicas:
        replica.stop()

    assert digest_posts(slack)[slot] == 1, "posted exactly once"
    row = next(r for r in runs(postgres_url) if r.slot_key == slot)
    assert row.status == "posted" and row.attempts == 2
    assert int(row.owner.split(":")[1]) != victim.proc.pid
    survivors = "\n".join(r.log.read_text() for r in default_replicas if r is not victim)
    assert "taking it over" in survivors
