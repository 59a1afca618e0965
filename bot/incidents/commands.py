"""``/rootly incident <sub-command> …`` and ``/rootly incidents …``: ack at once, act in the work pool, answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.incidents import live_render
from bot.incidents import replies as incident_replies
from bot.incidents.actions import UnknownIncident, UnknownName, Verb
from bot.incidents.syntax import IncidentCommand, Invalid, ListIncidents, Work
from bot.render import replies
from bot.services.reliable import Origin

if TYPE_CHECKING:
    from bot.incidents.context import Services

NO_ROOTLY = "Incidents are Rootly's, and this bot has no Rootly API key (ROOTLY_API_TOKEN)."


def handle(services: Services, client: WebClient, ack: Ack, command: dict[str, Any], parsed: IncidentCommand) -> None:
    found = getattr(services, "incident_work", None)
    if isinstance(parsed, Invalid):
        ack(**replies.problem(parsed.problem, typed=parsed.typed, hint=f"Use: `{parsed.usage}`"))
        return
    if found is None:
        ack(**replies.problem(NO_ROOTLY))
        return
    respond = Respond(response_url=command.get("response_url") or "")
    channel = command.get("channel_id") or None
    user, name = str(command.get("user_id") or ""), command.get("user_name")
    if isinstance(parsed, ListIncidents):
        ack(**replies.working(f"Looking up incidents ({parsed.filters.describe()})…"))

        def listing() -> dict[str, Any] | None:
            incidents, severities = services.operations.list(parsed.filters)
            message = live_render.incident_list_message(
                incidents,
                severities,
                described=parsed.filters.describe(),
                more_url=f"{services.settings.rootly_app_url}/account/incidents",
            )
            if parsed.here and channel:
                client.chat_postMessage(channel=channel, **message)
                return None
            return message

        services.work.submit(listing, respond, subject="incidents")
        return
    assert isinstance(parsed, Work)
    verb = Verb(parsed.verb)
    if why := services.operations.refusal(verb, user):
        ack(**replies.problem(why.removeprefix("⛔ ")))
        return
    ack(**replies.working(f"Working on it ({verb.value})…"))
    origin = Origin(user, name, channel, command.get("response_url"))

    def job() -> dict[str, Any] | None:
        try:
            return act()
        except (UnknownIncident, UnknownName) as exc:  # what was typed, and the valid names
            return replies.problem(exc.message, typed=parsed.whole or None)

    def act() -> dict[str, Any] | None:
        return incident_replies.outcome(services.operations.command(parsed, verb, origin))

    typed = parsed.whole or None
    services.work.submit(
        job, respond, subject=f"incident {parsed.ref.typed if parsed.ref else ''}".strip(), typed=typed
    )
