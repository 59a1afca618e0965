"""The App Home: one person's on-call world, read fresh each time they open the tab.

What "yours" means, kept simple so it can be said in one line on the tab (and in docs/commands.md):

- **Responding**: open, triggered or acknowledged alerts whose responders include your Rootly (or ilert) user,
  matched by your Slack email, among the newest :data:`RESPONDING_SCAN` of each backend.
- **Triggered on your services**: triggered Rootly alerts on services whose owners include your Rootly user. When
  you own no service, every triggered alert is shown, so the tab is still the place to start.
- **Active incidents**: Rootly incidents in an active status (in triage, started, detected, acknowledged, mitigated).
- **Subscriptions**: the digests and feeds you set up, in any channel.
- **Features' sections** (on call: "You are on call for …"), from the providers ``bot.app`` registers
  (:mod:`bot.domain.sections`); read in parallel with the parts above, each within a deadline.

Each part is read on its own: one that fails is named on the tab and the others still show.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from bot.backends import AlertBackend, Backends
from bot.backends.rootly_api import RootlyApi
from bot.domain import Alert, AlertFilters, Backend, Incident, Service, SubscriptionLine
from bot.render.home import SECTION_MAX, HomeData
from bot.services.people import People
from bot.services.pickers import ACTIVE_STATUSES
from bot.services.sections import Sections
from bot.support import errors
from bot.support.cache import TTLCache

log = logging.getLogger(__name__)

LIVE_STATUSES = ("open", "triggered", "acknowledged")
RESPONDING_SCAN = 100  # newest live alerts of each backend looked through for the person among the responders
INCIDENTS_MAX = 10


class Home:
    def __init__(
        self,
        backends: Backends,
        people: People,
        rootly: RootlyApi | None,
        subscriptions: Sequence[Callable[[], list[SubscriptionLine]]],
        *,
        clock: Callable[[], datetime] | None = None,
        services_ttl: float = 300.0,
        sections: Sections[str] | None = None,
    ) -> None:
        self.sections = sections  # features' sections, asked with the Slack user id
        self.backends = backends
        self.people = people
        self.rootly = rootly
        self.subscriptions = tuple(subscriptions)
        self.clock = clock or (lambda: datetime.now(UTC))
        self._owned: TTLCache[str, tuple[Service, ...]] = TTLCache(services_ttl)

    def gather(self, slack_user_id: str) -> HomeData:
        pending = self.sections.start(slack_user_id) if self.sections is not None else None
        failures: list[str] = []
        responding: list[Alert] = []
        unmatched: list[str] = []
        rootly_user: str | None = None
        for backend in self.backends:
            actor = self.people.actor(slack_user_id, backend)
            if actor.backend_user is None:
                unmatched.append(actor.unmatched_reason or f"no {backend.display_name} user matches you")
                continue
            if backend.kind is Backend.ROOTLY:
                rootly_user = actor.backend_user.id
            try:
                responding.extend(self._responding(backend, actor.backend_user.id))
            except errors.BackendError as exc:
                failures.append(f"your {backend.display_name} alerts: {exc.message}")
        responding.sort(key=lambda a: a.created_at, reverse=True)
        owned: tuple[Service, ...] = ()
        triggered: list[Alert] = []
        total = 0
        if self.rootly is not None:
            try:
                owned = self._owned_services(rootly_user) if rootly_user else ()
                triggered, total = self._triggered(owned, {a.ref for a in responding})
            except errors.BackendError as exc:
                failures.append(f"triggered alerts: {exc.message}")
        return HomeData(
            user_id=slack_user_id,
            as_of=self.clock(),
            responding=tuple(responding),
            unmatched=tuple(unmatched),
            owned_services=owned,
            triggered=tuple(triggered),
            triggered_total=total,
            incidents=self._incidents(failures),
            subscriptions=tuple(
                line for read in self.subscriptions for line in self._mine(read, slack_user_id, failures)
            ),
            failures=tuple(failures),
            sections=tuple(pending.collect()) if pending is not None else (),
        )

    def _responding(self, backend: AlertBackend, user_id: str) -> list[Alert]:
        filters = AlertFilters(statuses=LIVE_STATUSES)
        if backend.kind is Backend.ROOTLY and self.rootly is not None:
            # Rootly's lists leave responders out unless asked for them.
            page = self.rootly.list_alerts(filters, limit=RESPONDING_SCAN, include=("responders",))
        else:
            page = backend.list_open_alerts(filters, limit=RESPONDING_SCAN)
        return [a for a in page.alerts if any(p.id == user_id for p in a.responders)]

    def _owned_services(self, rootly_user: str) -> tuple[Service, ...]:
        cached = self._owned.get(rootly_user)
        if cached is not None:
            return cached
        assert self.rootly is not None
        owned = tuple(self.rootly.owned_services(rootly_user))
        self._owned.put(rootly_user, owned)
        return owned

    def _triggered(self, owned: tuple[Service, ...], shown: set) -> tuple[list[Alert], int]:  # type: ignore[type-arg]
        """Triggered Rootly alerts on the person's services (all of them when they own none), minus those shown."""
        assert self.rootly is not None
        slugs = tuple(s.slug or s.name for s in owned)
        page = self.rootly.list_alerts(AlertFilters(statuses=("triggered",), services=slugs), limit=SECTION_MAX * 2)
        fresh = [a for a in page.alerts if a.ref not in shown]
        return fresh, max(page.total - (len(page.alerts) - len(fresh)), len(fresh))

    def _incidents(self, failures: list[str]) -> tuple[Incident, ...] | None:
        if self.rootly is None:
            return None
        try:
            return tuple(self.rootly.list_incidents(statuses=ACTIVE_STATUSES, limit=INCIDENTS_MAX))
        except errors.BackendError as exc:
            failures.append(f"active incidents: {exc.message}")
            return ()

    @staticmethod
    def _mine(read: Callable[[], list[SubscriptionLine]], user: str, failures: list[str]) -> list[SubscriptionLine]:
        try:
            return [s for s in read() if s.created_by == user]
        except Exception as exc:  # the database: say so on the tab, show the rest
            log.warning("home: could not read subscriptions: %s", exc)
            if "your subscriptions: the bot's database did not answer" not in failures:
                failures.append("your subscriptions: the bot's database did not answer")
            return []
