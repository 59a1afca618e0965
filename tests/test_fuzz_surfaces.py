"""Every surface, fuzzed with generated inputs (``tests/fuzz_surfaces.py``): slash text, block actions on every
action id, view submissions on every callback id, global and message shortcuts, options requests for external
selects, Events API callbacks and Rootly webhooks.

Each surface gets ``FUZZ_CASES`` cases (200 by default; ``bench/fuzz.py`` is the long run at 10,000 a surface), all
correctly signed. None may be answered 5xx, nothing may be logged at ERROR with a traceback (an exception nothing
handled: the failures middleware logs every listener that raised, the work pool every job that did), and nothing
the bot then sent may break Rootly's contract or Slack's limits.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests import guarantees
from tests.fuzz_surfaces import SURFACES, Target, Unhandled, where

CASES = int(os.environ.get("FUZZ_CASES", "200"))


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    state = Target(tmp_path_factory.mktemp("fuzz-surfaces"))
    try:
        yield state
    finally:
        state.close()
    assert state.violations() == []


@pytest.mark.parametrize("surface", SURFACES)
def test_generated_inputs_get_no_server_error_and_no_unhandled_exception(target: Target, surface: str) -> None:
    with Unhandled() as unhandled:
        tally = target.driver.run(surface, CASES, seed=SURFACES.index(surface) + 1, alert_ids=target.alert_ids)
    failures = [where(r) for r in unhandled.records]
    guarantees.record(
        "Fuzzing",
        f"{surface}: cases / 5xx / unhandled exceptions",
        f"{tally.cases} / {tally.server_errors} / {len(failures)}",
    )
    assert tally.cases == CASES
    assert tally.server_errors == 0, tally.examples
    assert failures == [], "\n\n".join(failures[:5])
    assert target.violations() == []
