"""A person's action while PostgreSQL is coming back is carried out, not refused: the connect retry at work.

``pool_pre_ping`` alone replaces pooled connections a restart killed, but only once the server accepts again; an
action that arrives while the server is still starting would fail with "the database could not record this". Here
the pool holds connections from a first action, PostgreSQL is stopped (``pg_ctl stop -m fast``: those connections
die), a second action is sent while it is down, and the server is started again a moment later. The second action
must be answered and recorded exactly once, with no database error shown to the person, which holds only because
``bot/store/reconnect.py`` retries the refused connect (its log line is checked too). Without the retry this test
fails: the second note is refused.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest
import requests

from bot.config import Settings
from bot.store import reconnect
from tests.conftest import BotServer, bot_env
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.messages import text_of
from tests.postgres import Cluster, own_cluster

pytestmark = pytest.mark.postgres

DOWN_FOR = 0.3  # seconds the server stays stopped after the action arrives, before it is started again


cluster = pytest.fixture(own_cluster)  # a cluster of its own: the test stops and starts it


def test_an_action_sent_while_postgresql_restarts_is_recorded_once_and_the_person_sees_no_error(
    cluster: tuple[Cluster, str],
    rootly: RootlyFake,
    slack: SlackFake,
    tmp_path,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Room for a slow start on a loaded machine, still inside Slack's 3 s; the retry itself is the production code.
    monkeypatch.setattr(reconnect, "CONNECT_BUDGET", 2.5)
    pg, url = cluster
    slack.add_user("U111", "alice@example.com", "Alice Example")
    alert = rootly.add_alert(summary="Reconnect test alert", status="triggered")
    short = alert["attributes"]["short_id"]
    env = bot_env(tmp_path, rootly, slack, DATABASE_URL=url, FEED_POLL_SECONDS="0", ATTRIBUTION_NOTES="false")
    with BotServer(Settings.from_env(env), slack.response_url()) as bot:
        assert bot.sender.slash(f"note {short} before-the-restart").status_code == 200
        rootly.wait_for(lambda: "before-the-restart" in str(rootly.notes(alert["id"])), timeout=10)
        time.sleep(0.5)  # its reply and bookkeeping: the pool now holds connections to the running server
        replies_before = len(slack.responses())

        pg.pause()  # the pooled connections die; new ones are refused
        answer: list[requests.Response] = []
        took: list[float] = []

        def second_action() -> None:
            started = time.monotonic()
            answer.append(bot.sender.slash(f"note {short} during-the-restart"))
            took.append(time.monotonic() - started)

        caplog.set_level(logging.INFO, logger="bot.store.reconnect")
        sender = threading.Thread(target=second_action)
        sender.start()
        time.sleep(DOWN_FOR)
        resumed_at = time.monotonic()
        pg.resume()
        resumed_in = time.monotonic() - resumed_at
        sender.join(15)
        assert rootly.wait_for(lambda: "during-the-restart" in str(rootly.notes(alert["id"])), timeout=10)
        time.sleep(1.0)  # the reply to the second note

    assert answer and answer[0].status_code == 200
    noted = [text.split("\n\n— ")[0].strip() for text, _ in rootly.notes(alert["id"])]
    assert noted.count("during-the-restart") == 1
    said = [text_of(r) + " " + str(r.get("text") or "") for r in slack.responses()[replies_before:]]
    assert said, "the person was answered"
    assert not any("database" in s.lower() for s in said), said
    retried = [r for r in caplog.records if r.name == "bot.store.reconnect" and "retrying" in r.getMessage()]
    assert retried, "the action should have met a refused connection (the server was down when it arrived)"
    print(f"answered in {took[0]:.2f} s; PostgreSQL took {resumed_in:.2f} s to start again; {len(retried)} retries")
