"""A burst of actions far past Rootly's rate limit: is it paced by the ``X-RateLimit-*`` headers, with no 429 storm?

Rootly allows 3,000 reads and 3,000 writes per API key per 60-second sliding window (the Rootly fake models exactly
that, and answers ``X-RateLimit-Limit/Remaining/Reset`` on every call). The issue's case is 3,000 actions in a minute:
about 5,000 writes, so well over half must wait for the window to slide. By default this runs a 1:10 scale model of
it: the same 60-second window and the same demand-to-limit ratio, with the limit at 300 writes (and 300 reads) a
minute and a burst of 300 actions, so the run takes about a minute and a half instead of several minutes and the load
generator's own CPU stays small next to the bot's. ``--limit 3000 --actions 3000`` runs it full size.

The actions are ``bench.ack_latency``'s mix, a third each: ``/rootly ack <id>`` (a read, then the acknowledgement and
its attribution note: 2 writes), ``/rootly note <id> <text>`` (a read, 1 write) and Acknowledge button clicks (2
writes), each on its own alert, ``--actions`` of them sent evenly over ``--seconds``. The bot runs as
``rootly-bot run`` with its production defaults (32 workers, ``RATE_LIMIT_BUDGET=20`` s, outbox every 5 s).

What is counted, from the fakes (in their own process): the 429s Rootly answered; every action's outcome from the
replies it got: completed at once, queued (then delivered by the outbox, or failed, or still pending when the run
stops), failed; the time from the first action sent until the last one was completed or delivered ("drained"); and
the most writes Rootly counted in any 60-second window. ``--unpaced`` runs the same burst against a bot whose gate
never learns (only the 429 fallback), for comparison.

Run: ``.venv/bin/python -m bench.rate_limits`` (``--help`` for the knobs). Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from bench.ack_latency import KINDS, Client, SubprocessServer, bot_env, plan, rootly_bot_cmd, spread
from bench.fakes_process import Call, FakeConfig, Fakes, start_fakes
from bench.traffic import wait_until

WINDOW = 60.0  # Rootly's (and the fake's) rate-limit window
# The bot with a gate that never learns from X-RateLimit-* headers: waiting out 429s is all it does.
UNPACED = (
    "import sys, bot.support.rate_pacing as p; p.RateGate._learn = lambda *a, **k: None; "
    "from bot.cli import main; sys.exit(main(['run']))"
)
OUTCOMES = ("completed", "completed, attribution note dropped", "queued → delivered", "queued → failed",
            "queued → pending", "failed", "no reply")  # fmt: skip


def outcome(replies: Sequence[Call]) -> tuple[str, float | None]:
    """An action's outcome from the replies on its response URL, and when it was final (monotonic)."""
    if not replies:
        return "no reply", None
    first, last = replies[0], replies[-1]
    if "queued" in first.text:
        if any("From the outbox" in r.text for r in replies[1:]):
            return "queued → delivered", last.at
        if len(replies) > 1:
            return "queued → failed", last.at
        return "queued → pending", None
    if "✅" in first.text and "Nothing to do" not in first.text:
        dropped = "note saying you did this could not be added" in first.text
        return ("completed, attribution note dropped" if dropped else "completed"), first.at
    return "failed", first.at


def max_in_window(times: Sequence[float], window: float) -> int:
    """The most calls within any ``window`` seconds."""
    ordered, best, start = sorted(times), 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def run(args: argparse.Namespace, fakes: Fakes, workdir: Path, paced: bool) -> None:
    label = "paced (as shipped)" if paced else "unpaced (the gate disabled: 429s waited out per thread)"
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = rootly_bot_cmd() if paced else [sys.executable, "-c", UNPACED]
    env = bot_env(fakes, workdir) | {"FEED_POLL_SECONDS": "0"}
    server = SubprocessServer("bot-paced" if paced else "bot-unpaced", cmd, env, workdir, boot_timeout=60)
    client = Client(server.port, timeout=10)
    first_alert = 0 if paced else args.actions
    items = plan(fakes, first_alert, args.actions)
    keys = [f"bench{first_alert + i}" for i in range(args.actions)]
    rootly_from, slack_from = (len(x) for x in fakes.log())
    try:
        print(f"\n{label}: {args.actions} actions over {args.seconds:g} s …", flush=True)
        started = time.monotonic()
        samples = spread(client, items, args.seconds, workers=min(200, args.actions))
        sent_for = time.monotonic() - started

        def settled() -> bool:
            _, slack = fakes.log(rootly_from, slack_from)
            by_key = Counter(c.ts for c in slack if c.name == "respond")
            replies = {k: [c for c in slack if c.name == "respond" and c.ts == k] for k in keys if by_key[k]}
            return all(k in replies and outcome(replies[k])[0] != "queued → pending" for k in keys)

        wait_until(settled, args.max_wait - (time.monotonic() - started), poll=1.0)
        rootly, slack = fakes.log(rootly_from, slack_from)
        ended = time.monotonic()
    finally:
        client.close()
        server.close()

    outcomes: Counter[str] = Counter()
    by_kind: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
    finals: list[float] = []
    for key, item in zip(keys, items, strict=True):
        found, at = outcome([c for c in slack if c.name == "respond" and c.ts == key])
        outcomes[found] += 1
        by_kind[item.kind][found] += 1
        if at is not None and found != "failed":
            finals.append(at)
    limited = [c for c in rootly if c.status == 429]
    writes = [c.at for c in rootly if not c.name.startswith("GET") and c.status != 429]
    reads = [c.at for c in rootly if c.name.startswith("GET") and c.status != 429]
    acks = Counter(s.status for s in samples)

    print(f"Rate limits, {label}")
    print(f"  Rootly limit: {args.limit} reads and {args.limit} writes per {WINDOW:g} s sliding window")
    print(
        f"  sent: {args.actions} actions in {sent_for:.1f} s; Slack acks: "
        + ", ".join(f"{k}×{v}" for k, v in acks.items())
    )
    counted = f"{len(writes)} writes, {len(reads)} reads counted"
    print(f"  Rootly calls: {len(rootly)} ({counted}); 429s answered: {len(limited)}")
    print(f"  most writes counted in any {WINDOW:g} s: {max_in_window(writes, WINDOW)} (limit {args.limit})")
    lookups = sum(1 for c in rootly if c.name.startswith("GET /v1/users"))
    print(f"  Rootly user lookups: {lookups} for {len(fakes.users)} people")
    print(f"  {'outcome':<38} " + " ".join(f"{k:>10}" for k in KINDS) + f" {'all':>6}")
    for name in OUTCOMES:
        if outcomes[name]:
            print(f"  {name:<38} " + " ".join(f"{by_kind[k][name]:>10}" for k in KINDS) + f" {outcomes[name]:>6}")
    done = sum(outcomes[k] for k in ("completed", "completed, attribution note dropped", "queued → delivered"))
    drained = f"{max(finals) - started:.1f} s" if finals and done == args.actions else "not drained"
    stopped = f"after {ended - started:.0f} s" + (" (--max-wait)" if done < args.actions else "")
    print(f"  completed or delivered: {done} of {args.actions}; time to drain (first sent → last landed): {drained}")
    print(f"  waited {stopped}; bot {server.stopped}")
    log_text = server.log_text()
    paced_lines, waited_out = log_text.count("rate limit nearly used"), log_text.count("rate limit hit")
    dropped = log_text.count("attribution note on")
    if pool_full := log_text.count("Connection pool is full"):
        print(f"  bot log: urllib3 'Connection pool is full' {pool_full}×")
    print(f"  bot log: {paced_lines} 'rate limit nearly used', {waited_out} '429 … waiting', {dropped} notes dropped")
    verdict = "PASS" if not limited and done == args.actions else "FAIL"
    print(f"  target: paced, no 429 storm, nothing lost: {len(limited)} 429s, {done}/{args.actions} landed {verdict}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.rate_limits",
        description="A burst of actions past Rootly's rate limit: paced by X-RateLimit-* headers, no 429 storm?",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--limit", type=int, default=300, help="Rootly reads and writes allowed per 60 s (Rootly: 3000)")
    p.add_argument("--actions", type=int, default=300, help="actions in the burst")
    p.add_argument("--seconds", type=float, default=6.0, help="the burst is sent evenly over this many seconds")
    p.add_argument("--rootly-latency", type=float, default=0.1, help="seconds the Rootly fake waits on every call")
    p.add_argument("--max-wait", type=float, default=150.0, help="stop waiting for the outbox after this many seconds")
    p.add_argument("--unpaced", action="store_true", help="also run the bot with the gate disabled, for comparison")
    p.add_argument("--log-dir", type=Path, help="keep the bot's log and database here (default: a temp dir)")
    args = p.parse_args(argv)
    if args.limit < 3 or args.actions < 1 or args.seconds <= 0:
        p.error("--limit must be at least 3, --actions at least 1, --seconds above 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    py, cpus = sys.version.split()[0], os.cpu_count()
    print(f"bench.rate_limits: Python {py}, {cpus} CPUs; Rootly at {args.rootly_latency * 1000:.0f} ms on every call")
    alerts = args.actions * (2 if args.unpaced else 1)
    config = FakeConfig(args.rootly_latency, alerts, users=10, rootly_rate_limit=args.limit)
    fakes = start_fakes(config)
    with contextlib.ExitStack() as stack:
        stack.callback(fakes.stop)
        if args.log_dir:
            workdir = args.log_dir.resolve()
            workdir.mkdir(parents=True, exist_ok=True)
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rate-bench-")))
        run(args, fakes, workdir / "paced", paced=True)
        if args.unpaced:
            print(f"\n(waiting {WINDOW:g} s for Rootly's window to empty before the unpaced run)", flush=True)
            time.sleep(WINDOW)
            run(args, fakes, workdir / "unpaced", paced=False)
    print(f"\nTotal time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
