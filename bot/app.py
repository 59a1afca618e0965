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

from bot.backends import AlertBackend, Backends
from bot.backends.ilert.backend import IlertBackend
from bot.backends.ilert.client import IlertClient
from bot.backends.ilert.oncall import IlertOnCall
from bot.backends.rootly.backend import RootlyBackend
from bot.backends.rootly.client import RootlyClient
from bot.backends.rootly.oncall import RootlyOnCall
from bot.config import Settings
from bot.digests import listener as digest_listener
from bot.digests.jobs import DigestJobs
from bot.digests.poster import SlackDigestPoster
from bot.digests.service import Digests, DigestSettings
from bot.digests.store import DigestStore
from bot.domain import Backend
from bot.domain.grantees import parse_grantees
from bot.domain.sections import DigestScope, SectionProvider
from bot.incidents import listener as incident_listener
from bot.incidents import wiring as incident_wiring
from bot.incidents.conversations import SlackConversations
from bot.incidents.open_section import OpenIncidentsSection
from bot.incidents.service import IncidentDeclarations
from bot.incidents.store import DeclarationStore
from bot.oncall import jobs as oncall_jobs
from bot.oncall import listener as oncall_listener
from bot.oncall.feature import OnCallFeature
from bot.oncall.jobs import FollowPoller
from bot.oncall.mentions import SlackMentions
from bot.oncall.sections import OnCallSections
from bot.oncall.service import OnCall
from bot.oncall.store import FollowStore
from bot.services.action_path import ActionPath
from bot.services.alert_actions import AlertActions
from bot.services.alert_messages import AlertMessages
from bot.services.feed_delivery import FeedDelivery
from bot.services.feeds import Feeds, IlertPoller, RootlyPoller
from bot.services.health import DependencyHealth
from bot.services.home import Home
from bot.services.metered import DIRECT_KINDS, INCIDENT_KINDS, RELIABLE_KINDS, TRIGGER_KINDS, Metered
from bot.services.open_alerts import OpenAlerts
from bot.services.people import People
from bot.services.pickers import PickerSource
from bot.services.policy import Permission, Policy
from bot.services.reliable import OutboxDelivery, ReliableActions
from bot.services.sections import Sections, section_pool
from bot.services.triggers import Triggers
from bot.services.webhooks import Delivery, WebhookReceiver
from bot.slack.adapters.auth import WorkspaceAuthorization
from bot.slack.adapters.directory import SlackDirectory
from bot.slack.adapters.messenger import SlackMessenger
from bot.slack.adapters.metered import MeteredWebClient
from bot.slack.adapters.notifier import OutboxNotifier
from bot.slack.adapters.resilience import BoundedRateLimitHandler, SlackObserver
from bot.slack.adapters.usergroups import SlackUserGroups
from bot.slack.adapters.work import WorkPool
from bot.slack.context import Services
from bot.slack.listeners import actions, alert_edit, commands
from bot.slack.listeners import home as home_tab
from bot.slack.middleware import failures, guards, no_response_url, policy_gate, request_log
from bot.store import Database
from bot.store.alerts import AlertStore
from bot.store.feed_claims import FeedClaims
from bot.store.outbox import OutboxStore
from bot.store.seen import SeenStore
from bot.support import metrics
from bot.support.channel_pacing import ChannelPace
from bot.support.scheduler import add_interval_job, make_scheduler
from bot.threads import listener as thread_listener

log = logging.getLogger(__name__)


@dataclass
class Deps:
    """Edges a caller may supply instead of the ones built from settings."""

    slack_client: WebClient | None = None
    rootly: RootlyClient | None = None
    database: Database | None = None


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
    digests: Digests | None = None  # the digests feature (bot/digests/)
    incidents: IncidentDeclarations | None = None  # the incidents feature (bot/incidents/); None without Rootly
    oncall: OnCallFeature | None = None  # the on-call feature (bot/oncall/)
    incident_work: incident_wiring.IncidentWork | None = None  # working on incidents (bot/incidents/)
    threads: thread_listener.Threads | None = None  # alert threads (bot/threads/)

    def start_background(self) -> None:
        """Start scheduled jobs and warm the Slack identity; `rootly-bot run` calls it, tests when they need it."""
        self.services.work.call(self.authorization.warm)
        if self.services.policy.uses_groups:
            self.services.work.call(self.services.policy.warm)
        if self.oncall is not None:
            self.services.work.call(self.oncall.service.warm)
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
    """Slack Web API client that waits out 429s (Retry-After, bounded: see bot/slack/adapters/resilience.py) and retries
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
    # Posts and updates wait their channel's turn (Slack: ~1 a second per channel) instead of collecting 429s.
    pace = ChannelPace(settings.slack_posts_per_second) if settings.slack_posts_per_second > 0 else None
    if isinstance(client, MeteredWebClient):
        client.pace = pace

    backends: list[AlertBackend] = []
    oncall_sources: list[RootlyOnCall | IlertOnCall] = []  # on call (bot/oncall/)
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
        oncall_sources.append(RootlyOnCall(rootly))
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
        oncall_sources.append(IlertOnCall(ilert))

    people = People(SlackDirectory(client))
    registry = Backends(backends)
    work = WorkPool(settings.worker_threads)
    store = AlertStore(database)
    messages = AlertMessages(
        store, SlackMessenger(client), backend_label=len(backends) > 1, can_declare=rootly is not None
    )
    path = ActionPath(messages)
    feed_claims = FeedClaims(database.engine)
    feed_delivery = FeedDelivery(
        messages,
        threshold=settings.feed_group_threshold,
        window=settings.feed_group_window_seconds,
        # a token kept for people's clicks: a storm's posts never make a re-render wait
        ready=(lambda channel: pace.wait_ready(channel, reserve=1)) if pace is not None else (lambda channel: None),
        failed=feed_claims.release,
        hold=feed_claims.hold,
        posted=feed_claims.posted,
        left=feed_claims.hand_back,
    )
    feeds = Feeds(
        store, registry, messages, feed_delivery, claims=feed_claims, lease_seconds=settings.feed_claim_seconds
    )
    feed_heartbeat = feeds.keep_claims()
    closers.append(lambda: feed_delivery.close(grace=2.0))
    closers.append(feed_heartbeat.stop)
    poller = RootlyPoller(rootly, feeds, store) if rootly is not None else None
    declarations = None
    pickers = None
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
            Permission.INCIDENT_RESOLVE: parse_grantees(settings.policy_incident_resolve),
        },
        SlackUserGroups(client),
        ttl=settings.policy_cache_seconds,
    )

    notifier = OutboxNotifier(client)  # one per process: a person's outcomes wait for their DM's turn together
    closers.append(notifier.close)
    incident_work = None
    if rootly is not None and declarations is not None:
        incident_work = incident_wiring.build(
            rootly,
            people,
            registry.get(Backend.ROOTLY),
            database,
            declarations.conversations,
            outbox_store,
            store.claim,
            notifier.deliver,
            attribution=settings.attribution_notes,
        )
        declarations.live = incident_work.messages

    def on_delivery(delivery: Delivery) -> None:
        if delivery.event_type.startswith("incident."):
            if incident_work is not None and delivery.alert_id:
                incident_id = delivery.alert_id  # the delivery's data.id: here an incident's
                work.call(lambda: incident_work.poller.follow(incident_id))
            return
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
        reliable=ReliableActions(alert_actions, outbox_store),
        outbox=OutboxDelivery(
            outbox_store,
            outbox_actions,
            registry,
            path.landed_later(notifier),
            workers=settings.outbox_workers,
        ),
        policy=policy,
        health=health,
        outbox_store=outbox_store,
        path=path,
        pickers=pickers,
    )
    # Extra sections of digests and the App Home (bot/domain/sections.py): features add their providers below.
    sections_threads = section_pool()
    closers.append(lambda: sections_threads.shutdown(wait=False))
    digest_sections: Sections[DigestScope] = Sections(pool=sections_threads)
    home_sections: Sections[str] = Sections(pool=sections_threads)
    digests = Digests(
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
            command=settings.slack_command,
        ),
        track_rows=messages.track_rows,
        sections=digest_sections,
    )
    if incident_work is not None:
        services.outbox.kinds.update(incident_work.outbox_kinds)
    # Listeners reach the action services through counters (rootly_bot_actions_total); the outbox keeps the bare ones.
    services.actions = Metered(services.actions, DIRECT_KINDS)  # type: ignore[assignment]
    services.reliable = Metered(services.reliable, RELIABLE_KINDS)  # type: ignore[assignment]
    services.triggers = Metered(services.triggers, TRIGGER_KINDS)  # type: ignore[assignment]
    if declarations is not None:
        declarations = Metered(declarations, INCIDENT_KINDS)  # type: ignore[assignment]
    services.home = Home(
        registry, people, rootly, (digests.subscription_lines, feeds.subscription_lines), sections=home_sections
    )
    metrics.read_outbox_depth_from(outbox_store.depth)
    scheduler = make_scheduler()
    # --- on call (bot/oncall/) ---
    oncall_service = OnCall(oncall_sources, SlackMentions(client), answer_ttl=settings.oncall_cache_seconds)
    follows = FollowStore(database)
    oncall = OnCallFeature(
        service=oncall_service,
        follows=follows,
        poller=FollowPoller(oncall_service, follows, messages.messenger, claim_seconds=settings.oncall_claim_seconds),
        work=work,
        people=people,
        messages=messages,
        claim=store.claim,
        poll_seconds=settings.oncall_poll_seconds,
        take_minutes=settings.oncall_take_minutes,
        command=settings.slack_command,
    )
    oncall_jobs.install(scheduler, oncall.poller, settings.oncall_poll_seconds)
    oncall_sections = OnCallSections(oncall_service, people, command=settings.slack_command)
    digest_sections.add(SectionProvider("On call", oncall_sections.for_digest))
    home_sections.add(SectionProvider("On call", oncall_sections.for_person))
    if rootly is not None:  # --- open incidents in digests (bot/incidents/open_section.py) ---
        incidents_url = f"{settings.rootly_app_url}/account/incidents"
        digest_sections.add(
            SectionProvider("Open incidents", OpenIncidentsSection(rootly, more_url=incidents_url).for_digest)
        )
    DigestJobs(scheduler, digests, resync_seconds=settings.digest_resync_seconds).install()
    add_interval_job(scheduler, "outbox", settings.outbox_seconds, services.outbox.deliver_due)
    add_interval_job(scheduler, "seen-prune", 300, lambda: guards.prune(seen))
    if policy.uses_groups:
        add_interval_job(scheduler, "policy-refresh", max(10.0, settings.policy_cache_seconds / 2), policy.warm)
    add_interval_job(scheduler, "feed-recover", settings.feed_claim_seconds / 2, feeds.recover)
    if poller is not None and settings.feed_poll_seconds > 0:
        add_interval_job(scheduler, "feed-poll", settings.feed_poll_seconds, poller.poll_once)
    if incident_work is not None and settings.feed_poll_seconds > 0:
        add_interval_job(scheduler, "incident-poll", settings.feed_poll_seconds, incident_work.poller.poll_once)
    if services.ilert_poller is not None and settings.feed_poll_seconds > 0:
        add_interval_job(scheduler, "ilert-poll", settings.feed_poll_seconds, services.ilert_poller.poll_once)
    authorization = WorkspaceAuthorization(client)
    bolt = App(
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        request_verification_enabled=not settings.socket_mode,
        # auth.test once, shared and warmed at start (bot/slack/adapters/auth.py), so the bot starts even while Slack
        # is unreachable and no acknowledgement waits on it; `rootly-bot check` verifies the token explicitly.
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
    no_response_url.register(bolt)  # a listener's answer never raises for want of a response_url
    policy_gate.register(
        bolt,
        policy,
        work,
        lambda client, user, blocks: home_tab.publish(services, client, user, notice=blocks),
        command=settings.slack_command,
    )
    # Bolt tries listeners in order of registration, each test costing a few microseconds of keyword building:
    # `/rootly` first (most requests, and nothing else is a slash command), then the alert buttons of messages (they
    # leave clicks made on the App Home tab, which share their action ids, to the tab's own listeners).
    commands.register(bolt, services)
    actions.register(bolt, services)
    home_tab.register(bolt, services)
    alert_edit.register(bolt, services)
    # Feature folders: each registers its listeners and its ``/rootly`` words on top of the core.
    incident_listener.register(bolt, services, declarations, incident_work)
    digest_listener.register(services, digests)
    oncall_listener.register(bolt, services, oncall)
    threads = thread_listener.register(bolt, services, database, closers)

    @bolt.error
    def on_error(error: Exception, body: dict) -> BoltResponse:
        return failures.answer(error, body, seen.forget, work.call)

    return BotApp(
        settings,
        bolt,
        services,
        database,
        client,
        scheduler,
        authorization,
        closers,
        digests,
        declarations,
        oncall,
        incident_work,
        threads,
    )
