"""The layer contracts in pyproject.toml hold, and a wrong-way import breaks them with a readable message."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    if not LINT_IMPORTS.exists():
        pytest.skip("lint-imports is not installed beside this Python (pip install -e '.[test]')")
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_layer_contracts_are_kept() -> None:
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "Contracts: 3 kept, 0 broken." in run.stdout


@pytest.mark.parametrize(
    ("module", "wrong_import", "message"),
    [
        ("bot/render/text.py", "import bot.slack.listeners.commands", "bot.render is not allowed to import bot.slack"),
        ("bot/digests/service.py", "import bot.incidents.service", "bot.digests is not allowed to import"),
        ("bot/services/feeds.py", "import bot.backends.rootly.client", "bot.services is not allowed to import"),
        ("bot/slack/listeners/actions.py", "import bot.app", "bot.slack is not allowed to import bot.app"),
    ],
)
def test_a_wrong_way_import_fails_with_a_readable_message(
    tmp_path: Path, module: str, wrong_import: str, message: str
) -> None:
    shutil.copytree(ROOT / "bot", tmp_path / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{wrong_import}  # deliberately the wrong way\n")
    run = lint_imports(tmp_path)
    assert run.returncode != 0
    assert message in run.stdout, run.stdout[-3000:]
