"""The outbox survives ``kill -9``: `rootly-bot run` as a real process, killed mid-outage and started again on the
same database, delivers everything exactly once after Rootly recovers. The same run is the "full run" whose logs
are searched for every configured secret (LOG_LEVEL=DEBUG, Rootly, ilert, webhooks, forgeries).

Sizes: ``GUARANTEE_OUTAGE_SECONDS`` (default 5; 30 reproduces the issue's figure) and ``GUARANTEE_RESTART_ACTIONS``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import requests

from bot.render.ids import Action
from tests import guarantees
from tests.conftest import ROOTLY_TOKEN, SIGNING_SECRET, bot_env, ilert_env
from tests.fakes.faults import OutageRootly, free_port
from tests.fakes.ilert import IlertFake
from tests.fakes.slack import SlackFake
from tests.messages import text_of
from tests.slack_requests import SlackSender
from tests.waiting import wait_until

WEBHOOK_SECRET = "restart-webhook-secret-0123456789"


@pytest.fixture
def rootly() -> Iterator[OutageRootly]:
    fake = OutageRootly(token=ROOTLY_TOKEN).start()
    try:
        yield fake
    finally:
        fake.stop()
    assert fake.violations == [], "requests or responses broke the Rootly contract"


class BotProcess:
    """`python -m bot run` in HTTP mode, its log in a file (a pipe nobody reads would stall a chatty process)."""

    def __init__(self, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ROOTLY_", "ILERT_", "POLICY_"))}
        self.log_path = log
        self._log: IO[str] = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            env={**clean, **env, "HOST": "127.0.0.1", "PORT": str(self.port)},
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def ready(self, timeout: float = 30) -> dict[str, Any]:
        def answered() -> dict[str, Any] | None:
            assert self.proc.poll() is None, self.log_path.read_text()[-3000:]
            try:
                resp = requests.get(f"{self.url}/healthz", timeout=1)
            except requests.ConnectionError:
                return None
            return dict(resp.json()) if resp.status_code == 200 else None

        return wait_until(answered, timeout, 0.05, message="the bot did not become ready")

    def health(self) -> tuple[int, dict[str, Any]]:
        resp = requests.get(f"{self.url}/healthz", timeout=5)
        return resp.status_code, resp.json()

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL: no shutdown code runs
        self.proc.wait(10)
        self._log.close()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()
        return int(self.proc.returncode)


def signed_webhook(url: str, payload: dict[str, Any], secret: str) -> requests.Response:
    body = json.dumps(payload).encode()
    ts = str(int(time.time()))
    sig = hmac.new(secret.encode(), ts.encode() + body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Rootly-Signature": f"t={ts},v1={sig}"}
    return requests.post(f"{url}/rootly/webhooks", data=body, headers=headers, timeout=5)


@pytest.mark.timeout(300)  # waits for processes and an outage; the 120 s default is for ordinary tests
def test_killed_mid_outage_and_restarted_the_outbox_delivers_everything_once(
    tmp_path: Path, rootly: OutageRootly, slack: SlackFake, ilert: IlertFake
) -> None:
    rootly.add_user("alice@example.com", "Alice Example")
    env = bot_env(
        tmp_path,
        rootly,
        slack,
        OUTBOX_SECONDS="1",
        FEED_POLL_SECONDS="0",
        LOG_LEVEL="DEBUG",
        ROOTLY_TIMEOUT="2",
        ROOTLY_WEBHOOK_SECRET=WEBHOOK_SECRET,
        **ilert_env(ilert),
    )
    n = guarantees.RESTART_ACTIONS
    alerts = [rootly.add_alert(summary=f"Restart alert {i}", status="triggered")["id"] for i in range(n // 2)]
    notes = {f"restart note {i} ✅": alerts[i % len(alerts)] for i in range(n - len(alerts))}

    first = BotProcess(env, tmp_path, tmp_path / "first.log")
    second: BotProcess | None = None
    try:
        first.ready()
        sender = SlackSender(f"{first.url}/slack/events", SIGNING_SECRET, slack.response_url())
        rootly.down = 503
        outage_began = time.monotonic()
        for i, alert in enumerate(alerts):
            if i % 2:
                assert sender.click(Action.ACKNOWLEDGE, f"rootly:{alert}").status_code == 200
            else:
                assert sender.slash(f"ack {alert}").status_code == 200
        for text, alert in notes.items():
            assert sender.slash(f"note {alert} {text}").status_code == 200
        wait_until(lambda: sum("queued" in text_of(r) for r in slack.responses()) >= n, timeout=60)
        status, health = first.health()
        assert status == 200 and health["status"] == "degraded" and health["outbox"]["waiting"] == n
        assert health["dependencies"]["rootly"]["state"] == "failing"
        stale = sender.post(b"command=%2Frootly&text=help", "application/x-www-form-urlencoded", timestamp=1)
        assert stale.status_code == 401
        chunks = (b"x" * 65_536 for _ in range(40))  # 2.5 MB, chunked: no Content-Length to refuse it by
        huge = requests.post(f"{first.url}/slack/events", data=chunks, timeout=10)
        assert huge.status_code == 413 and first.health()[0] == 200

        first.kill()  # mid-outage, with everything queued and nothing delivered
        second = BotProcess(env, tmp_path, tmp_path / "second.log")
        after_restart = second.ready()
        assert after_restart["outbox"]["waiting"] == n  # the queue survived the kill

        time.sleep(max(0.0, outage_began + guarantees.OUTAGE_SECONDS - time.monotonic()))
        rootly.down = None
        recovered = time.monotonic()

        def all_landed() -> bool:
            have = {d for alert in set(notes.values()) for d, _ in rootly.notes(alert)}
            acked = all(rootly.get_alert(a)["attributes"]["status"] == "acknowledged" for a in alerts)
            return acked and all(text in have for text in notes)

        wait_until(all_landed, timeout=120 + guarantees.OUTAGE_SECONDS * 2)
        delivered_in = time.monotonic() - recovered
        wait_until(lambda: second.health()[1]["outbox"]["waiting"] == 0, timeout=30)
        wait_until(lambda: sum("From the outbox" in text_of(r) for r in slack.responses()) >= n, timeout=30)
        alert = rootly.add_alert(summary="webhook")
        event = {"event": {"id": str(uuid.uuid4()), "type": "alert.created"}, "data": {"id": alert["id"]}}
        assert signed_webhook(second.url, event, WEBHOOK_SECRET).status_code == 202
        assert signed_webhook(second.url, event, "wrong-secret").status_code == 401
        time.sleep(1.5)  # anything sent twice would show by now
    finally:
        if first.proc.poll() is None:
            first.kill()
        exit_code = second.stop() if second is not None else None
    assert exit_code == 0

    landed = [d for alert in set(notes.values()) for d, _ in rootly.notes(alert)]
    lost = sum(1 for text in notes if text not in landed)
    lost += sum(1 for a in alerts if rootly.get_alert(a)["attributes"]["status"] != "acknowledged")
    duplicated = sum(landed.count(text) - 1 for text in notes if text in landed)
    duplicated += sum(max(0, rootly.actions_done(a, "acknowledged") - 1) for a in alerts)
    size = f"kill -9 mid-outage ({guarantees.OUTAGE_SECONDS:g} s), {n} notes/acks"
    guarantees.record("Nothing typed is lost", f"restart ({size}): lost", lost)
    guarantees.record("Nothing typed is lost", f"restart ({size}): duplicated", duplicated)
    guarantees.record(
        "Nothing typed is lost", f"restart ({size}): all delivered within (s of recovery)", round(delivered_in, 2)
    )
    assert lost == 0 and duplicated == 0

    logs = (tmp_path / "first.log").read_text() + (tmp_path / "second.log").read_text()
    secrets = [
        env[k]
        for k in (
            "SLACK_BOT_TOKEN",
            "SLACK_SIGNING_SECRET",
            "ROOTLY_API_TOKEN",
            "ROOTLY_WEBHOOK_SECRET",
            "ILERT_API_TOKEN",
            "ILERT_ALERT_SOURCE_KEY",
        )
    ]
    found = [s for s in secrets if s in logs]
    lines = logs.count("\n")
    guarantees.record(
        "No one in who does not belong",
        f"secrets in the DEBUG logs of a full run ({len(secrets)} secrets, {lines} log lines)",
        len(found),
    )
    assert lines > 100 and "Rootly answered 503" in logs  # the logs really cover the run
    assert found == []
