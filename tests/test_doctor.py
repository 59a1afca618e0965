"""``rootly-bot check`` as a doctor: scopes granted vs needed, the Rootly key's reach, the schema version, the
webhook secret; each against the fakes, in process (tests/test_cli.py runs the real command)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert

from bot.config import Settings
from bot.ops import doctor
from bot.render.ids import REQUIRED_BOT_SCOPES
from bot.store import Database
from bot.store.migrations import LATEST, migrate, schema_migrations
from tests.conftest import bot_env
from tests.fakes.rootly import RootlyFake
from tests.fakes.server import Reply
from tests.fakes.slack import SlackFake


def run_doctor(tmp_path: Path, rootly: RootlyFake, slack: SlackFake, **overrides: str) -> tuple[int, str]:
    settings = Settings.from_env(bot_env(tmp_path, rootly, slack, **overrides))
    out = io.StringIO()
    return doctor.check(settings, out), out.getvalue()


def test_a_working_setup_passes_with_caveats_marked(tmp_path: Path, rootly: RootlyFake, slack: SlackFake) -> None:
    code, text = run_doctor(tmp_path, rootly, slack)
    assert code == 0, text
    assert f"✓ Slack scopes: all {len(REQUIRED_BOT_SCOPES)} the bot needs are granted" in text
    assert "✓ Slack commands: the commands scope is granted, so /rootly" in text
    assert "✓ Rootly key scope: it may read alerts and incidents" in text
    assert "! Database schema: empty: `rootly-bot run` creates it" in text
    assert "! Rootly webhooks: ROOTLY_WEBHOOK_SECRET is not set" in text
    assert "Everything works. 2 caveat(s) marked ! above." in text
    assert "Mode: HTTP mode on 0.0.0.0:3000; /metrics on the same port" in text


def test_missing_scopes_are_named_from_the_x_oauth_scopes_header(
    tmp_path: Path, rootly: RootlyFake, slack: SlackFake
) -> None:
    slack.granted_scopes = [s for s in REQUIRED_BOT_SCOPES if s not in ("users:read.email", "commands")]
    code, text = run_doctor(tmp_path, rootly, slack)
    assert code == 1
    assert "✗ Slack scopes: missing commands, users:read.email: add them under OAuth & Permissions" in text
    assert "Slack commands" not in text  # no commands scope: nothing to say they can arrive
    assert "1 problem(s) found." in text


def test_a_migrated_database_and_the_webhook_secret_are_all_green(
    tmp_path: Path, rootly: RootlyFake, slack: SlackFake
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'bot.db'}")
    db.create_schema()
    db.close()
    code, text = run_doctor(tmp_path, rootly, slack, ROOTLY_WEBHOOK_SECRET="whsec-0123456789")
    assert code == 0, text
    assert f"✓ Database schema: migrated (version {LATEST})" in text
    assert "✓ Rootly webhooks: ROOTLY_WEBHOOK_SECRET is set" in text
    assert text.rstrip().endswith("Everything works.")
    assert "whsec-0123456789" not in text


def test_a_schema_behind_or_ahead_of_this_release_is_reported(
    tmp_path: Path, rootly: RootlyFake, slack: SlackFake
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'bot.db'}")
    migrate(db.engine, target=LATEST - 1)
    _, text = run_doctor(tmp_path, rootly, slack)
    assert f"! Database schema: at version {LATEST - 1}, this release needs {LATEST}" in text
    db.create_schema()
    with db.engine.begin() as conn:
        conn.execute(
            insert(schema_migrations).values(version=LATEST + 1, description="future", applied_at=datetime.now(UTC))
        )
    db.close()
    code, text = run_doctor(tmp_path, rootly, slack)
    assert code == 1
    assert f"✗ Database schema: migrated by a newer release (versions {LATEST + 1}" in text


def test_a_key_that_may_not_read_incidents_is_a_problem(tmp_path: Path, rootly: RootlyFake, slack: SlackFake) -> None:
    rootly.script("GET", r"^/v1/incidents$", Reply(403, {"errors": [{"title": "Forbidden", "status": "403"}]}))
    code, text = run_doctor(tmp_path, rootly, slack)
    assert code == 1
    assert "✗ Rootly key scope: the key may not read incidents (403)" in text
    assert "✓ Rootly: API key works" in text


def test_an_unreachable_database_is_a_problem_not_a_crash(tmp_path: Path, rootly: RootlyFake, slack: SlackFake) -> None:
    (tmp_path / "dir.db").mkdir()  # a directory where the SQLite file should be
    code, text = run_doctor(tmp_path, rootly, slack, DATABASE_URL=f"sqlite:///{tmp_path / 'dir.db'}")
    assert code == 1
    assert "✗ Database:" in text


@pytest.mark.parametrize(
    ("granted", "marks"),
    [
        (None, ["!"]),
        (set(REQUIRED_BOT_SCOPES), ["✓", "✓"]),
        (set(REQUIRED_BOT_SCOPES) - {"commands"}, ["✗"]),
        (set(REQUIRED_BOT_SCOPES) | {"admin"}, ["✓", "✓"]),  # extra scopes are the admin's business, not a fault
    ],
)
def test_scope_findings(granted: set[str] | None, marks: list[str]) -> None:
    assert [f.mark.value for f in doctor.scope_findings(granted)] == marks


def test_socket_mode_checks_the_app_level_token(tmp_path: Path, rootly: RootlyFake, slack: SlackFake) -> None:
    code, text = run_doctor(tmp_path, rootly, slack, SLACK_APP_TOKEN="xapp-1-not-valid-here", METRICS_PORT="0")
    assert code == 1
    assert "Mode: Socket Mode (SLACK_APP_TOKEN set); no /metrics (port 0)" in text
    assert "✗ Socket Mode: the app-level token was refused (" in text
    assert "Rootly webhooks" not in text  # Socket Mode takes no webhooks: nothing to warn about
    assert "xapp-1-not-valid-here" not in text
