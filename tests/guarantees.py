"""Figures the guarantee tests measure, printed as a "Guarantees" table at the end of the run (tests/conftest.py).

Sizes come from the environment so CI stays fast and a person can reproduce the issue's full-size figures:

- ``GUARANTEE_OUTAGE_SECONDS`` (default 5; the issue's figure is 30): how long Rootly answers 503.
- ``GUARANTEE_ACTIONS`` (default 200): notes and acknowledgements sent during the in-process outage.
- ``GUARANTEE_RESTART_ACTIONS`` (default 60): the same through a bot process killed with SIGKILL mid-outage.
- ``GUARANTEE_FUZZ_EXAMPLES`` (default 100): hypothesis examples per fuzzed surface.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

OUTAGE_SECONDS = float(os.environ.get("GUARANTEE_OUTAGE_SECONDS", "5"))
ACTIONS = int(os.environ.get("GUARANTEE_ACTIONS", "200"))
RESTART_ACTIONS = int(os.environ.get("GUARANTEE_RESTART_ACTIONS", "60"))
FUZZ_EXAMPLES = int(os.environ.get("GUARANTEE_FUZZ_EXAMPLES", "100"))


@dataclass(frozen=True)
class Figure:
    guarantee: str
    measure: str
    value: str


_figures: list[Figure] = []
_lock = threading.Lock()


def record(guarantee: str, measure: str, value: object) -> None:
    """Keep one figure for the end-of-run table (and print it, for ``-s`` runs)."""
    shown = f"{value:.2f}" if isinstance(value, float) else str(value)
    with _lock:
        _figures.append(Figure(guarantee, measure, shown))


def figures() -> list[Figure]:
    with _lock:
        return list(_figures)


ORDER = (
    "Nothing typed is lost",
    "Nothing done twice",
    "No one in who does not belong",
    "The bot keeps serving",
    "Fuzzing",
)


def table() -> list[str]:
    """The figures as Markdown rows, grouped by guarantee (the issue's order), measured order within each."""
    rank = {name: i for i, name in enumerate(ORDER)}
    rows = ["| Guarantee | Measure | Figure |", "|---|---|---|"]
    for figure in sorted(figures(), key=lambda f: rank.get(f.guarantee, len(ORDER))):
        rows.append(f"| {figure.guarantee} | {figure.measure} | {figure.value} |")
    return rows
