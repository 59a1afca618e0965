"""Container health check: ``python -m bot.ops.healthcheck`` exits 0 when the bot is healthy, 1 when it is not.

Why a module and not ``curl``: slim Python images have no curl or wget, and the check has to know which mode the
bot runs in. In HTTP mode the bot serves ``GET /healthz`` (200 once the app is ready), so the check asks it on the
loopback interface. In Socket Mode (``SLACK_APP_TOKEN`` set) there is no HTTP server at all; a failing probe there
would mark a working bot unhealthy and get it restarted in a loop, so the check reports healthy and leaves liveness
to the process itself (if the bot exits, the container stops and its restart policy applies).

The check needs nothing but the standard library and the environment (python-dotenv only to read ``.env``), so it
stays cheap and cannot fail on configuration errors that are the bot's to report. Like the bot, it reads ``.env``
from the working directory when there is one, the real environment taking precedence. Proxy variables
(``HTTP_PROXY`` …) are ignored: the probe is local.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

DEFAULT_PORT = "3000"
HEALTH_PATH = "/healthz"
TIMEOUT_SECONDS = 3.0
_WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]", "*"}


def read_env(cwd: Path | None = None) -> dict[str, str]:
    """The environment the bot sees: ``.env`` in the working directory, overridden by the process environment."""
    env: dict[str, str] = {}
    dotenv = (cwd or Path.cwd()) / ".env"
    if dotenv.is_file():
        try:
            from dotenv import dotenv_values
        except ImportError:  # pragma: no cover - python-dotenv is a dependency of the bot
            pass
        else:
            env.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    env.update(os.environ)
    return env


def health_url(env: Mapping[str, str]) -> str | None:
    """The URL to probe, or ``None`` in Socket Mode, where the bot serves no HTTP."""
    if env.get("SLACK_APP_TOKEN", "").strip():
        return None
    host = env.get("HOST", "").strip()
    if host in _WILDCARD_HOSTS:
        host = "127.0.0.1"  # listening on every interface includes loopback
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # a bare IPv6 address
    port = env.get("PORT", "").strip() or DEFAULT_PORT
    return f"http://{host}:{port}{HEALTH_PATH}"


def check(env: Mapping[str, str], timeout: float = TIMEOUT_SECONDS) -> int:
    """0 if the bot answers 200 on its health URL (or runs in Socket Mode), 1 otherwise."""
    url = health_url(env)
    if url is None:
        return 0
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never send a local probe to a proxy
    try:
        with opener.open(url, timeout=timeout) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError, ValueError):
        # URLError covers HTTP errors (503 while starting) and connection refused; ValueError a malformed PORT.
        return 1


def main(env: Mapping[str, str] | None = None) -> int:
    return check(read_env() if env is None else env)


if __name__ == "__main__":
    sys.exit(main())
