"""The App Home tab: published fresh on ``app_home_opened``, and again after each click made on it.

Opening the tab only hands the work to the pool (the event is acknowledged at once); the view is published when
Rootly has answered. Buttons on the tab are the alert buttons of every other surface; Acknowledge and Resolve
clicked here get listeners of their own (the message listeners leave clicks made on the tab to them, by the view
type), because a home tab has no message to re-render and no response URL to reply to: the outcome is shown on top of
the refreshed tab instead. Add note and Declare incident open their forms as anywhere else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.domain.results import ActionResult, Queued
from bot.render import replies
from bot.render.alert_message import parse_overflow_value
from bot.render.home import home_view
from bot.render.ids import Action
from bot.slack.listeners.actions import Click, from_home, menu_act, settle
from bot.slack.listeners.alert_edit import open_edit

if TYPE_CHECKING:
    from bot.slack.context import Services

log = logging.getLogger(__name__)


def publish(services: Services, client: WebClient, user_id: str, notice: Sequence[dict[str, Any]] = ()) -> None:
    """Gather and publish the person's tab (``notice``: blocks saying how their last click went)."""
    if services.home is None:
        return
    data = services.home.gather(user_id)
    view = home_view(
        data,
        command=services.settings.slack_command,
        notice=notice,
        more_url=f"{services.settings.rootly_app_url}/account/alerts",
        backend_label=len(list(services.backends)) > 1,
        can_declare=services.messages.can_declare,
    )
    client.views_publish(user_id=user_id, view=view)


def register(app: App, services: Services) -> None:
    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any], client: WebClient) -> None:
        user_id = str(event.get("user") or "")
        if event.get("tab") != "home" or not user_id:
            return  # the Messages tab, or an event without a person
        services.work.call(lambda: publish(services, client, user_id))

    def on_click(act: Callable[[Click], ActionResult | Queued]) -> Callable[..., None]:
        def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
            ack()
            reply = replier(body, client)
            try:
                click = Click.parse(body, action.get("value") or "")
            except ValueError:
                problem = replies.problem("That button is not one I know. Open the tab again and retry.")
                services.work.call(lambda: reply(**problem))
                return

            # The action path re-renders the alert's messages; the outcome is shown on top of the refreshed tab.
            services.work.submit(
                lambda: settle(services, click, act(click), reply), reply, subject=f"alert {click.ref.id}"
            )

        return listener

    def replier(body: dict[str, Any], client: WebClient) -> Callable[..., None]:
        """A home tab has no response URL: the outcome is shown on top of the refreshed tab."""
        user_id = str((body.get("user") or {}).get("id") or "")
        return lambda **message: publish(services, client, user_id, notice=message.get("blocks") or [])

    @app.action(Action.SNOOZE, matchers=[from_home])
    @app.action(Action.OVERFLOW, matchers=[from_home])
    def menu(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        reply = replier(body, client)
        try:
            verb, ref = parse_overflow_value((action.get("selected_option") or {}).get("value") or "")
            click = Click.parse(body, ref.encode())
        except ValueError:
            problem = replies.problem("That menu option is not one I know. Open the tab again and retry.")
            services.work.call(lambda: reply(**problem))
            return
        act = menu_act(services, verb, click)
        if act is None:
            if click.trigger_id:
                open_edit(services, client, ref, click.trigger_id, reply)
            return
        services.work.submit(lambda: settle(services, click, act(), reply), reply, subject=f"alert {click.ref.id}")

    app.action(Action.ACKNOWLEDGE, matchers=[from_home])(
        on_click(lambda click: services.reliable.acknowledge(click.ref, click.origin))
    )
    app.action(Action.RESOLVE, matchers=[from_home])(
        on_click(lambda click: services.reliable.resolve(click.ref, click.origin))
    )
