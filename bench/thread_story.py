"""Alert threads: how long from an event in Rootly to its reply in the alert's thread, and what a poll costs.

    .venv/bin/python -m bench.thread_story [--samples 20] [--alerts 10]
    .venv/bin/python -m bench.thread_story --poll [--samples 5] [--poll-seconds 30]


In-process, against the Rootly and Slack fakes on 127.0.0.1 (no added latency):

- webhook: a change made in Rootly, then its signed ``alert.updated`` webhook → the thread reply (the default
  ``THREAD_COALESCE_SECONDS`` = 2 s included);
- poll: a change made in Rootly, then one ``poll_once`` (what the scheduler runs every ``FEED_POLL_SECONDS``) → the
  thread reply. With polling alone the delay is this plus the wait for the next poll: uniform over
  0…``FEED_POLL_SECONDS`` (30 s by default), so ≈ 15 s on average and at most ≈ 30 s + this;
- Rootly calls per poll: with ``--alerts`` tracked alerts each changed once since the last poll, and with none.

``--poll`` measures instead of computing the delay with polling alone: the bot runs its scheduler as deployed, with
``FEED_POLL_SECONDS`` at its default (or ``--poll-seconds`` for a scaled run) and no webhook; each sample makes a
change in Rootly at a random moment of the poll cycle (stratified over the cycle) and times it until its reply is
in the thread.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import random
import re
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import requests

from bot.config import Settings
from tests.conftest import BotServer, bot_env
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake

SECRET = "bench-webhook-secret-0123456789"


def _wait_replies(slack: SlackFake, channel: str, ts: str, n: int, timeout: float = 30) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = [m for m in slack.messages(channel) if m.get("thread_ts") == ts and m["ts"] != ts]
        if len(replies) >= n:
            return time.monotonic()
        time.sleep(0.005)
    raise SystemExit("no thread reply in time")


def _webhook(url: str, alert_id: str) -> None:
    body = json.dumps(
        {
            "event": {"id": str(uuid.uuid4()), "type": "alert.updated", "issued_at": "2024-01-01T00:00:00Z"},
            "data": {"id": alert_id, "summary": "x", "source": "datadog", "labels": []},
        }
    ).encode()
    ts = str(int(time.time()))
    sig = hmac.new(SECRET.encode(), ts.encode() + body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Rootly-Signature": f"t={ts},v1={sig}"}
    requests.post(f"{url}/rootly/webhooks", data=body, headers=headers, timeout=5).raise_for_status()


def _kind(method: str, path: str) -> str:
    if path == "/v1/alert_events":
        return "feed page"
    if re.fullmatch(r"/v1/alerts/[^/]+", path):
        return "GET alert"
    if re.fullmatch(r"/v1/alerts/[^/]+/events", path):
        return f"{method} alert events"
    return f"{method} {path}"


def polling_alone(samples: int, poll_seconds: float | None) -> None:
    """Event in Rootly → thread reply with the scheduler's own polling, no webhook: what a Socket Mode bot sees."""
    interval = poll_seconds if poll_seconds is not None else Settings.feed_poll_seconds
    with tempfile.TemporaryDirectory() as tmp, RootlyFake(token="rootly-test-token") as rootly, SlackFake() as slack:
        slack.add_user("U111", "alice@example.com", "Alice Example")
        overrides = {} if poll_seconds is None else {"FEED_POLL_SECONDS": f"{poll_seconds:g}"}
        env = bot_env(Path(tmp), rootly, slack, **overrides)  # FEED_POLL_SECONDS unset: the default
        settings = Settings.from_env(env)
        assert settings.feed_poll_seconds == interval
        with BotServer(settings, slack.response_url()) as bot:
            services = bot.app.services
            rootly_backend = services.backends.get(next(iter(services.backends)).kind)
            posted = []
            for n in range(samples):
                alert = rootly.add_alert(summary=f"bench poll {n}", status="triggered")
                posted.append((alert["id"], services.messages.post("C111", rootly_backend.get_alert(alert["id"]))))
            assert services.poller is not None
            services.poller.poll_once()  # the feed's cursor, as a bot that has been running has it
            time.sleep(settings.thread_coalesce_seconds + 1)  # the story runs the alerts' creation set off
            bot.app.start_background()  # the scheduler: feed polling every FEED_POLL_SECONDS, as `rootly-bot run`
            delays = []
            rng = random.Random()
            for n, (alert_id, ts) in enumerate(posted):
                # A random moment of the poll cycle, stratified so that a few samples still cover the whole cycle.
                time.sleep(interval * (n + rng.random()) / samples)
                rootly.act_in_rootly(alert_id, "note", None, f"poll {n}")
                start = time.monotonic()
                delays.append(_wait_replies(slack, "C111", ts, 1, timeout=interval + 30) - start)
                print(f"  sample {n + 1}/{samples}: {delays[-1]:.2f} s", flush=True)
    xs = sorted(delays)
    print(f"\n| event in Rootly → thread reply, polling every {interval:g} s | median | mean | min | max | samples |")
    print("|---|---|---|---|---|---|")
    print(
        f"| scheduler's own polling, no webhook | {statistics.median(xs):.2f} s | {statistics.fmean(xs):.2f} s"
        f" | {xs[0]:.2f} s | {xs[-1]:.2f} s | {len(xs)} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=None, help="20 (webhook), 5 (--poll)")
    parser.add_argument("--alerts", type=int, default=10)
    parser.add_argument("--poll", action="store_true", help="measure with the scheduler's polling alone")
    parser.add_argument("--poll-seconds", type=float, default=None, help="with --poll: scale FEED_POLL_SECONDS")
    args = parser.parse_args()
    if args.poll:
        polling_alone(args.samples or 5, args.poll_seconds)
        return
    args.samples = args.samples or 20
    with tempfile.TemporaryDirectory() as tmp, RootlyFake(token="rootly-test-token") as rootly, SlackFake() as slack:
        slack.add_user("U111", "alice@example.com", "Alice Example")
        env = bot_env(Path(tmp), rootly, slack, FEED_POLL_SECONDS="0", ROOTLY_WEBHOOK_SECRET=SECRET)
        with BotServer(Settings.from_env(env), slack.response_url()) as bot:
            services = bot.app.services
            assert services.poller is not None
            services.poller.poll_once()  # start the cursor
            rootly_backend = services.backends.get(next(iter(services.backends)).kind)
            posted = []
            for n in range(max(args.samples, args.alerts)):
                alert = rootly.add_alert(summary=f"bench {n}", status="triggered")
                ts = services.messages.post("C111", rootly_backend.get_alert(alert["id"]))
                posted.append((alert["id"], ts))
            services.poller.poll_once()  # the creations: nothing to tell
            time.sleep(2.5)
            hook, poll = [], []
            for n in range(args.samples):
                alert_id, ts = posted[n]
                rootly.act_in_rootly(alert_id, "note", None, f"webhook {n}")
                start = time.monotonic()
                _webhook(bot.url, alert_id)
                hook.append(_wait_replies(slack, "C111", ts, 1) - start)
                rootly.act_in_rootly(alert_id, "note", None, f"poll {n}")
                start = time.monotonic()
                services.poller.poll_once()
                poll.append(_wait_replies(slack, "C111", ts, 2) - start)
            services.poller.poll_once()
            time.sleep(2.5)
            # Rootly calls per poll.
            for n in range(args.alerts):
                rootly.act_in_rootly(posted[n][0], "note", None, f"cost {n}")
            before = len(rootly.requests)
            services.poller.poll_once()
            time.sleep(3.0)  # the coalesced story runs
            busy = [_kind(r.method, r.path) for r in rootly.requests[before:]]
            before = len(rootly.requests)
            services.poller.poll_once()
            time.sleep(2.5)
            idle = len(rootly.requests) - before

    def row(name: str, xs: list[float]) -> str:
        xs = sorted(xs)
        p95 = xs[min(len(xs) - 1, int(len(xs) * 0.95))]
        return f"| {name} | {statistics.median(xs):.2f} s | {p95:.2f} s | {max(xs):.2f} s |"

    print("| event in Rootly → thread reply | median | p95 | max |")
    print("|---|---|---|---|")
    print(row("webhook (coalescing 2 s included)", hook))
    print(row("poll_once → reply (add 0…FEED_POLL_SECONDS of waiting)", poll))
    counts = {k: busy.count(k) for k in sorted(set(busy))}
    print(f"\nRootly calls for one poll with {args.alerts} tracked alerts changed: {len(busy)} {counts}")
    print(f"Rootly calls for one poll with nothing new: {idle}")


if __name__ == "__main__":
    main()
