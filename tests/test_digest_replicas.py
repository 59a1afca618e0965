"""Three ``rootly-bot run`` processes on one PostgreSQL, one digest every few seconds: each slot is posted exactly
once, including the slot whose claimant is killed (SIGKILL) while it holds the claim.

The interval is below a minute through ``DIGEST_MIN_INTERVAL_SECONDS`` (a test-only lowering of the one-minute
minimum, documented in the README), so the test sees several slots in about half a minute.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, select

from bot.store.schema import digest_runs
from tests.conftest import SIGNING_SECRET, bot_env
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.slack_requests import SlackSender
from tests.test_cli import free_port
from tests.waiting import wait_until

pytestmark = pytest.mark.postgres

INTERVAL = 5  # seconds between digests
REPLICAS = 3
SLOTS = 5  # slots to watch after the subscription


class Replica:
    def __init__(self, index: int, env: dict[str, str], cwd: Path) -> None:
        self.index = index
        self.port = free_port()
        self.log = cwd / f"replica{index}.log"
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ROOTLY_", "ILERT_", "DIGEST_"))}
        full = {**clean, **env, "PORT": str(self.port), "HOST": "127.0.0.1"}
        with self.log.open("w") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=full, cwd=cwd, stderr=out)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_healthy(self, deadline: float) -> None:
        def healthy() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"replica {self.index} exited:\n{self.log.read_text()[-3000:]}")
            try:
                return requests.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except requests.ConnectionError:
                return False

        wait_until(healthy, max(0.0, deadline - time.monotonic()), 0.1, message=f"replica {self.index} did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def replicas(tmp_path: Path, postgres_url: str, rootly: RootlyFake, slack: SlackFake) -> Iterator[list[Replica]]:
    env = bot_env(
        tmp_path,
        rootly,
        slack,
        DATABASE_URL=postgres_url,
        DIGEST_MIN_INTERVAL_SECONDS="1",
        DIGEST_RESYNC_SECONDS="0.5",
        DIGEST_CLAIM_SECONDS="2",
        FEED_POLL_SECONDS="0",
        LOG_LEVEL="INFO",
    )
    # Created one after another: the first applies the migrations, so the others start on a ready schema (they would
    # also wait on the migration lock if started together).
    started: list[Replica] = []
    try:
        for i in range(REPLICAS):
            started.append(Replica(i, env, tmp_path))
            started[-1].wait_healthy(time.monotonic() + 30)
        yield started
    finally:
        for replica in started:
            replica.stop()


def runs(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(digest_runs).order_by(digest_runs.c.slot_at)))
    finally:
        engine.dispose()


def test_three_replicas_post_each_slot_exactly_once_even_when_one_is_killed(
    replicas: list[Replica], postgres_url: str, rootly: RootlyFake, slack: SlackFake
) -> None:
    for i in range(5):
        rootly.add_alert(summary=f"Replica test alert {i}", status="triggered")
    rootly.latency = 0.7  # reading alerts takes a while, so a claim is held long enough to kill its holder
    sender = SlackSender(f"{replicas[0].url}/slack/events", SIGNING_SECRET, slack.response_url())
    answer = sender.slash(f"digest every {INTERVAL}s")
    assert answer.status_code == 200 and "Digest *#1*" in answer.text

    # Kill whichever replica holds the first claim we see, while it holds it.
    by_pid = {r.proc.pid: r for r in replicas}
    killed: tuple[Replica, str] | None = None
    deadline = time.monotonic() + 4 * INTERVAL
    while killed is None and time.monotonic() < deadline:
        for row in runs(postgres_url):
            pid = int(row.owner.split(":")[1])
            if row.status == "claimed" and pid in by_pid:
                os.kill(pid, signal.SIGKILL)
                by_pid[pid].proc.wait(5)
                killed = (by_pid[pid], row.slot_key)
                break
        time.sleep(0.05)
    assert killed is not None, "no replica was ever seen holding a claim"
    victim, killed_slot = killed

    time.sleep(SLOTS * INTERVAL)
    for replica in replicas:
        replica.stop()

    posts = [
        c for c in slack.calls("chat.postMessage") if (c.get("metadata") or {}).get("event_type") == "rootly_digest"
    ]
    posted_slots = Counter(c["metadata"]["event_payload"]["slot"] for c in posts)
    duplicates = {slot: n for slot, n in posted_slots.items() if n > 1}
    assert duplicates == {}, f"slots posted more than once: {duplicates}"

    rows = runs(postgres_url)
    for row in rows:  # shown with -s, and in the report on failure
        print(f"slot {row.slot_key}: {row.status} by pid {row.owner.split(':')[1]}, attempt {row.attempts}")
    print(f"killed pid {victim.proc.pid} holding slot {killed_slot}")
    by_slot = {row.slot_key: row for row in rows}
    assert len(by_slot) >= SLOTS - 1
    gaps = [b.slot_at - a.slot_at for a, b in itertools.pairwise(rows)]
    assert set(gaps) == {timedelta(seconds=INTERVAL)}, "every slot between the first and the last was claimed"
    unfinished = {row.slot_key: row.status for row in rows if row.status != "posted"}
    assert set(unfinished) <= {rows[-1].slot_key}, f"slots not posted: {unfinished}"  # the last may be in flight
    assert set(posted_slots) == {row.slot_key for row in rows if row.status == "posted"}

    recovered = by_slot[killed_slot]
    assert recovered.status == "posted" and posted_slots[killed_slot] == 1
    assert int(recovered.owner.split(":")[1]) != victim.proc.pid  # another replica finished the killed one's slot
    assert recovered.attempts == 2
    survivors = "\n".join(r.log.read_text() for r in replicas if r is not victim)
    assert "taking it over" in survivors
    assert {int(row.owner.split(":")[1]) for row in rows} - {victim.proc.pid}, "the survivors posted"
