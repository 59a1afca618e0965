"""Fuzzing at the goal's size: generated inputs on every surface, counting 5xx answers and unhandled exceptions.

The surfaces (``tests/fuzz_surfaces.py``): ``/rootly`` text, block actions on every action id, view submissions on
every callback id, global and message shortcuts, options requests for external selects, Events API callbacks
(``app_home_opened``, thread replies, anything else) and Rootly webhooks (the bot has no ilert webhook). Each case
starts from the shape Slack (or Rootly) really sends and often breaks it; every case is correctly signed.

The bot is the real app served over HTTP by waitress in this process (``tests.conftest.BotServer``), on the Rootly
and Slack fakes with OpenAPI validation on, a feed on in the channel. Counted per surface: cases, answers ≥ 500,
answers over Slack's 3 s, unhandled exceptions (records logged at ERROR with a traceback by the bot or Bolt: the
failures middleware logs every listener that raised, the work pool every job that did) and contract violations
the fakes recorded. PASS needs 0 5xx and 0 unhandled exceptions on every surface and 0 violations.

Run: ``.venv/bin/python -m bench.fuzz`` (10,000 a surface; ``--cases 200`` is the default suite's size, which
``tests/test_fuzz_surfaces.py`` runs; ``--surface events`` for one).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from tests.fuzz_surfaces import SURFACES, Target, Unhandled, where


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000, help="generated inputs per surface (default 10000)")
    parser.add_argument("--surface", action="append", choices=SURFACES, help="only this surface (repeatable)")
    parser.add_argument("--workers", type=int, default=4, help="concurrent senders (default 4)")
    parser.add_argument("--seed", type=int, default=1, help="the generators' seed (default 1)")
    args = parser.parse_args(argv)
    # ERROR records must reach the counting handler (the bot's warnings about bad input are expected: not shown).
    logging.basicConfig(level=logging.ERROR, handlers=[logging.NullHandler()])
    surfaces = args.surface or list(SURFACES)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        target = Target(Path(tmp))
        try:
            print(f"{'surface':18} {'cases':>7} {'5xx':>5} {'>3 s':>5} {'slowest':>8} {'unhandled':>9}  statuses  time")
            for n, surface in enumerate(surfaces):
                started = time.monotonic()
                with Unhandled() as unhandled:
                    tally = target.driver.run(surface, args.cases, args.seed * 100 + n, target.alert_ids, args.workers)
                    time.sleep(0.5)  # work the last cases started
                took = time.monotonic() - started
                statuses = " ".join(f"{code}×{count}" for code, count in sorted(tally.statuses.items()))
                print(
                    f"{surface:18} {tally.cases:>7} {tally.server_errors:>5} {tally.slow:>5} {tally.slowest:>7.2f}s"
                    f" {len(unhandled.records):>9}  {statuses}  {took:.0f} s",
                    flush=True,
                )
                for record in unhandled.records[:3]:
                    print("   ", where(record).replace("\n", "\n    "))
                for example in tally.examples[:3]:
                    print("   ", example)
                ok &= tally.server_errors == 0 and not unhandled.records
        finally:
            target.close()
        violations = target.violations()
    print(f"contract or Slack-limit violations: {len(violations)}")
    for v in violations[:5]:
        print("   ", v[:300])
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    ok &= not violations
    print(f"{'PASS' if ok else 'FAIL'}: 0 5xx, 0 unhandled exceptions, 0 violations on {len(surfaces)} surfaces")
    return 0 if ok else 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # threads of the in-process fakes and bot may linger in timed waits; everything is printed
