"""Configuration: every problem at once, no secret ever shown, .env.example in step with the code."""

from pathlib import Path

import pytest

from bot.config import VARIABLES, ConfigError, Settings, env_example, markdown_table

REPO = Path(__file__).resolve().parent.parent
GOOD = {"SLACK_BOT_TOKEN": "xoxb-1-secretvalue", "SLACK_SIGNING_SECRET": "sig-secret-1", "ROOTLY_API_TOKEN": "rootly-1"}


def test_defaults_from_the_design() -> None:
    s = Settings.from_env(GOOD)
    assert (s.host, s.port, s.database_url) == ("0.0.0.0", 3000, "sqlite:///rootly-bot.db")
    assert s.rootly_api_url == "https://api.rootly.com"
    assert s.slack_api_url == "https://slack.com/api/"
    assert not s.socket_mode and s.rootly_enabled and not s.ilert_enabled


def test_every_problem_is_reported_at_once() -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxp-user-token",
        "PORT": "http",
        "LOG_LEVEL": "loud",
        "DEFAULT_TIMEZONE": "Mars/Olympus",
        "ROOTLY_API_URL": "api.rootly.com",
    }
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    text = str(caught.value)
    for fragment in (
        "xoxb-",
        "SLACK_SIGNING_SECRET",
        "ROOTLY_API_TOKEN",
        "PORT",
        "LOG_LEVEL",
        "Mars/Olympus",
        "ROOTLY_API_URL",
    ):
        assert fragment in text
    assert len(caught.value.problems) >= 7


def test_socket_mode_needs_no_signing_secret() -> None:
    env = {k: v for k, v in GOOD.items() if k != "SLACK_SIGNING_SECRET"} | {"SLACK_APP_TOKEN": "xapp-1-abc"}
    assert Settings.from_env(env).socket_mode


def test_secrets_never_in_repr_or_errors() -> None:
    s = Settings.from_env(GOOD)
    for secret in GOOD.values():
        assert secret not in repr(s)
    bad = GOOD | {"SLACK_APP_TOKEN": "not-an-app-token-secret"}
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(bad)
    assert "not-an-app-token-secret" not in str(caught.value)
    assert set(s.secrets()) == set(GOOD.values())


def test_env_example_lists_every_variable_and_no_values_for_secrets() -> None:
    text = (REPO / ".env.example").read_text()
    assert text == env_example(), "regenerate: python -c 'from bot.config import env_example; print(env_example())'"
    for v in VARIABLES:
        assert f"\n{v.name}=" in text
        if v.secret:
            assert f"\n{v.name}=\n" in text


def test_readme_configuration_table_is_generated_from_the_code() -> None:
    readme = (REPO / "README.md").read_text()
    assert markdown_table() in readme, "regenerate the README table: python -m bot.config"


def test_slack_command_defaults_to_rootly_and_can_be_renamed() -> None:
    from bot.render.ids import DEFAULT_COMMAND

    assert Settings.from_env(GOOD).slack_command == DEFAULT_COMMAND == "/rootly"
    assert Settings.from_env({**GOOD, "SLACK_COMMAND": " /oncall "}).slack_command == "/oncall"
    assert Settings.from_env({**GOOD, "SLACK_COMMAND": "/" + "x" * 31}).slack_command == "/" + "x" * 31


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("oncall", "must be a slash and a name"),
        ("/", "must be a slash and a name"),
        ("/on call", "must not contain spaces"),
        ("/OnCall", "must be lowercase"),
        ("/" + "x" * 32, "at most 32 characters"),
    ],
)
def test_slack_command_that_slack_would_refuse_is_a_clear_problem(value: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**GOOD, "SLACK_COMMAND": value})
    [problem] = caught.value.problems
    assert problem.startswith("SLACK_COMMAND ")
    assert fragment in str(caught.value)
