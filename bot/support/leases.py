"""Keeping a lease while slow work runs: a heartbeat thread renews it every third of its length.

Leases can then be short (a replica that dies frees its work within one lease length) while work that takes longer
than a lease (a slow API, a long digest) is never taken over under the feet of a live holder. The keeper knows
nothing of what is leased: it is given a ``renew(held_until, seconds)`` function, such as
:meth:`bot.store.leases.LeaseTable.renew` bound to a row.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

log = logging.getLogger(__name__)

# renew(held_until, seconds) -> the new end, or None when the lease was lost.
Renew = Callable[[datetime, float], "datetime | None"]


class LeaseKeeper:
    """Renews a lease every third of its length until stopped; ``stop()`` gives the lease's end now held.

    ``until`` None means there is no lease to keep (the caller holds the work some other way): nothing runs.
    """

    def __init__(self, renew: Renew, until: datetime | None, seconds: float, name: str) -> None:
        self.renew = renew
        self.seconds = seconds
        self.name = name
        self.until = until
        self.lost = False
        self._lock = threading.Lock()  # one renewal at a time: each needs the end the previous one gave
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{name}", daemon=True)
        if until is not None:
            self._thread.start()

    @property
    def held(self) -> bool:
        return self.until is not None and not self.lost

    def confirm(self) -> bool:
        """Renew now and say whether the lease is still ours: asked right before a step that cannot be undone."""
        if self.until is None:
            return True
        self._renew_once()
        return not self.lost

    def _renew_once(self) -> None:
        with self._lock:
            if self.lost or self.until is None:
                return
            renewed = self.renew(self.until, self.seconds)
            if renewed is None:
                self.lost = True
                if not self._stopped.is_set():  # after stop() the work finished the row: that is not a loss
                    log.warning("lost the lease on %s", self.name)
            else:
                self.until = renewed

    def _run(self) -> None:
        while not self._stopped.wait(self.seconds / 3):
            try:
                self._renew_once()
            except Exception:
                log.warning("could not renew the lease on %s", self.name, exc_info=True)
                continue
            if self.lost:
                return

    def stop(self) -> datetime | None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()
        return self.until
