"""The test helpers themselves: finding PostgreSQL's runuser under a minimal PATH, and the one waiting helper."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.contracts import REPO
from tests.waiting import wait_until


@pytest.mark.skipif(
    not any(os.access(f"{d}/runuser", os.X_OK) for d in ("/usr/sbin", "/sbin")), reason="runuser is not installed"
)
def test_runuser_is_found_without_sbin_on_path() -> None:
    """Some CI runners have PATH=/usr/bin:/bin: runuser (in /usr/sbin) must still be found, or the PostgreSQL tests
    error out although the binaries are installed."""
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    assert shutil.which("runuser", path=env["PATH"]) is None or os.path.realpath("/usr/bin") == os.path.realpath(
        "/usr/sbin"
    ), "this machine's /usr/bin has runuser: the test would not prove the sbin lookup"
    done = subprocess.run(
        [sys.executable, "-c", "from tests.postgres import runuser; print(runuser())"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    found = done.stdout.strip()
    assert found.endswith("/runuser") and os.access(found, os.X_OK), done.stdout + done.stderr


def test_wait_until_returns_the_predicates_value() -> None:
    calls = iter([0, None, "", {"done": 1}])
    assert wait_until(lambda: next(calls), timeout=5, interval=0) == {"done": 1}


def test_wait_until_raises_with_the_message_on_timeout() -> None:
    asked = []
    with pytest.raises(AssertionError, match=r"the outbox never drained \(waited 0.05 s\)"):
        wait_until(lambda: asked.append(1), timeout=0.05, interval=0.01, message="the outbox never drained")
    assert len(asked) >= 2  # it polled, and asked once more at the deadline
