"""After an outage: how fast does a backlog of 3,000 queued actions drain at Rootly's rate limit, and is it exact?

Rootly allows 3,000 writes (and 3,000 reads) per API key per 60-second sliding window; the Rootly fake models that
and answers ``X-RateLimit-*`` on every call, which the bot's gate paces by
(``bot/support/rate_pacing.py``). The outage left ``--actions`` items in the outbox (default 3,000: an
acknowledgement, a note and a resolution on each of 1,000 alerts, queued round by round so one alert's items are far
apart in the queue, as they arrive during an outage).
With attribution notes on (the default), an acknowledgement or a resolution is 2 writes, so the backlog is about
5,000 writes: more than one window allows, so the drain must follow the window as it slides.

The bot is built in this process exactly as ``rootly-bot run`` builds it (``build_app``, SQLite, production
defaults, ``OUTBOX_WORKERS`` as configured), without its scheduler: passes of ``OutboxDelivery.deliver_due`` run
back to back, as the outbox job would every ``OUTBOX_SECONDS``. The fakes run in a child process
(``bench/fakes_process.py``: Rootly with no OpenAPI validation, answering after ``--latency`` seconds), so the bot has
this process's interpreter to itself as it would in production, where Rootly is another machine.

Checked from what reached Rootly: every alert's acknowledge → note → resolve in that order (0 out of order), each
exactly once (0 duplicated), every item delivered (0 lost), the 429s Rootly answered, and the most writes it counted
in any 60-second window (never above the limit). ``--limit 300 --actions 300`` is a 1:10 scale model with the same
window and demand-to-limit ratio. ``--workers 1`` is the old one-at-a-time delivery, for comparison.

Run: ``.venv/bin/python -m bench.outbox_drain`` (``--help`` for the knobs).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

from bench.fakes_process import BOT_TOKEN, ROOTLY_TOKEN, FakeConfig, Fakes, start_fakes
from bot.app import build_app
from bot.config import Settings
from bot.domain import AlertRef, Backend
from bot.store.outbox import DELIVERED

SIGNING_SECRET = "bench-signing-secret"
WINDOW = 60.0
VERBS = ("acknowledge", "note", "resolve")
POSTED_AS = {"acknowledge": "acknowledge", "events": "note", "resolve": "resolve"}


def most_in_a_window(times: Sequence[float]) -> int:
    times, most, start = sorted(times), 0, 0
    for end, at in enumerate(times):
        while times[start] <= at - WINDOW:
            start += 1
        most = max(most, end - start + 1)
    return most


def run(actions: int, limit: int, latency: float, workers: int, attribution: bool) -> bool:
    alerts_n = max(1, actions // len(VERBS))
    fakes = start_fakes(FakeConfig(rootly_latency=0.0, alerts=alerts_n, users=1, rootly_rate_limit=limit))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            drained, passes, counts, first = drain(fakes, tmp, actions, latency, workers, attribution)
        calls, _ = fakes.log(rootly_from=first)
    finally:
        fakes.stop()

    alerts = [uuid for uuid, _ in fakes.alerts]
    writes = [c for c in calls if not c.name.startswith(("GET ", "HEAD ", "OPTIONS "))]
    accepted = [c for c in writes if c.status < 400]
    throttled = sum(1 for c in calls if c.status == 429)
    per_alert: dict[str, list[str]] = defaultdict(list)
    for c in sorted(accepted, key=lambda c: c.at):
        parts = c.name.split(" ", 1)[1].strip("/").split("/")  # v1/alerts/<id>/<action>
        if len(parts) == 4 and parts[1] == "alerts" and parts[3] in POSTED_AS:
            per_alert[parts[2]].append(POSTED_AS[parts[3]])
    expected = {a: [v for i, v in enumerate(VERBS) if i * alerts_n + n < actions] for n, a in enumerate(alerts)}
    # With attribution notes each ack/resolve is followed by its note (an "events" write): keep the first of each kind
    # in order and count the rest as notes of the same alert.
    out_of_order = duplicated = lost = 0
    for alert, want in expected.items():
        got = per_alert.get(alert, [])
        seen = Counter(got)
        lost += sum(1 for v in want if seen[v] == 0)
        duplicated += sum(seen[v] - 1 for v in ("acknowledge", "resolve") if seen[v] > 1)
        duplicated += max(0, seen["note"] - (1 + attribution * (len(want) - 1))) if "note" in want else 0
        firsts = [v for v in dict.fromkeys(got) if v in want]
        out_of_order += firsts != [v for v in want if v in firsts]
    delivered = counts.get(DELIVERED, 0)
    rate = delivered / drained * 60 if drained else 0.0
    print(f"backlog: {actions} actions on {alerts_n} alerts; Rootly limit {limit} writes/min (and reads), latency")
    print(f"  {latency * 1000:.0f} ms; OUTBOX_WORKERS={workers}; attribution notes {'on' if attribution else 'off'}")
    print(f"drained in {drained:.1f} s over {passes} passes: {rate:,.0f} actions/min; {len(accepted)} writes")
    times, most = sorted(c.at for c in accepted), int(limit * 0.95)
    if len(times) >= most:  # how fast the bot spends the first window decides how soon the rest can go
        spent = times[most - 1] - times[0]
        print(f"the first {most} writes (95% of the window) in {spent:.1f} s ({most / max(spent, 1e-9):,.0f} writes/s)")
    print(f"most writes in any 60 s window: {most_in_a_window([c.at for c in accepted])} (limit {limit})")
    print(f"429s answered: {throttled}")
    print(f"items: {dict(counts)}")
    print(f"lost {lost}, duplicated {duplicated}, alerts out of order {out_of_order}")
    ok = delivered == actions and lost == 0 and duplicated == 0 and out_of_order == 0
    print(f"{'PASS' if ok else 'FAIL'}: {actions} queued actions delivered, each once, in per-alert order")
    print("(the person's outcome DMs go joined, at their DM's pace, after the drain: not part of these figures)")
    return ok


def drain(
    fakes: Fakes, tmp: str, actions: int, latency: float, workers: int, attribution: bool
) -> tuple[float, int, dict[str, int], int]:
    """Queue the backlog, then run delivery passes until the outbox is empty: (seconds, passes, item counts, the
    Rootly log position where the drain began)."""
    user = fakes.users[0]
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fakes.slack_api_url,
        "ROOTLY_API_TOKEN": ROOTLY_TOKEN,
        "ROOTLY_API_URL": fakes.rootly_url,
        "DATABASE_URL": f"sqlite:///{Path(tmp) / 'bot.db'}",
        "OUTBOX_WORKERS": str(workers),
        "ATTRIBUTION_NOTES": "true" if attribution else "false",
        "LOG_LEVEL": "WARNING",
    }
    app = build_app(Settings.from_env(env))
    try:
        store, delivery = app.services.outbox_store, app.services.outbox
        queued = 0
        for verb in VERBS:  # round by round, as an outage leaves them
            for alert, _ in fakes.alerts:
                if queued == actions:
                    break
                payload = {"slack_user_id": user, "text": f"note on {alert}", "message": None}
                store.enqueue(verb, AlertRef(Backend.ROOTLY, alert).encode(), payload, check_first=False)
                queued += 1
        fakes.configure(rootly_latency=latency)
        first = len(fakes.log()[0])
        started = time.monotonic()
        passes = 0
        while store.depth() and time.monotonic() - started < 1800:
            if not delivery.deliver_due():
                time.sleep(0.5)  # waiting for the window to slide: the outbox job runs every OUTBOX_SECONDS
            passes += 1
        return time.monotonic() - started, passes, store.counts(), first
    finally:
        app.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--actions", type=int, default=3000, help="queued actions (default 3000)")
    parser.add_argument("--limit", type=int, default=3000, help="Rootly's writes (and reads) per minute")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds before each Rootly answer")
    parser.add_argument("--workers", type=int, default=None, help="OUTBOX_WORKERS (default: the bot's default)")
    parser.add_argument("--no-attribution", action="store_true", help="ATTRIBUTION_NOTES=false: 1 write an action")
    args = parser.parse_args(argv)
    workers = args.workers or int(os.environ.get("OUTBOX_WORKERS") or Settings.outbox_workers)
    return 0 if run(args.actions, args.limit, args.latency, workers, not args.no_attribution) else 1


if __name__ == "__main__":
    sys.exit(main())
