"""`rootly-bot check` and `rootly-bot run` as a person runs them: real processes against the fakes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import requests

from tests.conftest import bot_env
from tests.contracts import REPO
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.waiting import wait_until


def run_cli(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 30) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ROOTLY_", "ILERT_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_check_says_everything_works(tmp_path: Path, rootly: RootlyFake, slack: SlackFake) -> None:
    done = run_cli(["check"], bot_env(tmp_path, rootly, slack), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "✓ Slack: connected as @" in done.stdout
    assert "✓ Rootly: API key works" in done.stdout
    assert "✓ Database" in done.stdout and "Everything works." in done.stdout
    # the key, then whether it may read alerts and incidents (one item each); nothing is written
    assert [r.path for r in rootly.requests] == ["/v1/users/me", "/v1/alerts", "/v1/incidents"]


def test_check_names_what_does_not_work_without_showing_secrets(
    tmp_path: Path, rootly: RootlyFake, slack: SlackFake
) -> None:
    env = bot_env(tmp_path, rootly, slack, ROOTLY_API_TOKEN="rootly-wrong-0123", SLACK_BOT_TOKEN="xoxb-wrong-0123")
    done = run_cli(["check"], env, tmp_path)
    assert done.returncode == 1
    assert "✗ Slack: the bot token was rejected (invalid_auth)" in done.stdout
    assert "✗ Rootly:" in done.stdout and "401" in done.stdout
    assert "2 problem(s) found." in done.stdout
    for secret in ("rootly-wrong-0123", "xoxb-wrong-0123"):
        assert secret not in done.stdout + done.stderr


def test_check_lists_every_configuration_problem(tmp_path: Path) -> None:
    done = run_cli(["check"], {"SLACK_BOT_TOKEN": "xoxp-user-secret", "PORT": "eighty"}, tmp_path)
    assert done.returncode == 2
    for fragment in ("xoxb-", "SLACK_SIGNING_SECRET", "ROOTLY_API_TOKEN", "PORT"):
        assert fragment in done.stdout
    assert "xoxp-user-secret" not in done.stdout


def test_check_reads_dotenv_from_the_working_directory(tmp_path: Path, rootly: RootlyFake, slack: SlackFake) -> None:
    env = bot_env(tmp_path, rootly, slack)
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    done = run_cli(["check"], {}, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_serves_health_and_slack_in_http_mode(tmp_path: Path, rootly: RootlyFake, slack: SlackFake) -> None:
    port = free_port()
    env = bot_env(tmp_path, rootly, slack, HOST="127.0.0.1", PORT=str(port), LOG_FORMAT="json")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ROOTLY_", "ILERT_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], env={**clean, **env}, cwd=tmp_path, stderr=subprocess.PIPE, text=True
    )
    keep_alive = requests.Session()  # an idle keep-alive connection must not hold the stopping server open
    try:

        def healthz() -> requests.Response | None:
            try:
                return keep_alive.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            except requests.ConnectionError:
                return None

        health = wait_until(healthz, 20, 0.05, message="rootly-bot run never answered /healthz")
        assert health.status_code == 200
        unsigned = requests.post(f"http://127.0.0.1:{port}/slack/events", data=b"command=/rootly", timeout=5)
        assert unsigned.status_code == 401
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
        keep_alive.close()
    assert proc.returncode == 0, err
    assert (tmp_path / "bot.db").exists()
    for secret in (env["SLACK_BOT_TOKEN"], env["SLACK_SIGNING_SECRET"], env["ROOTLY_API_TOKEN"]):
        assert secret not in err


def test_manifest_prints_the_manifest_for_a_setup_without_any_configuration(tmp_path: Path) -> None:
    from bot.ops.manifest import ManifestOptions, manifest_yaml

    done = run_cli(["manifest", "--command", "/oncall", "--host", "bot.example.com", "--socket-mode"], {}, tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == manifest_yaml(ManifestOptions("/oncall", "bot.example.com", socket_mode=True))
    default = run_cli(["manifest"], {}, tmp_path)
    assert default.stdout == (REPO / "manifest.yml").read_text(encoding="utf-8")


def test_manifest_refuses_a_command_slack_would_refuse(tmp_path: Path) -> None:
    done = run_cli(["manifest", "--command", "/On Call"], {}, tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert "--command is not a slash command name Slack accepts: it must not contain spaces" in done.stderr
