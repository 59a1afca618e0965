"""The Slack app manifest (YAML, manifest v1) for one setup: the slash command's name, the bot's public host, HTTP
mode or Socket Mode. ``rootly-bot manifest`` prints it; the checked-in manifest.yml is its default output
(tests/test_manifest.py compares them byte for byte), so the two cannot drift.

Written as text rather than dumped from a dict so that the comments that explain each setting survive.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from bot.config import command_problem
from bot.render.ids import BOT_EVENTS, DEFAULT_COMMAND, REQUIRED_BOT_SCOPES, Callback

PLACEHOLDER_HOST = "YOUR-BOT-HOST"
EVENTS_PATH = "/slack/events"
SUBCOMMANDS = (
    "ack", "resolve", "note", "alerts", "incident", "oncall", "page", "trigger", "digest", "feed", "threads", "help"
)  # fmt: skip
# A host name with an optional port: no scheme, no path (the path is always EVENTS_PATH).
_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::[0-9]{1,5})?$")
_PLAIN = re.compile(r"^/[a-z0-9_.-]+$")  # command names YAML reads as they are, without quotes


@dataclass(frozen=True)
class ManifestOptions:
    command: str = DEFAULT_COMMAND
    host: str = PLACEHOLDER_HOST
    socket_mode: bool = False


def problems(options: ManifestOptions) -> list[str]:
    """Why Slack would refuse a manifest with these options, in words; empty when it would not."""
    found = []
    if problem := command_problem(options.command):
        found.append(f"--command is not a slash command name Slack accepts: it {problem}")
    if not _HOST.match(options.host):
        found.append(f"--host must be a host name like bot.example.com (no https://, no path), got {options.host!r}.")
    return found


def _scalar(text: str) -> str:
    """``text`` as a YAML scalar: plain when it is safe to, else double-quoted (JSON strings are YAML)."""
    return text if _PLAIN.match(text) else json.dumps(text)


def _header(options: ManifestOptions) -> list[str]:
    lines = [
        "# Slack app manifest for rootly-chatops (manifest v1).",
        "#",
        '# Create the app in one step: https://api.slack.com/apps → "Create New App" → "From an app manifest",'
        " pick the",
        "# workspace and paste this file.",
        "#",
    ]
    if options.socket_mode:
        lines += [
            "# Socket Mode: the bot opens a connection to Slack, so no public URL is needed and none is listed. Under",
            '# "Basic Information → App-Level Tokens" create a token with the connections:write scope and give it to',
            "# the bot as SLACK_APP_TOKEN (xapp-…).",
        ]
    elif options.host == PLACEHOLDER_HOST:
        lines += [
            f"# {PLACEHOLDER_HOST} is the public HTTPS host name of the bot in HTTP mode (for example"
            " rootly-bot.example.com, behind",
            "# your TLS-terminating proxy or load balancer). Replace every occurrence before creating the app. Slack"
            " sends slash",
            "# commands, interactivity (buttons, modals, shortcuts), options requests and events to one URL,"
            f" {EVENTS_PATH}.",
            "# In Socket Mode (see settings.socket_mode_enabled below) the URLs are ignored and may stay as they are.",
        ]
    else:
        lines += [
            "# HTTP mode: Slack sends slash commands, interactivity (buttons, modals, shortcuts), options requests"
            " and events",
            f"# to one URL, https://{options.host}{EVENTS_PATH}.",
        ]
    if options.command != DEFAULT_COMMAND:
        lines += [
            "#",
            f"# The slash command is {options.command}: set SLACK_COMMAND={options.command} in the bot's"
            " configuration to match.",
        ]
    lines += [
        "#",
        "# The bot scopes must match bot/render/ids.py REQUIRED_BOT_SCOPES exactly; tests/test_manifest.py checks"
        " that.",
        "",
    ]
    return lines


def manifest_yaml(options: ManifestOptions | None = None) -> str:
    """The manifest for ``options`` (the default: /rootly, placeholder host, HTTP mode — manifest.yml)."""
    options = options or ManifestOptions()
    if found := problems(options):
        raise ValueError("\n".join(found))
    url = f"https://{options.host}{EVENTS_PATH}"
    http = not options.socket_mode
    hint = "|".join(SUBCOMMANDS) + " …"
    lines = _header(options)
    lines += [
        "display_information:",
        "  name: Rootly",
        "  description: Acknowledge, resolve and annotate Rootly alerts, and declare incidents, without leaving Slack.",
        '  background_color: "#1b1f3b"',
        "",
        "features:",
        "  bot_user:",
        "    display_name: rootly",
        "    always_online: true",
        "  app_home:",
        "    home_tab_enabled: true",
        "    messages_tab_enabled: false",
        "  slash_commands:",
        f"    - command: {_scalar(options.command)}",
        *([f"      url: {url}"] if http else []),
        "      description: Work Rootly alerts and incidents from Slack",
        f'      usage_hint: "{hint}"',
        "      should_escape: false",
        "  shortcuts:",
        "    - name: Declare incident",
        "      type: message",
        f"      callback_id: {Callback.DECLARE_INCIDENT_SHORTCUT.value}",
        "      description: Declare a Rootly incident from this message and its thread",
        "    - name: Add to alert as note",
        "      type: message",
        f"      callback_id: {Callback.NOTE_SHORTCUT.value}",
        "      description: Add this message to an alert as a note",
        "    - name: Add to incident timeline",
        "      type: message",
        f"      callback_id: {Callback.ADD_TO_TIMELINE_SHORTCUT.value}",
        "      description: Add this message to a Rootly incident's timeline, with its author, time and link",
        "",
        "oauth_config:",
        "  scopes:",
        "    bot:",
        *(f"      - {scope}" for scope in REQUIRED_BOT_SCOPES),
        "",
        "settings:",
        "  interactivity:",
        "    is_enabled: true",
        *([f"    request_url: {url}", f"    message_menu_options_url: {url}"] if http else []),
        "  event_subscriptions:",
        *([f"    request_url: {url}"] if http else []),
        "    # message.channels / message.groups: replies in alert threads, which become notes where a channel ran",
        f"    # `{options.command} threads on` (they need channels:history / groups:history, granted above).",
        "    bot_events:",
        *(f"      - {event}" for event in BOT_EVENTS),
        "  org_deploy_enabled: false",
    ]
    if http:
        lines += [
            f"  # HTTP mode (the default here): Slack calls {url}.",
            '  # Socket Mode: set this to true, then under "Basic Information → App-Level Tokens" create a token'
            " with the",
            "  # connections:write scope and give it to the bot as SLACK_APP_TOKEN (xapp-…). No public URL is needed"
            " then.",
            "  socket_mode_enabled: false",
        ]
    else:
        lines += ["  socket_mode_enabled: true"]
    lines += ["  token_rotation_enabled: false", ""]
    return "\n".join(lines)
