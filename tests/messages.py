"""Reading what the bot sent to Slack, for assertions."""

from __future__ import annotations

from typing import Any

from tests.fakes.slack import SlackFake


def text_of(message: Any) -> str:
    """Every piece of text in a message, view or block list, in order."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    parts.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message)
    return "\n".join(parts)


def action_ids(blocks: list[dict[str, Any]]) -> set[str]:
    return {e.get("action_id") for b in blocks if b.get("type") == "actions" for e in b.get("elements", [])}


def reply(slack: SlackFake, n: int = 1) -> dict[str, Any]:
    """The n-th message the person got through the response URL (the ack itself is the HTTP response)."""
    return slack.wait_responses(n, timeout=10)[n - 1]
