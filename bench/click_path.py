"""Which of the bot's modules one Acknowledge click runs through, from the signed request to the re-rendered message.

Serves the real app against the fakes (as the tests do), posts an alert to a feed, warms every cache with one click,
then profiles a second Acknowledge click on a fresh alert and lists each ``bot.*`` module whose code ran while the
click was handled (request thread, work pool, Slack and Rootly calls). Run from a checkout's root:

    .venv/bin/python -m bench.click_path            # the module list and its count
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bot.config import Settings
from tests.conftest import BotServer, bot_env
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake

ACTION_ACKNOWLEDGE = "alert.acknowledge"


def _feed_message(bot: Any, rootly: RootlyFake, slack: SlackFake) -> tuple[dict[str, Any], dict[str, Any]]:
    alert = rootly.add_alert(summary="Disk full on db-1", status="triggered")
    before = len(slack.calls("chat.postMessage"))
    bot.app.services.feeds.deliver_new(bot.app.services.backends.get(_rootly()).get_alert(alert["id"]))
    call = slack.wait_calls("chat.postMessage", before + 1, timeout=10)[-1]
    message = {"ts": slack.messages(call["channel"])[-1]["ts"], "text": call["text"], "blocks": call["blocks"]}
    return alert, message


def _rootly() -> Any:
    from bot.domain import Backend

    return Backend.ROOTLY


def main() -> int:
    ran: set[str] = set()
    recording = threading.Event()

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and recording.is_set():
            name = frame.f_globals.get("__name__", "")
            if name.startswith("bot."):
                ran.add(name)

    with RootlyFake() as rootly, SlackFake() as slack, tempfile.TemporaryDirectory() as tmp:
        rootly.add_user("alice@example.com", "Alice Example")
        slack.add_user("U111", "alice@example.com", "Alice Example")
        settings = Settings.from_env(bot_env(Path(tmp), rootly, slack, FEED_POLL_SECONDS="0"))
        threading.setprofile(profile)  # before the app exists: its pools' threads inherit it
        sys.setprofile(profile)
        server = BotServer(settings, slack.response_url())
        with server as bot:
            bot.sender.slash("feed on")
            for warm in (True, False):
                alert, message = _feed_message(bot, rootly, slack)
                updates = len(slack.calls("chat.update"))
                if not warm:
                    recording.set()
                bot.sender.click(ACTION_ACKNOWLEDGE, f"rootly:{alert['id']}", message=message)
                slack.wait_calls("chat.update", updates + 1, timeout=10)
                time.sleep(0.2)  # let the work pool finish its last lines
                recording.clear()
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    for name in sorted(ran):
        print(name)
    print(f"{len(ran)} modules of bot/ ran for one Acknowledge click")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
