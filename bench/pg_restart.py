"""PostgreSQL restarted under 50 actions a second: is anything lost, done twice, or answered late?

The bot is served as deployed (``rootly-bot run`` as a subprocess, production defaults) on a throwaway PostgreSQL
cluster of its own (``tests/postgres.py``'s ``Cluster``), against the fakes in their own process
(``bench.fakes_process``; Rootly answering after ``--rootly-latency``, its rate limit out of the way). It receives
``--rate`` actions a second for ``--seconds`` seconds (``/rootly ack``, ``/rootly note`` and Acknowledge clicks, a
third each, every one on an alert of its own, attribution notes off so each action is exactly one Rootly write);
``--at`` seconds in, the cluster is restarted: ``pg_ctl stop -m fast`` (every connection killed), ``--down`` seconds,
``pg_ctl start``.

Counted per action, from what reached the Rootly fake (its log: ``POST /v1/alerts/<id>/acknowledge`` or
``…/events`` for that action's alert) against what the person was answered (the HTTP answer and any reply to the
request's response URL):

- **accepted**: answered 200 and not told "the database could not record this";
- **lost**: accepted, but never reached Rootly;
- **duplicated**: reached Rootly more than once;
- **refused but done**: told the database could not record it, yet it reached Rootly (the person would retry: a
  duplicate in the making);
- **over 3 s**: HTTP answers slower than Slack's deadline (or none).

Target (issue #17): 0 lost, 0 duplicated, 0 over 3 s.

Run: ``.venv/bin/python -m bench.pg_restart`` (``--help`` for the knobs).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.ack_latency import (
    EVENTS,
    SIGNING_SECRET,
    Planned,
    SubprocessServer,
    bot_env,
    percentile,
    plan,
    rootly_bot_cmd,
)
from bench.fakes_process import FakeConfig, start_fakes
from tests.postgres import Cluster, server_binaries
from tests.slack_requests import sign

REFUSED = "database could not record"
WRITES = {"slash ack": "acknowledge", "button": "acknowledge", "slash note": "events"}


@dataclass
class Answer:
    kind: str
    sent: float  # seconds since the load started
    status: int
    latency: float
    body: str


def send(port: int, item: Planned, started: float) -> Answer:
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Connection": "close"}
    headers |= sign(SIGNING_SECRET, item.body)
    at = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request("POST", EVENTS, body=item.body, headers=headers)
        resp = conn.getresponse()
        body = resp.read().decode(errors="replace")
        return Answer(item.kind, at - started, resp.status, time.monotonic() - at, body)
    except OSError as exc:
        return Answer(item.kind, at - started, 0, time.monotonic() - at, type(exc).__name__)
    finally:
        conn.close()


def paced(port: int, items: Sequence[Planned], rate: float, workers: int, started: float) -> list[Answer]:
    """Item i leaves at ``started + i / rate``."""
    futures: list[Future[Answer]] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="load") as pool:
        for i, item in enumerate(items):
            pause = started + i / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            futures.append(pool.submit(send, port, item, started))
    return [f.result() for f in futures]


def settle(fakes, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    """Wait until no new call reaches the fakes for 3 s (the work pool and the outbox have finished)."""
    last, quiet_since, deadline = None, time.monotonic(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = fakes.counts()
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since > 3:
            return
        time.sleep(0.5)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50, help="actions a second (default 50)")
    parser.add_argument("--seconds", type=float, default=40, help="how long the load lasts (default 40)")
    parser.add_argument("--at", type=float, default=15, help="seconds into the load the restart begins")
    parser.add_argument("--down", type=float, default=0.0, help="seconds between stop and start (default 0)")
    parser.add_argument("--rootly-latency", type=float, default=0.1, help="seconds before each Rootly answer")
    parser.add_argument("--workers", type=int, default=100, help="sender threads (default 100)")
    parser.add_argument("--log-dir", type=Path, help="keep the bot's log there")
    args = parser.parse_args(argv)

    bindir = server_binaries()
    if bindir is None:
        print("needs the PostgreSQL server binaries (see tests/postgres.py)")
        return 2
    count = int(args.rate * args.seconds)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    cluster = Cluster(bindir)
    fakes = start_fakes(FakeConfig(args.rootly_latency, count + 10, 10, rootly_rate_limit=1_000_000))
    restart: dict[str, float] = {}
    try:
        url = cluster.start()
        with tempfile.TemporaryDirectory() as tmp:
            env = bot_env(fakes, Path(tmp)) | {"DATABASE_URL": url, "ATTRIBUTION_NOTES": "false"}
            server = SubprocessServer("bot", rootly_bot_cmd(), env, Path(tmp), boot_timeout=60)
            try:
                paced(server.port, plan(fakes, count, 10), 10, 10, time.monotonic())  # warm-up, own alerts
                settle(fakes)
                items = plan(fakes, 0, count)
                started = time.monotonic() + 0.1

                def restart_cluster() -> None:
                    time.sleep(max(0.0, started + args.at - time.monotonic()))
                    restart["stop"] = time.monotonic() - started
                    cluster.pause()
                    restart["stopped"] = time.monotonic() - started
                    time.sleep(args.down)
                    cluster.resume()
                    restart["accepting"] = time.monotonic() - started

                restarter = threading.Thread(target=restart_cluster)
                restarter.start()
                answers = paced(server.port, items, args.rate, args.workers, started)
                restarter.join(120)
                settle(fakes)
                rootly_log, slack_log = fakes.log()
                log_text = server.log_text()
            finally:
                server.close()
                if args.log_dir:
                    args.log_dir.mkdir(parents=True, exist_ok=True)
                    shutil.copy(server.log_path, args.log_dir / "pg_restart-bot.log")
    finally:
        fakes.stop()
        cluster.stop()

    writes: Counter[tuple[str, str]] = Counter()
    for call in rootly_log:
        found = re.fullmatch(r"POST /v1/alerts/([^/]+)/(acknowledge|events)", call.name)
        if found and call.status < 300:
            writes[(found.group(1), found.group(2))] += 1
    replies: dict[str, list[str]] = defaultdict(list)
    for call in slack_log:
        if call.name == "respond":
            replies[call.ts].append(call.text)

    tally: Counter[str] = Counter()
    examples: dict[str, list[str]] = defaultdict(list)
    for i, answer in enumerate(answers):
        alert_id, short = fakes.alerts[i]
        landed = writes[(alert_id, WRITES[answer.kind])]
        said = answer.body + " ".join(replies.get(f"bench{i}", []))
        refused = REFUSED in said
        accepted = answer.status == 200 and not refused
        outcome = []
        if accepted and landed == 0:
            outcome.append("lost")
        if landed > 1:
            outcome.append("duplicated")
        if refused:
            outcome.append("refused" if landed == 0 else "refused but done")
        if not answer.latency <= 3.0 or answer.status == 0:
            outcome.append("over 3 s")
        if answer.status != 200:
            outcome.append(f"HTTP {answer.status}")
        tally["accepted"] += accepted
        for o in outcome:
            tally[o] += 1
            if len(examples[o]) < 3:
                examples[o].append(f"#{i} {answer.kind} on {short} at {answer.sent:.1f} s: {said[:160]!r}")

    near = [a for a in answers if restart and restart["stop"] - 1 <= a.sent <= restart["accepting"] + 2]
    lat = [a.latency for a in answers]
    print(
        f"{count} actions over {args.seconds:g} s ({args.rate:g}/s); Rootly latency {args.rootly_latency * 1000:.0f} ms"
    )
    if restart:
        print(
            f"restart: stop -m fast began at {restart['stop']:.1f} s, server down at {restart['stopped']:.1f} s,"
            f" accepting again at {restart['accepting']:.1f} s ({restart['accepting'] - restart['stop']:.1f} s)"
        )
    print(
        f"ack latency: p50 {percentile(lat, 50) * 1000:.0f} ms, p99 {percentile(lat, 99) * 1000:.0f} ms,"
        f" max {max(lat) * 1000:.0f} ms; around the restart ({len(near)} actions): max"
        f" {max((a.latency for a in near), default=0) * 1000:.0f} ms"
    )
    print(f"accepted {tally['accepted']}, refused (told the database could not record it) {tally['refused']}")
    for name in ("lost", "duplicated", "refused but done", "over 3 s"):
        print(f"{name}: {tally[name]}")
        for example in examples[name]:
            print(f"    {example}")
    statuses = Counter(a.status for a in answers)
    print(f"HTTP statuses: {dict(statuses)}")
    print(f"bot log: {log_text.count('retrying in')} connect retries, {log_text.count('ERROR')} ERROR lines")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    ok = tally["lost"] == 0 and tally["duplicated"] == 0 and tally["over 3 s"] == 0
    print(
        f"{'PASS' if ok else 'FAIL'}: lost {tally['lost']}, duplicated {tally['duplicated']},"
        f" over 3 s {tally['over 3 s']} (target 0/0/0)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
