"""How fast the incident modal opens while Rootly takes 2 s to answer every call.

Slack's ``trigger_id`` expires 3 s after the click, so the bot must call ``views.open`` before then whatever Rootly
does. This builds the real app (``build_app``), serves it with waitress on 127.0.0.1 against the Slack and Rootly
fakes (Rootly answering every request after ``--latency`` seconds), sends signed "Declare incident" message
shortcuts and ``/rootly incident`` commands, and measures on one monotonic clock:

* **ack**: request sent → HTTP answer received by "Slack";
* **views.open**: request sent → the bot's ``views.open`` received by the Slack fake (what the trigger window bounds);
* **filled**: request sent → the ``views.update`` that replaces the loading state with the form.

Each kind runs with the picker cache cold (every Rootly list read again) and warm (lists cached for 5 minutes).

Run: ``.venv/bin/python -m bench.incident_modal`` (``--help`` for the knobs).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from collections.abc import Callable
from urllib.parse import urlencode

from bench.served_bot import BOT_TOKEN, ROOTLY_TOKEN, served_bot
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.slack_requests import SLASH_COMMAND, SlackSender

TRIGGER_WINDOW = 3.0


def shortcut_body(channel: str, message: dict, response_url: str) -> bytes:
    payload = {
        "type": "message_action",
        "token": "verification_token",
        "action_ts": f"{time.time():.6f}",
        "team": {"id": "T111", "domain": "bench"},
        "user": {"id": "U111", "name": "alice"},
        "channel": {"id": channel, "name": "oncall"},
        "callback_id": "declare_incident",
        "trigger_id": "111.222.bench",
        "message_ts": message["ts"],
        "message": {"type": "message", **message},
        "response_url": response_url,
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def slash_body(response_url: str) -> bytes:
    form = {**SLASH_COMMAND, "text": "incident Checkout is failing", "response_url": response_url}
    return urlencode(form).encode()


def api_times(slack: SlackFake, method: str) -> list[float]:
    return [r.at for r in list(slack.requests) if r.path == f"/api/{method}"]


def measure(
    sender: SlackSender, slack: SlackFake, body: bytes, content_type: str, *, filled: bool
) -> tuple[float, float, float | None]:
    """(ack, views.open, filled) seconds for one request; ``filled`` None when the form opened filled at once."""
    opens, updates = len(api_times(slack, "views.open")), len(api_times(slack, "views.update"))
    sent = time.monotonic()
    answer = sender.post(body, content_type)
    acked = time.monotonic() - sent
    assert answer.status_code == 200, answer.text
    if not slack.wait_for(lambda: len(api_times(slack, "views.open")) > opens, 10):
        raise RuntimeError("views.open never arrived")
    opened = api_times(slack, "views.open")[opens] - sent
    if not filled:
        return acked, opened, None
    if not slack.wait_for(lambda: len(api_times(slack, "views.update")) > updates, 20):
        raise RuntimeError("the form never replaced the loading view")
    return acked, opened, api_times(slack, "views.update")[updates] - sent


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"min {ordered[0] * 1000:7.1f}  median {statistics.median(ordered) * 1000:7.1f}  "
        f"p95 {p95 * 1000:7.1f}  max {ordered[-1] * 1000:7.1f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=2.0, help="seconds Rootly takes to answer (default 2.0)")
    parser.add_argument("--runs", type=int, default=10, help="requests per kind and cache state (default 10)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    rootly = RootlyFake(token=ROOTLY_TOKEN).start()
    slack = SlackFake(bot_token=BOT_TOKEN).start()
    slack.add_user("U111", "alice@example.com", "Alice Example")
    for i in range(20):
        rootly.add_service(f"Service {i}")
    with served_bot(rootly, slack) as (app, sender):
        declarations = app.incidents
        assert declarations is not None
        rootly.latency = args.latency
        form = "application/x-www-form-urlencoded"

        def shortcut() -> bytes:
            ts = slack.add_message("C111", "Checkout is failing for EU customers <@U111>", user="U111")
            message = next(m for m in slack.messages("C111") if m["ts"] == ts)
            return shortcut_body("C111", message, sender.response_url)

        kinds: list[tuple[str, Callable[[], bytes], bool]] = [
            ("shortcut, cold cache", shortcut, True),
            ("shortcut, warm cache", shortcut, False),
            ("/rootly incident, cold", lambda: slash_body(sender.response_url), True),
            ("/rootly incident, warm", lambda: slash_body(sender.response_url), False),
        ]
        print(f"Rootly answers every request after {args.latency:g} s; {args.runs} requests of each kind.\n")
        worst = 0.0
        for name, body, cold in kinds:
            acks, opens, fills = [], [], []
            for _ in range(args.runs):
                if cold:
                    declarations.pickers.forget()
                else:
                    declarations.pickers.load()  # warm: every list in the cache
                waits_for_fill = cold or name.startswith("shortcut")
                acked, opened, filled = measure(sender, slack, body(), form, filled=waits_for_fill)
                acks.append(acked)
                opens.append(opened)
                if filled is not None:
                    fills.append(filled)
            worst = max(worst, *opens)
            print(name)
            print(f"  ack         {summary(acks)}")
            print(f"  views.open  {summary(opens)}")
            if fills:
                print(f"  filled      {summary(fills)}")
            else:
                print("  filled      opened filled (no loading state)")
    verdict = "inside" if worst < TRIGGER_WINDOW else "OUTSIDE"
    print(f"\nSlowest views.open: {worst * 1000:.1f} ms — {verdict} Slack's {TRIGGER_WINDOW:g} s trigger window.")
    problems = rootly.violations + slack.violations
    if problems:
        print("Contract violations:", *problems, sep="\n  ")
    return 0 if worst < TRIGGER_WINDOW and not problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
