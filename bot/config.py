"""Settings, read once from the environment (and ``.env``), validated with every problem reported at once.

The variables are declared in one table (:data:`VARIABLES`) so that ``.env.example``, the docs and the checks
all come from the same place and cannot drift.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigError(Exception):
    """Raised with every configuration problem found, one per line, never with a secret's value."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Variable:
    name: str
    help: str
    default: str | None = None
    secret: bool = False


VARIABLES: tuple[Variable, ...] = (
    Variable("SLACK_BOT_TOKEN", "Bot token (xoxb-…) from the Slack app's OAuth page. Required.", secret=True),
    Variable("SLACK_SIGNING_SECRET", "Verifies Slack's HTTP requests. Required in HTTP mode.", secret=True),
    Variable(
        "SLACK_APP_TOKEN",
        "App-level token (xapp-…, connections:write); when set the bot runs in Socket Mode.",
        secret=True,
    ),
    Variable(
        "SLACK_COMMAND",
        "Name of the slash command, as in the Slack app (`rootly-bot manifest --command` prints a matching manifest);"
        " change it when the workspace already has a /rootly (Rootly's own app).",
        "/rootly",
    ),
    Variable("SLACK_API_URL", "Slack Web API base URL (for proxies and tests).", "https://slack.com/api/"),
    Variable("ROOTLY_API_TOKEN", "Rootly API key. Required unless only ilert is used.", secret=True),
    Variable("ROOTLY_API_URL", "Rootly API base URL.", "https://api.rootly.com"),
    Variable("ROOTLY_APP_URL", "Rootly web app URL, for links to alert lists.", "https://rootly.com"),
    Variable(
        "ROOTLY_WEBHOOK_SECRET",
        "Verifies X-Rootly-Signature on /rootly/webhooks; unset refuses all deliveries.",
        secret=True,
    ),
    Variable("ILERT_API_TOKEN", "ilert user API key for the REST API; unset turns ilert off.", secret=True),
    Variable("ILERT_API_URL", "ilert API base URL.", "https://api.ilert.com/api"),
    Variable("ILERT_ALERT_SOURCE_KEY", "ilert alert source integration key for the events API.", secret=True),
    Variable("DATABASE_URL", "SQLAlchemy URL of the bot's state.", "sqlite:///rootly-bot.db"),
    Variable("HOST", "HTTP mode listen address.", "0.0.0.0"),
    Variable("PORT", "HTTP mode listen port.", "3000"),
    Variable(
        "METRICS_PORT",
        "Socket Mode: port of the Prometheus /metrics listener (HTTP mode serves /metrics on PORT); 0 turns it off.",
        "9464",
    ),
    Variable("LOG_LEVEL", "DEBUG, INFO, WARNING or ERROR.", "INFO"),
    Variable("LOG_FORMAT", "text (for people) or json (for log shippers).", "text"),
    Variable("DEFAULT_TIMEZONE", "Time zone of digests when none is given.", "UTC"),
    Variable("DIGEST_RESYNC_SECONDS", "How often each replica re-reads the digest subscriptions.", "30"),
    Variable(
        "DIGEST_CLAIM_SECONDS",
        "Lease on a digest slot, renewed by its poster every third of it; expired claims are swept every half of it, "
        "so a dead replica's slot is taken over within 1.5× this.",
        "20",
    ),
    Variable("DIGEST_MIN_INTERVAL_SECONDS", "Shortest `every` digest interval; lower it only in tests.", "60"),
    Variable("ATTRIBUTION_NOTES", "Note on the alert who acknowledged or resolved it from Slack.", "true"),
    Variable("FEED_POLL_SECONDS", "How often feeds poll Rootly's alert event feed; 0 turns polling off.", "30"),
    Variable(
        "FEED_GROUP_THRESHOLD",
        "Alert storms: when more new alerts than this arrive for one feed channel within FEED_GROUP_WINDOW_SECONDS, "
        "they are grouped in one message (updated as more arrive) instead of one message each.",
        "5",
    ),
    Variable("FEED_GROUP_WINDOW_SECONDS", "The window FEED_GROUP_THRESHOLD counts new alerts in.", "10"),
    Variable(
        "FEED_CLAIM_SECONDS",
        "Lease on a feed alert claimed but not yet posted, renewed every third of it while it waits; claims a dead "
        "replica left are taken over every half of it, so its queued alerts are posted within 1.5× this.",
        "30",
    ),
    Variable(
        "SLACK_POSTS_PER_SECOND",
        "Messages posted or updated per second in one channel (Slack allows about 1, short bursts tolerated); the bot "
        "holds posts back to this pace instead of collecting 429s. 0 turns pacing off.",
        "1",
    ),
    Variable(
        "THREAD_COALESCE_SECONDS",
        "How long alert threads wait after a change before telling it, so a burst of events becomes one reply.",
        "2",
    ),
    Variable(
        "THREAD_BROADCAST_RESOLVED",
        'Also show "Resolved" replies in alert threads in the channel (Slack\'s "Also send to channel").',
        "false",
    ),
    Variable("OUTBOX_SECONDS", "How often queued notes and actions are retried while Rootly or ilert is down.", "5"),
    Variable(
        "OUTBOX_WORKERS",
        "Queued actions delivered in parallel per replica (one at a time per alert, paced by the API's rate limit).",
        "32",
    ),
    Variable("WORKER_THREADS", "Threads that call Rootly after Slack has been answered.", "32"),
    Variable("ROOTLY_TIMEOUT", "Seconds to wait for Rootly to answer one request.", "10"),
    Variable("RATE_LIMIT_BUDGET", "Seconds one action may wait on Rootly's rate limit before it is reported.", "20"),
    Variable(
        "POLICY_RESOLVE",
        "Who may resolve alerts from Slack: comma-separated Slack user ids (U…) and user groups (S… id or "
        "@handle). Empty lets everyone.",
    ),
    Variable(
        "POLICY_DECLARE",
        "Who may declare incidents from Slack, in the same form as POLICY_RESOLVE. Empty lets everyone.",
    ),
    Variable(
        "POLICY_INCIDENT_RESOLVE",
        "Who may resolve or cancel incidents from Slack, in the same form as POLICY_RESOLVE. Empty lets everyone.",
    ),
    Variable("POLICY_CACHE_SECONDS", "How long user group membership is trusted before Slack is asked again.", "300"),
    # on call (bot/oncall/)
    Variable(
        "ONCALL_POLL_SECONDS",
        "How often followed schedules and policies are checked for shift changes (one on-call read per backend, "
        "however many are followed); 0 turns it off.",
        "120",
    ),
    Variable(
        "ONCALL_CLAIM_SECONDS",
        "Lease on a shift change claimed but not yet posted: a replica that died (or failed to post) leaves it to the "
        "next poll after this, on any replica. Keep it above the time one post takes.",
        "20",
    ),
    Variable(
        "ONCALL_CACHE_SECONDS", "How long a `/rootly oncall` answer is reused before the backend is asked again.", "60"
    ),
    Variable("ONCALL_TAKE_MINUTES", 'How long "I\'ll take it" puts the person on call (a Rootly override).', "60"),
)

SECRET_NAMES = frozenset(v.name for v in VARIABLES if v.secret)
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_command: str = "/rootly"
    slack_api_url: str = "https://slack.com/api/"
    rootly_api_token: str | None = None
    rootly_api_url: str = "https://api.rootly.com"
    rootly_app_url: str = "https://rootly.com"
    rootly_webhook_secret: str | None = None
    ilert_api_token: str | None = None
    ilert_api_url: str = "https://api.ilert.com/api"
    ilert_alert_source_key: str | None = None
    database_url: str = "sqlite:///rootly-bot.db"
    host: str = "0.0.0.0"
    port: int = 3000
    metrics_port: int = 9464
    log_level: str = "INFO"
    log_format: str = "text"
    default_timezone: str = "UTC"
    digest_resync_seconds: float = 30.0
    digest_claim_seconds: float = 20.0
    digest_min_interval_seconds: float = 60.0
    attribution_notes: bool = True
    feed_poll_seconds: float = 30.0
    feed_group_threshold: int = 5
    feed_group_window_seconds: float = 10.0
    feed_claim_seconds: float = 30.0
    slack_posts_per_second: float = 1.0
    thread_coalesce_seconds: float = 2.0
    thread_broadcast_resolved: bool = False
    outbox_seconds: float = 5.0
    outbox_workers: int = 32
    worker_threads: int = 32
    rootly_timeout: float = 10.0
    rate_limit_budget: float = 20.0
    policy_resolve: str | None = None
    policy_declare: str | None = None
    policy_incident_resolve: str | None = None
    policy_cache_seconds: float = 300.0
    oncall_poll_seconds: float = 120.0
    oncall_claim_seconds: float = 20.0
    oncall_cache_seconds: float = 60.0
    oncall_take_minutes: int = 60

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    @property
    def rootly_enabled(self) -> bool:
        return bool(self.rootly_api_token)

    @property
    def ilert_enabled(self) -> bool:
        return bool(self.ilert_api_token)

    def secrets(self) -> list[str]:
        """Values that must never appear in logs or messages."""
        return [getattr(self, f.name) for f in fields(self) if f.name.upper() in SECRET_NAMES and getattr(self, f.name)]

    def __repr__(self) -> str:  # dataclass repr would print tokens
        shown = {
            f.name: ("***" if f.name.upper() in SECRET_NAMES and getattr(self, f.name) else getattr(self, f.name))
            for f in fields(self)
        }
        return f"Settings({shown})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Settings:
        """Read and validate; raises :class:`ConfigError` listing every problem."""
        if environ is None:
            if dotenv:
                from dotenv import find_dotenv, load_dotenv

                # The working directory's .env (the package may be installed far from it); real env wins.
                load_dotenv(find_dotenv(usecwd=True), override=False)
            environ = os.environ
        return _parse(environ)


def _parse(env: Mapping[str, str]) -> Settings:
    problems: list[str] = []
    raw = {v.name: (env.get(v.name) or "").strip() or v.default for v in VARIABLES}

    def need_prefix(name: str, prefix: str) -> None:
        value = raw[name]
        if value and not value.startswith(prefix):
            problems.append(f"{name} should start with '{prefix}' (check you copied the right token).")

    def url(name: str) -> None:
        value = raw[name] or ""
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(f"{name} must be an http(s) URL, got {value!r}.")

    def number(name: str, kind: Callable[[str], Any], low: float, high: float) -> Any:
        try:
            value = kind(raw[name] or "")
        except ValueError:
            problems.append(f"{name} must be a number, got {raw[name]!r}.")
            return kind(next(v.default for v in VARIABLES if v.name == name) or 0)
        if not low <= value <= high:
            problems.append(f"{name} must be between {low:g} and {high:g}, got {value}.")
        return value

    if not raw["SLACK_BOT_TOKEN"]:
        problems.append("SLACK_BOT_TOKEN is missing: copy the Bot User OAuth Token (xoxb-…) from your Slack app.")
    need_prefix("SLACK_BOT_TOKEN", "xoxb-")
    need_prefix("SLACK_APP_TOKEN", "xapp-")
    if not raw["SLACK_APP_TOKEN"] and not raw["SLACK_SIGNING_SECRET"]:
        problems.append(
            "SLACK_SIGNING_SECRET is missing: HTTP mode needs it (Basic Information → Signing Secret), "
            "or set SLACK_APP_TOKEN to run in Socket Mode."
        )
    if not raw["ROOTLY_API_TOKEN"] and not raw["ILERT_API_TOKEN"]:
        problems.append("ROOTLY_API_TOKEN is missing (or set ILERT_API_TOKEN to use ilert alone).")
    if raw["ILERT_ALERT_SOURCE_KEY"] and not raw["ILERT_API_TOKEN"]:
        problems.append("ILERT_ALERT_SOURCE_KEY is set but ILERT_API_TOKEN is not: ilert needs both.")
    command = raw["SLACK_COMMAND"] or ""
    if problem := command_problem(command):
        problems.append(f"SLACK_COMMAND is not a slash command name Slack accepts: it {problem}")
    for name in ("SLACK_API_URL", "ROOTLY_API_URL", "ROOTLY_APP_URL", "ILERT_API_URL"):
        url(name)
    port = number("PORT", int, 1, 65535)
    metrics_port = number("METRICS_PORT", int, 0, 65535)
    workers = number("WORKER_THREADS", int, 1, 512)
    timeout = number("ROOTLY_TIMEOUT", float, 0.1, 300)
    budget = number("RATE_LIMIT_BUDGET", float, 0, 3600)
    poll = number("FEED_POLL_SECONDS", float, 0, 86400)
    group_threshold = number("FEED_GROUP_THRESHOLD", int, 1, 1000)
    group_window = number("FEED_GROUP_WINDOW_SECONDS", float, 1, 3600)
    feed_claim = number("FEED_CLAIM_SECONDS", float, 1, 3600)
    posts_per_second = number("SLACK_POSTS_PER_SECOND", float, 0, 100)
    digest_resync = number("DIGEST_RESYNC_SECONDS", float, 0.2, 3600)
    digest_claim = number("DIGEST_CLAIM_SECONDS", float, 1, 3600)
    digest_min_interval = number("DIGEST_MIN_INTERVAL_SECONDS", float, 1, 86400)
    outbox_every = number("OUTBOX_SECONDS", float, 1, 3600)
    thread_coalesce = number("THREAD_COALESCE_SECONDS", float, 0, 60)
    outbox_workers = number("OUTBOX_WORKERS", int, 1, 64)
    policy_cache = number("POLICY_CACHE_SECONDS", float, 10, 86400)
    oncall_poll = number("ONCALL_POLL_SECONDS", float, 0, 86400)
    oncall_claim = number("ONCALL_CLAIM_SECONDS", float, 1, 3600)
    oncall_cache = number("ONCALL_CACHE_SECONDS", float, 0, 3600)
    oncall_take = number("ONCALL_TAKE_MINUTES", int, 1, 10080)
    from bot.domain.grantees import parse_grantees  # the policy's own parser: one definition of an entry

    for name in ("POLICY_RESOLVE", "POLICY_DECLARE", "POLICY_INCIDENT_RESOLVE"):
        try:
            parse_grantees(raw[name])
        except ValueError as exc:
            problems.append(f"{name}: {exc}.")
    if 0 < poll < 5:
        problems.append("FEED_POLL_SECONDS must be 0 (off) or at least 5.")
    level = (raw["LOG_LEVEL"] or "").upper()
    if level not in _LOG_LEVELS:
        problems.append(f"LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}, got {raw['LOG_LEVEL']!r}.")
    log_format = (raw["LOG_FORMAT"] or "").lower()
    if log_format not in ("text", "json"):
        problems.append(f"LOG_FORMAT must be 'text' or 'json', got {raw['LOG_FORMAT']!r}.")
    tz = raw["DEFAULT_TIMEZONE"] or "UTC"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"DEFAULT_TIMEZONE {tz!r} is not a known time zone (use Area/City, e.g. Europe/Berlin).")
    notes = (raw["ATTRIBUTION_NOTES"] or "").lower()
    if notes not in _TRUE + _FALSE:
        problems.append(f"ATTRIBUTION_NOTES must be true or false, got {raw['ATTRIBUTION_NOTES']!r}.")
    broadcast = (raw["THREAD_BROADCAST_RESOLVED"] or "").lower()
    if broadcast not in _TRUE + _FALSE:
        problems.append(f"THREAD_BROADCAST_RESOLVED must be true or false, got {raw['THREAD_BROADCAST_RESOLVED']!r}.")
    if problems:
        raise ConfigError(problems)
    return Settings(
        slack_bot_token=raw["SLACK_BOT_TOKEN"] or "",
        slack_signing_secret=raw["SLACK_SIGNING_SECRET"],
        slack_app_token=raw["SLACK_APP_TOKEN"],
        slack_command=command,
        slack_api_url=_with_slash(raw["SLACK_API_URL"] or ""),
        rootly_api_token=raw["ROOTLY_API_TOKEN"],
        rootly_api_url=(raw["ROOTLY_API_URL"] or "").rstrip("/"),
        rootly_app_url=(raw["ROOTLY_APP_URL"] or "").rstrip("/"),
        rootly_webhook_secret=raw["ROOTLY_WEBHOOK_SECRET"],
        ilert_api_token=raw["ILERT_API_TOKEN"],
        ilert_api_url=(raw["ILERT_API_URL"] or "").rstrip("/"),
        ilert_alert_source_key=raw["ILERT_ALERT_SOURCE_KEY"],
        database_url=raw["DATABASE_URL"] or "",
        host=raw["HOST"] or "0.0.0.0",
        port=port,
        metrics_port=metrics_port,
        log_level=level,
        log_format=log_format,
        default_timezone=tz,
        digest_resync_seconds=digest_resync,
        digest_claim_seconds=digest_claim,
        digest_min_interval_seconds=digest_min_interval,
        attribution_notes=notes in _TRUE,
        feed_poll_seconds=poll,
        feed_group_threshold=group_threshold,
        feed_group_window_seconds=group_window,
        feed_claim_seconds=feed_claim,
        slack_posts_per_second=posts_per_second,
        thread_coalesce_seconds=thread_coalesce,
        thread_broadcast_resolved=broadcast in _TRUE,
        outbox_seconds=outbox_every,
        outbox_workers=outbox_workers,
        worker_threads=workers,
        rootly_timeout=timeout,
        rate_limit_budget=budget,
        policy_resolve=raw["POLICY_RESOLVE"],
        policy_declare=raw["POLICY_DECLARE"],
        policy_incident_resolve=raw["POLICY_INCIDENT_RESOLVE"],
        policy_cache_seconds=policy_cache,
        oncall_poll_seconds=oncall_poll,
        oncall_claim_seconds=oncall_claim,
        oncall_cache_seconds=oncall_cache,
        oncall_take_minutes=oncall_take,
    )


COMMAND_MAX = 32  # Slack's limit on a slash command's name, the slash included


def command_problem(command: str) -> str | None:
    """Why Slack would not accept ``command`` as a slash command name (None: it would), in words for an operator."""
    if not command.startswith("/") or len(command) < 2:
        return f"must be a slash and a name, like /rootly or /oncall, got {command!r}."
    if any(c.isspace() for c in command):
        return f"must not contain spaces, got {command!r}."
    if command != command.lower():
        return f"must be lowercase (Slack's rule for command names), got {command!r}: use {command.lower()!r}."
    if len(command) > COMMAND_MAX:
        return f"must be at most {COMMAND_MAX} characters including the slash, got {len(command)}."
    return None


def _with_slash(value: str) -> str:
    return value if value.endswith("/") else value + "/"


def env_example() -> str:
    """The text of ``.env.example``, generated so it lists every variable (tests keep the file in step)."""
    lines = ["# rootly-chatops configuration. Copy to .env and fill in; docs/configuration.md explains each.", ""]
    for v in VARIABLES:
        lines.append(f"# {v.help}")
        lines.append(f"{v.name}={'' if v.secret or v.default is None else v.default}")
        lines.append("")
    return "\n".join(lines)


def markdown_table() -> str:
    """The configuration reference in the README, generated so it cannot drift (a test compares)."""
    rows = ["| Variable | Meaning | Default |", "|---|---|---|"]
    for v in VARIABLES:
        default = "(secret)" if v.secret else (f"`{v.default}`" if v.default is not None else "")
        rows.append(f"| `{v.name}` | {v.help} | {default} |")
    return "\n".join(rows)


if __name__ == "__main__":  # python -m bot.config: print the README table and .env.example
    print(markdown_table())
