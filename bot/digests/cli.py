"""``rootly-bot digest --channel C123 [filters] [--print]``: the digest a channel would get, printed as Block Kit
JSON (nothing is posted) or posted once. Useful to preview a digest, or to post one from cron or CI."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Protocol, TextIO

from bot.digests.service import Digests
from bot.support import errors


class BuiltApp(Protocol):
    digests: Digests | None

    def close(self, grace: float = 0.0) -> bool: ...


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("digest", help="print (--print) or post one digest of open alerts to a channel")
    parser.add_argument("--channel", required=True, help="Slack channel id, e.g. C0123456789")
    parser.add_argument(
        "--print", action="store_true", dest="print_only", help="print the Block Kit JSON, post nothing"
    )
    parser.add_argument("filters", nargs="*", help="service:<slug> urgency:<name> source:<name> status:<s>")


def digest(build: Callable[[], BuiltApp], args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``build`` makes the app (bot/cli.py passes ``build_app`` with the settings): the feature does not wire it."""
    from bot.digests.service import PostRefused
    from bot.digests.store import Empty
    from bot.slack.syntax import FilterError, parse_filters

    try:
        filters = parse_filters(list(args.filters))
    except FilterError as exc:
        print(f"✗ {exc}", file=err)
        return 2
    bot = build()
    try:
        digests = bot.digests
        assert digests is not None
        message = digests.render(filters, empty=Empty.NOTE, channel=args.channel)  # the channel's team on call
        assert message is not None
        if args.print_only:
            print(json.dumps({"channel": args.channel, **message}, indent=2, ensure_ascii=False), file=out)
            return 0
        ts = digests.poster.post(args.channel, message)
        print(f"Posted the digest to {args.channel} (ts {ts}).", file=out)
        return 0
    except errors.BackendError as exc:
        print(f"✗ Could not read the alerts: {exc.message}", file=err)
        return 1
    except PostRefused as exc:
        print(f"✗ Slack refused the digest: {exc.code}", file=err)
        return 1
    finally:
        bot.close()
