"""Where the ack path's time goes: the bot and a bare Bolt app, request by request, under a profiler.

``bench.ack_latency`` says how long acknowledgements take under bursts; this says what the bot does in them. It
builds both apps in this process against the fakes (Rootly answering after 2 s, so no follow-up work finishes while
measuring), calls each WSGI app directly with the same mix as ``bench.ack_latency``'s mixed burst (Acknowledge
clicks carrying the whole alert message, ``/rootly ack`` and ``/rootly note`` commands), one request at a time,
and reports:

* CPU time per request on the request thread (``time.thread_time``), without the profiler;
* under ``cProfile`` (timed by the thread's CPU clock), the request thread's own time split by where the code
  lives: the bot's entry checks (signature, replay, shape), body parsing, Bolt's dispatch and built-in
  middleware, the bot's middleware, listener matching, the listeners, command parsing, the hand-off to the work
  pool (locks), the database, logging.

Only the request thread is profiled, so the follow-up work (other threads) is not in these figures: that cost, and
what it does to the acknowledgements of a burst, is what ``bench.ack_latency`` measures and ``bot.support.ack_first``
addresses.

Run: ``.venv/bin/python -m bench.ack_profile`` (``--requests N``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
import wsgiref.util
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.ack_latency import SIGNING_SECRET, Planned, bot_env, mixed_plan
from bench.bare_app import Wsgi, bare_wsgi, build_bare_app
from bench.fakes_process import BOT_TOKEN, FakeConfig, Fakes, start_fakes
from tests.slack_requests import sign

# (label, substrings of the code's file path or of the built-in's name), first match wins.
WHERE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("bot entry checks (signature, replay, shape)", ("bot/slack/middleware/guards.py", "bot/ops/web.py")),
    ("signature HMAC", ("hmac.py", "slack_sdk/signature", "_hashlib", "openssl_sha256", "compare_digest")),
    ("listener matching", ("slack_bolt/listener_matcher", "slack_bolt/listener/listener.py", "payload_utils")),
    ("body parsing (form, JSON)", ("urllib/parse.py", "json/", "slack_bolt/request/", "urlencoding.py", "a2b_qp")),
    ("bot middleware (request log, policy gate)", ("bot/slack/middleware/",)),
    ("Bolt dispatch, kwargs and built-in middleware", ("slack_bolt/",)),
    ("command parsing", ("bot/slack/syntax.py", "bot/domain/refs.py")),
    ("listeners (ack, then hand-off)", ("bot/slack/listeners/", "bot/incidents/", "bot/oncall/", "bot/threads/")),
    ("hand-off to the work pool, locks", ("concurrent/futures", "threading.py", "ack_first.py", "work.py", "lock")),
    ("request id, context", ("request_context.py", "contextvars", "uuid.py")),
    ("database", ("sqlalchemy", "sqlite3", "bot/store/")),
    ("logging", ("logging/", "bot/support/logs.py")),
    ("Slack SDK client objects", ("slack_sdk/",)),
    ("waiting for the listener thread (Bolt's 10 ms ack poll)", ("time.sleep",)),
)


def where(file: str, name: str) -> str:
    for label, needles in WHERE:
        if any(n in file or n in name for n in needles):
            return label
    return "other"


def call(app: Wsgi, item: Planned) -> str:
    """One signed request straight into the WSGI app, as waitress would hand it over; returns the status line."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(item.body)),
        "wsgi.input": io.BytesIO(item.body),
    }
    for key, value in sign(SIGNING_SECRET, item.body).items():
        environ["HTTP_" + key.upper().replace("-", "_")] = value
    wsgiref.util.setup_testing_defaults(environ)
    status: list[str] = []
    b"".join(app(environ, lambda s, h, *a: status.append(s)))  # type: ignore[arg-type]
    return status[0]


def cpu_per_request(app: Wsgi, items: Sequence[Planned]) -> tuple[float, float]:
    """Request-thread CPU and wall time per request, ms (no profiler)."""
    cpu, wall = time.thread_time(), time.perf_counter()
    for item in items:
        assert call(app, item).startswith("200"), "a request was refused: the figures would be meaningless"
    n = len(items)
    return (time.thread_time() - cpu) / n * 1000, (time.perf_counter() - wall) / n * 1000


def profile(app: Wsgi, items: Sequence[Planned], show: str = "", top: int = 0) -> dict[str, float]:
    """Own time (tottime) per place, ms per request, on the request thread."""
    # CPU time of this thread, not wall time: the follow-up work of earlier requests runs on other threads meanwhile
    # and would otherwise count here as the time this thread waited for the interpreter lock.
    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    for item in items:
        call(app, item)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    totals: dict[str, float] = defaultdict(float)
    shown: list[tuple[float, str]] = []
    for (file, line, name), (_cc, _nc, tottime, _ct, _callers) in stats.items():
        place = where(file, name)
        totals[place] += tottime
        if show and show in place:
            shown.append((tottime, f"{file}:{line}({name})"))
    for tottime, what in sorted(shown, reverse=True)[:top]:
        print(f"    {tottime / len(items) * 1000:.3f} ms/request in {what}")
    return {k: v / len(items) * 1000 for k, v in totals.items()}


def build_apps(fakes: Fakes, workdir: Path) -> tuple[dict[str, Wsgi], Callable[[], None]]:
    from bot.app import build_app
    from bot.config import Settings
    from bot.ops.web import make_wsgi

    bot = build_app(Settings.from_env(bot_env(fakes, workdir)))
    bare = bare_wsgi(build_bare_app(BOT_TOKEN, SIGNING_SECRET, fakes.slack_api_url))

    def close() -> None:
        fakes.configure(rootly_latency=0.0)  # the follow-ups still waiting on Rootly finish in moments
        bot.services.work.drain(120)  # before the database they write to is removed
        bot.close()

    return {"bare": bare, "bot": make_wsgi(bot)}, close


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.ack_profile", description=__doc__.split("\n")[0])
    p.add_argument("--requests", type=int, default=300, help="requests per app and per measurement (a multiple of 2)")
    p.add_argument("--show", default="", help="list the biggest functions of the places whose label has this text")
    p.add_argument("--top", type=int, default=15, help="how many functions --show lists")
    args = p.parse_args(argv)
    n = max(2, args.requests // 2 * 2)
    fakes = start_fakes(FakeConfig(rootly_latency=2.0, alerts=n * 4 * 4, users=10))
    try:
        with tempfile.TemporaryDirectory(prefix="ack-profile-") as tmp:
            apps, close = build_apps(fakes, Path(tmp))
            try:
                return report(apps, fakes, n, args.show, args.top)
            finally:
                close()
    finally:
        fakes.stop()


def report(apps: dict[str, Wsgi], fakes: Fakes, n: int, show: str, top: int) -> int:
    offset = 0

    def fresh() -> list[Planned]:
        nonlocal offset
        planned = mixed_plan(fakes, offset, n // 2)  # n//2 clicks + n//2 commands
        offset += 4 * (n // 2)
        return planned

    print(f"bench.ack_profile: Python {sys.version.split()[0]}; {n} requests per app and measurement")
    print("mix: Acknowledge clicks carrying the whole alert message, and /rootly ack|note, half and half\n")
    figures: dict[str, tuple[float, float]] = {}
    places: dict[str, dict[str, float]] = {}
    for name, app in apps.items():
        cpu_per_request(app, fresh()[:20])  # warm: imports, caches, first connections
        figures[name] = cpu_per_request(app, fresh())
        if show:
            print(f"{name}, {show!r}:")
        places[name] = profile(app, fresh(), show, top)
    print(f"{'per request':<48} {'bare':>9} {'bot':>9}")
    print(f"{'CPU on the request thread, ms':<48} {figures['bare'][0]:9.3f} {figures['bot'][0]:9.3f}")
    print(f"{'wall time to the answer, ms':<48} {figures['bare'][1]:9.3f} {figures['bot'][1]:9.3f}")
    print("\nUnder cProfile: own CPU time per place, ms per request (the profiler inflates every figure alike)")
    labels = [label for label, _ in WHERE] + ["other"]
    for label in labels:
        bare, bot = places["bare"].get(label, 0.0), places["bot"].get(label, 0.0)
        if bare or bot:
            print(f"  {label:<46} {bare:9.3f} {bot:9.3f}")
    total = {k: sum(v.values()) for k, v in places.items()}
    print(f"  {'total':<46} {total['bare']:9.3f} {total['bot']:9.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
