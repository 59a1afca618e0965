"""What listeners are handed: the alert core (:class:`Services`) and the ``/rootly`` sub-command registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import Ack, Respond

from bot.backends import Backends
from bot.config import Settings
from bot.services.action_path import ActionPath
from bot.services.alert_actions import AlertActions
from bot.services.alert_messages import AlertMessages
from bot.services.feeds import Feeds, IlertPoller, RootlyPoller
from bot.services.health import DependencyHealth
from bot.services.home import Home
from bot.services.open_alerts import OpenAlerts
from bot.services.people import People
from bot.services.pickers import PickerSource
from bot.services.policy import Policy
from bot.services.reliable import OutboxDelivery, ReliableActions
from bot.services.triggers import Triggers
from bot.services.webhooks import WebhookReceiver
from bot.slack.adapters.work import WorkPool
from bot.store.alerts import AlertStore
from bot.store.outbox import OutboxStore

# ``handler(rest_of_text, command_payload, ack, respond)``: must ``ack`` within Slack's 3 s, like any listener.
Subcommand = Callable[[str, dict[str, Any], Ack, Respond], None]


@dataclass
class Services:
    """The alert core's services and Slack adapters, as the listeners of every surface reach them.

    Built once by :func:`bot.app.build_app`. Feature folders get this plus their own service, and add their
    ``/rootly`` words to :attr:`subcommands`, so the core never imports a feature.
    """

    settings: Settings
    backends: Backends
    people: People
    actions: AlertActions
    work: WorkPool
    store: AlertStore
    messages: AlertMessages
    open_alerts: OpenAlerts
    feeds: Feeds
    poller: RootlyPoller | None
    ilert_poller: IlertPoller | None
    webhooks: WebhookReceiver
    triggers: Triggers
    reliable: ReliableActions
    outbox: OutboxDelivery
    policy: Policy
    health: DependencyHealth
    outbox_store: OutboxStore
    path: ActionPath  # how every action on an alert finishes (bot/services/action_path.py)
    home: Home | None = None  # the App Home tab (bot/slack/listeners/home.py)
    pickers: PickerSource | None = None  # Rootly's catalogs for the forms; None without Rootly
    # ``/rootly <word> …`` handled by a feature folder (digest, incident…): word → handler of the rest of the text.
    subcommands: dict[str, Subcommand] = field(default_factory=dict)
