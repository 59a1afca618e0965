"""What one digest of 10,000 open alerts costs: Rootly calls, CPU time, peak RSS, Slack calls.

The Rootly and Slack fakes run in a child process (so their work is not measured), seeded with ``--alerts`` open
alerts spread over services, urgencies and states. Then:

* **in-process** (``--repeat`` times): the bot's own ``Digests.render`` reads the alerts through the real Rootly
  client (pages of 100) and renders the digest. Reported: Rootly calls by kind, CPU time of the whole digest
  (HTTP, JSON, mapping, rendering) and of the rendering alone, wall time, block count and JSON size.
* **as a process**: ``rootly-bot digest --channel C0BENCH`` (the CLI, which posts once), measured with ``wait4``:
  peak RSS, CPU time, Rootly calls and ``chat.postMessage`` calls it made.

Run: ``.venv/bin/python -m bench.digest`` (``--alerts``, ``--repeat``, ``--json``). Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

BOT_TOKEN = "xoxb-bench-token"
ROOTLY_TOKEN = "rootly-bench-token"
CHANNEL = "C0BENCH"
SERVICES = 40
REPO = Path(__file__).resolve().parent.parent


# --- the fakes, in a child process --------------------------------------------------------------------------------
def serve(conn: Connection, alerts: int) -> None:
    from tests.fakes.rootly import RootlyFake
    from tests.fakes.slack import SlackFake

    rootly = RootlyFake(token=ROOTLY_TOKEN, contract=None)  # no OpenAPI validation: its CPU is not the bot's
    slack = SlackFake(bot_token=BOT_TOKEN)
    for n in range(SERVICES):
        rootly.add_service(f"Service {n:02d}", f"svc-{n:02d}")
    for n in range(alerts):
        rootly.add_alert(
            summary=f"bench alert {n}: p99 latency above threshold on host-{n % 500}",
            services=[f"svc-{n % SERVICES:02d}"],
            urgency=("High", "Medium", "Low")[n % 3],
            status=("triggered", "open")[n % 2],  # open alerts, as the default filter means them
        )
    rootly.add_alert(summary="resolved, not in the digest", status="resolved")
    rootly.start()
    slack.start()
    conn.send({"rootly_url": rootly.url, "slack_url": slack.url})
    try:
        while True:
            if not conn.poll(1.0):
                continue
            try:
                command = conn.recv()
            except EOFError:
                break
            if command != "counts":
                break
            posts = slack.calls("chat.postMessage")
            last = posts[-1] if posts else {}
            conn.send(
                {
                    "rootly": dict(Counter(f"{r.method} {r.path}" for r in rootly.requests)),
                    "page_sizes": sorted({q for r in rootly.requests for q in r.query.get("page[size]", [])}),
                    "slack": dict(Counter(m for m, _ in slack._calls)),
                    "violations": len(slack.violations),
                    "last_blocks": len(last.get("blocks") or []),
                    "last_json": len(json.dumps(last.get("blocks") or [])),
                }
            )
    finally:
        rootly.stop()
        slack.stop()
        conn.close()


@dataclass
class Fakes:
    rootly_url: str
    slack_url: str
    conn: Connection
    process: Any

    def counts(self) -> dict[str, Any]:
        self.conn.send("counts")
        if not self.conn.poll(60):
            raise TimeoutError("the fakes process did not answer")
        counts: dict[str, Any] = self.conn.recv()
        return counts

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send("stop")
        self.process.join(10)
        if self.process.is_alive():
            self.process.terminate()


def start_fakes(alerts: int) -> Fakes:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=serve, args=(child, alerts), daemon=True)
    process.start()
    child.close()
    if not parent.poll(300):
        process.terminate()
        raise TimeoutError("the fakes did not start")
    info = parent.recv()
    return Fakes(info["rootly_url"], info["slack_url"], parent, process)


def env(fakes: Fakes, database: Path) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "bench-signing-secret",
        "SLACK_API_URL": f"{fakes.slack_url}/api/",
        "ROOTLY_API_TOKEN": ROOTLY_TOKEN,
        "ROOTLY_API_URL": fakes.rootly_url,
        "DATABASE_URL": f"sqlite:///{database}",
        "FEED_POLL_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
    }


def diff(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


# --- measurements -------------------------------------------------------------------------------------------------
def in_process(fakes: Fakes, database: Path, repeat: int) -> dict[str, Any]:
    from bot.app import build_app
    from bot.config import Settings
    from bot.digests.render import DigestView, digest_message
    from bot.digests.store import Empty
    from bot.domain import AlertFilters
    from bot.render.text import blocks_json_size

    app = build_app(Settings.from_env(env(fakes, database), dotenv=False))
    digests = app.digests
    filters = AlertFilters()
    total_cpu, render_cpu, wall, calls = [], [], [], []
    message: dict[str, Any] = {}
    try:
        for _ in range(repeat):
            before = fakes.counts()["rootly"]
            started_cpu, started_wall = time.process_time(), time.perf_counter()
            message = digests.render(filters, empty=Empty.NOTE) or {}
            total_cpu.append(time.process_time() - started_cpu)
            wall.append(time.perf_counter() - started_wall)
            calls.append(diff(fakes.counts()["rootly"], before))
        page, _ = digests.open_alerts.list(filters, limit=20_000)
        for _ in range(repeat):
            started_cpu = time.process_time()
            digest_message(DigestView(page.alerts, page.total, app.digests.clock()))
            render_cpu.append(time.process_time() - started_cpu)
    finally:
        app.close()
    return {
        "rootly_calls": calls[-1],
        "cpu_s_median": round(statistics.median(total_cpu), 3),
        "render_cpu_s_median": round(statistics.median(render_cpu), 4),
        "wall_s_median": round(statistics.median(wall), 3),
        "blocks": len(message.get("blocks") or []),
        "blocks_json_chars": blocks_json_size(message.get("blocks") or []),
        "header": (message.get("blocks") or [{}])[0].get("text", {}).get("text"),
    }


def as_process(fakes: Fakes, database: Path) -> dict[str, Any]:
    before = fakes.counts()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ROOTLY_", "ILERT_"))}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "digest", "--channel", CHANNEL],
        env={**clean, **env(fakes, database)},
        cwd=database.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"rootly-bot digest failed: {out}{err}")
    after = fakes.counts()
    return {
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),  # Linux: kilobytes
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "wall_s": round(wall, 2),
        "rootly_calls": diff(after["rootly"], before["rootly"]),
        "slack_calls": diff(after["slack"], before["slack"]),
        "posted_blocks": after["last_blocks"],
        "posted_json_chars": after["last_json"],
        "slack_violations": after["violations"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    started = time.perf_counter()
    fakes = start_fakes(args.alerts)
    seeded = time.perf_counter() - started
    try:
        with tempfile.TemporaryDirectory(prefix="digest-bench-") as tmp:
            inproc = in_process(fakes, Path(tmp) / "inproc.db", args.repeat)
            proc = as_process(fakes, Path(tmp) / "proc.db")
    finally:
        fakes.stop()
    pages = math.ceil(args.alerts / 100)
    result = {"alerts": args.alerts, "expected_list_calls": pages, "in_process": inproc, "process": proc}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"digest of {args.alerts:,} open alerts (fakes seeded in {seeded:.1f} s; target {pages} list calls)")
        print(f"  Rootly calls per digest:        {inproc['rootly_calls']}")
        print(f"  CPU per digest (read+render):   {inproc['cpu_s_median']} s median of {args.repeat}")
        print(f"  CPU of the rendering alone:     {inproc['render_cpu_s_median']} s")
        print(f"  wall time per digest:           {inproc['wall_s_median']} s")
        print(f"  message:                        {inproc['blocks']} blocks, {inproc['blocks_json_chars']} chars JSON")
        print(f"  `rootly-bot digest` process:    peak RSS {proc['peak_rss_mib']} MiB, CPU {proc['cpu_s']} s,")
        print(f"                                  wall {proc['wall_s']} s, Rootly {proc['rootly_calls']},")
        print(f"                                  Slack {proc['slack_calls']}, violations {proc['slack_violations']}")
    ok = (
        inproc["rootly_calls"] == {"GET /v1/alerts": pages}
        and proc["slack_calls"] == {"chat.postMessage": 1}
        and proc["slack_violations"] == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
