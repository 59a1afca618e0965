"""Every benchmark in turn, with defaults that fit a 2-core machine in under 5 minutes: ``python -m bench``.

Each runs as its own process (``python -m bench.<name>``), one after the other, so none shares a GIL, a core or
leftover threads with another; their tables are printed as they come, then one line per target. Pass names to run
some of them (``python -m bench end_to_end api_calls``). See bench/README.md for what each measures.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# name → extra arguments: the defaults of each benchmark are already the modest ones.
BENCHMARKS: dict[str, list[str]] = {
    "ack_latency": ["--rounds", "1"],  # one side-by-side round: each burst waits out the bot's follow-up work
    "end_to_end": [],
    "api_calls": [],
    "rate_limits": [],
}
TIMEOUT = 900.0  # seconds one benchmark may take before it is stopped
VERDICT = re.compile(r"\b(PASS|FAIL)\b")


def run(name: str, args: list[str]) -> tuple[int, list[str], float]:
    """Run one benchmark, echoing its output; (exit status, its verdict lines, seconds)."""
    started = time.perf_counter()
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n{'=' * 30} bench.{name} (load average {load}) {'=' * 30}", flush=True)
    env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(
        [sys.executable, "-m", f"bench.{name}", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    verdicts = []
    assert proc.stdout is not None
    deadline = time.monotonic() + TIMEOUT
    for line in proc.stdout:
        print(line, end="", flush=True)
        if VERDICT.search(line):
            verdicts.append(line.strip())
        if time.monotonic() > deadline:
            proc.terminate()
            break
    try:
        status = proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        status = proc.wait()
    return status, verdicts, time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    names = list(argv if argv is not None else sys.argv[1:]) or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    results = {name: run(name, BENCHMARKS[name]) for name in names}
    print(f"\n{'=' * 30} summary {'=' * 30}")
    for name, (status, verdicts, seconds) in results.items():
        print(f"bench.{name}: exit {status}, {seconds:.0f} s")
        for verdict in verdicts:
            print(f"  {verdict}")
    print(f"All benchmarks: {time.perf_counter() - started:.0f} s wall time on {os.cpu_count()} CPUs")
    return max((status for status, _, _ in results.values()), default=0)


if __name__ == "__main__":
    sys.exit(main())
