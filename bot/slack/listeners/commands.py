"""The slash command (``/rootly`` unless SLACK_COMMAND renames it): parse the text, acknowledge at once, hand the
backend work to the pool, reply ephemerally."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, Respond

from bot.config import Settings
from bot.domain import AlertFilters, TriggerRequest
from bot.render import feeds as feed_replies
from bot.render import replies
from bot.render.alert_list import alert_list_message
from bot.render.help import help_message
from bot.services.reliable import Origin
from bot.services.triggers import Triggers
from bot.slack import syntax

if TYPE_CHECKING:
    from bot.slack.context import Services


LIST_LIMIT = 50  # more than one message can show; the renderer stops at Slack's limits and counts the rest


def register(app: App, services: Services) -> None:
    name = services.settings.slack_command  # Bolt routes only this name: another app's command is not ours

    @app.command(name)
    def rootly_command(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        text = command.get("text") or ""
        word, rest = syntax.split_word(text)
        feature = services.subcommands.get(syntax.canonical(word)) if word else None
        if feature is not None:  # a feature folder's word (digest, incident…): it parses the rest itself
            feature(rest, command, ack, respond)
            return
        parsed = syntax.parse(text, name)
        user_id = command.get("user_id") or ""
        user_name = command.get("user_name")
        actions = services.actions
        reliable = services.reliable
        path = services.path
        origin = Origin(user_id, user_name, command.get("channel_id"), command.get("response_url"))
        match parsed:
            case syntax.Help(topic=_, unknown=unknown):
                ack(**help_message(name, unknown=unknown))
            case syntax.Invalid(command=which, problem=problem, typed=typed):
                ack(**replies.problem(problem, typed=typed, hint=f"Use: `{syntax.usage(which, name)}`"))
            case syntax.Acknowledge(ref=ref):
                ack(**replies.working(f"Acknowledging `{ref.id}`…"))
                services.work.submit(
                    lambda: path.finish(reliable.acknowledge(ref, origin)).reply,
                    respond,
                    subject=f"alert {ref.id}",
                )
            case syntax.Resolve(ref=ref, message=message):
                ack(**replies.working(f"Resolving `{ref.id}`…"))
                services.work.submit(
                    lambda: path.finish(reliable.resolve(ref, origin, message)).reply,
                    respond,
                    subject=f"alert {ref.id}",
                    typed=message,
                )
            case syntax.ListAlerts(filters=filters, here=here):
                ack(**replies.working(f"Looking up alerts ({filters.describe()})…"))
                channel = command.get("channel_id") or ""
                services.work.submit(lambda: alert_list(services, filters, here, channel), respond, subject="alerts")
            case syntax.UpdateAlert(ref=ref, changes=changes):
                ack(**replies.working(f"Updating `{ref.id}`…"))
                services.work.submit(
                    lambda: path.finish(actions.update(ref, user_id, changes, user_name)).reply,
                    respond,
                    subject=f"alert {ref.id}",
                )
            case syntax.Trigger() as trigger:
                ack(**replies.working(f"Raising “{trigger.summary[:80]}”…"))
                request = TriggerRequest(
                    summary=trigger.summary,
                    key=trigger.key or Triggers.new_key(),
                    details=trigger.details,
                    priority=trigger.priority,
                    route=trigger.route,
                )
                channel = command.get("channel_id") or ""
                team = command.get("team_id")
                services.work.submit(
                    lambda: replies.triggered(
                        *services.triggers.trigger(request, trigger.backend, user_id, channel, team), command=name
                    ),
                    respond,
                    subject="the new alert",
                    typed=trigger.summary + (f"\n{trigger.details}" if trigger.details else ""),
                )
            case syntax.FeedOn(filters=filters):
                channel = command.get("channel_id") or ""
                feed = services.feeds.subscribe(channel, filters, user_id)
                reply = feed_replies.feed_on(feed, feed_sources(services.settings), command=name)
                ack(response_type="in_channel", **reply)
            case syntax.FeedOff():
                channel = command.get("channel_id") or ""
                existed = services.feeds.unsubscribe(channel)
                ack(response_type="in_channel", **feed_replies.feed_off(channel, existed, command=name))
            case syntax.FeedList():
                feeds = services.feeds.subscriptions()
                ack(**feed_replies.feed_list(feeds, command.get("channel_id") or "", command=name))
            case syntax.AddNote(ref=ref, text=text):
                ack(**replies.working(f"Adding your note to `{ref.id}`…"))
                services.work.submit(
                    lambda: path.finish(reliable.add_note(ref, origin, text)).reply,
                    respond,
                    subject=f"alert {ref.id}",
                    typed=text,
                )


def feed_sources(settings: Settings) -> str:
    sources = []
    if settings.rootly_webhook_secret and not settings.socket_mode:
        sources.append("Rootly webhook")
    if settings.feed_poll_seconds > 0:
        sources.append(f"polling Rootly every {settings.feed_poll_seconds:g} s")
    return " and ".join(sources) or "nothing yet: set ROOTLY_WEBHOOK_SECRET or FEED_POLL_SECONDS"


def alert_list(services: Services, filters: AlertFilters, here: bool, channel: str) -> dict[str, Any] | None:
    """The open alerts as one message: ephemeral, or posted to the channel with ``here``."""
    page, failures = services.open_alerts.list(filters, limit=LIST_LIMIT)
    message = alert_list_message(
        page.alerts,
        page.total,
        title="Open alerts" if filters.statuses == ("open", "triggered") else "Alerts",
        more_url=f"{services.settings.rootly_app_url}/account/alerts",
        filters_text=filters.describe(),
        backend_label=len(list(services.backends)) > 1,
        can_declare=services.messages.can_declare,
    )
    if failures:
        message["text"] += "\n⚠️ Could not read: " + "; ".join(failures)
    if not here:
        return message
    services.messages.post_rows(channel, message)  # tracked: actions anywhere re-render its rows
    return None
