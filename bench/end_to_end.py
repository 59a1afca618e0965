"""From a click on an alert message's Acknowledge button to the ``chat.update`` that re-renders it, Rootly at 100 ms.

What a click costs in steady state (the person's Rootly user already mapped): one action call, then one attribution
note, one after the other (``POST /v1/alerts/{id}/acknowledge``, then ``POST /v1/alerts/{id}/events``), then
``chat.update``. So **Rootly's latency for a click** is the sum of those two calls, each timed by the Rootly fake from
the request read to the answer ready (its 100 ms sleep plus handling); the **bot's overhead** is
(click sent → ``chat.update`` received by the Slack fake) minus that sum, and is split into: before the first Rootly
call (Slack request, ack, hand-off to the work pool, double-click claim), between the two calls, and after the
second (render, database, Slack client). Target: overhead ≤ 50 ms at p99.

Set-up: the fakes in their own process (``bench.fakes_process``), the bot as ``rootly-bot run`` (``bench.ack_latency``'s
``SubprocessServer``), feed polling off; ``/rootly feed on`` in a channel and one signed ``alert.created`` webhook per
alert post the alert messages, which are then clicked. The first click of each person (cold: ``users.info`` and a
Rootly user lookup on the path) is reported apart; then ``--clicks`` clicks at ``--rate`` a second, each on its own
alert, by people whose mapping is cached. All clocks are ``time.monotonic`` (one clock for every process on Linux).

Run: ``.venv/bin/python -m bench.end_to_end`` (``--help`` for the knobs). Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.ack_latency import Client, Planned, Sample, SubprocessServer, bot_env, percentile, rootly_bot_cmd
from bench.fakes_process import Call, FakeConfig, Fakes, start_fakes
from bench.traffic import CHANNEL, WEBHOOK_SECRET, alert_of, click, slash, wait_until, webhook
from bot.render.ids import Action

TARGET_OVERHEAD = 0.050  # seconds of bot overhead at p99 on top of Rootly's latency


@dataclass
class Sent:
    """One click: on which alert and message, when it left, and its ack."""

    alert_id: str
    ts: str
    sent: float
    sample: Sample


@dataclass
class ClickPath:
    """What one click caused, matched from the fakes' logs."""

    e2e: float  # click sent → chat.update read by the Slack fake
    rootly: float  # sum of the Rootly calls on the path, as the fake timed them
    calls: int
    before: float  # click sent → first Rootly call read
    between: float  # gaps between Rootly calls (answer ready → next call read)
    after: float  # last Rootly answer ready → chat.update read
    ack: float

    @property
    def overhead(self) -> float:
        return self.e2e - self.rootly


def post_alert_messages(fakes: Fakes, port: int, alert_ids: Sequence[str], timeout: float = 120) -> dict[str, dict]:
    """Webhook each alert into the channel's feed; the posted messages by alert id."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda a: webhook(port, a), alert_ids))
    if any(s != 202 for s in statuses):
        raise RuntimeError(f"webhook deliveries refused: {sorted(set(statuses))}")
    wanted = set(alert_ids)
    posted: dict[str, dict] = {}

    def all_posted() -> bool:
        posted.clear()
        for message in fakes.messages(CHANNEL):
            alert_id = alert_of(message)
            if alert_id in wanted:
                posted[alert_id] = message
        return len(posted) == len(wanted)

    if not wait_until(all_posted, timeout, poll=0.5):
        raise RuntimeError(f"only {len(posted)} of {len(wanted)} alert messages were posted")
    return posted


def send_clicks(
    client: Client, fakes: Fakes, messages: dict[str, dict], alert_ids: Sequence[str], users: Sequence[str], rate: float
) -> list[Sent]:
    """Click Acknowledge on each alert's message, ``rate`` a second (0: one at a time, each after the last update)."""
    sent: list[Sent] = []
    lock = threading.Lock()
    threads = []
    start = time.monotonic() + 0.05
    for i, alert_id in enumerate(alert_ids):
        message = messages[alert_id]
        item = click(
            users[i % len(users)], message, Action.ACKNOWLEDGE, f"rootly:{alert_id}", fakes.response_url(f"e2e{i}")
        )
        if rate > 0:
            pause = start + i / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)

        def fire(item: Planned = item, alert_id: str = alert_id, ts: str = message["ts"]) -> None:
            at = time.monotonic()
            sample = client.send(item)
            with lock:
                sent.append(Sent(alert_id, ts, at, sample))

        if rate > 0:
            thread = threading.Thread(target=fire, daemon=True)
            thread.start()
            threads.append(thread)
        else:
            fire()
            wait_for_updates(fakes, {message["ts"]}, timeout=10)
    for thread in threads:
        thread.join(30)
    return sent


def wait_for_updates(fakes: Fakes, ts: set[str], timeout: float) -> bool:
    def done() -> bool:
        _, slack = fakes.log()
        return ts <= {c.ts for c in slack if c.name == "chat.update"}

    return wait_until(done, timeout, poll=0.2)


def match(sent: Sequence[Sent], rootly: Sequence[Call], slack: Sequence[Call], by_alert: bool) -> list[ClickPath]:
    """Each click's path: its Rootly calls (by alert id in the path, or every call in its span when clicks were one
    at a time) and the first ``chat.update`` of its message after it was sent."""
    paths = []
    for s in sent:
        update = next((c for c in slack if c.name == "chat.update" and c.ts == s.ts and c.at >= s.sent), None)
        if update is None:
            continue
        if by_alert:
            calls = [c for c in rootly if s.alert_id in c.name and s.sent <= c.at <= update.at]
        else:
            calls = [c for c in rootly if s.sent <= c.at <= update.at]
        calls.sort(key=lambda c: c.at)
        if not calls:
            continue
        between = sum(max(0.0, b.at - a.done) for a, b in itertools.pairwise(calls))
        paths.append(
            ClickPath(
                e2e=update.at - s.sent,
                rootly=sum(c.seconds for c in calls),
                calls=len(calls),
                before=calls[0].at - s.sent,
                between=between,
                after=update.at - calls[-1].done,
                ack=s.sample.latency,
            )
        )
    return paths


def report(title: str, paths: Sequence[ClickPath], sent: int) -> tuple[float, float]:
    """Print the table; returns (overhead p99, Rootly p99) in seconds."""
    print(f"\n{title}: {len(paths)} of {sent} clicks matched to their chat.update")
    print(f"{'measure':<46} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    rows = [
        ("click → chat.update (end to end)", [p.e2e for p in paths]),
        ("Rootly's latency on the path (sum of its calls)", [p.rootly for p in paths]),
        ("bot overhead = end to end − Rootly", [p.overhead for p in paths]),
        ("  before the first Rootly call", [p.before for p in paths]),
        ("  between Rootly calls", [p.between for p in paths]),
        ("  after the last Rootly answer → chat.update", [p.after for p in paths]),
        ("ack (click → HTTP 200)", [p.ack for p in paths]),
    ]
    for label, values in rows:
        stats = [percentile(values, 50), percentile(values, 99), max(values, default=float("nan"))]
        print(f"{label:<46} " + " ".join(f"{v * 1000:8.1f}" for v in stats))
    counts = sorted({p.calls for p in paths})
    print(f"Rootly calls per click: {', '.join(map(str, counts))}")
    return percentile([p.overhead for p in paths], 99), percentile([p.rootly for p in paths], 99)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.end_to_end",
        description="Button click → chat.update with Rootly at 100 ms: the bot's overhead on top of Rootly.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--clicks", type=int, default=200, help="measured clicks (steady state), each on its own alert")
    p.add_argument("--rate", type=float, default=10.0, help="measured clicks a second (0: one at a time)")
    p.add_argument("--users", type=int, default=10, help="people clicking (each one's first click is reported apart)")
    p.add_argument("--rootly-latency", type=float, default=0.1, help="seconds the Rootly fake waits on every call")
    p.add_argument("--log-dir", type=Path, help="keep the bot's log and database here (default: a temp dir)")
    args = p.parse_args(argv)
    if args.clicks < 1 or args.users < 1 or args.rate < 0:
        p.error("--clicks and --users must be at least 1, --rate at least 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    py, cpus = sys.version.split()[0], os.cpu_count()
    print(f"bench.end_to_end: Python {py}, {cpus} CPUs; Rootly at {args.rootly_latency * 1000:.0f} ms on every call")
    print(
        "Rootly's latency for a click = POST /v1/alerts/{id}/acknowledge + POST /v1/alerts/{id}/events (attribution"
        " note), sequential, each as the fake timed it (request read → answer ready)"
    )
    print(f"Target: bot overhead = (click → chat.update) − Rootly's latency ≤ {TARGET_OVERHEAD * 1000:.0f} ms at p99")
    total = args.users + args.clicks
    fakes = start_fakes(FakeConfig(rootly_latency=0.0, alerts=total, users=args.users))
    with contextlib.ExitStack() as stack:
        stack.callback(fakes.stop)
        if args.log_dir:
            workdir = args.log_dir.resolve()
            workdir.mkdir(parents=True, exist_ok=True)
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="e2e-bench-")))
        env = bot_env(fakes, workdir) | {"ROOTLY_WEBHOOK_SECRET": WEBHOOK_SECRET, "FEED_POLL_SECONDS": "0"}
        server = SubprocessServer("bot", rootly_bot_cmd(), env, workdir, boot_timeout=60)
        stack.callback(server.close)
        client = Client(server.port, timeout=10)
        answer = client.send(slash(fakes.users[0], "feed on", fakes.response_url("feed")))
        if answer.status != 200:
            raise RuntimeError(f"/rootly feed on answered {answer.status}")
        alert_ids = [alert_id for alert_id, _ in fakes.alerts]
        print(f"\nPosting {len(alert_ids)} alert messages by webhook (Rootly at 0 ms meanwhile) …", flush=True)
        messages = post_alert_messages(fakes, server.port, alert_ids)
        fakes.configure(rootly_latency=args.rootly_latency)
        rootly_from, slack_from = (len(x) for x in fakes.log())

        print(f"First click of each of {args.users} people, one at a time …", flush=True)
        first = send_clicks(client, fakes, messages, alert_ids[: args.users], fakes.users, rate=0)
        print(f"{args.clicks} clicks at {args.rate:g}/s by the same people …", flush=True)
        steady = send_clicks(client, fakes, messages, alert_ids[args.users :], fakes.users, rate=args.rate)
        if not wait_for_updates(fakes, {s.ts for s in steady}, timeout=60):
            print("  (some chat.update calls never came; those clicks are left out)")
        rootly, slack = fakes.log(rootly_from, slack_from)

        report(
            "First click of each person (cold: users.info and a Rootly user lookup on the path)",
            match(first, rootly, slack, by_alert=False),
            len(first),
        )
        overhead, rootly_p99 = report(
            f"Steady state ({args.rate:g} clicks/s)", match(steady, rootly, slack, by_alert=True), len(steady)
        )
        lookups = max(0, sum(1 for c in rootly if c.name.startswith("GET /v1/users")) - args.users)
        limited = sum(c.status == 429 for c in rootly)
        print(f"Rootly user lookups during the steady clicks: {lookups}; 429s: {limited}")
        verdict = "PASS" if overhead <= TARGET_OVERHEAD else "FAIL"
        print(
            f"\nbot overhead p99 {overhead * 1000:.1f} ms (target ≤ {TARGET_OVERHEAD * 1000:.0f} ms; Rootly's own p99"
            f" {rootly_p99 * 1000:.1f} ms) {verdict}"
        )
        client.close()
    print(f"shutdown: {server.stopped}")
    print(f"\nTotal time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
