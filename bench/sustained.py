"""Sustained load: does the bot's memory stay flat and its ack latency stable over minutes of traffic?

The bot is served exactly as deployed (``rootly-bot run`` as a subprocess, HTTP, production defaults, SQLite in a
temp dir) against the fakes in their own process (``bench.fakes_process``: Rootly answering after
``--rootly-latency``, its rate limit raised out of the way so the bot, not the window, is measured). It receives
``--rate`` actions a second for ``--minutes`` minutes, request *i* sent at *i* / rate by a pool of sender threads, the
mix of ``bench.ack_latency`` (``/rootly ack``, ``/rootly note`` and Acknowledge button clicks, a third each, on
alerts in turn), every request on a fresh connection and signed like Slack signs.

First ``--warm-up`` seconds of the same load at the same rate (default 60): the bot's thread pools (waitress,
the work pool, Bolt's listener executor) start their threads on demand and the allocator grows an arena per busy
thread, so RSS climbs in the first minute or two of any load; that is start-up, not growth under steady load, and
is reported apart (RSS before and after the warm-up). Then the measured load: the bot process's RSS
(``/proc/<pid>/status`` VmRSS) every ``--sample`` seconds, and each request's ack latency (request sent → response
read), reported per minute (p50, p99, max, answers over 3 s). Targets (issue #17): RSS growth ≤ 10 % from the start
of the measured load to its end, p99 stable (the last minute's p99 within 1.5 × the first's) and nothing over 3 s.
``--warm-up 0`` measures from a cold process.

Run: ``.venv/bin/python -m bench.sustained --rate 50 --minutes 5`` (``--help`` for the knobs).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from bench.ack_latency import (
    Client,
    Sample,
    SubprocessServer,
    bot_env,
    percentile,
    plan,
    proc_status,
    rootly_bot_cmd,
    spread,
)
from bench.fakes_process import FakeConfig, start_fakes

TARGET_GROWTH = 0.10
TARGET_P99_DRIFT = 1.5
WARM_UP = 100  # requests before the measured load: first connections, pools, the people cache


class RssSampler:
    """VmRSS of a process every ``every`` seconds, on a thread, until :meth:`stop`."""

    def __init__(self, pid: int, every: float) -> None:
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, int]] = []  # (seconds since start, kB)
        self._stop = threading.Event()
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self.samples.append((time.monotonic() - self._started, proc_status(self.pid)["VmRSS"]))
            if self._stop.wait(self.every):
                return

    def stop(self) -> list[tuple[float, int]]:
        self._stop.set()
        self._thread.join(5)
        self.samples.append((time.monotonic() - self._started, proc_status(self.pid)["VmRSS"]))
        return self.samples


def per_minute(samples: Sequence[Sample], interval: float) -> list[list[Sample]]:
    """Samples by the minute they were due in (request i is due at i × interval)."""
    minutes: list[list[Sample]] = []
    for i, sample in enumerate(samples):
        minute = int(i * interval // 60)
        while len(minutes) <= minute:
            minutes.append([])
        minutes[minute].append(sample)
    return minutes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50, help="actions a second (default 50)")
    parser.add_argument("--minutes", type=float, default=5, help="how long (default 5)")
    parser.add_argument("--rootly-latency", type=float, default=0.1, help="seconds before each Rootly answer")
    parser.add_argument("--alerts", type=int, default=3000, help="alerts seeded in Rootly, acted on in turn")
    parser.add_argument("--users", type=int, default=10, help="people sending the actions")
    parser.add_argument("--workers", type=int, default=100, help="sender threads (default 100)")
    parser.add_argument("--sample", type=float, default=10, help="seconds between RSS samples (default 10)")
    parser.add_argument("--warm-up", type=float, default=60, help="seconds of the same load before measuring")
    args = parser.parse_args(argv)

    seconds = args.minutes * 60
    count = int(args.rate * seconds)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    config = FakeConfig(args.rootly_latency, args.alerts, args.users, rootly_rate_limit=1_000_000)
    fakes = start_fakes(config)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            server = SubprocessServer("bot", rootly_bot_cmd(), bot_env(fakes, Path(tmp)), Path(tmp), boot_timeout=60)
            try:
                client = Client(server.port, timeout=10)
                spread(client, plan(fakes, args.alerts - WARM_UP, WARM_UP), 5, 20)
                time.sleep(2)
                cold = proc_status(server.proc.pid)["VmRSS"]
                if args.warm_up:
                    warm = int(args.rate * args.warm_up)
                    spread(client, plan(fakes, count, warm), args.warm_up, args.workers)
                    time.sleep(2)
                warmed = proc_status(server.proc.pid)["VmRSS"]
                print(
                    f"warm-up: {args.warm_up:g} s at {args.rate:g}/s; RSS {cold / 1024:.1f} → {warmed / 1024:.1f} MiB",
                    flush=True,
                )
                items = plan(fakes, 0, count)
                print(f"{count} actions over {seconds:.0f} s ({args.rate:g}/s), bot pid {server.proc.pid}", flush=True)
                cpu_before = server.cpu_seconds()
                sampler = RssSampler(server.proc.pid, args.sample)
                samples = spread(client, items, seconds, args.workers)
                rss = sampler.stop()
                cpu = server.cpu_seconds() - cpu_before
                counts = fakes.counts()
                threads = proc_status(server.proc.pid)["Threads"]
            finally:
                server.close()
    finally:
        fakes.stop()

    interval = seconds / count
    print(f"\n{'minute':>6} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'>3 s':>5}  status")
    p99s = []
    for n, minute in enumerate(per_minute(samples, interval), start=1):
        lat = [s.latency for s in minute if s.latency == s.latency]
        p50, p99 = percentile(lat, 50), percentile(lat, 99)
        p99s.append(p99)
        over = sum(1 for s in minute if not s.latency <= 3.0)
        statuses = " ".join(f"{k}×{v}" for k, v in sorted(Counter(str(s.status or s.error) for s in minute).items()))
        ms = f"{p50 * 1000:8.1f} {p99 * 1000:8.1f} {max(lat) * 1000:8.1f}"
        print(f"{n:>6} {len(minute):>6} {ms} {over:>5}  {statuses}")
    lags = [s.lag for s in samples]
    print(f"load generator: max lag {max(lags) * 1000:.0f} ms (how late a request left its schedule)")

    print("\nRSS of the bot process (VmRSS, MiB) every", f"{args.sample:g} s:")
    print("  " + " ".join(f"{kb / 1024:.1f}" for _, kb in rss))
    start, end, peak = rss[0][1], rss[-1][1], max(kb for _, kb in rss)
    growth = (end - start) / start
    after_first = next((kb for t, kb in rss if t >= 60), start)
    print(
        f"  start {start / 1024:.1f}, end {end / 1024:.1f}, max {peak / 1024:.1f} MiB; growth {growth:+.1%}"
        f" (from the end of minute 1: {(end - after_first) / after_first:+.1%}); threads at the end {threads};"
        f" CPU {cpu:.0f} s"
    )
    print(f"fakes: {counts}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    over = sum(1 for s in samples if not s.latency <= 3.0)
    drift = p99s[-1] / p99s[0] if p99s and p99s[0] else float("nan")
    failed = sum(1 for s in samples if s.status != 200)
    checks = [
        (growth <= TARGET_GROWTH, f"RSS growth {growth:+.1%} (target ≤ {TARGET_GROWTH:.0%})"),
        (drift <= TARGET_P99_DRIFT, f"p99 last minute / first = {drift:.2f} (target ≤ {TARGET_P99_DRIFT})"),
        (over == 0 and failed == 0, f"{over} answers over 3 s, {failed} not 200 (target 0)"),
    ]
    for ok, line in checks:
        print(f"{'PASS' if ok else 'FAIL'}: {line}")
    return 0 if all(ok for ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
