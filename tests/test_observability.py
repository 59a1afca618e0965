"""Logs and metrics as an operator meets them: ``rootly-bot run`` with LOG_FORMAT=json against the fakes, where every
line the process writes must be a JSON object, one request id ties a Slack request to its Rootly calls, and
``GET /metrics`` counts what happened."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.slack.adapters.work import WorkPool
from bot.slack.middleware.request_log import describe
from bot.support import logs, metrics, request_context
from tests.conftest import SIGNING_SECRET, bot_env
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.slack_requests import SlackSender
from tests.test_cli import free_port
from tests.waiting import wait_until


def json_lines(text: str, stream: str) -> list[dict[str, Any]]:
    """Every line as JSON; a stray plain line fails with the line itself in the message."""
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            pytest.fail(f"{stream} line {number} is not JSON: {line!r}")
        assert isinstance(entry, dict), f"{stream} line {number} is not an object: {line!r}"
        assert isinstance(entry.get("level"), str) and isinstance(entry.get("message"), str), line
        entries.append(entry)
    return entries


class Process:
    """``python -m bot run`` with the fakes' settings; ``stop()`` sends SIGTERM and keeps what it wrote."""

    def __init__(self, tmp_path: Path, rootly: RootlyFake, slack: SlackFake, **overrides: str) -> None:
        self.port = free_port()
        self.env = bot_env(tmp_path, rootly, slack, HOST="127.0.0.1", PORT=str(self.port), **overrides)
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ROOTLY_", "ILERT_", "LOG_"))}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            # warnings shown (not ignored), so the test also sees them go through logging
            env={**clean, **self.env, "PYTHONWARNINGS": "default"},
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        self.stdout = self.stderr = ""

    def up(self) -> bool:
        try:
            return requests.get(f"{self.base}/healthz", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.stdout, self.stderr = self.proc.communicate(timeout=30)
        return self.proc.returncode


@contextlib.contextmanager
def bot_process(tmp_path: Path, rootly: RootlyFake, slack: SlackFake, **overrides: str) -> Iterator[Process]:
    process = Process(tmp_path, rootly, slack, **overrides)
    try:
        assert wait_until(process.up, 20), "the bot did not start"
        yield process
    finally:
        process.stop()


def test_json_logs_tie_a_slack_request_to_its_rootly_calls_and_metrics_count_it(
    tmp_path: Path, rootly: RootlyFake, slack: SlackFake
) -> None:
    alert = rootly.add_alert(summary="Checkout 500s")
    short_id = alert["attributes"]["short_id"]
    with bot_process(tmp_path, rootly, slack, LOG_FORMAT="json", LOG_LEVEL="DEBUG") as bot:
        sender = SlackSender(f"{bot.base}/slack/events", SIGNING_SECRET, slack.response_url())
        assert sender.slash(f"ack {short_id}").status_code == 200
        forged = requests.post(f"{bot.base}/slack/events", data=b"command=/rootly&text=ack", timeout=5)
        assert forged.status_code == 401
        slack.wait_responses(1, timeout=10)
        assert wait_until(lambda: rootly.alerts[alert["id"]]["attributes"]["status"] == "acknowledged")

        scrape = requests.get(f"{bot.base}/metrics", timeout=5)
        assert scrape.status_code == 200 and scrape.headers["Content-Type"].startswith("text/plain")
        text = scrape.text
        assert 'rootly_bot_actions_total{kind="acknowledge",outcome="done"} 1.0' in text
        assert re.search(
            r'rootly_bot_api_request_seconds_count\{backend="rootly",endpoint="/v1/alerts/\{id\}/acknowledge",'
            r'method="POST",status="200"\} 1\.0',
            text,
        ), text
        assert 'rootly_bot_slack_requests_total{kind="command"} 1.0' in text
        assert 'rootly_bot_slack_api_seconds_count{method="auth.test",outcome="ok"}' in text
        assert "rootly_bot_outbox_depth 0.0" in text
        assert "_created" not in text  # no creation-time series: they double what Prometheus stores for nothing
        time.sleep(0.3)  # the reply's own log lines
    assert bot.proc.returncode == 0, bot.stderr[-3000:]

    entries = json_lines(bot.stderr, "stderr") + json_lines(bot.stdout, "stdout")
    loggers = {e["logger"] for e in entries}
    # the libraries' own lines came through the same handler, as JSON
    assert {"slack_bolt", "waitress"} & {name.split(".")[0] for name in loggers}, loggers
    assert any(name.startswith(("urllib3", "slack_sdk")) for name in loggers), loggers
    [request_line] = [
        e for e in entries if e["logger"] == "bot.slack.requests" and "command /rootly ack" in e["message"]
    ]
    rid = request_line.get("request_id")
    assert rid, request_line
    rootly_lines = [e for e in entries if "POST /v1/alerts/" in e["message"] and "/acknowledge" in e["message"]]
    assert rootly_lines and all(e.get("request_id") == rid for e in rootly_lines), rootly_lines
    assert any(e["message"].startswith("refused a request to /slack/events") for e in entries)
    refused = next(e for e in entries if e["message"].startswith("refused a request to /slack/events"))
    assert refused.get("request_id") and refused["request_id"] != rid  # every request has an id of its own
    everything = bot.stderr + bot.stdout
    for secret in (bot.env["SLACK_BOT_TOKEN"], bot.env["SLACK_SIGNING_SECRET"], bot.env["ROOTLY_API_TOKEN"]):
        assert secret not in everything


def test_configuration_problems_are_json_lines_too(tmp_path: Path) -> None:
    env = {"LOG_FORMAT": "json", "SLACK_BOT_TOKEN": "xoxp-not-a-bot-token"}
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ROOTLY_", "ILERT_", "LOG_"))}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"], env={**clean, **env}, cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 2
    entries = json_lines(done.stderr, "stderr") + json_lines(done.stdout, "stdout")
    assert entries and all(e["level"] == "error" for e in entries)
    assert any("SLACK_SIGNING_SECRET" in e["message"] for e in entries)
    assert "xoxp-not-a-bot-token" not in done.stderr


def test_text_logs_carry_the_request_id_for_people(tmp_path: Path, rootly: RootlyFake, slack: SlackFake) -> None:
    alert = rootly.add_alert(summary="Disk full")
    with bot_process(tmp_path, rootly, slack, LOG_FORMAT="text") as bot:
        sender = SlackSender(f"{bot.base}/slack/events", SIGNING_SECRET, slack.response_url())
        sender.slash(f"resolve {alert['attributes']['short_id']}")
        slack.wait_responses(1, timeout=10)
        time.sleep(0.3)
    line = next(x for x in bot.stderr.splitlines() if "slack command /rootly resolve" in x)
    rid = re.search(r"bot\.slack\.requests \[([0-9a-f]{12})\]: ", line)
    assert rid, line
    assert any("POST /v1/alerts/" in x and f"[{rid.group(1)}]" in x for x in bot.stderr.splitlines())


# in process ------------------------------------------------------------------------------------------------------
class Written(io.StringIO):
    """What the bot's log handler has written; reading it first writes what the handler still holds, as
    ``logging.shutdown`` does at exit (lines are written in batches, by a thread: bot/support/log_writer.py)."""

    def __init__(self, handler: logging.Handler) -> None:
        super().__init__()
        self.handler = handler

    def getvalue(self) -> str:
        self.handler.flush()
        return super().getvalue()


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root logger configured as the bot does, writing JSON to a buffer; restored afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, sys.excepthook, threading.excepthook, sys.unraisablehook)
    logs.configure("INFO", "json", ["sekrit-value-123"])
    handler = root.handlers[0]
    buffer = Written(handler)
    handler.stream = buffer  # type: ignore[attr-defined]
    try:
        yield buffer
    finally:
        handler.close()
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        sys.excepthook, threading.excepthook, sys.unraisablehook = saved[2], saved[3], saved[4]
        logging.captureWarnings(False)


def test_work_pool_jobs_log_the_id_of_the_request_that_submitted_them(captured: io.StringIO) -> None:
    pool = WorkPool(2)
    done: Future[Any] | None = None

    def request() -> str:
        nonlocal done
        rid = request_context.ensure()
        logging.getLogger("bot.test").info("request")
        done = pool.call(lambda: logging.getLogger("bot.test").info("job for sekrit-value-123"))
        return rid

    rid = request_context.in_new_request(request)
    assert done is not None
    done.result(5)
    pool.drain(1)
    assert request_context.current() is None  # nothing leaked out of the request
    entries = json_lines(captured.getvalue(), "log")
    assert [e["request_id"] for e in entries] == [rid, rid]
    assert entries[1]["message"] == "job for ***"


def test_thread_crashes_and_warnings_become_json_records(captured: io.StringIO) -> None:
    def crash() -> None:
        raise RuntimeError("boom")

    thread = threading.Thread(target=crash, name="doomed")
    thread.start()
    thread.join()
    import warnings

    warnings.warn("old API", DeprecationWarning, stacklevel=1)
    entries = json_lines(captured.getvalue(), "log")
    assert any(e["level"] == "error" and "in thread doomed: boom" in e["message"] for e in entries)
    assert any(e["logger"] == "py.warnings" and "old API" in e["message"] for e in entries)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"command": "/rootly", "text": "note t8rgnt secret words", "user_id": "U1"},
            ("command", "/rootly note", "U1"),
        ),
        (
            {"type": "block_actions", "user": {"id": "U2"}, "actions": [{"action_id": "alert.acknowledge"}]},
            ("block_actions", "alert.acknowledge", "U2"),
        ),
        (
            {"type": "view_submission", "user": {"id": "U3"}, "view": {"callback_id": "incident_modal"}},
            ("view_submission", "incident_modal", "U3"),
        ),
        (
            {"type": "event_callback", "event": {"type": "app_home_opened", "user": "U4"}},
            ("event", "app_home_opened", "U4"),
        ),
    ],
)
def test_request_lines_name_the_request_never_what_was_typed(body: dict[str, Any], expected: tuple) -> None:  # type: ignore[type-arg]
    assert describe(body) == expected


def test_metrics_on_their_own_port_for_socket_mode() -> None:
    port = free_port()
    stop = metrics.serve(port, host="127.0.0.1")
    assert stop is not None
    try:
        metrics.action("note", "queued")
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'rootly_bot_actions_total{kind="note",outcome="queued"}' in text
        assert metrics.serve(port, host="127.0.0.1") is None  # taken: logged, and the bot goes on without
    finally:
        stop()
    assert metrics.serve(0) is None


@pytest.mark.parametrize(
    ("path", "label"),
    [
        ("/v1/alerts/5f1c/acknowledge", "/v1/alerts/{id}/acknowledge"),
        ("/v1/alerts/t8rgnt", "/v1/alerts/{id}"),
        ("/v1/users/me", "/v1/users/me"),
        ("/v1/alert_events?page[size]=50", "/v1/alert_events"),
        ("/alerts/123/accept", "/alerts/{id}/accept"),
        ("/users/current", "/users/current"),
        ("/events", "/events"),
    ],
)
def test_api_endpoints_are_templated_so_labels_stay_bounded(path: str, label: str) -> None:
    assert metrics.endpoint(path) == label


def sample(name: str, labels: dict[str, str]) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_digest_outcomes_are_counted_per_slot_and_per_take_over() -> None:
    from bot.digests.jobs import DigestJobs
    from bot.digests.service import Outcome

    class Digests:
        def run_due(self, subscription_id: int) -> Outcome:
            return Outcome.SKIPPED

        def recover(self) -> list[Outcome]:
            return [Outcome.POSTED]

        class store:  # the attribute the job reads
            @staticmethod
            def fingerprint() -> tuple[int, int]:
                return (0, 0)

    jobs = DigestJobs(None, Digests(), resync_seconds=30)  # type: ignore[arg-type]
    jobs._fingerprint = (0, 0)
    skipped, posted = (
        sample("rootly_bot_digests_total", {"outcome": "skipped"}),
        sample("rootly_bot_digests_total", {"outcome": "posted"}),
    )
    jobs._run(1)
    jobs.recover()  # the claim sweep
    assert sample("rootly_bot_digests_total", {"outcome": "skipped"}) == skipped + 1
    assert sample("rootly_bot_digests_total", {"outcome": "posted"}) == posted + 1


def test_action_outcomes_are_classified() -> None:
    from bot.domain.refs import BadReference
    from bot.services.metered import Metered, failure_of, outcome_of
    from bot.support import errors

    class Service:
        def snooze(self, fail: Exception | None = None) -> str:
            if fail:
                raise fail
            return "ok"

    metered = Metered(Service(), {"snooze": "snooze"})
    before = sample("rootly_bot_actions_total", {"kind": "snooze", "outcome": "unavailable"})
    with pytest.raises(errors.Unavailable):
        metered.snooze(errors.Unavailable("down", backend="Rootly"))
    assert sample("rootly_bot_actions_total", {"kind": "snooze", "outcome": "unavailable"}) == before + 1
    assert failure_of(errors.RateLimited("slow", backend="Rootly")) == "rate_limited"
    assert failure_of(BadReference("nope")) == "bad_reference"
    assert failure_of(errors.BackendError("x", backend="Rootly")) == "backend_error"
    assert failure_of(KeyError("bug")) == "error"
    assert outcome_of(None) == "done"


def test_socket_mode_gives_each_envelope_a_request_id_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    from slack_bolt import App
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.slack.adapters.socket_mode import RequestIdSocketModeHandler

    seen: list[str | None] = []
    monkeypatch.setattr(SocketModeHandler, "handle", lambda self, client, req: seen.append(request_context.current()))
    app = App(token="xoxb-test", signing_secret="x", token_verification_enabled=False)
    handler = RequestIdSocketModeHandler(app, "xapp-1-test")
    try:
        handler.handle(None, None)  # type: ignore[arg-type]
        handler.handle(None, None)  # type: ignore[arg-type]
    finally:
        handler.client.close()
    assert len(seen) == 2 and all(seen) and seen[0] != seen[1]
    assert request_context.current() is None


@pytest.mark.parametrize(
    "body",
    [
        {"type": "block_actions", "user": [], "actions": {"x": 1}},
        {"type": "view_submission", "view": ["not", "a", "dict"]},
        {"type": "event_callback", "event": "app_home_opened"},
        {"type": ["list"], "command": None},
        {"command": {"x": 1}, "text": ["a"]},
        [],
    ],
)
def test_request_lines_survive_bodies_of_any_shape(body: Any) -> None:
    kind, what, user = describe(body)
    assert isinstance(kind, str) and isinstance(what, str) and isinstance(user, str)
