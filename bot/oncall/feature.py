"""Everything the on-call feature needs, built once by ``bot.app.build_app``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.oncall.jobs import FollowPoller
from bot.oncall.service import OnCall
from bot.oncall.store import FollowStore
from bot.services.alert_messages import AlertMessages
from bot.services.people import People
from bot.slack.adapters.work import WorkPool


@dataclass
class OnCallFeature:
    service: OnCall
    follows: FollowStore
    poller: FollowPoller
    work: WorkPool
    people: People
    messages: AlertMessages  # the page's alert is posted with the existing renderer and its buttons
    claim: Callable[[str, str, float], str | None]  # AlertStore.claim: a page is sent once
    poll_seconds: float = 120.0
    take_minutes: int = 60
    command: str = "/rootly"  # the configured slash command (SLACK_COMMAND), for the syntax replies show
