"""``/rootly help``: the syntax, with examples, for everything the bot understands, under the configured name."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.render.text import code, escape

# (syntax, what it does, example), each after the command name: the name is configurable (SLACK_COMMAND).
_COMMANDS = (
    ("ack <alert>", "Acknowledge a triggered alert.", "ack t8rgnt"),
    (
        "resolve <alert> [message]",
        "Resolve an alert, with an optional resolution message.",
        "resolve t8rgnt rolled back the deploy",
    ),
    (
        "note <alert> <text>",
        "Add a note to the alert's timeline, authored by your Rootly user.",
        "note t8rgnt disk filled by debug logs, cleaning up",
    ),
    (
        "alerts [here] [service:<slug>] [urgency:<name>] [source:<name>] [status:<s>]",
        "Open alerts, newest first, each with its buttons; `here` posts the list for everyone.",
        "alerts service:payments urgency:high",
    ),
    (
        'update <alert> [urgency:<name>] [service:<slug>] [label:<k>=<v>] [noise:yes|no] [summary:"…"]',
        "Change an alert's urgency, services, labels, noise or summary; the answer says what changed.",
        "update t8rgnt urgency:low label:team=checkout",
    ),
    (
        "trigger <summary> [--details …] [--priority high|low] [--key <key>] [--route <key>] [--to ilert]",
        "Raise an alert by hand; the same --key again is the same alert.",
        'trigger "Checkout 500s" --priority high --key checkout-5xx',
    ),
    (
        "feed on [filters] | off | list",
        "This channel gets a message for each new alert matching the filters.",
        "feed on service:payments",
    ),
    (
        'digest daily 09:00 [Area/City] | weekdays 09:00 | every 4h | cron "0 9 * * 1-5" [filters] [empty:skip|note]',
        "Post a digest of open alerts to this channel on a schedule (`list`, `off [id]`, `now [filters]` too).",
        "digest weekdays 09:00 Europe/Berlin service:payments",
    ),
    (
        "incident [title]",
        "Declare a Rootly incident: a form prefilled with the title. Also: the message shortcut "
        '"Declare incident" on any message, and the button on an alert.',
        "incident Checkout is failing for EU customers",
    ),
    # on call (bot/oncall/)
    (
        "oncall [here] [team|schedule|escalation policy|service]",
        "Who is on call now, until when, and who is next (this channel's team, or everyone).",
        "oncall payments",
    ),
    (
        "oncall take <schedule> [for 2h] | follow <schedule|policy> [mention] | unfollow | following",
        "Take the pager (a Rootly override), or have this channel told when who is on call changes.",
        "oncall take primary for 2h",
    ),
    (
        "page <team|user|escalation policy|service> <summary>",
        "Shows who will be paged, then pages them with one click.",
        "page payments Checkout is failing",
    ),
    # alert threads (bot/threads/)
    (
        "threads on | off",
        "Replies in alert threads in this channel become notes on the alert (`//` or emoji-only replies do not).",
        "threads on",
    ),
    ("help", "This message.", "help"),
)
ALERT_FORMS = (
    "`<alert>` is the short id (`t8rgnt`), the UUID, or the alert's Rootly link; for ilert, its number or link."
)


SECTION_LIMIT = 3000  # Slack's limit on a section's text


def help_message(
    command: str, *, unknown: str | None = None, problem: str | None = None, usage: str | None = None
) -> dict[str, Any]:
    """The help, every syntax and example written with ``command`` (the configured slash command)."""
    blocks: list[Any] = []
    lead = ""
    if unknown:
        shown = unknown if len(unknown) <= 80 else unknown[:80] + "…"  # a pasted novel must not break the help
        lead = f"⚠️ I don't know the command {code(shown)}. Here is what I understand:"
    elif problem:
        lead = f"⚠️ {problem}" + (f"\nUse: {code(usage)}" if usage else "")
    if lead:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=lead[:SECTION_LIMIT])))
    if not problem:
        blocks.append(HeaderBlock(text="Rootly from Slack"))
        for syntax, what, example in _COMMANDS:
            shown = f"{code(f'{command} {syntax}')}\n{escape(what)}\nExample: {code(f'{command} {example}')}"
            blocks.append(SectionBlock(text=MarkdownTextObject(text=shown)))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=ALERT_FORMS)]))
    fallback = lead or "Rootly from Slack: " + "; ".join(f"{command} {s}" for s, _, _ in _COMMANDS)
    return {"text": fallback, "blocks": [b.to_dict() for b in blocks]}
