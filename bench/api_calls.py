"""How many Rootly and Slack calls each action costs: the first time a person acts, and the second time.

The bot caches who a person is (``users.info`` and the Rootly user with the same email, for an hour) and the incident
form's lists (severities, services, … for 5 minutes), so a person's second action should cost no lookup. This counts
every call that reached the fakes for each action, done by a person the bot has not seen yet (first) and then again by
the same person on another alert (second), and prints them as a table.

Everything runs in this process on 127.0.0.1: the contract-checking Rootly fake, the Slack fake, and the real app
(``build_app``) served by waitress, with its background jobs started as ``rootly-bot run`` starts them (feed polling
off: feeds are fed by signed webhooks here, so no poll adds calls). Each action is sent, then the fakes are watched
until no call has arrived for ``--quiet`` seconds; calls are counted from there.

Run: ``.venv/bin/python -m bench.api_calls``.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.ack_latency import SIGNING_SECRET, InProcessServer
from bench.bare_app import Wsgi
from bench.fakes_process import BOT_TOKEN, ROOTLY_TOKEN
from bench.traffic import CHANNEL, WEBHOOK_SECRET, alert_of, webhook
from bot.render.ids import Action, Block, Callback
from tests.fakes.rootly import RootlyFake
from tests.fakes.server import Recorded
from tests.fakes.slack import SlackFake
from tests.slack_requests import SlackSender

_ALERT_PATH = re.compile(r"^/v1/(alerts|incidents)/[^/]+")


@dataclass
class Cost:
    """The calls one action caused."""

    rootly: list[str]
    slack: list[str]

    @staticmethod
    def summary(calls: Sequence[str]) -> str:
        counted = Counter(calls)
        return ", ".join(f"{n}× {name}" if n > 1 else name for name, n in counted.items()) or "—"


def rootly_name(req: Recorded) -> str:
    """``METHOD path`` without ids (``POST alerts/{id}/acknowledge``); a user lookup by email says so."""
    path = _ALERT_PATH.sub(lambda m: f"/v1/{m.group(1)}/{{id}}", req.path).removeprefix("/v1/")
    return f"{req.method} {path}" + ("?email" if "filter[email]" in req.query else "")


class Harness:
    """The fakes and the bot, and a way to count what one action costs."""

    def __init__(self, rootly: RootlyFake, slack: SlackFake, sender: SlackSender, port: int, quiet: float) -> None:
        self.rootly, self.slack, self.sender, self.port, self.quiet = rootly, slack, sender, port, quiet
        self._users = 0

    def person(self) -> str:
        """A person the bot has never seen, known to Slack and to Rootly by the same email."""
        self._users += 1
        user_id, email = f"U9{self._users:04d}", f"person{self._users}@example.com"
        self.slack.add_user(user_id, email, f"Person {self._users}")
        self.rootly.add_user(email, f"Person {self._users}")
        return user_id

    def _marks(self) -> tuple[int, int, int]:
        return len(self.rootly.requests), len(self.slack.api_log), len(self.slack.responses())

    def cost(self, action: Callable[[], Any], timeout: float = 15.0) -> Cost:
        """Run ``action``, wait until no call has reached either fake for ``quiet`` seconds, and count."""
        rootly0, slack0, replies0 = self._marks()
        action()
        deadline = time.monotonic() + timeout
        last, quiet_since = self._marks(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            now = self._marks()
            if now != last:
                last, quiet_since = now, time.monotonic()
            elif time.monotonic() - quiet_since >= self.quiet:
                break
        rootly = [rootly_name(r) for r in self.rootly.requests[rootly0:]]
        slack = [c.method for c in self.slack.api_log[slack0:]]
        slack += ["response_url"] * (len(self.slack.responses()) - replies0)
        return Cost(rootly, slack)

    def alert(self) -> dict[str, Any]:
        return self.rootly.add_alert(summary="Disk full on db-1", status="triggered")

    def posted(self, alert: dict[str, Any]) -> dict[str, Any]:
        """The alert posted to the channel's feed (by webhook); the message as Slack holds it."""
        assert webhook(self.port, alert["id"]) == 202
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for message in self.slack.messages(CHANNEL):
                if alert_of(message) == alert["id"]:
                    return message
            time.sleep(0.02)
        raise RuntimeError(f"alert {alert['id']} was not posted")

    def last_view(self, callback: str) -> dict[str, Any]:
        views = [v for v in self.slack.views.values() if v.get("callback_id") == callback]
        return views[-1]


def note_values(text: str) -> dict[str, Any]:
    return {Block.NOTE_INPUT: {Action.NOTE_TEXT: {"type": "plain_text_input", "value": text}}}


def incident_values(title: str) -> dict[str, Any]:
    return {Block.INCIDENT_TITLE: {Action.INCIDENT_TITLE: {"type": "plain_text_input", "value": title}}}


def actions(h: Harness) -> list[tuple[str, Callable[[str], Any]]]:
    """Each action as a function of who does it; every run works on a fresh alert (set up before counting)."""

    def slash(text: str) -> Callable[[str], Any]:
        def run(user: str) -> Any:
            alert = h.alert()
            short = alert["attributes"]["short_id"]
            return lambda: h.sender.slash(text.format(short), user_id=user, user_name=user.lower())

        return run

    def button(action_id: str, value: str = "rootly:{}", selected: bool = False) -> Callable[[str], Any]:
        def run(user: str) -> Any:
            message = h.posted(h.alert())
            ref = alert_of(message)
            return lambda: h.sender.click(action_id, value.format(ref), user=user, message=message, selected=selected)

        return run

    def note_button(user: str) -> Any:
        message = h.posted(h.alert())

        def run() -> None:
            h.sender.click(Action.ADD_NOTE, f"rootly:{alert_of(message)}", user=user, message=message)
            h.slack.wait_calls("views.open", len(h.slack.calls("views.open")), timeout=10)
            time.sleep(0.2)
            view = h.last_view(Callback.NOTE_MODAL)
            h.sender.submit_view(view, note_values("rebooted the replica"), user=user)

        return run

    def clicks_at_once(user: str) -> Any:
        """Five Acknowledge clicks by one person arriving together (a busy channel): one lookup, not five."""
        messages = [h.posted(h.alert()) for _ in range(5)]

        def run() -> None:
            with ThreadPoolExecutor(max_workers=5) as pool:
                for message in messages:
                    ref = alert_of(message)
                    pool.submit(h.sender.click, Action.ACKNOWLEDGE, f"rootly:{ref}", user=user, message=message)

        return run

    def alerts_list(user: str) -> Any:
        return lambda: h.sender.slash("alerts", user_id=user)

    def feed_post(user: str) -> Any:
        alert = h.alert()
        return lambda: webhook(h.port, alert["id"])

    def incident(user: str) -> Any:
        def run() -> None:
            before = {v.get("id") for v in h.slack.views.values()}
            h.sender.slash("incident Checkout is slow", user_id=user)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # the form replaces the loading view once Rootly's lists are in
                forms = [
                    v
                    for v in h.slack.views.values()
                    if v.get("callback_id") == Callback.INCIDENT_MODAL and v.get("id") not in before
                ]
                if forms:
                    break
                time.sleep(0.02)
            else:
                raise RuntimeError("the incident form never opened")
            h.sender.submit_view(forms[-1], incident_values(f"Checkout is slow ({user})"), user=user)

        return run

    return [
        ("/rootly ack <id>", slash("ack {}")),
        ("/rootly resolve <id>", slash("resolve {}")),
        ("/rootly note <id> <text>", slash("note {} rebooted the replica")),
        ("Acknowledge button", button(Action.ACKNOWLEDGE)),
        ("Resolve button", button(Action.RESOLVE)),
        ("Add note button + modal", note_button),
        ("Snooze menu (1 h)", button(Action.SNOOZE, "snooze:60|rootly:{}", selected=True)),
        ("5 Acknowledge clicks at once", clicks_at_once),
        ("/rootly alerts", alerts_list),
        ("feed post (webhook)", feed_post),
        ("/rootly incident + submit", incident),
    ]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.api_calls",
        description="Rootly and Slack calls per action, a person's first time and second time.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--quiet", type=float, default=0.4, help="seconds without a call that end an action")
    p.add_argument("--alerts", type=int, default=30, help="open alerts seeded (what /rootly alerts lists)")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    print(f"bench.api_calls: Python {sys.version.split()[0]}; every call that reached the fakes, per action")
    with (
        tempfile.TemporaryDirectory(prefix="api-calls-") as tmp,
        RootlyFake(token=ROOTLY_TOKEN) as rootly,
        SlackFake(bot_token=BOT_TOKEN) as slack,
    ):
        workdir = Path(tmp)
        for n in range(args.alerts):
            rootly.add_alert(summary=f"seeded {n}", status="triggered")
        env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "ROOTLY_API_TOKEN": ROOTLY_TOKEN,
            "ROOTLY_API_URL": rootly.url,
            "ROOTLY_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "DATABASE_URL": f"sqlite:///{workdir / 'bot.db'}",
            "FEED_POLL_SECONDS": "0",
        }

        def build() -> tuple[Wsgi, Callable[[], None]]:
            from bot.app import build_app
            from bot.config import Settings
            from bot.ops.web import make_wsgi

            bot = build_app(Settings.from_env(env))
            bot.start_background()
            return make_wsgi(bot), lambda: bot.close(grace=10)

        server = InProcessServer("bot", build, workdir)
        try:
            sender = SlackSender(f"http://127.0.0.1:{server.port}/slack/events", SIGNING_SECRET, slack.response_url())
            h = Harness(rootly, slack, sender, server.port, args.quiet)
            slack.wait_calls("auth.test", 1, timeout=10)  # warmed at start, before anything is counted
            sender.slash("feed on")
            time.sleep(args.quiet)
            rows = []
            for label, make in actions(h):
                user = h.person()
                first = h.cost(make(user))
                second = h.cost(make(user))
                rows.append((label, first, second))
        finally:
            server.close()
        print_table(rows)
        lookups = [label for label, _, second in rows if any(c.startswith("GET users") for c in second.rootly)]
        lookups += [label for label, _, second in rows if "users.info" in second.slack]
        print(f"\nSecond time, user lookups (users.info or GET users?email): {', '.join(lookups) or 'none'}")
        print(f"Rootly contract violations: {len(rootly.violations)}; Slack fake violations: {len(slack.violations)}")
    print(f"\nTotal time {time.perf_counter() - started:.0f} s")
    return 0


def print_table(rows: Sequence[tuple[str, Cost, Cost]]) -> None:
    print(
        "\nAPI calls per action: first = a person the bot has not seen; second = the same person again, another alert"
    )
    print(f"{'action':<27} {'time':<6} {'Rootly':>6} {'Slack':>5}  Rootly calls | Slack calls")
    for label, first, second in rows:
        for when, cost in (("first", first), ("second", second)):
            calls = f"{Cost.summary(cost.rootly)} | {Cost.summary(cost.slack)}"
            print(
                f"{label if when == 'first' else '':<27} {when:<6} {len(cost.rootly):>6} {len(cost.slack):>5}  {calls}"
            )
    print(f"{'/rootly snooze':<27} n/a    (no such command: snooze is on the alert message's menu)")


if __name__ == "__main__":
    sys.exit(main())
