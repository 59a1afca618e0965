"""Our test payloads keep the shape of Slack's genuine samples."""

import json
from pathlib import Path

import pytest

from tests.contracts import REPO
from tests.slack_requests import SLASH_COMMAND

SAMPLES = REPO.parent / "shared" / "slack-payloads"


def test_slash_command_has_every_field_of_the_genuine_sample() -> None:
    sample_file = SAMPLES / "slash_command.json"
    if not sample_file.is_file():
        pytest.skip(f"genuine Slack samples not found in {SAMPLES}")
    sample = json.loads(Path(sample_file).read_text())
    missing = set(sample) - set(SLASH_COMMAND) - {"enterprise_id", "enterprise_name"}
    assert missing == set()
