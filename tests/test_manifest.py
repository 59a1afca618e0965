"""manifest.yml against Slack's manifest schema and against the identifiers the code uses.

Each check is a function that returns the problems it finds. The real manifest must have none, and every check is
also run on a deliberately broken copy of the manifest, to prove it would catch that mistake.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import jsonschema.validators
import pytest
import yaml

from bot.ops.manifest import ManifestOptions, manifest_yaml
from bot.render.ids import BOT_EVENTS, DEFAULT_COMMAND, REQUIRED_BOT_SCOPES, Callback
from tests.contracts import REPO, SLACK_MANIFEST, load_contract, missing_reason

MANIFEST_PATH = REPO / "manifest.yml"
PLACEHOLDER_HOST = "YOUR-BOT-HOST"
EVENTS_PATH = "/slack/events"

# The /rootly subcommands of DESIGN.md section 1; the usage hint must mention each one.
SUBCOMMANDS = ("ack", "resolve", "note", "alerts", "incident", "trigger", "digest", "feed", "help")

# Where Slack must be told the bot's URL in HTTP mode.
REQUIRED_URLS = (
    "features.slash_commands[0].url",
    "settings.interactivity.request_url",
    "settings.interactivity.message_menu_options_url",
    "settings.event_subscriptions.request_url",
)

Manifest = dict[str, Any]


# loading ---------------------------------------------------------------------------------------------------------
class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys (PyYAML silently keeps the last one, hiding an edit)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_manifest(text: str) -> Manifest:
    data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: no arbitrary objects
    assert isinstance(data, dict), "manifest.yml must be a mapping"
    return data


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest(MANIFEST_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded = load_contract(SLACK_MANIFEST)
    if loaded is None:
        pytest.skip(missing_reason(SLACK_MANIFEST))
    return loaded


# checks ----------------------------------------------------------------------------------------------------------
def _regex_keyword(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    """Slack's schema spells one pattern ``regex`` (background_color), which JSON Schema ignores; enforce it too."""
    if validator.is_type(instance, "string") and not re.search(pattern, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def schema_problems(manifest: Manifest, schema: dict[str, Any]) -> list[str]:
    base = jsonschema.validators.validator_for(schema)  # the draft the schema's "$schema" declares
    base.check_schema(schema)
    validator_cls = jsonschema.validators.extend(base, {"regex": _regex_keyword})
    validator = validator_cls(schema, format_checker=base.FORMAT_CHECKER)
    return [
        f"{'.'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path)))
    ]


def command_problems(manifest: Manifest) -> list[str]:
    commands = manifest.get("features", {}).get("slash_commands") or []
    names = [c.get("command") for c in commands]
    if names != [DEFAULT_COMMAND]:
        return [f"slash commands are {names}, expected exactly [{DEFAULT_COMMAND!r}] (bot.render.ids.DEFAULT_COMMAND)"]
    command = commands[0]
    problems = []
    hint = command.get("usage_hint", "")
    words = set(re.findall(r"[a-z]+", hint))
    missing = [s for s in SUBCOMMANDS if s not in words]
    if missing:
        problems.append(f"usage_hint {hint!r} does not mention {missing}")
    if command.get("should_escape") is not False:
        problems.append("should_escape must be false: the bot parses the raw text")
    return problems


def shortcut_problems(manifest: Manifest) -> list[str]:
    shortcuts = manifest.get("features", {}).get("shortcuts") or []
    problems = []
    if not any(
        s.get("type") == "message" and s.get("callback_id") == Callback.DECLARE_INCIDENT_SHORTCUT for s in shortcuts
    ):
        problems.append(f"no message shortcut with callback_id {Callback.DECLARE_INCIDENT_SHORTCUT.value!r}")
    known = {c.value for c in Callback}
    problems += [
        f"shortcut callback_id {s.get('callback_id')!r} is not in bot.render.ids.Callback"
        for s in shortcuts
        if s.get("callback_id") not in known
    ]
    return problems


def scope_problems(manifest: Manifest) -> list[str]:
    scopes = manifest.get("oauth_config", {}).get("scopes", {})
    granted = list(scopes.get("bot") or [])
    required = set(REQUIRED_BOT_SCOPES)
    problems = []
    if missing := sorted(required - set(granted)):
        problems.append(f"scopes the code needs but the manifest does not grant: {missing}")
    if extra := sorted(set(granted) - required):
        problems.append(f"scopes granted but not in REQUIRED_BOT_SCOPES (add them there or remove them): {extra}")
    if dupes := sorted({s for s in granted if granted.count(s) > 1}):
        problems.append(f"scopes listed twice: {dupes}")
    # The bot only ever uses its bot token: any other kind of scope is a grant nothing in the code accounts for.
    if others := sorted(k for k, v in scopes.items() if k != "bot" and v):
        problems.append(f"scopes other than bot scopes requested: {others}")
    return problems


def _urls(node: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """Every (location, value) in the manifest whose key names a URL."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{where}.{key}" if where else str(key)
            if (key == "url" or str(key).endswith("_url")) and isinstance(value, str):
                yield here, value
            elif str(key).endswith("_urls") and isinstance(value, list):
                yield from ((f"{here}[{i}]", v) for i, v in enumerate(value))
            else:
                yield from _urls(value, here)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _urls(item, f"{where}[{i}]")


def url_problems(manifest: Manifest) -> list[str]:
    urls = dict(_urls(manifest))
    problems = [f"{where} is missing (HTTP mode needs it)" for where in REQUIRED_URLS if where not in urls]
    for where, url in urls.items():
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc, parts.path, parts.query, parts.fragment) != (
            "https",
            PLACEHOLDER_HOST,
            EVENTS_PATH,
            "",
            "",
        ):
            problems.append(f"{where} is {url!r}, expected https://{PLACEHOLDER_HOST}{EVENTS_PATH}")
    if manifest.get("settings", {}).get("interactivity", {}).get("is_enabled") is not True:
        problems.append("interactivity must be enabled (buttons, modals, shortcuts)")
    return problems


def app_home_problems(manifest: Manifest) -> list[str]:
    problems = []
    events = manifest.get("settings", {}).get("event_subscriptions", {}).get("bot_events") or []
    for needed in BOT_EVENTS:  # the App Home, and replies in alert threads (bot/threads)
        if needed not in events:
            problems.append(f"bot_events {events} lack {needed}")
    if manifest.get("features", {}).get("app_home", {}).get("home_tab_enabled") is not True:
        problems.append("features.app_home.home_tab_enabled must be true")
    return problems


def settings_problems(manifest: Manifest) -> list[str]:
    settings = manifest.get("settings", {})
    problems = []
    # HTTP mode is the default; Socket Mode users flip this themselves (the comment in manifest.yml says how).
    if settings.get("socket_mode_enabled") is not False:
        problems.append("socket_mode_enabled must be false by default")
    # The bot keeps one long-lived xoxb token and never refreshes it; rotated tokens would expire after 12 hours.
    if settings.get("token_rotation_enabled") is not False:
        problems.append("token_rotation_enabled must be false: the bot does not refresh tokens")
    return problems


# the real manifest -----------------------------------------------------------------------------------------------
def test_manifest_validates_against_slack_schema(manifest: Manifest, schema: dict[str, Any]) -> None:
    assert schema_problems(manifest, schema) == []


def test_slash_command_is_the_one_the_code_listens_to(manifest: Manifest) -> None:
    assert command_problems(manifest) == []


def test_declare_incident_message_shortcut_exists(manifest: Manifest) -> None:
    assert shortcut_problems(manifest) == []


def test_scopes_match_required_bot_scopes_exactly(manifest: Manifest) -> None:
    assert scope_problems(manifest) == []


def test_every_request_url_uses_placeholder_host_and_events_path(manifest: Manifest) -> None:
    assert url_problems(manifest) == []


def test_app_home_opened_subscribed_and_home_tab_enabled(manifest: Manifest) -> None:
    assert app_home_problems(manifest) == []


def test_settings_default_to_http_mode_without_token_rotation(manifest: Manifest) -> None:
    assert settings_problems(manifest) == []


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match="duplicate key 'name'"):
        load_manifest("display_information:\n  name: a\n  name: b\n")


# the checks catch a broken manifest ------------------------------------------------------------------------------
_DELETE = object()


def _set(path: str, value: Any) -> Callable[[Manifest], None]:
    keys = [int(k) if k.isdigit() else k for k in re.findall(r"[^.\[\]]+", path)]

    def mutate(m: Manifest) -> None:
        node: Any = m
        for key in keys[:-1]:
            node = node[key]
        if value is _DELETE:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value

    return mutate


def _append_scope(scope: str) -> Callable[[Manifest], None]:
    return lambda m: m["oauth_config"]["scopes"]["bot"].append(scope)


def _drop_scope(scope: str) -> Callable[[Manifest], None]:
    return lambda m: m["oauth_config"]["scopes"]["bot"].remove(scope)


BROKEN: list[tuple[str, Callable[[Manifest], list[str]], Callable[[Manifest], None]]] = [
    ("wrong command", command_problems, _set("features.slash_commands[0].command", "/rootlybot")),
    ("second command", command_problems, lambda m: m["features"]["slash_commands"].append({"command": "/x"})),
    ("hint lacks digest", command_problems, _set("features.slash_commands[0].usage_hint", "ack|resolve …")),
    ("escaped text", command_problems, _set("features.slash_commands[0].should_escape", True)),
    ("wrong callback", shortcut_problems, _set("features.shortcuts[0].callback_id", "declare")),
    ("global shortcut", shortcut_problems, _set("features.shortcuts[0].type", "global")),
    ("no shortcuts", shortcut_problems, _set("features.shortcuts", _DELETE)),
    ("missing scope", scope_problems, _drop_scope("users:read.email")),
    ("extra scope", scope_problems, _append_scope("admin")),
    ("duplicate scope", scope_problems, _append_scope("commands")),
    ("user scope", scope_problems, _set("oauth_config.scopes.user", ["search:read"])),
    ("real host", url_problems, _set("settings.interactivity.request_url", "https://bot.example.com/slack/events")),
    ("wrong path", url_problems, _set("features.slash_commands[0].url", f"https://{PLACEHOLDER_HOST}/slack/cmd")),
    ("plain http", url_problems, _set("settings.event_subscriptions.request_url", "http://YOUR-BOT-HOST/slack/events")),
    ("no options url", url_problems, _set("settings.interactivity.message_menu_options_url", _DELETE)),
    ("interactivity off", url_problems, _set("settings.interactivity.is_enabled", False)),
    ("no home event", app_home_problems, _set("settings.event_subscriptions.bot_events", ["app_mention"])),
    ("no thread replies", app_home_problems, _set("settings.event_subscriptions.bot_events", ["app_home_opened"])),
    ("home tab off", app_home_problems, _set("features.app_home.home_tab_enabled", False)),
    ("socket mode on", settings_problems, _set("settings.socket_mode_enabled", True)),
    ("token rotation", settings_problems, _set("settings.token_rotation_enabled", True)),
]


@pytest.mark.parametrize(("check", "mutate"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_check_catches_broken_manifest(
    manifest: Manifest, check: Callable[[Manifest], list[str]], mutate: Callable[[Manifest], None]
) -> None:
    broken = copy.deepcopy(manifest)
    mutate(broken)
    assert check(broken), "the check passed a manifest it should have refused"


SCHEMA_BROKEN: list[tuple[str, Callable[[Manifest], None]]] = [
    ("unknown key", _set("settings.socket_mode", True)),
    ("name too long", _set("features.shortcuts[0].name", "Declare an incident from here")),
    ("bad colour", _set("display_information.background_color", "#12345g")),
    ("command without slash", _set("features.slash_commands[0].command", "rootly")),
    ("no display name", _set("display_information", _DELETE)),
]


@pytest.mark.parametrize("mutate", [b[1] for b in SCHEMA_BROKEN], ids=[b[0] for b in SCHEMA_BROKEN])
def test_schema_check_catches_broken_manifest(
    manifest: Manifest, schema: dict[str, Any], mutate: Callable[[Manifest], None]
) -> None:
    broken = copy.deepcopy(manifest)
    mutate(broken)
    assert schema_problems(broken, schema), "the schema passed a manifest it should have refused"


# the generator (rootly-bot manifest) -----------------------------------------------------------------------------
def test_manifest_yml_is_the_generators_default_output_byte_for_byte() -> None:
    assert MANIFEST_PATH.read_bytes() == manifest_yaml().encode("utf-8"), (
        "manifest.yml differs from bot/ops/manifest.py: regenerate it with `rootly-bot manifest > manifest.yml`"
    )


VARIANTS = [
    ManifestOptions(command="/oncall"),
    ManifestOptions(command="/oncall", host="bot.example.com"),
    ManifestOptions(command="/pager-duty_2", host="bot.example.com:8443"),
    ManifestOptions(command="/oncall", socket_mode=True),
]


@pytest.mark.parametrize(
    "options", VARIANTS, ids=lambda o: f"{o.command}-{o.host}-{'socket' if o.socket_mode else 'http'}"
)
def test_generated_manifest_for_a_setup_is_valid_and_says_that_setup(
    options: ManifestOptions, schema: dict[str, Any]
) -> None:
    text = manifest_yaml(options)
    generated = load_manifest(text)
    assert schema_problems(generated, schema) == []
    assert [c["command"] for c in generated["features"]["slash_commands"]] == [options.command]
    assert f"SLACK_COMMAND={options.command}" in text  # the comment says how to configure the bot to match
    assert shortcut_problems(generated) == [] and scope_problems(generated) == [] and app_home_problems(generated) == []
    urls = dict(_urls(generated))
    if options.socket_mode:
        assert urls == {}
        assert generated["settings"]["socket_mode_enabled"] is True
    else:
        assert sorted(urls) == sorted(REQUIRED_URLS)
        assert set(urls.values()) == {f"https://{options.host}{EVENTS_PATH}"}
        assert generated["settings"]["socket_mode_enabled"] is False


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (ManifestOptions(command="oncall"), "Slack accepts: it must be a slash"),
        (ManifestOptions(command="/OnCall"), "Slack accepts: it must be lowercase"),
        (ManifestOptions(command="/" + "x" * 32), "Slack accepts: it must be at most 32"),
        (ManifestOptions(host="https://bot.example.com"), "--host must be a host name"),
        (ManifestOptions(host="bot.example.com/slack"), "--host must be a host name"),
    ],
)
def test_generator_refuses_what_slack_would(options: ManifestOptions, fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        manifest_yaml(options)
