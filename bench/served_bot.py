"""The bot built in this process and served over HTTP by waitress, against fakes the caller started.

For benchmarks that time one surface end to end (``bench.incident_click``, ``bench.incident_modal``): one place
that builds the settings, serves the app, points a signed Slack sender at it and shuts it all down.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from waitress.server import create_server

from bot.app import BotApp, build_app
from bot.config import Settings
from bot.ops.web import make_wsgi
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.slack_requests import SlackSender

BOT_TOKEN = "xoxb-bench-token"
ROOTLY_TOKEN = "rootly-bench-token"
SIGNING_SECRET = "bench-signing-secret-0123456789"


@contextmanager
def served_bot(rootly: RootlyFake, slack: SlackFake, threads: int = 8) -> Iterator[tuple[BotApp, SlackSender]]:
    """Yield the app and a sender of signed Slack requests to it; on exit stop the server, the app and the fakes."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(
            {
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": slack.api_url,
                "ROOTLY_API_TOKEN": ROOTLY_TOKEN,
                "ROOTLY_API_URL": rootly.url,
                "DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.db'}",
                "FEED_POLL_SECONDS": "0",
            }
        )
        app = build_app(settings)
        server = create_server(make_wsgi(app), host="127.0.0.1", port=0, threads=threads)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        sender = SlackSender(f"http://127.0.0.1:{server.effective_port}/slack/events", SIGNING_SECRET, "")
        sender.response_url = slack.response_url()
        try:
            yield app, sender
        finally:
            time.sleep(0.2)  # let the last answers finish writing before the server goes
            server.close()
            thread.join(5)
            app.close()
            rootly.stop()
            slack.stop()
