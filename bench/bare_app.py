"""The baseline: a bare Bolt app that only calls ``ack()``, served by waitress the way ``rootly-bot run`` serves.

Run as a process (``python -m bench.bare_app``, configured by ``SLACK_BOT_TOKEN``, ``SLACK_SIGNING_SECRET``,
``SLACK_API_URL``, ``HOST`` and ``PORT``) or build it in-process with :func:`build_bare_app` and :func:`bare_wsgi`.
It has the same ``/healthz`` and ``/slack/events`` paths as the bot so the benchmark treats both alike.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

StartResponse = Callable[..., Any]
Wsgi = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def cli_threads() -> int:
    """The waitress thread count ``rootly-bot run`` uses, read from bot/cli.py so the two cannot drift apart."""
    import bot.cli

    found = re.search(r"create_server\(.*?\bthreads=(\d+)", Path(bot.cli.__file__).read_text(), re.S)
    if not found:
        raise RuntimeError("cannot find create_server(..., threads=N) in bot/cli.py; update bench/bare_app.py")
    return int(found.group(1))


def build_bare_app(token: str, signing_secret: str, api_url: str) -> App:
    """Bolt with one job: ``ack()`` ``/rootly`` and every block_actions payload, nothing else."""
    app = App(
        token=token,
        signing_secret=signing_secret,
        token_verification_enabled=False,
        client=WebClient(token=token, base_url=api_url),
    )

    @app.command("/rootly")
    def command(ack: Ack) -> None:
        ack()

    @app.action(re.compile(".*"))
    def action(ack: Ack) -> None:
        ack()

    return app


def bare_wsgi(app: App) -> Wsgi:
    """``POST /slack/events`` to Bolt, ``GET /healthz`` answers 200 (the benchmark polls it for readiness)."""
    slack = SlackRequestHandler(app)

    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/slack/events":
            return slack(environ, start_response)
        ok = environ.get("PATH_INFO") == "/healthz"
        body = json.dumps({"status": "ok"} if ok else {"error": "not found"}).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        start_response("200 OK" if ok else "404 Not Found", headers)
        return [body]

    return wsgi


def main() -> int:
    """Serve until SIGTERM/SIGINT, with waitress configured as in ``bot.cli.run``."""
    from waitress.server import create_server

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    env = os.environ
    app = build_bare_app(env["SLACK_BOT_TOKEN"], env["SLACK_SIGNING_SECRET"], env["SLACK_API_URL"])
    server = create_server(
        bare_wsgi(app), host=env.get("HOST", "127.0.0.1"), port=int(env["PORT"]), threads=cli_threads(), ident="bare"
    )

    def on_signal(_signum: int, _frame: object) -> None:
        server.close()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with contextlib.suppress(OSError):  # the socket closed under the loop: that is how waitress stops
        server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
