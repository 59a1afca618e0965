"""Everything working on incidents needs, built once by ``bot.app.build_app`` and handed to the listeners."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.backends import AlertBackend
from bot.incidents.actions import Claim, IncidentActions
from bot.incidents.live import IncidentMessages, IncidentPoller
from bot.incidents.ports import Conversations, RootlyIncidentApi
from bot.incidents.posts import IncidentPostStore
from bot.incidents.reliable import KINDS, IncidentOutboxKinds, ReliableIncidentActions
from bot.services.people import People
from bot.store.db import Database
from bot.store.outbox import OutboxStore


@dataclass
class IncidentWork:
    actions: IncidentActions
    reliable: ReliableIncidentActions
    messages: IncidentMessages
    poller: IncidentPoller
    outbox_kinds: dict[str, IncidentOutboxKinds]


def build(
    rootly: RootlyIncidentApi,
    people: People,
    backend: AlertBackend,
    database: Database,
    conversations: Conversations,
    outbox: OutboxStore,
    claim: Claim,
    deliver: Callable[[dict[str, Any], dict[str, Any]], None],
    *,
    attribution: bool = True,
) -> IncidentWork:
    actions = IncidentActions(rootly, people, backend, claim=claim, attribution=attribution)
    # The outbox continues a click that already holds its double-click claim: it must not claim again.
    unclaimed = IncidentActions(rootly, people, backend, claim=None, attribution=attribution)
    unclaimed._catalog = actions._catalog  # one cache of severities and roles
    messages = IncidentMessages(IncidentPostStore(database), conversations, actions.severities_or_none)
    kinds = IncidentOutboxKinds(unclaimed, messages, deliver)
    return IncidentWork(
        actions=actions,
        reliable=ReliableIncidentActions(actions, outbox),
        messages=messages,
        poller=IncidentPoller(rootly, messages),
        outbox_kinds=dict.fromkeys(KINDS, kinds),
    )
