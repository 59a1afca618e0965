"""The Rootly and Slack fakes in a child process, so they share neither a GIL nor a core budget with the load generator.

:func:`start_fakes` spawns the child, which seeds the fakes and answers ``"counts"`` and ``"stop"`` over a pipe; it
also stops when the pipe closes (the parent died) or after :data:`MAX_LIFETIME` seconds, whichever comes first.
For the other benchmarks it also answers ``("log", …)`` (every call with its status and when it arrived and was
answered, on the machine-wide monotonic clock), ``("set", …)`` (latencies while running), ``("state",)`` (alert
statuses, notes) and ``("messages", channel)``.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import threading
import time
from collections import Counter
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
    rootly_rate_limit: int = 0  # calls per 60 s window, reads and writes apart (0: the fake's default, Rootly's 3,000)


@dataclass(frozen=True)
class Call:
    """One call that reached a fake: ``name`` is ``METHOD /path`` (Rootly), the Web API method or ``respond``
    (Slack); ``at``/``done`` are when it was read and answered (``time.monotonic``, the same clock in every process
    on Linux); ``ts`` is the Slack message it names or created (for ``respond``: the response URL's key); ``text``
    starts a Slack message (a reply: its whole body)."""

    name: str
    status: int
    at: float
    done: float
    ts: str = ""
    text: str = ""

    @property
    def seconds(self) -> float:
        return self.done - self.at


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

    def ask(self, command: Any) -> Any:
        """Send one command to the child and return its answer."""
        assert self._conn is not None
        self._conn.send(command)
        if not self._conn.poll(60):
            raise TimeoutError("the fakes process did not answer")
        return self._conn.recv()

    def log(self, rootly_from: int = 0, slack_from: int = 0) -> tuple[list[Call], list[Call]]:
        """Calls that reached Rootly and Slack (API methods and response URLs) from these positions on, in order."""
        rootly, slack = self.ask(("log", rootly_from, slack_from))
        return [Call(*c) for c in rootly], [Call(*c) for c in slack]

    def configure(self, **settings: float) -> None:
        """Change ``rootly_latency`` / ``slack_latency`` while the fakes run."""
        self.ask(("set", settings))

    def state(self) -> dict[str, Any]:
        """Rootly's alerts by status and its note count."""
        found: dict[str, Any] = self.ask(("state",))
        return found

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages in a Slack channel (posted by the bot), oldest first."""
        found: list[dict[str, Any]] = self.ask(("messages", channel))
        return found

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
    if config.rootly_rate_limit:
        rootly.rate_limit = config.rootly_rate_limit
    calls: dict[str, list[tuple[Any, ...]]] = {"rootly": [], "slack": []}
    _record(rootly, calls["rootly"], slack_api=False)
    _record(slack, calls["slack"], slack_api=True)
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
            elif isinstance(command, tuple) and command[0] == "log":
                conn.send((list(calls["rootly"][command[1] :]), list(calls["slack"][command[2] :])))
            elif isinstance(command, tuple) and command[0] == "set":
                rootly.latency = command[1].get("rootly_latency", rootly.latency)
                slack.latency = command[1].get("slack_latency", slack.latency)
                conn.send(True)
            elif isinstance(command, tuple) and command[0] == "state":
                with rootly._state:
                    statuses = Counter(a["attributes"]["status"] for a in rootly.alerts.values())
                    notes = sum(1 for e in rootly.alert_events if e["attributes"]["kind"] == "note")
                conn.send({"alerts": dict(statuses), "notes": notes})
            elif isinstance(command, tuple) and command[0] == "messages":
                conn.send(slack.messages(command[1]))
            else:
                break
    finally:
        rootly.stop()
        slack.stop()
        conn.close()


def _record(fake: Any, into: list[tuple[Any, ...]], *, slack_api: bool) -> None:
    """Wrap ``fake.handle`` (it runs after the fake's latency sleep) to log each call as a :class:`Call` tuple."""
    handle = fake.handle
    lock = threading.Lock()

    def recorded(req: Any) -> Any:
        reply = handle(req)
        done = time.monotonic()
        ts = text = ""
        if slack_api:
            name = "respond" if req.path.startswith("/respond/") else req.path.removeprefix("/api/")
            with contextlib.suppress(Exception):  # what the call names is best effort: the timing is what counts
                params = json.loads(req.body) if req.body.startswith(b"{") else req.form
                ts = str(params.get("ts") or (reply.body.get("ts") if isinstance(reply.body, dict) else "") or "")
                text = str(params.get("text") or "")[:200]
            if name == "respond":
                ts = req.path.removeprefix("/respond/")  # the response URL's key: which request is answered
                text = json.dumps(params, ensure_ascii=False)[:2000]  # text and blocks: warnings are in blocks
        else:
            name = f"{req.method} {req.path}"
        with lock:
            into.append((name, reply.status, req.at, done, ts, text))
        return reply

    fake.handle = recorded
