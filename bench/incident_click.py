"""One Mitigate click on a live incident message, end to end against the fakes, Rootly answering in 100 ms.

A click is three Slack requests from the person's side: the **Mitigate** button (the bot opens the modal with
``views.open``, no Rootly call), the modal's submission (the bot answers "Telling Rootly…" and works in its pool),
and what follows: the incident read, ``PUT /v1/incidents/{id}/mitigate``, the timeline entry naming who did it, then
``chat.update`` of the live message and ``views.update`` of the modal with the outcome. This measures, on one
monotonic clock:

* **submit → re-rendered**: the submission sent → the ``chat.update`` of the live message received by the Slack fake;
* **submit ack**: the submission sent → its HTTP answer;
* the **calls** one click costs, Rootly's and Slack's, by method and path, counted from the fakes' logs between the
  click and the modal's outcome (steady state: the person's Rootly user and the severities already cached).

Set-up (all on 127.0.0.1, one process): the real app (``build_app``) served by waitress against the Slack and Rootly
fakes, which validate every request against the contracts; each sample is a fresh incident whose live message is
posted first (not measured), so every click mitigates. One click is made first to warm the caches and not counted.

Run: ``.venv/bin/python -m bench.incident_click`` (``--help`` for the knobs).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from collections import Counter
from typing import Any

from bench.served_bot import BOT_TOKEN, ROOTLY_TOKEN, served_bot
from bot.render.ids import Action, Block, Callback
from tests.fakes.rootly import RootlyFake
from tests.fakes.server import Recorded
from tests.fakes.slack import SlackFake
from tests.slack_requests import SlackSender

CHANNEL = "C111"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> str:
    return (
        f"median {statistics.median(values) * 1000:7.1f}  p95 {percentile(values, 0.95) * 1000:7.1f}  "
        f"min {min(values) * 1000:7.1f}  max {max(values) * 1000:7.1f} ms"
    )


def _slack_method(r: Recorded) -> str:
    return r.path.removeprefix("/api/") if r.path.startswith("/api/") else "response_url"


def _rootly_call(r: Recorded, incident_id: str) -> str:
    return f"{r.method} {r.path.replace(incident_id, '{id}')}"


class Bench:
    def __init__(self, rootly: RootlyFake, slack: SlackFake, sender: SlackSender, app: Any) -> None:
        self.rootly, self.slack, self.sender, self.app = rootly, slack, sender, app

    def live_message(self, title: str) -> tuple[str, dict[str, Any]]:
        """A new incident and its live message in the channel (set-up, Rootly at full speed)."""
        latency, self.rootly.latency = self.rootly.latency, 0.0
        incident = self.rootly.add_incident(title)
        work = self.app.incident_work
        ts = work.messages.post(CHANNEL, work.actions.get(incident["id"]), stamp="🚨 Declared by <@U111>")
        self.rootly.latency = latency
        posted = next(m for m in self.slack.messages(CHANNEL) if m["ts"] == ts)
        return incident["id"], {"ts": ts, "text": posted.get("text", ""), "blocks": posted.get("blocks", [])}

    def click(self, n: int) -> dict[str, Any]:
        incident_id, message = self.live_message(f"Checkout is down #{n}")
        rootly_from, slack_from = len(self.rootly.requests), len(self.slack.requests)
        updates_before = len(self.slack.calls("views.update"))
        clicked = time.monotonic()
        assert self.sender.click(Action.INCIDENT_MITIGATE.value, incident_id, message=message).status_code == 200
        if not self.slack.wait_for(lambda: len(self.slack.requests) > slack_from and self._modal(slack_from), 10):
            raise RuntimeError("the Mitigate modal never opened")
        opened = self._modal(slack_from)
        assert opened is not None
        values = {Block.INCIDENT_TEXT: {Action.INCIDENT_TEXT: {"type": "plain_text_input", "value": "rolled back"}}}
        submitted = time.monotonic()
        answer = self.sender.submit_view(opened, values)
        acked = time.monotonic() - submitted
        assert answer.status_code == 200 and answer.json()["response_action"] == "update", answer.text

        def rendered() -> Recorded | None:
            return next(
                (
                    r
                    for r in list(self.slack.requests)[slack_from:]
                    if r.path == "/api/chat.update" and SlackFake._decode_params(r).get("ts") == message["ts"]
                ),
                None,
            )

        if not self.slack.wait_for(lambda: rendered() is not None, 20):
            raise RuntimeError("the live message was never re-rendered")
        if not self.slack.wait_for(lambda: len(self.slack.calls("views.update")) > updates_before, 20):
            raise RuntimeError("the modal never showed the outcome")
        time.sleep(0.05)  # anything still in flight after the outcome belongs to this click too
        update = rendered()
        assert update is not None
        rootly_calls = Counter(_rootly_call(r, incident_id) for r in list(self.rootly.requests)[rootly_from:])
        slack_calls = Counter(_slack_method(r) for r in list(self.slack.requests)[slack_from:])
        status = self.rootly.incidents[incident_id]["attributes"]["status"]
        if status != "mitigated":
            raise RuntimeError(f"the incident is {status}, not mitigated")
        return {
            "re_rendered": update.at - submitted,
            "click_to_rendered": update.at - clicked,
            "ack": acked,
            "rootly": rootly_calls,
            "slack": slack_calls,
        }

    def _modal(self, slack_from: int) -> dict[str, Any] | None:
        for r in list(self.slack.requests)[slack_from:]:
            if r.path == "/api/views.open":
                views = [v for v in self.slack.views.values() if v.get("callback_id") == Callback.INCIDENT_ACTION_MODAL]
                return views[-1] if views else None
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.1, help="seconds Rootly takes to answer (default 0.1)")
    parser.add_argument("--samples", type=int, default=30, help="clicks measured (default 30)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    rootly = RootlyFake(token=ROOTLY_TOKEN).start()
    slack = SlackFake(bot_token=BOT_TOKEN).start()
    slack.add_user("U111", "alice@example.com", "Alice Example")
    rootly.add_user("alice@example.com", "Alice Example")
    with served_bot(rootly, slack) as (app, sender):
        rootly.latency = args.latency
        bench = Bench(rootly, slack, sender, app)
        bench.click(0)  # warm: the person's Rootly user, the severities, the first connections
        samples = [bench.click(n) for n in range(1, args.samples + 1)]
    last = samples[-1]
    print(f"Rootly answers every request after {args.latency * 1000:g} ms; {len(samples)} Mitigate clicks measured.\n")
    print(f"submit → re-rendered message  {summary([s['re_rendered'] for s in samples])}")
    print(f"click → re-rendered message   {summary([s['click_to_rendered'] for s in samples])}")
    print(f"submit ack                    {summary([s['ack'] for s in samples])}")
    steady = all(s["rootly"] == last["rootly"] and s["slack"] == last["slack"] for s in samples)
    print(f"\nCalls one click costs (the same for every sample: {'yes' if steady else 'no'}):")
    print(f"  Rootly, {sum(last['rootly'].values())}: " + ", ".join(f"{k} ×{v}" for k, v in last["rootly"].items()))
    print(f"  Slack, {sum(last['slack'].values())}: " + ", ".join(f"{k} ×{v}" for k, v in last["slack"].items()))
    problems = rootly.violations + slack.violations
    if problems:
        print("Contract violations:", *problems, sep="\n  ")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
