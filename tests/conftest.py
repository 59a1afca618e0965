"""Shared fixtures: the fakes as real HTTP servers, and the real bot served over HTTP against them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from waitress.server import create_server

from bot.app import BotApp, build_app
from bot.config import Settings
from bot.ops.web import make_wsgi
from tests.fakes.ilert import IlertFake
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.postgres import database_url, postgres_server, postgres_url  # noqa: F401 (fixtures)
from tests.slack_requests import SlackSender

SIGNING_SECRET = "test-signing-secret-0123456789"
BOT_TOKEN = "xoxb-test-token"
ROOTLY_TOKEN = "rootly-test-token"
ILERT_TOKEN = "ilert-test-token-0123456789"
ILERT_SOURCE_KEY = "il1api-test-source-key"


@pytest.fixture
def rootly() -> Iterator[RootlyFake]:
    fake = RootlyFake(token=ROOTLY_TOKEN).start()
    try:
        yield fake
    finally:
        fake.stop()
    assert fake.violations == [], "requests or responses broke the Rootly contract"


@pytest.fixture
def ilert() -> Iterator[IlertFake]:
    fake = IlertFake(api_token=ILERT_TOKEN, source_key=ILERT_SOURCE_KEY).start()
    try:
        yield fake
    finally:
        fake.stop()
    assert fake.violations == [], "requests or responses broke the ilert contract"


def ilert_env(ilert: IlertFake) -> dict[str, str]:
    """Settings that add ilert beside Rootly (pass ``ROOTLY_API_TOKEN=""`` too for ilert alone)."""
    return {"ILERT_API_TOKEN": ILERT_TOKEN, "ILERT_API_URL": ilert.api_url, "ILERT_ALERT_SOURCE_KEY": ILERT_SOURCE_KEY}


@pytest.fixture
def slack() -> Iterator[SlackFake]:
    fake = SlackFake(bot_token=BOT_TOKEN).start()
    fake.add_user("U111", "alice@example.com", "Alice Example")
    try:
        yield fake
    finally:
        fake.stop()
    assert fake.violations == [], "the bot sent Slack something Slack would refuse"


def bot_env(tmp_path: Path, rootly: RootlyFake, slack: SlackFake, **overrides: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "ROOTLY_API_TOKEN": ROOTLY_TOKEN,
        "ROOTLY_API_URL": rootly.url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "ROOTLY_TIMEOUT": "5",
        "RATE_LIMIT_BUDGET": "5",
        **overrides,
    }


@dataclass
class RunningBot:
    app: BotApp
    url: str
    sender: SlackSender


class BotServer:
    """The real app, served by waitress on 127.0.0.1, as `rootly-bot run` serves it."""

    def __init__(self, settings: Settings, response_url: str) -> None:
        self.app = build_app(settings)
        self.server = create_server(make_wsgi(self.app), host="127.0.0.1", port=0, threads=8)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.closing = False
        self.sender = SlackSender(f"{self.url}/slack/events", SIGNING_SECRET, response_url)

    def __enter__(self) -> RunningBot:
        self.thread.start()
        return RunningBot(self.app, self.url, self.sender)

    def _serve(self) -> None:
        try:
            self.server.run()
        except OSError:
            if not self.closing:  # closing the socket under waitress's select loop is how it stops
                raise

    def __exit__(self, *exc: object) -> None:
        self.closing = True
        self.server.close()
        self.thread.join(5)
        self.app.close()


@pytest.fixture
def make_bot(tmp_path: Path, rootly: RootlyFake, slack: SlackFake):  # type: ignore[no-untyped-def]
    """Build and serve a bot with extra settings: ``with make_bot(ATTRIBUTION_NOTES='false') as bot: …``."""

    def factory(**overrides: str) -> BotServer:
        settings = Settings.from_env(bot_env(tmp_path, rootly, slack, **overrides))
        return BotServer(settings, slack.response_url())

    return factory


@pytest.fixture
def bot(make_bot) -> Iterator[RunningBot]:  # type: ignore[no-untyped-def]
    with make_bot() as running:
        yield running


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    """Print the figures the guarantee tests measured (tests/guarantees.py), so CI's log shows them."""
    from tests.guarantees import figures, table

    if not figures():
        return
    terminalreporter.section("Guarantees")
    for row in table():
        terminalreporter.write_line(row)
