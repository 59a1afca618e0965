"""``/rootly``: parse the text, acknowledge at once, hand the backend work to the pool, reply ephemerally."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, Respond

from bot.render import replies
from bot.render.help import help_message
from bot.slack import syntax
from bot.slack.ids import COMMAND

if TYPE_CHECKING:
    from bot.app import Services


def register(app: App, services: Services) -> None:
    @app.command(COMMAND)
    def rootly_command(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        parsed = syntax.parse(command.get("text") or "")
        user_id = command.get("user_id") or ""
        user_name = command.get("user_name")
        actions = services.actions
        match parsed:
            case syntax.Help(topic=_, unknown=unknown):
                ack(**help_message(unknown=unknown))
            case syntax.Invalid(command=name, problem=problem, typed=typed):
                ack(**replies.problem(problem, typed=typed, hint=f"Use: `{syntax.USAGE[name]}`"))
            case syntax.Acknowledge(ref=ref):
                ack(**replies.working(f"Acknowledging `{ref.id}`…"))
                services.work.submit(
                    lambda: replies.action_result(actions.acknowledge(ref, user_id, user_name)),
                    respond,
                    subject=f"alert {ref.id}",
                )
            case syntax.Resolve(ref=ref, message=message):
                ack(**replies.working(f"Resolving `{ref.id}`…"))
                services.work.submit(
                    lambda: replies.action_result(actions.resolve(ref, user_id, message, user_name)),
                    respond,
                    subject=f"alert {ref.id}",
                    typed=message,
                )
            case syntax.AddNote(ref=ref, text=text):
                ack(**replies.working(f"Adding your note to `{ref.id}`…"))
                services.work.submit(
                    lambda: replies.action_result(actions.add_note(ref, user_id, text, user_name)),
                    respond,
                    subject=f"alert {ref.id}",
                    typed=text,
                )
