"""``rootly-bot run | check | digest | manifest``: start the bot, say in plain words whether its configuration
works, print or post one digest, or print the Slack app manifest for a setup."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import TextIO

from bot.config import ConfigError, Settings
from bot.digests import cli as digest_cli
from bot.support import logs, metrics

log = logging.getLogger("bot")


def _settings(out: TextIO) -> Settings | None:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        if out is sys.stderr and os.environ.get("LOG_FORMAT", "").strip().lower() == "json":
            # A log shipper reads this stream: the problems as JSON lines, like every other line the bot writes.
            logs.configure("INFO", "json")
            for problem in exc.problems:
                log.error("configuration problem: %s", problem)
            return None
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
    bot.services.work.warm()  # its threads started now, not by the first burst of clicks (bench/ack_latency.py)
    # What start-up built (modules, settings, the app, its clients: ~75,000 objects) lives as long as the process.
    # Frozen, it is no longer scanned by every full garbage collection, which otherwise holds the interpreter lock
    # for ~30 ms and lands, sooner or later, in the middle of a burst of acknowledgements (bench/ack_latency.py).
    gc.freeze()

    if settings.socket_mode:
        from bot.slack.adapters.socket_mode import RequestIdSocketModeHandler

        stop = threading.Event()

        def on_signal(signum: int, _frame: object) -> None:
            log.info("signal %s: shutting down", signum)
            stop.set()

        handler = RequestIdSocketModeHandler(bot.bolt, settings.slack_app_token)
        stop_metrics = metrics.serve(settings.metrics_port)  # Socket Mode has no HTTP server of its own
        handler.connect()
        log.info("rootly-bot running in Socket Mode")
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        stop.wait()
        handler.close()
        if stop_metrics is not None:
            stop_metrics()
    else:
        from waitress.server import create_server

        from bot.ops.web import MAX_BODY_BYTES, make_wsgi

        server = create_server(
            make_wsgi(bot),
            host=settings.host,
            port=settings.port,
            threads=16,
            # A proxy in front keeps idle connections open; 100 (the default) starves new ones under load.
            connection_limit=1000,
            channel_timeout=60,
            ident="rootly-bot",
            # Bodies over the app's bound are refused by waitress itself, chunked ones included, before buffering.
            max_request_body_size=MAX_BODY_BYTES,
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
        logging.shutdown()  # os._exit skips the exit handlers: write the queued log lines first (support/log_writer.py)
        os._exit(1)  # threads still blocked on a network call would otherwise keep the process alive
    return 0


def check(settings: Settings, out: TextIO) -> int:
    """The doctor (bot/ops/doctor.py): every dependency in turn; exit status 0 only when none is broken."""
    from bot.ops import doctor

    return doctor.check(settings, out)


def _add_manifest_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from bot.ops.manifest import PLACEHOLDER_HOST
    from bot.render.ids import DEFAULT_COMMAND

    parser = sub.add_parser(
        "manifest",
        help="print the Slack app manifest (YAML) for this setup",
        description="Print a Slack app manifest: paste it at api.slack.com/apps → Create New App → From a manifest.",
    )
    parser.add_argument(
        "--command",
        dest="slash_command",  # not "command": that is the verb
        default=DEFAULT_COMMAND,
        help=f"the slash command's name (default {DEFAULT_COMMAND}); set SLACK_COMMAND to the same value",
    )
    parser.add_argument(
        "--host",
        default=PLACEHOLDER_HOST,
        help="the bot's public HTTPS host name, e.g. bot.example.com (default: a placeholder to replace)",
    )
    parser.add_argument("--socket-mode", action="store_true", help="Socket Mode: no public URL is needed")


def manifest(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from bot.ops.manifest import ManifestOptions, manifest_yaml, problems

    options = ManifestOptions(command=args.slash_command, host=args.host, socket_mode=args.socket_mode)
    if found := problems(options):
        for problem in found:
            print(problem, file=err)
        return 2
    out.write(manifest_yaml(options))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rootly-bot", description="Rootly and ilert from Slack.")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="start the bot (the default)")
    sub.add_parser("check", help="check the configuration and every connection, then exit")
    digest_cli.add_parser(sub)
    _add_manifest_parser(sub)
    args = parser.parse_args(argv)
    out = sys.stdout
    if args.command == "manifest":  # needs no configuration: it is printed before the app exists
        return manifest(args, out, sys.stderr)
    settings = _settings(out if args.command == "check" else sys.stderr)
    if settings is None:
        return 2
    logs.configure(settings.log_level, settings.log_format, settings.secrets())
    if args.command == "check":
        return check(settings, out)
    if args.command == "digest":
        from bot.app import build_app

        return digest_cli.digest(lambda: build_app(settings), args, out, sys.stderr)
    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
