"""``rootly-bot check``: a doctor that says, in plain words, whether this configuration can work, and what to fix.

Each check is independent and never raises: it returns findings, each ✓ (works), ! (works, with a caveat worth
knowing) or ✗ (does not work, and the fix). Only ✗ makes the exit status 1, so the command fits a deploy pipeline
or an init container. Nothing here writes anywhere: the database is read (not migrated), Rootly is only read, and
Slack is only asked who the bot is.

What is checked, and how:

- Slack: the token (``auth.test``) and the scopes the app was granted, from that answer's ``x-oauth-scopes``
  header, against ``REQUIRED_BOT_SCOPES``. Slack lets no bot token list its own slash commands or shortcuts, so
  those are checked through the ``commands`` scope they need, and the doctor names what manifest.yml defines.
- Socket Mode: the app-level token (``apps.connections.open`` hands out a connection URL; nothing connects).
- Rootly: the key (``/v1/users/me``) and whether it may read alerts and incidents (one item each); write access
  shows only on first use, which the line says.
- ilert: the key, and whether alerts can be raised (an alert source key is set).
- Database: reachable, and migrated to this release's schema version.
- HTTP mode: the signing secret, and the webhook secret (without it Rootly's deliveries are refused and feeds
  rely on polling).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import TextIO

from bot.config import Settings
from bot.render.ids import DEFAULT_COMMAND, REQUIRED_BOT_SCOPES, Callback
from bot.support import errors

log = logging.getLogger(__name__)


class Mark(StrEnum):
    OK = "✓"
    WARN = "!"
    FAIL = "✗"


@dataclass(frozen=True)
class Finding:
    mark: Mark
    area: str
    text: str

    def line(self) -> str:
        return f"  {self.mark.value} {self.area}: {self.text}"


SLACK_ERRORS = {
    "invalid_auth": "the bot token was rejected (invalid_auth): copy the Bot User OAuth Token again",
    "not_authed": "no bot token was sent (not_authed)",
    "account_inactive": "the token belongs to a deleted user or uninstalled app (account_inactive)",
    "token_revoked": "the bot token was revoked (token_revoked): reinstall the app and copy the new token",
}


def plain(exc: Exception) -> str:
    """An exception in a line, without tokens or request details."""
    from slack_sdk.errors import SlackApiError

    if isinstance(exc, SlackApiError):
        code = str(exc.response.get("error") or "unknown_error")
        return SLACK_ERRORS.get(code, f"Slack answered {code}")
    if isinstance(exc, errors.BackendError):
        return f"{exc.message} ({exc.status or 'no answer'})"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


Check = Callable[[Settings], Iterator[Finding]]


def _guarded(area: str, check: Check, settings: Settings) -> list[Finding]:
    """A check's findings; an exception it did not expect becomes a ✗ for its area instead of a crash."""
    try:
        return list(check(settings))
    except Exception as exc:
        log.debug("check %s failed", area, exc_info=True)
        return [Finding(Mark.FAIL, area, plain(exc))]


# Slack -----------------------------------------------------------------------------------------------------------
def scope_findings(granted: set[str] | None, command: str = DEFAULT_COMMAND) -> Iterator[Finding]:
    """Granted scopes (None: Slack did not say) against what the code needs."""
    if granted is None:
        yield Finding(Mark.WARN, "Slack scopes", "Slack did not say which scopes were granted (no x-oauth-scopes)")
        return
    missing = [s for s in REQUIRED_BOT_SCOPES if s not in granted]
    if missing:
        yield Finding(
            Mark.FAIL,
            "Slack scopes",
            f"missing {', '.join(missing)}: add them under OAuth & Permissions (or re-create the app from "
            "manifest.yml) and reinstall the app",
        )
    else:
        yield Finding(Mark.OK, "Slack scopes", f"all {len(REQUIRED_BOT_SCOPES)} the bot needs are granted")
    if "commands" in granted:
        yield Finding(
            Mark.OK,
            "Slack commands",
            f"the commands scope is granted, so {command} and the message shortcut "
            f"'{Callback.DECLARE_INCIDENT_SHORTCUT.value}' can reach the bot (Slack does not let a bot token list "
            "them: manifest.yml defines both)",
        )


def check_slack(settings: Settings) -> Iterator[Finding]:
    from bot.app import slack_client

    response = slack_client(settings).auth_test()
    yield Finding(Mark.OK, "Slack", f"connected as @{response.get('user')} in {response.get('team')}")
    header = next((v for k, v in (response.headers or {}).items() if k.lower() == "x-oauth-scopes"), None)
    if isinstance(header, list):
        header = ",".join(header)
    granted = {s.strip() for s in header.split(",") if s.strip()} if header is not None else None
    yield from scope_findings(granted, settings.slack_command)


def check_app_token(settings: Settings) -> Iterator[Finding]:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    client = WebClient(token=settings.slack_app_token, base_url=settings.slack_api_url, timeout=10)
    try:
        client.apps_connections_open(app_token=settings.slack_app_token or "")
    except SlackApiError as exc:
        code = str(exc.response.get("error") or "unknown_error")
        yield Finding(
            Mark.FAIL,
            "Socket Mode",
            f"the app-level token was refused ({code}): under Basic Information → App-Level Tokens create one with "
            "connections:write, and enable Socket Mode for the app",
        )
        return
    yield Finding(Mark.OK, "Socket Mode", "the app-level token works (Slack handed out a connection URL)")


# Rootly and ilert ------------------------------------------------------------------------------------------------
def check_rootly(settings: Settings) -> Iterator[Finding]:
    from bot.backends.rootly.client import RootlyClient
    from bot.domain import AlertFilters

    client = RootlyClient.create(settings.rootly_api_url, settings.rootly_api_token or "", timeout=10)
    try:
        me = client.me()
        yield Finding(Mark.OK, "Rootly", f"API key works, acting as {me.name} ({me.email})")
        readable, refused = [], []
        probes: dict[str, Callable[[], object]] = {
            "alerts": lambda: client.list_alerts(AlertFilters(statuses=()), limit=1),
            "incidents": lambda: client.list_incidents(limit=1),
        }
        for what, probe in probes.items():
            try:
                probe()
                readable.append(what)
            except errors.Unauthorized as exc:
                refused.append(f"{what} ({exc.status})")
        if refused:
            yield Finding(
                Mark.FAIL,
                "Rootly key scope",
                f"the key may not read {', '.join(refused)}: use a key with access to alerts and incidents "
                "(Rootly → Organization Settings → API Keys)",
            )
        else:
            yield Finding(
                Mark.OK,
                "Rootly key scope",
                f"it may read {' and '.join(readable)} (write access shows on the first acknowledgement or note)",
            )
    finally:
        client.http.close()


def check_ilert(settings: Settings) -> Iterator[Finding]:
    from bot.backends.ilert.client import IlertClient

    client = IlertClient.create(
        settings.ilert_api_url, settings.ilert_api_token or "", settings.ilert_alert_source_key, timeout=10
    )
    try:
        me = client.me()
        key = "events API key set"
        if not settings.ilert_alert_source_key:
            key = "no ILERT_ALERT_SOURCE_KEY: raising ilert alerts is off"
        yield Finding(Mark.OK, "ilert", f"API key works, acting as {me.name} ({me.email}); {key}")
    finally:
        client.http.close()


# database and HTTP mode ------------------------------------------------------------------------------------------
def check_database(settings: Settings) -> Iterator[Finding]:
    from bot.store import Database
    from bot.store.migrations import LATEST, applied_versions

    db = Database(settings.database_url)
    try:
        with db.engine.connect() as conn:
            applied = applied_versions(conn)
        yield Finding(Mark.OK, "Database", f"reachable at {db.safe_url}")
        yield from migration_findings(applied, LATEST)
    finally:
        db.close()


def migration_findings(applied: set[int], latest: int) -> Iterator[Finding]:
    newer = sorted(v for v in applied if v > latest)
    pending = sorted(set(range(1, latest + 1)) - applied)
    if newer:
        yield Finding(
            Mark.FAIL,
            "Database schema",
            f"migrated by a newer release (versions {', '.join(map(str, newer))}; this one knows up to {latest}): "
            "run that release, or restore the database from before the upgrade",
        )
    elif not applied:
        yield Finding(Mark.WARN, "Database schema", f"empty: `rootly-bot run` creates it (version {latest}) at start")
    elif pending:
        yield Finding(
            Mark.WARN,
            "Database schema",
            f"at version {max(applied)}, this release needs {latest}: `rootly-bot run` applies "
            f"{', '.join(map(str, pending))} at start (every replica waits for the one that migrates)",
        )
    else:
        yield Finding(Mark.OK, "Database schema", f"migrated (version {latest})")


def check_http_mode(settings: Settings) -> Iterator[Finding]:
    if settings.socket_mode:
        return
    if settings.rootly_webhook_secret:
        yield Finding(Mark.OK, "Rootly webhooks", "ROOTLY_WEBHOOK_SECRET is set: /rootly/webhooks verifies deliveries")
    elif settings.rootly_enabled:
        polling = (
            f"feeds poll every {settings.feed_poll_seconds:g} s instead"
            if settings.feed_poll_seconds > 0
            else "and FEED_POLL_SECONDS=0: feeds get no new alerts at all"
        )
        yield Finding(
            Mark.WARN,
            "Rootly webhooks",
            f"ROOTLY_WEBHOOK_SECRET is not set, so /rootly/webhooks refuses every delivery; {polling}",
        )


# the report ------------------------------------------------------------------------------------------------------
def findings(settings: Settings) -> list[Finding]:
    found = _guarded("Slack", check_slack, settings)
    if settings.socket_mode:
        found += _guarded("Socket Mode", check_app_token, settings)
    if settings.rootly_enabled:
        found += _guarded("Rootly", check_rootly, settings)
    if settings.ilert_enabled:
        found += _guarded("ilert", check_ilert, settings)
    found += _guarded("Database", check_database, settings)
    found += _guarded("HTTP mode", check_http_mode, settings)
    return found


def report(settings: Settings, found: list[Finding], out: TextIO) -> int:
    """Print the findings; 0 when nothing is ✗."""
    if settings.socket_mode:
        mode = "Socket Mode (SLACK_APP_TOKEN set)"
        metrics = f"/metrics on port {settings.metrics_port}" if settings.metrics_port else "no /metrics (port 0)"
    else:
        mode = f"HTTP mode on {settings.host}:{settings.port}"
        metrics = "/metrics on the same port"
    print(f"Mode: {mode}; {metrics}", file=out)
    for finding in found:
        print(finding.line(), file=out)
    failed = sum(1 for f in found if f.mark is Mark.FAIL)
    warned = sum(1 for f in found if f.mark is Mark.WARN)
    if failed:
        print(f"{failed} problem(s) found.", file=out)
    else:
        print("Everything works." + (f" {warned} caveat(s) marked ! above." if warned else ""), file=out)
    return 1 if failed else 0


def check(settings: Settings, out: TextIO) -> int:
    return report(settings, findings(settings), out)
