"""PostgreSQL restarted under traffic: the bot reconnects, answers Slack within 3 s throughout, tells a person
plainly when their action could not be recorded, and loses nothing it accepted.

The test starts a PostgreSQL cluster of its own (``tests/postgres.py``'s ``Cluster``, so restarting it disturbs no
other test), serves the real app on it, and sends notes by slash command from several threads while the cluster is
restarted (``pg_ctl restart -m fast``: every connection is killed, new ones are refused for a moment). Every answer
must come within 3 s with status 200. Every note is then either in Rootly exactly once, or its author was told the
database could not be reached (and the note is not in Rootly): nothing silently lost, nothing doubled. Afterwards
the bot works again on the same pool.
"""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.config import Settings
from tests.conftest import BotServer, bot_env
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.messages import text_of
from tests.postgres import Cluster, own_cluster

pytestmark = pytest.mark.postgres

SENDERS = 6
NOTES_EACH = 12


cluster = pytest.fixture(own_cluster)  # a cluster of its own: the test stops and starts it


def restart(cluster: Cluster) -> None:
    log = str(cluster.root / "server.log")  # the server must not inherit our pipes
    done = cluster._run("pg_ctl", "-D", str(cluster.data), "-l", log, "-m", "fast", "-w", "-t", "60", "restart")
    assert done.returncode == 0, done.stderr


def test_a_postgresql_restart_under_traffic_loses_nothing_and_every_answer_is_in_time(
    cluster: tuple[Cluster, str], rootly: RootlyFake, slack: SlackFake, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    pg, url = cluster
    slack.add_user("U111", "alice@example.com", "Alice Example")
    alert = rootly.add_alert(summary="Restart test alert", status="triggered")
    short = alert["attributes"]["short_id"]
    env = bot_env(tmp_path, rootly, slack, DATABASE_URL=url, FEED_POLL_SECONDS="0", ATTRIBUTION_NOTES="false")
    with BotServer(Settings.from_env(env), slack.response_url()) as bot:
        assert bot.sender.slash(f"note {short} warm-up").status_code == 200
        slowest = [0.0]
        statuses: list[int] = []
        lock = threading.Lock()

        def send(sender_index: int) -> None:
            for n in range(NOTES_EACH):
                started = time.monotonic()
                resp = bot.sender.slash(f"note {short} restart-note-{sender_index}-{n}")
                took = time.monotonic() - started
                with lock:
                    slowest[0] = max(slowest[0], took)
                    statuses.append(resp.status_code)
                time.sleep(0.1)

        with ThreadPoolExecutor(SENDERS) as pool:
            senders = [pool.submit(send, i) for i in range(SENDERS)]
            time.sleep(0.4)
            restart(pg)  # mid-traffic
            for s in senders:
                s.result()
        after = bot.sender.slash(f"note {short} after-the-restart")
        assert after.status_code == 200
        rootly.wait_for(lambda: "after-the-restart" in str(rootly.notes(alert["id"])), timeout=10)
        time.sleep(1.0)  # replies of the last notes

    assert statuses and set(statuses) == {200}
    assert slowest[0] < 3.0, f"an answer took {slowest[0]:.2f} s"
    noted = [text.split("\n\n— ")[0].strip() for text, _ in rootly.notes(alert["id"])]  # less the signature
    answers = [text_of(r) + " " + str(r.get("text") or "") for r in slack.responses()]
    said = "\n".join(answers)
    refusals = [a for a in answers if "database could not record this" in a]
    told_down = said.count("database could not record this")
    for i in range(SENDERS):
        for n in range(NOTES_EACH):
            words = f"restart-note-{i}-{n}"
            landed = noted.count(words)
            assert landed <= 1, f"{words} noted {landed} times"
            if not landed:  # then its author must have been told it was not recorded, with what they typed
                assert words in said and told_down, f"{words} was lost silently"
            else:  # and a note that landed was not reported as "nothing was done" (its author would send it again)
                exact = re.compile(rf"{re.escape(words)}(?!\d)")  # not restart-note-1-10 for restart-note-1-1
                assert not any(exact.search(r) for r in refusals), f"{words} landed, but its author was told it did not"
    assert any("after-the-restart" in t for t in noted), "the bot works again after the restart"
    print(f"notes: {len(noted) - 2} landed, {told_down} told the database was down; slowest answer {slowest[0]:.2f} s")
