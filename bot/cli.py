"""``rootly-bot run | check | digest``: start the bot, say in plain words whether its configuration works, or
print or post one digest."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TextIO

from bot import digest_cli, errors, logs
from bot.config import ConfigError, Settings

log = logging.getLogger("bot")


def _settings(out: TextIO) -> Settings | None:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        print("The configuration has problems (see .env.example and the README):", file=out)
        for problem in exc.problems:
            print(f"  ✗ {problem}", file=out)
        return None


# Seconds a stopping bot gives work already accepted (replies, notes on their way to Rootly) to finish; under
# Kubernetes' default 30-second termination grace.
SHUTDOWN_GRACE = 20.0


def run(settings: Settings) -> int:
    from bot.app import build_app

    bot = build_app(settings)
    bot.start_background()

    if settings.socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        stop = threading.Event()

        def on_signal(signum: int, _frame: object) -> None:
            log.info("signal %s: shutting down", signum)
            stop.set()

        handler = SocketModeHandler(bot.bolt, settings.slack_app_token)
        handler.connect()
        log.info("rootly-bot running in Socket Mode")
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        stop.wait()
        handler.close()
    else:
        from waitress.server import create_server

        from bot.web import make_wsgi

        server = create_server(
            make_wsgi(bot),
            host=settings.host,
            port=settings.port,
            threads=16,
            # A proxy in front keeps idle connections open; 100 (the default) starves new ones under load.
            connection_limit=1000,
            channel_timeout=60,
            ident="rootly-bot",
        )
        log.info(
            "rootly-bot listening on http://%s:%s (POST /slack/events, GET /healthz)", settings.host, settings.port
        )

        def on_http_signal(signum: int, _frame: object) -> None:
            # waitress's loop stops on SystemExit and lets requests in flight finish; idle keep-alive connections
            # would otherwise hold it open for channel_timeout.
            log.info("signal %s: shutting down", signum)
            raise SystemExit(0)

        signal.signal(signal.SIGTERM, on_http_signal)
        signal.signal(signal.SIGINT, on_http_signal)
        server.run()
        server.close()
    drained = bot.close(grace=SHUTDOWN_GRACE)
    if not drained:
        log.error("stopped with work unfinished after %.0f s; exiting anyway", SHUTDOWN_GRACE)
        os._exit(1)  # threads still blocked on a network call would otherwise keep the process alive
    return 0


def check(settings: Settings, out: TextIO) -> int:
    """Each dependency in turn; exit status 0 only when all of them work."""
    from bot.app import slack_client
    from bot.rootly.client import RootlyClient
    from bot.store import Database

    results: list[tuple[bool, str]] = []

    def attempt(label: str, fn: Callable[[], str]) -> None:
        try:
            results.append((True, f"{label}: {fn()}"))
        except errors.BackendError as exc:
            results.append((False, f"{label}: {exc.message} ({exc.status or 'no answer'})"))
        except Exception as exc:
            results.append((False, f"{label}: {_plain(exc)}"))

    def slack() -> str:
        resp = slack_client(settings).auth_test()
        return f"connected as @{resp.get('user')} in {resp.get('team')}"

    attempt("Slack", slack)
    if settings.rootly_enabled:

        def rootly() -> str:
            client = RootlyClient.create(settings.rootly_api_url, settings.rootly_api_token or "", timeout=10)
            me = client.me()
            return f"API key works, acting as {me.name} ({me.email})"

        attempt("Rootly", rootly)

    if settings.ilert_enabled:

        def ilert() -> str:
            from bot.ilert.client import IlertClient

            client = IlertClient.create(
                settings.ilert_api_url, settings.ilert_api_token or "", settings.ilert_alert_source_key, timeout=10
            )
            me = client.me()
            key = "events API key set"
            if not settings.ilert_alert_source_key:
                key = "no ILERT_ALERT_SOURCE_KEY: raising ilert alerts is off"
            return f"API key works, acting as {me.name} ({me.email}); {key}"

        attempt("ilert", ilert)

    def database() -> str:
        db = Database(settings.database_url)
        db.ping()
        db.close()
        return f"reachable at {db.safe_url}"

    attempt("Database", database)
    mode = (
        "Socket Mode (SLACK_APP_TOKEN set)" if settings.socket_mode else f"HTTP mode on {settings.host}:{settings.port}"
    )
    print(f"Mode: {mode}", file=out)
    for ok, line in results:
        print(f"  {'✓' if ok else '✗'} {line}", file=out)
    failed = sum(1 for ok, _ in results if not ok)
    print("Everything works." if not failed else f"{failed} problem(s) found.", file=out)
    return 0 if not failed else 1


_SLACK_ERRORS = {
    "invalid_auth": "the bot token was rejected (invalid_auth): copy the Bot User OAuth Token again",
    "not_authed": "no bot token was sent (not_authed)",
    "account_inactive": "the token belongs to a deleted user or uninstalled app (account_inactive)",
    "token_revoked": "the bot token was revoked (token_revoked): reinstall the app and copy the new token",
}


def _plain(exc: Exception) -> str:
    """An exception in a line, without tokens or request details."""
    from slack_sdk.errors import SlackApiError

    if isinstance(exc, SlackApiError):
        code = str(exc.response.get("error") or "unknown_error")
        return _SLACK_ERRORS.get(code, f"Slack answered {code}")
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rootly-bot", description="Rootly and ilert from Slack.")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="start the bot (the default)")
    sub.add_parser("check", help="check the configuration and every connection, then exit")
    digest_cli.add_parser(sub)
    args = parser.parse_args(argv)
    out = sys.stdout
    settings = _settings(out if args.command == "check" else sys.stderr)
    if settings is None:
        return 2
    logs.configure(settings.log_level, settings.log_format, settings.secrets())
    if args.command == "check":
        return check(settings, out)
    if args.command == "digest":
        return digest_cli.digest(settings, args, out, sys.stderr)
    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
