"""How fast the bot acknowledges Slack while Rootly is slow, against a bare Bolt app that only acks.

Slack gives up on a request that is not answered within 3 s, so the bot acks first and calls Rootly afterwards.
This benchmark makes Rootly answer every call after 2 s (``RootlyFake.latency``) and measures, from request sent to
response received, how the real bot and a bare ``ack()``-only Bolt app answer:

* a burst of concurrent requests, then requests spread evenly over a window (slash commands and button clicks);
* ``rootly-bot run`` start-up time to the first ``GET /healthz`` 200, and the peak RSS of the bot process.

Both apps are served by waitress with the thread count ``rootly-bot run`` uses. By default each runs as its own
process (the bot literally as ``rootly-bot run``), so RSS figures are the app's alone and the app shares no GIL with
the load generator (this process) or the fakes (a child process, see ``bench.fakes_process``). ``--mode in-process``
builds both apps with ``build_app`` / Bolt and serves them on threads of this process instead.

Run: ``.venv/bin/python -m bench.ack_latency`` (``--help`` for the knobs). Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import logging
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

from bench.bare_app import Wsgi, bare_wsgi, build_bare_app, cli_threads
from bench.fakes_process import BOT_TOKEN, ROOTLY_TOKEN, FakeConfig, Fakes, start_fakes
from bot.cli import SHUTDOWN_GRACE
from bot.config import VARIABLES
from tests.slack_requests import SLASH_COMMAND, sign

SIGNING_SECRET = "bench-signing-secret-0123456789"
SLACK_DEADLINE = 3.0  # Slack shows "operation_timeout" when the ack takes longer than this
TARGETS = {"burst": 1.1, "mixed": 1.1, "spread": 1.5}  # bot p99 / bare p99 at most this, per load
PHASES = ("burst", "mixed", "spread")
STOP_GRACE = SHUTDOWN_GRACE + 5.0  # seconds a server gets to exit after SIGTERM (the bot drains first) before SIGKILL
REPO = Path(__file__).resolve().parent.parent
EVENTS = "/slack/events"
KINDS = ("slash ack", "slash note", "button")


# requests ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Planned:
    """One request to send: its kind (for the breakdown) and its form body (signed when sent)."""

    kind: str
    body: bytes


def plan(fakes: Fakes, first_alert: int, count: int) -> list[Planned]:
    """Slash ``ack``, slash ``note`` and ``alert.acknowledge`` button clicks in turn, each on its own alert."""
    planned = []
    for i in range(count):
        alert_id, short_id = fakes.alerts[(first_alert + i) % len(fakes.alerts)]
        user = fakes.users[i % len(fakes.users)]
        response_url = fakes.response_url(f"bench{first_alert + i}")
        kind = KINDS[i % len(KINDS)]
        if kind == "button":
            body = urlencode({"payload": json.dumps(block_actions(user, alert_id, response_url))}).encode()
        else:
            text = f"ack {short_id}" if kind == "slash ack" else f"note {short_id} benchmark note {i}"
            form = {**SLASH_COMMAND, "user_id": user, "user_name": user.lower(), "text": text}
            body = urlencode({**form, "response_url": response_url, "trigger_id": f"{i}.111.xxx"}).encode()
        planned.append(Planned(kind, body))
    return planned


def mixed_plan(fakes: Fakes, first_alert: int, clicks: int) -> list[Planned]:
    """``clicks`` Acknowledge clicks carrying the whole alert message, as Slack sends them, and as many commands.

    Clicks and commands alternate, each on its own alert; the commands alternate ``ack`` and ``note``.
    """
    commands = [p for p in plan(fakes, first_alert + clicks, clicks * 3) if p.kind != "button"][:clicks]
    planned = []
    for i in range(clicks):
        alert_id, short_id = fakes.alerts[(first_alert + i) % len(fakes.alerts)]
        user = fakes.users[i % len(fakes.users)]
        blocks = whole_message(alert_id, short_id, i)
        payload = block_actions(user, alert_id, fakes.response_url(f"mixed{first_alert + i}"), blocks)
        planned.append(Planned("button", urlencode({"payload": json.dumps(payload)}).encode()))
        planned.append(commands[i])
    return planned


def whole_message(alert_id: str, short_id: str, n: int) -> list[dict[str, Any]]:
    """The blocks the bot posts for a seeded alert (``bot.render.alert_message``), which every click carries back."""
    from datetime import UTC, datetime

    from bot.domain import Alert, AlertRef, AlertStatus, Backend, Person, Service, Urgency
    from bot.render.alert_message import alert_message

    alert = Alert(
        ref=AlertRef(Backend.ROOTLY, alert_id),
        short_id=short_id,
        summary=f"bench alert {n}: p99 latency above 2 s on checkout-api in eu-west-1",
        status=AlertStatus.TRIGGERED,
        source="datadog",
        created_at=datetime.now(UTC),
        url=f"https://rootly.com/account/alerts/{short_id}",
        urgency=Urgency("u1", "High"),
        services=(Service("s1", "checkout-api"), Service("s2", "payments")),
        labels=(("env", "prod"), ("region", "eu-west-1"), ("team", "payments")),
        responders=(Person("p1", "Ada Lovelace", "ada@example.com"),),
        description="Latency p99 has been above the 2 s objective for 5 minutes.\n" * 6,
    )
    return list(alert_message(alert)["blocks"])


def block_actions(
    user: str, alert_id: str, response_url: str, blocks: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A click on an alert message's Acknowledge button (shape of shared/slack-payloads/block_actions.json).

    With ``blocks`` (the whole message) the button is the one in them, as in a click on a real alert message.
    """
    button = {"type": "button", "action_id": "alert.acknowledge", "text": {"type": "plain_text", "text": "Ack"}}
    button["value"] = f"rootly:{alert_id}"
    block_id = "alert_actions"
    for block in blocks or ():
        for element in block.get("elements", ()) if block.get("type") == "actions" else ():
            if element.get("action_id") == "alert.acknowledge":
                button, block_id = dict(element), block.get("block_id", block_id)
    ts = f"{time.time():.6f}"
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T111"},
        "api_app_id": "A111",
        "token": "verification_token",
        "container": {"type": "message", "message_ts": ts, "channel_id": "C111", "is_ephemeral": False},
        "trigger_id": "4916855695380.xxx.yyy",
        "team": {"id": "T111", "domain": "test-domain"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": "C111", "name": "oncall"},
        "message": {
            "bot_id": "B0BOT",
            "type": "message",
            "text": "Alert",
            "user": "U0BOT",
            "ts": ts,
            "blocks": blocks or [{"type": "actions", "block_id": block_id, "elements": [button]}],
        },
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [{**button, "block_id": block_id, "action_ts": ts}],
    }


@dataclass
class Sample:
    """One request's outcome."""

    kind: str
    status: int  # 0: no HTTP answer (see error)
    latency: float  # seconds from request sent to response read
    lag: float = 0.0  # seconds the request left after its scheduled time (load generator health)
    error: str | None = None


class Client:
    """Sends signed requests to /slack/events with ``http.client``.

    By default every request gets its own connection and asks the server to close it (``Connection: close``), so no
    idle connection is held between requests. With ``keep_alive`` each thread keeps one connection open until
    :meth:`close`, as a keep-alive proxy in front of the bot would.
    """

    def __init__(self, port: int, timeout: float, keep_alive: bool = False) -> None:
        self.port = port
        self.timeout = timeout
        self.keep_alive = keep_alive
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[http.client.HTTPConnection] = []

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        conn = getattr(self._local, "conn", None) if self.keep_alive else None
        if conn is not None:
            return conn, True
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        if self.keep_alive:
            with self._lock:
                self._all.append(conn)
            self._local.conn = conn
        return conn, False

    def _drop(self, conn: http.client.HTTPConnection) -> None:
        conn.close()
        self._local.conn = None

    def send(self, item: Planned, lag: float = 0.0) -> Sample:
        """Sign and POST ``item``; a kept-alive connection the server had closed is retried once (timed)."""
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(SIGNING_SECRET, item.body)}
        if not self.keep_alive:
            headers["Connection"] = "close"
        start = time.perf_counter()
        for attempt in range(2):
            conn, reused = self._connection()
            try:
                conn.request("POST", EVENTS, body=item.body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.will_close or not self.keep_alive:
                    self._drop(conn)
                return Sample(item.kind, resp.status, time.perf_counter() - start, lag)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                self._drop(conn)
                if not reused or attempt:
                    return Sample(item.kind, 0, time.perf_counter() - start, lag, type(exc).__name__)
            except OSError as exc:  # timeouts, refused connections
                self._drop(conn)
                return Sample(item.kind, 0, time.perf_counter() - start, lag, type(exc).__name__)
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()


def burst(client: Client, items: Sequence[Planned]) -> list[Sample]:
    """All at once: one thread (and one fresh connection) per request, released together by a barrier."""
    samples: list[Sample | None] = [None] * len(items)
    gate = threading.Barrier(len(items))

    def fire(i: int) -> None:
        with contextlib.suppress(threading.BrokenBarrierError):  # a broken gate: send anyway, measured
            gate.wait(timeout=30)
        samples[i] = client.send(items[i])

    threads = [threading.Thread(target=fire, args=(i,), daemon=True) for i in range(len(items))]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30 + client.timeout * 2 + 5
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return [s or Sample(items[i].kind, 0, float("nan"), 0.0, "not finished") for i, s in enumerate(samples)]


def spread(client: Client, items: Sequence[Planned], seconds: float, workers: int) -> list[Sample]:
    """Request ``i`` leaves at ``i * seconds / len(items)``; a pool of ``workers`` threads sends them.

    Each sample records how late it left (``lag``): a lag near zero shows the pool was never the bottleneck.
    """
    interval = seconds / max(1, len(items))
    futures: list[Future[Sample]] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="load") as pool:
        t0 = time.perf_counter() + 0.05
        for i, item in enumerate(items):
            due = t0 + i * interval
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            futures.append(pool.submit(lambda it=item, d=due: client.send(it, time.perf_counter() - d)))
    return [f.result() for f in futures]


# statistics ----------------------------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (p99 of 100 samples is the 99th smallest)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


@dataclass
class Stats:
    """Latency summary of some samples (seconds)."""

    n: int
    p50: float
    p99: float
    max: float
    over: int  # responses (or failures) later than SLACK_DEADLINE
    statuses: Counter[str]

    @classmethod
    def of(cls, samples: Sequence[Sample]) -> Stats:
        lat = [s.latency for s in samples if s.latency == s.latency]  # drop NaN (never finished)
        statuses = Counter(str(s.status) if s.status else (s.error or "error") for s in samples)
        over = sum(1 for s in samples if not s.latency <= SLACK_DEADLINE)
        return cls(
            len(samples), percentile(lat, 50), percentile(lat, 99), max(lat, default=float("nan")), over, statuses
        )

    def row(self, load: str, app: str, kind: str) -> str:
        statuses = " ".join(f"{k}×{v}" for k, v in sorted(self.statuses.items()))
        ms = [f"{x * 1000:8.1f}" for x in (self.p50, self.p99, self.max)]
        return f"{load:<7} {app:<5} {kind:<11} {self.n:>5} {ms[0]} {ms[1]} {ms[2]} {self.over:>5}  {statuses}"


HEADER = (
    f"{'load':<7} {'app':<5} {'requests':<11} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'>3 s':>5}  status"
)


# servers -------------------------------------------------------------------------------------------------------
class Server(Protocol):
    """An app being measured: where it listens, its memory, CPU time and log."""

    name: str
    port: int
    log_path: Path
    stopped: str

    def memory(self) -> dict[str, int]: ...
    def cpu_seconds(self) -> float: ...
    def thread_usage(self) -> tuple[float, int] | None: ...
    def log_text(self) -> str: ...
    def close(self) -> None: ...


def free_port() -> int:
    """A port free right now on 127.0.0.1 (for a child process that must be told its port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def healthy(port: int) -> bool:
    """True when ``GET /healthz`` answers 200."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        finally:
            conn.close()
    except OSError:
        return False


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM (kB) and Threads from /proc/<pid>/status."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "Threads"):
            found[key] = int(value.split()[0])
    return found


class SubprocessServer:
    """A server process on a free 127.0.0.1 port, output to a log file, stopped (then killed) by :meth:`close`."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], workdir: Path, boot_timeout: float) -> None:
        self.name = name
        self.port = free_port()
        self.log_path = workdir / f"{name}-{self.port}.log"
        full_env = {k: v for k, v in os.environ.items() if k not in {v.name for v in VARIABLES}}
        path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        full_env |= env | {"HOST": "127.0.0.1", "PORT": str(self.port), "PYTHONPATH": path}
        self.stopped = "not stopped"
        self._log = self.log_path.open("wb")
        started = time.perf_counter()
        try:
            self.proc = subprocess.Popen(cmd, env=full_env, cwd=workdir, stdout=self._log, stderr=subprocess.STDOUT)
        except BaseException:
            self._log.close()
            raise
        try:
            deadline = time.monotonic() + boot_timeout
            while not healthy(self.port):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not become healthy; see {self.log_path}:\n{self.log_text()}")
                time.sleep(0.01)
            self.boot_seconds = time.perf_counter() - started
        except BaseException:
            self.close()
            raise

    def memory(self) -> dict[str, int]:
        return proc_status(self.proc.pid)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def thread_usage(self) -> tuple[float, int]:
        """CPU seconds run by all the server's threads (``schedstat``: nanoseconds, not 10 ms ticks) and their
        voluntary context switches (a thread waiting for a lock, the interpreter's included, or for I/O)."""
        cpu_ns = switches = 0
        tasks = Path(f"/proc/{self.proc.pid}/task")
        for task in tasks.iterdir():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # a thread that ended meanwhile
                cpu_ns += int((task / "schedstat").read_text().split()[0])
                for line in (task / "status").read_text().splitlines():
                    if line.startswith("voluntary_ctxt_switches:"):
                        switches += int(line.split()[1])
        return cpu_ns / 1e9, switches

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def close(self) -> None:
        """SIGTERM, then SIGKILL after :data:`STOP_GRACE` s; :attr:`stopped` says which it took."""
        if self.proc.poll() is None:
            started = time.perf_counter()
            self.proc.terminate()
            try:
                self.proc.wait(STOP_GRACE)
                self.stopped = f"exited {time.perf_counter() - started:.1f} s after SIGTERM"
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                self.stopped = f"still running {STOP_GRACE:g} s after SIGTERM: killed"
        self._log.close()


class InProcessServer:
    """A WSGI app served by waitress on a thread of this process; its log records go to a file while it runs.

    ``build`` returns the WSGI app and what closes it; it runs after the log file is attached, so warnings Bolt logs
    at construction land there too.
    """

    def __init__(self, name: str, build: Callable[[], tuple[Wsgi, Callable[[], None]]], workdir: Path) -> None:
        from waitress.server import create_server

        self.name = name
        self.log_path = workdir / f"{name}-inprocess.log"
        self.stopped = "in-process: n/a"
        self._handler = logging.FileHandler(self.log_path)
        self._handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        self._level = root.level
        root.addHandler(self._handler)
        root.setLevel(logging.INFO)  # as LOG_LEVEL=INFO does for `rootly-bot run`
        wsgi, self._on_close = build()
        self.server = create_server(wsgi, host="127.0.0.1", port=0, threads=cli_threads(), ident=name)
        self.port = int(self.server.effective_port)  # type: ignore[union-attr]
        self._thread = threading.Thread(target=self.server.run, daemon=True)
        self._thread.start()

    def memory(self) -> dict[str, int]:
        return {"VmHWM": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "Threads": threading.active_count()}

    def cpu_seconds(self) -> float:
        return time.process_time()  # the whole bench process

    def thread_usage(self) -> None:
        return None  # both apps and the load generator share this process: not one app's figure

    def log_text(self) -> str:
        self._handler.flush()
        return self.log_path.read_text(errors="replace")

    def close(self) -> None:
        started = time.perf_counter()
        self.server.close()
        self._thread.join(5)
        self._on_close()
        self.stopped = f"in-process: closed in {time.perf_counter() - started:.1f} s"
        root = logging.getLogger()
        root.removeHandler(self._handler)
        root.setLevel(self._level)
        self._handler.close()


def bot_env(fakes: Fakes, workdir: Path) -> dict[str, str]:
    """``rootly-bot run`` against the fakes; everything else at its production default (32 worker threads …)."""
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fakes.slack_api_url,
        "ROOTLY_API_TOKEN": ROOTLY_TOKEN,
        "ROOTLY_API_URL": fakes.rootly_url,
        "DATABASE_URL": f"sqlite:///{workdir / 'bot.db'}",
        "LOG_LEVEL": "INFO",
    }


def rootly_bot_cmd() -> list[str]:
    script = Path(sys.executable).parent / "rootly-bot"
    return [str(script), "run"] if script.exists() else [sys.executable, "-m", "bot", "run"]


def start_server(app: str, mode: str, fakes: Fakes, workdir: Path) -> Server:
    """``app`` ("bot" or "bare") served by waitress, as a process or on a thread of this one."""
    env = bot_env(fakes, workdir)
    if mode == "subprocess":
        cmd = rootly_bot_cmd() if app == "bot" else [sys.executable, "-m", "bench.bare_app"]
        return SubprocessServer(app, cmd, env, workdir, boot_timeout=60)

    def build_bot() -> tuple[Wsgi, Callable[[], None]]:
        from bot.app import build_app
        from bot.config import Settings
        from bot.ops.web import make_wsgi

        bot = build_app(Settings.from_env(env | {"DATABASE_URL": f"sqlite:///{workdir / 'inproc.db'}"}))
        start_background = getattr(bot, "start_background", None)
        if start_background is not None:
            start_background()  # scheduled jobs (feed polling), as `rootly-bot run` starts them

        def close() -> None:
            bot.close()  # cancels queued work; the jobs already running fail fast on the closed Rootly session
            bot.services.work.drain(60)  # so wait for them: none outlives this phase

        return make_wsgi(bot), close

    def build_bare() -> tuple[Wsgi, Callable[[], None]]:
        return bare_wsgi(build_bare_app(BOT_TOKEN, SIGNING_SECRET, fakes.slack_api_url)), lambda: None

    return InProcessServer(app, build_bot if app == "bot" else build_bare, workdir)


# one app under load ---------------------------------------------------------------------------------------------
@dataclass
class AppRun:
    app: str
    burst: list[Sample]  # every round's, pooled
    mixed: list[Sample]
    spread: list[Sample]
    idle_memory: dict[str, int]
    loaded_memory: dict[str, int]
    cpu_seconds: float
    evidence: dict[str, Any] = field(default_factory=dict)
    rounds: dict[str, list[list[Sample]]] = field(default_factory=dict)  # "burst"/"mixed" → one list per round


Costs = dict[str, dict[str, list[tuple[float, int]]]]  # app → "burst"/"mixed" → (CPU ms, switches) per burst


def bursts_side_by_side(
    apps: Sequence[str], mode: str, fakes: Fakes, args: argparse.Namespace, workdir: Path
) -> tuple[dict[str, dict[str, list[list[Sample]]]], Costs]:
    """Both apps up at once; each round sends the same kinds of burst to one app, then the other.

    Alternating inside one run puts both apps under the same machine load (other processes, CPU frequency), which
    separate runs minutes apart do not. After each burst the run waits until the fakes have heard nothing new for
    ``--settle`` seconds: the bot's follow-up work (Rootly answers after ``--rootly-latency``; a burst of 100 clicks
    is minutes of Rootly calls for 32 workers) is over, so each burst meets an idle app, the bare app's case.
    Also returns what each burst cost the server process (subprocess mode): CPU ms and voluntary context switches.
    """
    for app in apps:
        (workdir / f"bursts-{app}").mkdir(exist_ok=True)
    servers = {app: start_server(app, mode, fakes, workdir / f"bursts-{app}") for app in apps}
    clients = {app: Client(servers[app].port, args.timeout, args.keep_alive) for app in apps}
    out: dict[str, dict[str, list[list[Sample]]]] = {app: {"burst": [], "mixed": []} for app in apps}
    costs: Costs = {app: {"burst": [], "mixed": []} for app in apps}

    def measured(app: str, phase: str, items: list[Planned]) -> list[Sample]:
        before = servers[app].thread_usage()
        samples = burst(clients[app], items)
        after = servers[app].thread_usage()
        if before is not None and after is not None:
            costs[app][phase].append(((after[0] - before[0]) * 1000, after[1] - before[1]))
        return samples

    offset = 0
    try:
        for r in range(args.rounds):
            for app in apps:
                print(f"  round {r + 1}/{args.rounds} {app}: burst of {args.burst} …", flush=True)
                out[app]["burst"].append(measured(app, "burst", plan(fakes, offset, args.burst)))
                offset += args.burst
                settle(fakes, args.settle)
                print(f"  round {r + 1}/{args.rounds} {app}: {args.mixed} clicks + {args.mixed} commands …", flush=True)
                out[app]["mixed"].append(measured(app, "mixed", mixed_plan(fakes, offset, args.mixed)))
                offset += 4 * args.mixed
                settle(fakes, args.settle)
    finally:
        for app in apps:
            clients[app].close()
            servers[app].close()
    return out, costs


def settle(fakes: Fakes, quiet: float, limit: float = 180.0) -> None:
    """Wait until no call has reached the fakes for ``quiet`` seconds (at most ``limit``)."""
    end = time.monotonic() + limit
    last, since = fakes.counts(), time.monotonic()
    while time.monotonic() < end:
        time.sleep(0.5)
        now = fakes.counts()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return


def alerts_needed(args: argparse.Namespace) -> int:
    """Triggered alerts to seed so that no two requests of a run act on the same alert."""
    return args.rounds * (args.burst + 4 * args.mixed) + args.spread


def evidence(log_text: str) -> dict[str, Any]:
    """What the server's own log says about its ack path."""
    depths = [int(d) for d in re.findall(r"Task queue depth is (\d+)", log_text)]
    return {
        "waitress queue warnings": len(depths),
        "waitress connection-limit warnings": log_text.count("reached the connection limit"),
        "max waitress queue depth": max(depths, default=0),
        "bolt 'Unhandled request' warnings": log_text.count("Unhandled request"),
        "listeners that did not ack": log_text.count("didn't call ack()"),
        "errors logged": len(re.findall(r" ERROR ", log_text)),
        "urllib3 'pool is full' warnings": log_text.count("Connection pool is full"),
    }


def load_app(
    app: str, mode: str, fakes: Fakes, args: argparse.Namespace, workdir: Path, rounds: dict[str, list[list[Sample]]]
) -> AppRun:
    """Start ``app``, send the spread load, read memory/CPU, stop it (the bursts were measured side by side)."""
    before = fakes.counts()
    server = start_server(app, mode, fakes, workdir)
    client = Client(server.port, args.timeout, args.keep_alive)
    try:
        idle = server.memory()
        cpu0 = server.cpu_seconds()
        print(f"  {app}: {args.spread} requests over {args.spread_seconds:g} s …", flush=True)
        first = args.rounds * (args.burst + 4 * args.mixed)
        s = spread(client, plan(fakes, first, args.spread), args.spread_seconds, args.workers)
        pooled = {phase: [x for one in rounds.get(phase, []) for x in one] for phase in ("burst", "mixed")}
        run = AppRun(
            app, pooled["burst"], pooled["mixed"], s, idle, server.memory(), server.cpu_seconds() - cpu0, rounds=rounds
        )
        after = fakes.counts()
        run.evidence = evidence(server.log_text()) | {
            "auth.test calls to Slack": after["auth.test"] - before["auth.test"],
            "Rootly calls made by the end": after["rootly"] - before["rootly"],
            "response_url replies by the end": after["replies"] - before["replies"],
            "max load-generator lag ms": round(max((x.lag for x in s), default=0.0) * 1000, 1),
        }
    finally:
        client.close()
        server.close()
    run.evidence["shutdown under load"] = server.stopped
    return run


def report_load(runs: dict[str, AppRun], mode: str, costs: Costs | None = None) -> None:
    print(f"\nAck latency ({mode}): request sent → HTTP response received")
    print(HEADER)
    for phase in PHASES:
        for app, run in runs.items():
            print(Stats.of(getattr(run, phase)).row(phase, app, "all"))
    print("\nBy request kind")
    print(HEADER)
    for phase in PHASES:
        for app, run in runs.items():
            for kind in KINDS:
                print(Stats.of([x for x in getattr(run, phase) if x.kind == kind]).row(phase, app, kind))
    if {"bot", "bare"} <= runs.keys():
        print()
        for phase in PHASES:
            bot, bare = Stats.of(getattr(runs["bot"], phase)), Stats.of(getattr(runs["bare"], phase))
            ratio = bot.p99 / bare.p99 if bare.p99 > 0 else float("inf")
            verdict = "PASS" if ratio <= TARGETS[phase] and bot.over == 0 else "FAIL"
            print(
                f"{phase:<7} bot p99 / bare p99 = {bot.p99 * 1000:.1f} / {bare.p99 * 1000:.1f} ms = {ratio:.2f}"
                f"  (target ≤ {TARGETS[phase]}, none over 3 s: {bot.over} over) {verdict}"
            )
        print("\nPer round (p99 ms, bot / bare)")
        for phase in ("burst", "mixed"):
            pairs = zip(runs["bot"].rounds.get(phase, []), runs["bare"].rounds.get(phase, []), strict=False)
            cells = [f"{Stats.of(b).p99 * 1000:.1f}/{Stats.of(a).p99 * 1000:.1f}" for b, a in pairs]
            print(f"  {phase:<7} " + "  ".join(cells))
    if costs and all(costs.get(app, {}).get("burst") for app in runs):
        print("\nServer cost of one burst, median of the rounds: CPU ms of all its threads, voluntary context switches")
        for phase in ("burst", "mixed"):
            cells = []
            for app in runs:
                cpu = statistics.median(c for c, _ in costs[app][phase])
                switches = statistics.median(n for _, n in costs[app][phase])
                cells.append(f"{app} {cpu:.0f} ms, {switches:.0f} switches")
            print(f"  {phase:<7} " + " | ".join(cells))
    where = "/proc/<pid>/status of the server process" if mode == "subprocess" else "getrusage: the whole bench process"
    print(f"\nServer process ({where}); CPU s = utime+stime during the load")
    for app, run in runs.items():
        idle, loaded = run.idle_memory, run.loaded_memory
        idle_text = f"idle VmRSS {idle['VmRSS'] / 1024:.1f} MiB, " if "VmRSS" in idle else ""
        print(
            f"  {app:<5} {idle_text}peak (VmHWM) idle {idle['VmHWM'] / 1024:.1f} MiB → after load "
            f"{loaded['VmHWM'] / 1024:.1f} MiB; threads {idle['Threads']} → {loaded['Threads']}; "
            f"CPU {run.cpu_seconds:.1f} s"
        )
    print("\nEvidence (server log and fakes), " + " | ".join(runs))
    for key in next(iter(runs.values())).evidence:
        print(f"  {key:<36} " + " | ".join(str(run.evidence.get(key, "-")) for run in runs.values()))


# start-up ------------------------------------------------------------------------------------------------------
def measure_startup(fakes: Fakes, runs: int, workdir: Path) -> None:
    """``rootly-bot run`` from ``Popen`` to the first ``/healthz`` 200, and its memory once idle."""
    print(f"\nStart-up: {' '.join(Path(c).name for c in rootly_bot_cmd())} → first GET /healthz 200 ({runs} runs)")
    times, idle = [], []
    for n in range(runs):
        run_dir = workdir / f"startup{n}"
        run_dir.mkdir(exist_ok=True)
        server = SubprocessServer("bot", rootly_bot_cmd(), bot_env(fakes, run_dir), run_dir, boot_timeout=60)
        try:
            times.append(server.boot_seconds)
            time.sleep(1)
            idle.append(server.memory())
        finally:
            server.close()
    print("  runs: " + ", ".join(f"{t:.2f} s" for t in times) + f"; median {statistics.median(times):.2f} s")
    rss = ", ".join(f"{m['VmRSS'] / 1024:.1f}" for m in idle)
    hwm = ", ".join(f"{m['VmHWM'] / 1024:.1f}" for m in idle)
    print(f"  idle 1 s after healthy (/proc/<pid>/status): VmRSS {rss} MiB; VmHWM {hwm} MiB")


# main ----------------------------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.ack_latency",
        description="Ack latency of the bot vs a bare Bolt app while Rootly answers slowly; start-up time and RSS.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--mode",
        choices=("subprocess", "in-process", "both"),
        default="subprocess",
        help="where the apps run: own processes (bot as `rootly-bot run`), this process, or both in turn",
    )
    p.add_argument("--apps", choices=("both", "bot", "bare"), default="both", help="which apps to load")
    p.add_argument("--burst", type=int, default=100, help="requests sent at once (commands and small clicks)")
    p.add_argument("--mixed", type=int, default=30, help="clicks carrying the whole message, plus as many commands")
    p.add_argument("--rounds", type=int, default=5, help="bursts of each kind per app, alternating between the apps")
    p.add_argument("--settle", type=float, default=3.0, help="quiet seconds at the fakes before the next burst")
    p.add_argument("--spread", type=int, default=500, help="requests spread evenly over --spread-seconds")
    p.add_argument("--spread-seconds", type=float, default=30.0, help="length of the spread load")
    p.add_argument("--workers", type=int, default=200, help="sender threads for the spread load")
    p.add_argument(
        "--keep-alive",
        action="store_true",
        help="one connection per sender thread, held until the load ends (a keep-alive proxy), not one per request",
    )
    p.add_argument("--timeout", type=float, default=10.0, help="client timeout per request, seconds")
    p.add_argument("--rootly-latency", type=float, default=2.0, help="seconds the Rootly fake waits before answering")
    p.add_argument("--slack-latency", type=float, default=0.0, help="seconds the Slack fake waits before answering")
    p.add_argument("--fake-backlog", type=int, default=128, help="listen backlog of the fakes (0: socketserver's 5)")
    p.add_argument("--users", type=int, default=10, help="Slack users (each with a Rootly user)")
    p.add_argument("--startup-runs", type=int, default=3, help="start-up measurements (0 skips them)")
    p.add_argument("--log-dir", type=Path, help="keep the servers' logs and databases here (default: a temp dir)")
    p.add_argument("--no-load", action="store_true", help="skip the load, measure start-up only")
    args = p.parse_args(argv)
    if min(args.burst, args.mixed, args.rounds, args.spread, args.workers) < 1 or args.startup_runs < 0:
        p.error("--burst, --mixed, --rounds, --spread and --workers must be at least 1, --startup-runs at least 0")
    return args


@contextlib.contextmanager
def fakes_running(args: argparse.Namespace) -> Iterator[Fakes]:
    """The fakes (in their own process) for the whole run, stopped whatever happens."""
    config = FakeConfig(args.rootly_latency, alerts_needed(args), args.users, args.fake_backlog, args.slack_latency)
    fakes = start_fakes(config)
    try:
        yield fakes
    finally:
        fakes.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    py = sys.version.split()[0]
    print(f"bench.ack_latency: Python {py}, {os.cpu_count()} CPUs, waitress threads={cli_threads()} (bot/cli.py)")
    print(
        f"Rootly fake: latency {args.rootly_latency:g} s on every call, contract=None (no OpenAPI validation, to keep "
        f"its cost out of the measurement); {alerts_needed(args)} triggered alerts, {args.users} users"
    )
    print(
        f"Slack fake: latency {args.slack_latency:g} s; fakes' listen backlog {args.fake_backlog or 5}; "
        "both fakes run in a child process, apart from the load generator"
    )
    with contextlib.ExitStack() as stack:
        fakes = stack.enter_context(fakes_running(args))
        if args.log_dir:
            workdir = args.log_dir.resolve()
            workdir.mkdir(parents=True, exist_ok=True)
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ack-bench-")))
        if not args.no_load:
            # The bare app first, so the bot's background work cannot overlap the baseline's measurement.
            apps = ("bare", "bot") if args.apps == "both" else (args.apps,)
            for mode in ("subprocess", "in-process") if args.mode == "both" else (args.mode,):
                conns = "kept alive per sender thread" if args.keep_alive else "one per request, Connection: close"
                print(
                    f"\nLoad ({mode}): {args.rounds} rounds of a burst of {args.burst} and a mixed burst of "
                    f"{args.mixed} clicks + {args.mixed} commands, side by side; then {args.spread} over "
                    f"{args.spread_seconds:g} s per app; {conns}"
                )
                rounds, costs = bursts_side_by_side(apps, mode, fakes, args, workdir)
                runs = {app: load_app(app, mode, fakes, args, workdir, rounds[app]) for app in apps}
                report_load({app: runs[app] for app in ("bot", "bare") if app in runs}, mode, costs)
        if args.startup_runs:
            measure_startup(fakes, args.startup_runs, workdir)
    print(f"\nTotal time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
