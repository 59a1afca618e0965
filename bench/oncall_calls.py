"""Rootly and Slack calls per on-call answer: ``/rootly oncall`` the first time and again within a minute, a follow
poll with 50 followed schedules (no change, then one change), and the on-call parts of a digest and the App Home.

The promise checked (issue "Who is on call"): an answer costs at most one ``listOncalls`` plus cached lookups (the
directory of names for an hour, the on-call answer for 60 s, Slack users by email for an hour); following 50
schedules costs one ``listOncalls`` a poll, not one per schedule; a digest's and a tab's "On call" reuse the answer.

Everything runs in this process on 127.0.0.1: the contract-checking Rootly fake, the Slack fake, and the real app
(``build_app``) served by waitress. The scheduler is not started, so nothing polls on its own: the follow poll is
run by hand (``FollowPoller.poll_once``, what the ``oncall-follow`` job runs). Each step is counted from the calls
that reached the fakes until none arrived for ``--quiet`` seconds.

Run: ``.venv/bin/python -m bench.oncall_calls``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.ack_latency import SIGNING_SECRET, InProcessServer
from bench.api_calls import Cost, Harness
from bench.bare_app import Wsgi
from bench.fakes_process import BOT_TOKEN, ROOTLY_TOKEN
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.slack_requests import SlackSender

TEAM_CHANNEL = "C111"
OTHER_CHANNEL = "C999"
FOLLOW_CHANNEL = "C555"


def seed(rootly: RootlyFake, slack: SlackFake, schedules: int) -> dict[str, Any]:
    """Team Platform (channel C111) with a two-level policy; ``schedules`` more schedules, each with a policy and
    someone on call, all known to Slack by email; Alice (U111) among Platform's members and on call."""
    now = datetime.now(UTC).replace(microsecond=0)
    slack.add_user("U111", "alice@example.com", "Alice Example")
    alice = rootly.add_user("alice@example.com", "Alice Example")
    bob = rootly.add_user("bob@example.com", "Bob Builder")
    slack.add_user("U222", "bob@example.com", "Bob Builder")
    platform = rootly.add_team("Platform", "platform", slack_channels=[(TEAM_CHANNEL, "ops")], members=[alice, bob])
    rootly.add_service("Payments", "payments")
    primary = rootly.add_schedule("Primary")
    policy = rootly.add_escalation_policy("Platform EP", levels=2, teams=[platform], services=["payments"])
    rootly.add_oncall(policy, 1, alice, now - timedelta(hours=1), now + timedelta(hours=8), schedule_id=primary)
    rootly.add_oncall(policy, 2, bob, now - timedelta(hours=1), now + timedelta(hours=8))
    followed = []
    for n in range(schedules):
        user = rootly.add_user(f"oncall{n}@example.com", f"On Call {n}")
        slack.add_user(f"U7{n:04d}", f"oncall{n}@example.com", f"On Call {n}")
        schedule = rootly.add_schedule(f"Rota {n:02d}")
        rotation = rootly.add_escalation_policy(f"Rota EP {n:02d}", levels=1)
        rootly.add_oncall(rotation, 1, user, now - timedelta(hours=1), now + timedelta(hours=8), schedule_id=schedule)
        followed.append((schedule, f"Rota {n:02d}"))
    for n in range(5):
        rootly.add_alert(summary=f"open alert {n}", services=["payments"])
    rootly.add_incident("Checkout down")
    return {"followed": followed, "now": now}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.oncall_calls",
        description="Rootly and Slack calls per on-call answer, follow poll, digest and App Home.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--quiet", type=float, default=0.4, help="seconds without a call that end a step")
    p.add_argument("--follows", type=int, default=50, help="schedules followed in one channel")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    print(f"bench.oncall_calls: Python {sys.version.split()[0]}; every call that reached the fakes, per step")
    with (
        tempfile.TemporaryDirectory(prefix="oncall-calls-") as tmp,
        RootlyFake(token=ROOTLY_TOKEN) as rootly,
        SlackFake(bot_token=BOT_TOKEN) as slack,
    ):
        workdir = Path(tmp)
        seeded = seed(rootly, slack, args.follows)
        env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "ROOTLY_API_TOKEN": ROOTLY_TOKEN,
            "ROOTLY_API_URL": rootly.url,
            "DATABASE_URL": f"sqlite:///{workdir / 'bot.db'}",
            "FEED_POLL_SECONDS": "0",
        }
        holder: dict[str, Any] = {}

        def build() -> tuple[Wsgi, Callable[[], None]]:
            from bot.app import build_app
            from bot.config import Settings
            from bot.ops.web import make_wsgi

            bot = build_app(Settings.from_env(env))
            bot.authorization.warm()  # auth.test once, as `rootly-bot run` does at start: not an answer's cost
            holder["bot"] = bot
            return make_wsgi(bot), lambda: bot.close(grace=10)

        server = InProcessServer("bot", build, workdir)
        rows: list[tuple[str, Cost]] = []
        try:
            bot = holder["bot"]
            sender = SlackSender(f"http://127.0.0.1:{server.port}/slack/events", SIGNING_SECRET, slack.response_url())
            h = Harness(rootly, slack, sender, server.port, args.quiet)
            slash = sender.slash
            elsewhere = lambda: slash("oncall", channel_id=OTHER_CHANNEL)  # noqa: E731

            rows.append(("/rootly oncall, team channel: first", h.cost(lambda: slash("oncall"))))
            rows.append(("  again within 60 s", h.cost(lambda: slash("oncall"))))
            rows.append(("  other channel (everyone), first", h.cost(elsewhere)))
            rows.append(("  other channel again", h.cost(elsewhere)))
            rows.append(("/rootly oncall primary (schedule)", h.cost(lambda: slash("oncall primary"))))
            rows.append(("digest now (On call + Open incidents)", h.cost(lambda: slash("digest now"))))
            rows.append(("App Home opened (On call section)", h.cost(lambda: open_home(sender))))

            for _, name in seeded["followed"]:  # set-up, not counted
                slash(f'oncall follow "{name}"', channel_id=FOLLOW_CHANNEL)
            h.cost(lambda: None)
            followed = len(bot.oncall.follows.all())
            poller = bot.oncall.poller
            rows.append((f"follow poll, {followed} followed: no change", h.cost(poller.poll_once)))
            first_schedule = seeded["followed"][0][0]
            newcomer = rootly.add_user("newcomer@example.com", "New Comer")
            now = datetime.now(UTC)
            rootly.call(
                "POST",
                f"/v1/schedules/{first_schedule}/override_shifts",
                {
                    "data": {
                        "type": "shifts",
                        "attributes": {
                            "starts_at": (now - timedelta(minutes=1)).isoformat(),
                            "ends_at": (now + timedelta(hours=1)).isoformat(),
                            "user_id": newcomer,
                        },
                    }
                },
            )
            rows.append((f"follow poll, {followed} followed: one change", h.cost(poller.poll_once)))
        finally:
            server.close()
        print_table(rows)
        print(f"Rootly contract violations: {len(rootly.violations)}; Slack fake violations: {len(slack.violations)}")
    print(f"\nTotal time {time.perf_counter() - started:.0f} s")
    return 0


def open_home(sender: SlackSender) -> None:
    """The ``app_home_opened`` event for Alice (slack-payloads/app_home_opened.json)."""
    envelope = {
        "token": "verification_token",
        "team_id": "T111",
        "api_app_id": "A111",
        "event": {"type": "app_home_opened", "user": "U111", "channel": "D111", "tab": "home", "event_ts": "1.1"},
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10]}",
        "event_time": 1599616881,
    }
    sender.post(json.dumps(envelope).encode(), "application/json")


def print_table(rows: Sequence[tuple[str, Cost]]) -> None:
    print("\nCalls per step (Rootly calls | Slack calls; response_url = the answer to the person)")
    print(f"{'step':<42} {'Rootly':>6} {'Slack':>5}  Rootly calls | Slack calls")
    for label, cost in rows:
        calls = f"{Cost.summary(cost.rootly)} | {Cost.summary(cost.slack)}"
        print(f"{label:<42} {len(cost.rootly):>6} {len(cost.slack):>5}  {calls}")


if __name__ == "__main__":
    sys.exit(main())
