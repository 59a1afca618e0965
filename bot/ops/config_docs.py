"""docs/configuration.md, generated from ``bot.config.VARIABLES`` so the reference cannot drift from the code.

    python -m bot.ops.config_docs > docs/configuration.md

tests/test_docs.py compares the file with this output. Variables are grouped for reading; one that no group names
lands in "Other", so a new variable is documented the moment it is declared.
"""

from __future__ import annotations

from bot.config import VARIABLES, Variable

GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "Slack",
        "The Slack app's credentials (docs/setup.md says where each is found). SLACK_APP_TOKEN chooses Socket Mode.",
        ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL"),
    ),
    (
        "Rootly",
        "The primary backend. Without ROOTLY_API_TOKEN the bot runs on ilert alone, and incidents are off.",
        ("ROOTLY_API_TOKEN", "ROOTLY_API_URL", "ROOTLY_APP_URL", "ROOTLY_WEBHOOK_SECRET", "ROOTLY_TIMEOUT"),
    ),
    (
        "ilert",
        "The second backend; off unless ILERT_API_TOKEN is set.",
        ("ILERT_API_TOKEN", "ILERT_API_URL", "ILERT_ALERT_SOURCE_KEY"),
    ),
    (
        "State",
        "SQLite for one process; PostgreSQL (`postgresql+psycopg://user:password@host:5432/db`) for replicas.",
        ("DATABASE_URL",),
    ),
    (
        "Serving, logs and metrics",
        "HTTP mode listens on HOST:PORT and serves /metrics there too; Socket Mode serves /metrics on METRICS_PORT.",
        ("HOST", "PORT", "METRICS_PORT", "LOG_LEVEL", "LOG_FORMAT"),
    ),
    (
        "Who may do what",
        "Empty policies let everyone in the workspace act, as before they existed.",
        ("POLICY_RESOLVE", "POLICY_DECLARE", "POLICY_INCIDENT_RESOLVE", "POLICY_CACHE_SECONDS"),
    ),
    (
        "Digests, feeds and the outbox",
        "Timings of the background jobs every replica runs.",
        (
            "DEFAULT_TIMEZONE",
            "DIGEST_RESYNC_SECONDS",
            "DIGEST_CLAIM_SECONDS",
            "DIGEST_MIN_INTERVAL_SECONDS",
            "FEED_POLL_SECONDS",
            "OUTBOX_SECONDS",
        ),
    ),
    (
        "Behaviour and capacity",
        "",
        ("ATTRIBUTION_NOTES", "WORKER_THREADS", "RATE_LIMIT_BUDGET"),
    ),
)

HEADER = """# Configuration reference

<!-- Generated from bot/config.py by `python -m bot.ops.config_docs > docs/configuration.md`; do not edit by hand:
tests/test_docs.py fails when this file and the code disagree. -->

The bot reads its configuration once, at start, from the environment; a `.env` file in the working directory is read
too (real environment variables win). `.env.example` lists every variable with its default. Every problem is
reported at once, before anything starts (`rootly-bot check` prints them; `rootly-bot run` exits with status 2), and
secret values never appear in any output or log line.

Required: `SLACK_BOT_TOKEN`; `SLACK_SIGNING_SECRET` in HTTP mode (or `SLACK_APP_TOKEN` for Socket Mode);
`ROOTLY_API_TOKEN`, or `ILERT_API_TOKEN` to use ilert alone.
"""


def _row(v: Variable) -> str:
    default = "(secret, no default)" if v.secret else (f"`{v.default}`" if v.default is not None else "(unset)")
    return f"| `{v.name}` | {v.help} | {default} |"


def configuration_markdown() -> str:
    by_name = {v.name: v for v in VARIABLES}
    placed: set[str] = set()
    parts = [HEADER]
    sections = [(title, intro, [by_name[n] for n in names if n in by_name]) for title, intro, names in GROUPS]
    others = [v for v in VARIABLES if not any(v.name in names for _, _, names in GROUPS)]
    sections.append(("Other", "", others))
    for title, intro, variables in sections:
        if not variables:
            continue
        placed.update(v.name for v in variables)
        parts.append(f"## {title}\n")
        if intro:
            parts.append(f"{intro}\n")
        parts.append("| Variable | Meaning | Default |\n|---|---|---|\n" + "\n".join(_row(v) for v in variables) + "\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(configuration_markdown(), end="")
