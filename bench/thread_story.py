"""Alert threads: how long from an event in Rootly to its reply in the alert's thread, and what a poll costs.

    .venv/bin/python -m bench.thread_story [--samples 20] [--alerts 10]

In-process, against the Rootly and Slack fakes on 127.0.0.1 (no added latency):

- webhook: a change made in Rootly, then its signed ``alert.updated`` webhook → the thread reply (the default
  ``THREAD_COALESCE_SECONDS`` = 2 s included);
- poll: a change made in Rootly, then one ``poll_once`` (what the scheduler runs every ``FEED_POLL_SECONDS``) → the
  thread reply. With polling alone the delay is this plus the wait for the next poll: uniform over
  0…``FEED_POLL_SECONDS`` (30 s by default), so ≈ 15 s on average and at most ≈ 30 s + this;
- Rootly calls per poll: with ``--alerts`` tracked alerts each changed once since the last poll, and with none.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--alerts", type=int, default=10)
    args = parser.parse_args()
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
