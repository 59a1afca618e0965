"""What the incident form offers to pick: Rootly's severities, incident types, services, teams and environments.

Lists are read in parallel (so a slow Rootly costs one round trip, not five) and cached for a few minutes (so the next
modal opens filled at once). A list that fits in one Slack static select (100 options, one Rootly page) is offered
whole; a longer one, or one whose size Rootly did not say or could not be read, is searched as the person types
(``external_select`` with an options handler calling :meth:`PickerSource.options`).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from bot.backends.rootly_api import RootlyApi
from bot.domain import CatalogItem, CatalogKind, Incident, Picker, Pickers
from bot.support import errors
from bot.support.cache import TTLCache

log = logging.getLogger(__name__)

STATIC_MAX = 100  # Slack's static selects hold at most 100 options; Rootly's pages at most 100 items
OPTIONS_MAX = 100  # Slack shows at most 100 options from an options handler
# Incidents still being worked on: what a new incident may be a sub-incident of.
ACTIVE_STATUSES = ("in_triage", "started", "detected", "acknowledged", "mitigated")


class PickerSource:
    def __init__(self, rootly: RootlyApi, *, ttl: float = 300.0, search_ttl: float = 60.0) -> None:
        self.rootly = rootly
        self._lists: TTLCache[CatalogKind, Picker] = TTLCache(ttl)
        self._searches: TTLCache[tuple[CatalogKind, str], tuple[CatalogItem, ...]] = TTLCache(search_ttl, max_items=500)
        self._locks = {kind: threading.Lock() for kind in CatalogKind}
        self._executor = ThreadPoolExecutor(max_workers=len(CatalogKind), thread_name_prefix="pickers")

    def cached(self) -> Pickers | None:
        """Every list, when all are in the cache (then the form needs no Rootly call)."""
        found = {kind: self._lists.get(kind) for kind in CatalogKind}
        if any(picker is None for picker in found.values()):
            return None
        return Pickers({kind: picker for kind, picker in found.items() if picker is not None})

    def load(self) -> Pickers:
        """Every list, from the cache or Rootly (in parallel); a list Rootly could not give is marked failed."""
        futures = {kind: self._executor.submit(self.picker, kind) for kind in CatalogKind}
        return Pickers({kind: future.result() for kind, future in futures.items()})

    def load_async(self) -> Future[Pickers]:
        """:meth:`load` started now, so the caller can read the prefill meanwhile."""
        done: Future[Pickers] = Future()
        futures = {kind: self._executor.submit(self.picker, kind) for kind in CatalogKind}

        def collect(_: Future[Picker]) -> None:
            if all(f.done() for f in futures.values()) and not done.done():
                try:
                    done.set_result(Pickers({kind: f.result() for kind, f in futures.items()}))
                except Exception as exc:  # picker() catches Rootly's errors; anything else is a bug to surface
                    done.set_exception(exc)

        for future in futures.values():
            future.add_done_callback(collect)
        return done

    def picker(self, kind: CatalogKind) -> Picker:
        cached = self._lists.get(kind)
        if cached is not None:
            return cached
        with self._locks[kind]:  # one read per list however many modals open at once
            cached = self._lists.get(kind)
            if cached is not None:
                return cached
            try:
                page = self.rootly.catalog(kind, size=STATIC_MAX)
            except errors.BackendError as exc:
                log.warning("could not read Rootly's %s: %s", kind.value, exc.message)
                return Picker(kind, (), searched=True, failed=True)  # not cached: the next form tries again
            complete = page.total is not None and page.total <= STATIC_MAX and len(page.items) >= page.total
            picker = Picker(kind, page.items, searched=not complete)
            self._lists.put(kind, picker)
            return picker

    def options(self, kind: CatalogKind, query: str) -> tuple[CatalogItem, ...]:
        """What an external select offers for what the person typed (the first page when nothing is typed)."""
        text = " ".join(query.split()).lower()
        if not text:
            return self.picker(kind).items[:OPTIONS_MAX]
        key = (kind, text)
        cached = self._searches.get(key)
        if cached is not None:
            return cached
        found = tuple(self.rootly.search_catalog(kind, text, limit=OPTIONS_MAX))
        self._searches.put(key, found)
        return found

    def active_incidents(self, query: str, limit: int = 25) -> list[Incident]:
        """Incidents a new one may be a sub-incident of, newest first, matching what was typed."""
        return self.rootly.list_incidents(search=query.strip() or None, statuses=ACTIVE_STATUSES, limit=limit)

    def forget(self) -> None:
        """Drop what is cached, so the next form reads Rootly again (after its lists changed; benchmarks)."""
        self._lists = TTLCache(self._lists.ttl)
        self._searches = TTLCache(self._searches.ttl, max_items=500)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
