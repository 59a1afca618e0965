"""Where the API contracts live for tests.

They are read from ``../shared/contracts`` beside the clone, or from ``ROOTLY_CHATOPS_CONTRACTS``. A user's own
clone may not have them: then contract checks skip with that reason and every other test still runs.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = Path(os.environ.get("ROOTLY_CHATOPS_CONTRACTS", REPO.parent / "shared" / "contracts"))

ROOTLY = "rootly-openapi.json"
ILERT = "ilert-openapi.json"
SLACK_MANIFEST = "slack-manifest.schema.json"


def contract_path(name: str) -> Path | None:
    path = CONTRACTS_DIR / name
    return path if path.is_file() else None


@functools.cache
def load_contract(name: str) -> dict[str, Any] | None:
    path = contract_path(name)
    if path is None:
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def missing_reason(name: str) -> str:
    return f"contract {name} not found in {CONTRACTS_DIR} (set ROOTLY_CHATOPS_CONTRACTS to check against it)"
