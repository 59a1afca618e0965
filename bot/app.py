"""``build_app``: the one place where settings, clients, services and Slack listeners are wired together.

Tests build the real app with fakes at the edges (``Deps``), so what they exercise is what production runs.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from apscheduler.schedulers.background import BackgroundScheduler
from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from bot import metrics
from bot.backends import AlertBackend, Backends
from bot.config import Settings
from bot.digest_jobs import DigestJobs
from bot.domain import Backend
from bot.ilert.backend import IlertBackend
from bot.ilert.client import IlertClient
from bot.rootly.backend import RootlyBackend
from bot.rootly.client import RootlyClient
from bot.scheduler import add_interval_job, make_scheduler
from bot.services.alert_actions import AlertActions
from bot.services.alert_messages import AlertMessages
from bot.services.digests import Digests, DigestSettings
from bot.services.feeds import Feeds, IlertPoller, RootlyPoller
from bot.services.health import DependencyHealth
from bot.services.home import Home
from bot.services.incident_pickers import PickerSource
from bot.services.incidents import IncidentDeclarations
from bot.services.metered import DIRECT_KINDS, INCIDENT_KINDS, RELIABLE_KINDS, TRIGGER_KINDS, Metered
from bot.services.open_alerts import OpenAlerts
from bot.services.people import People
from bot.services.policy import Permission, Policy, parse_grantees
from bot.services.reliable import OutboxDelivery, ReliableActions
from bot.services.triggers import Triggers
from bot.slack import actions, alert_edit, commands, failures, guards, incidents, policy_gate, request_log
from bot.slack import home as home_tab
from bot.slack.auth import WorkspaceAuthorization
from bot.slack.conversations import SlackConversations
from bot.slack.digest_poster import SlackDigestPoster
from bot.slack.directory import SlackDirectory
from bot.slack.messenger import SlackMessenger
from bot.slack.metered import MeteredWebClient
from bot.slack.notifier import OutboxNotifier
from bot.slack.resilience import BoundedRateLimitHandler, SlackObserver
from bot.slack.usergroups import SlackUserGroups
from bot.slack.work import WorkPool
from bot.store import Database
from bot.store.alerts import AlertStore
from bot.store.declarations import DeclarationStore
from bot.store.digests import DigestStore
from bot.store.outbox import OutboxStore
from bot.store.seen import SeenStore
from bot.webhooks import Delivery, WebhookReceiver

log = logging.getLogger(__name__)


@dataclass
class Deps:
    """Edges a caller may supply instead of the ones built from settings."""

    slack_client: WebClient | None = None
    rootly: RootlyClient | None = None
    database: Database | None = None


@dataclass
class Services:
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
    digests: Digests
    incidents: IncidentDeclarations | None  # None without Rootly: incidents are Rootly's
    reliable: ReliableActions
    outbox: OutboxDelivery
    policy: Policy
    health: DependencyHealth
    outbox_store: OutboxStore
    home: Home | None = None  # the App Home tab (bot/slack/home.py)


@dataclass
class BotApp:
    settings: Settings
    bolt: App
    services: Services
    database: Database
    slack_client: WebClient
    scheduler: BackgroundScheduler
    authorization: WorkspaceAuthorization
    closers: list = field(default_factory=list)

    def start_background(self) -> None:
        """Start scheduled jobs and warm the Slack identity; `rootly-bot run` calls it, tests when they need it."""
        self.services.work.call(self.authorization.warm)
        if self.services.policy.uses_groups:
            self.services.work.call(self.services.policy.warm)
        if not self.scheduler.running:
            self.scheduler.start()

    def close(self, grace: float = 0.0) -> bool:
        """Stop jobs, let accepted work finish for up to ``grace`` seconds; True when nothing was left unfinished."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        drained = self.services.work.drain(grace)
        for close in self.closers:
            close()
        metrics.forget_outbox_depth_source(self.services.outbox_store.depth)
        self.database.close()
        return drained


def slack_client(settings: Settings) -> WebClient:
    """Slack Web API client that waits out 429s (Retry-After, bounded: see bot/slack/resilience.py) and retries
    dropped connections."""
    return MeteredWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=2), BoundedRateLimitHandler(max_retry_count=3)],
    )


def build_app(settings: Settings, deps: Deps | None = None) -> BotApp:
    deps = deps or Deps()
    client = deps.slack_client or slack_client(settings)
    database = deps.database or Database(settings.database_url)
    database.create_schema()
    health = DependencyHealth()
    # First in the list: it records every answer Slack gives (for /healthz) and never retries anything itself.
    client.retry_handlers.insert(0, SlackObserver(health.observer("slack")))

    backends: list[AlertBackend] = []
    closers = []
    rootly: RootlyClient | None = None
    if settings.rootly_enabled:
        rootly = deps.rootly or RootlyClient.create(
            settings.rootly_api_url,
            settings.rootly_api_token or "",
            timeout=settings.rootly_timeout,
            rate_limit_budget=settings.rate_limit_budget,
            pool_size=settings.worker_threads,
        )
        closers.append(rootly.http.close)
        rootly.http.observe = health.observer("rootly")
        backends.append(RootlyBackend(rootly))
    if settings.ilert_enabled:
        ilert = IlertClient.create(
            settings.ilert_api_url,
            settings.ilert_api_token or "",
            settings.ilert_alert_source_key,
            timeout=settings.rootly_timeout,
            rate_limit_budget=settings.rate_limit_budget,
            pool_size=settings.worker_threads,
        )
        closers.append(ilert.http.close)
        ilert.http.observe = health.observer("ilert")
        backends.append(IlertBackend(ilert))

    people = People(SlackDirectory(client))
    registry = Backends(backends)
    work = WorkPool(settings.worker_threads)
    store = AlertStore(database)
    messages = AlertMessages(
        store, SlackMessenger(client), backend_label=len(backends) > 1, can_declare=rootly is not None
    )
    feeds = Feeds(store, registry, messages)
    poller = RootlyPoller(rootly, feeds, store) if rootly is not None else None
    declarations = None
    if rootly is not None:
        pickers = PickerSource(rootly)
        closers.append(pickers.close)
        conversations = SlackConversations(client)
        declarations = IncidentDeclarations(
            rootly, DeclarationStore(database), pickers, conversations, people, registry
        )

    alert_actions = AlertActions(registry, people, attribution_notes=settings.attribution_notes, claim=store.claim)
    # The outbox continues a click that already holds its double-click claim: claiming again would drop the item.
    outbox_actions = AlertActions(registry, people, attribution_notes=settings.attribution_notes, claim=None)
    outbox_store = OutboxStore(database)
    seen = SeenStore(database)
    policy = Policy(
        {
            Permission.RESOLVE: parse_grantees(settings.policy_resolve),
            Permission.DECLARE: parse_grantees(settings.policy_declare),
        },
        SlackUserGroups(client),
        ttl=settings.policy_cache_seconds,
    )

    def on_delivery(delivery: Delivery) -> None:
        if delivery.alert_id:
            work.call(lambda: feeds.on_webhook(delivery.event_type, delivery.alert_id or ""))

    services = Services(
        settings=settings,
        backends=registry,
        people=people,
        actions=alert_actions,
        work=work,
        store=store,
        messages=messages,
        open_alerts=OpenAlerts(registry),
        feeds=feeds,
        poller=poller,
        ilert_poller=IlertPoller(registry.get(Backend.ILERT), feeds, store) if settings.ilert_enabled else None,
        webhooks=WebhookReceiver(settings.rootly_webhook_secret, store.first_delivery, on_delivery),
        triggers=Triggers(registry, people, messages),
        digests=Digests(
            DigestStore(database),
            OpenAlerts(registry),
            SlackDigestPoster(client),
            DigestSettings(
                default_timezone=settings.default_timezone,
                min_interval=settings.digest_min_interval_seconds,
                claim_seconds=settings.digest_claim_seconds,
                more_url=f"{settings.rootly_app_url}/account/alerts",
                backend_label=len(backends) > 1,
                can_declare=messages.can_declare,
            ),
        ),
        incidents=declarations,
        reliable=ReliableActions(alert_actions, outbox_store),
        outbox=OutboxDelivery(
            outbox_store, outbox_actions, registry, OutboxNotifier(client), workers=settings.outbox_workers
        ),
        policy=policy,
        health=health,
        outbox_store=outbox_store,
    )
    # Listeners reach the action services through counters (rootly_bot_actions_total); the outbox keeps the bare ones.
    services.actions = Metered(services.actions, DIRECT_KINDS)  # type: ignore[assignment]
    services.reliable = Metered(services.reliable, RELIABLE_KINDS)  # type: ignore[assignment]
    services.triggers = Metered(services.triggers, TRIGGER_KINDS)  # type: ignore[assignment]
    if services.incidents is not None:
        services.incidents = Metered(services.incidents, INCIDENT_KINDS)  # type: ignore[assignment]
    services.home = Home(registry, people, rootly, services.digests.subscriptions, feeds.subscriptions)
    metrics.read_outbox_depth_from(outbox_store.depth)
    scheduler = make_scheduler()
    DigestJobs(scheduler, services.digests, resync_seconds=settings.digest_resync_seconds).install()
    add_interval_job(scheduler, "outbox", settings.outbox_seconds, services.outbox.deliver_due)
    add_interval_job(scheduler, "seen-prune", 300, lambda: guards.prune(seen))
    if policy.uses_groups:
        add_interval_job(scheduler, "policy-refresh", max(10.0, settings.policy_cache_seconds / 2), policy.warm)
    if poller is not None and settings.feed_poll_seconds > 0:
        add_interval_job(scheduler, "feed-poll", settings.feed_poll_seconds, poller.poll_once)
    if services.ilert_poller is not None and settings.feed_poll_seconds > 0:
        add_interval_job(scheduler, "ilert-poll", settings.feed_poll_seconds, services.ilert_poller.poll_once)
    authorization = WorkspaceAuthorization(client)
    bolt = App(
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        request_verification_enabled=not settings.socket_mode,
        # auth.test once, shared and warmed at start (see bot/slack/auth.py), so the bot starts even while Slack is
        # unreachable and no acknowledgement waits on it; `rootly-bot check` verifies the token explicitly.
        authorize=lambda: authorization(),
        # Every listener only parses, acks and hands slow work to the work pool, so it can run on the request
        # thread: the answer goes back the moment the listener returns, instead of after Bolt's 10 ms ack poll on
        # a second thread (measured in bench/ack_latency.py).
        process_before_response=True,
        listener_executor=ThreadPoolExecutor(max_workers=8, thread_name_prefix="bolt"),
        logger=logging.getLogger("slack_bolt"),
    )
    request_log.register(bolt)  # first: one line per verified request, whatever later middleware decides
    guards.register(bolt, seen)
    policy_gate.register(
        bolt, policy, work, lambda client, user, blocks: home_tab.publish(services, client, user, notice=blocks)
    )
    home_tab.register(bolt, services)  # before actions: its clicks on the Home tab are matched first
    commands.register(bolt, services)
    actions.register(bolt, services)
    alert_edit.register(bolt, services)
    incidents.register(bolt, services)

    @bolt.error
    def on_error(error: Exception, body: dict) -> BoltResponse:
        return failures.answer(error, body, seen.forget, work.call)

    return BotApp(settings, bolt, services, database, client, scheduler, authorization, closers)
