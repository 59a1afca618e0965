"""The Rootly and Slack fakes in a child process, so they share neither a GIL nor a core budget with the load generator.

:func:`start_fakes` spawns the child, which seeds the fakes and answers ``"counts"`` and ``"stop"`` over a pipe; it
also stops when the pipe closes (the parent died) or after :data:`MAX_LIFETIME` seconds, whichever comes first.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

BOT_TOKEN = "xoxb-bench-token"
ROOTLY_TOKEN = "rootly-bench-token"
MAX_LIFETIME = 3600.0


@dataclass(frozen=True)
class FakeConfig:
    rootly_latency: float  # seconds before every Rootly answer
    alerts: int  # triggered alerts to seed
    users: int  # Slack users, each with a Rootly user of the same email
    backlog: int = 128  # listen backlog of both fakes (0: socketserver's 5)
    slack_latency: float = 0.0


@dataclass
class Fakes:
    """Where the fakes listen and what was seeded; :meth:`counts` asks the child what has reached them so far."""

    rootly_url: str
    slack_url: str
    alerts: list[tuple[str, str]]  # (uuid, short id)
    users: list[str]  # Slack user ids
    _process: BaseProcess | None = field(default=None, repr=False)
    _conn: Connection | None = field(default=None, repr=False)

    @property
    def slack_api_url(self) -> str:
        return f"{self.slack_url}/api/"

    def response_url(self, key: str) -> str:
        return f"{self.slack_url}/respond/{key}"

    def counts(self) -> dict[str, int]:
        """``auth.test`` calls, Rootly requests and response_url posts received so far."""
        assert self._conn is not None
        self._conn.send("counts")
        if not self._conn.poll(30):
            raise TimeoutError("the fakes process did not answer")
        counts: dict[str, int] = self._conn.recv()
        return counts

    def stop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):  # the child is gone already
                self._conn.send("stop")
            self._conn.close()
        if self._process is not None:
            self._process.join(5)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(5)


def start_fakes(config: FakeConfig) -> Fakes:
    """Spawn the child (a fresh interpreter: nothing of this process's threads is inherited) and wait until seeded."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=serve, args=(child, config), name="bench-fakes", daemon=True)
    process.start()
    child.close()
    try:
        if not parent.poll(120):
            raise TimeoutError("the fakes process did not start")
        info: dict[str, Any] = parent.recv()
    except BaseException:
        process.terminate()
        process.join(5)
        raise
    return Fakes(info["rootly_url"], info["slack_url"], info["alerts"], info["users"], process, parent)


def serve(conn: Connection, config: FakeConfig) -> None:
    """Child process: seed and serve the fakes until told to stop, the pipe closes, or MAX_LIFETIME passes."""
    from tests.fakes.rootly import RootlyFake
    from tests.fakes.slack import SlackFake

    # contract=None: no OpenAPI validation of every request and answer, so its CPU cost stays out of the measurement.
    rootly = RootlyFake(token=ROOTLY_TOKEN, contract=None)
    slack = SlackFake(bot_token=BOT_TOKEN)
    if config.backlog:
        # socketserver listens with a backlog of 5: more simultaneous connections (the bot opens up to 16 to Slack
        # for auth.test and 32 to Rootly) get their SYN dropped and retried by the kernel after 1 s, a stall that
        # slack.com and api.rootly.com do not cause. The fakes have no setting for it; listen() again updates it.
        for fake in (rootly, slack):
            fake._server.socket.listen(config.backlog)
    users = []
    for n in range(config.users):
        user_id, email = f"U{100 + n}", f"user{n}@example.com"
        slack.add_user(user_id, email, f"User {n}")
        rootly.add_user(email, f"User {n}")
        users.append(user_id)
    alerts = []
    for n in range(config.alerts):
        alert = rootly.add_alert(summary=f"bench alert {n}")
        alerts.append((alert["id"], alert["attributes"]["short_id"]))
    rootly.latency, slack.latency = config.rootly_latency, config.slack_latency
    rootly.start()
    slack.start()
    try:
        conn.send({"rootly_url": rootly.url, "slack_url": slack.url, "alerts": alerts, "users": users})
        deadline = time.monotonic() + MAX_LIFETIME
        while time.monotonic() < deadline:
            if not conn.poll(1.0):
                continue
            try:
                command = conn.recv()
            except EOFError:
                break
            if command == "counts":
                conn.send(
                    {
                        "auth.test": len(slack.calls("auth.test")),
                        "rootly": len(rootly.requests),
                        "replies": len(slack.responses()),
                    }
                )
            else:
                break
    finally:
        rootly.stop()
        slack.stop()
        conn.close()
