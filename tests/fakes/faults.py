"""Faults that last: a Rootly that is down until told otherwise, one that is not listening yet, and one whose answers
come after the client gave up.

:meth:`~tests.fakes.validating.ValidatingFake.script` queues single replies; an outage is a state instead, so the
guarantee tests can say "Rootly answers 503 for 30 s" whatever the bot sends meanwhile.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from typing import Any

from tests.fakes.rootly import RootlyFake
from tests.fakes.server import Recorded, Reply, _QuietServer


class OutageRootly(RootlyFake):
    """A Rootly fake with a switch: while :attr:`down` is a status, every request gets that error and changes
    nothing; set it back to None and Rootly recovers with its state intact."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.down: int | None = None
        self.refused_while_down = 0

    def handle(self, req: Recorded) -> Reply:
        status = self.down
        if status is not None:
            with self._state:
                self.refused_while_down += 1
            return RootlyFake.unavailable(status)
        return super().handle(req)

    def writes(self, suffix: str) -> list[Recorded]:
        """POSTs whose path ends with ``suffix`` (answered or refused)."""
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and r.path.endswith(suffix)]

    def actions_done(self, alert_id: str, action: str) -> int:
        """How many times Rootly applied ``action`` (``acknowledged``, ``resolved``) to the alert."""
        with self._state:
            return sum(
                1
                for e in self.alert_events
                if e["attributes"]["alert_id"] == alert_id and e["attributes"]["action"] == action
            )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LateListener:
    """Serves an already running fake on a second port, opened only when :meth:`open` is called.

    Until then connections to the port are refused (nothing listens): the bot sees "connection refused", the one
    failure that certainly never reached the API.
    """

    def __init__(self, fake: RootlyFake) -> None:
        self.fake = fake
        self.port = free_port()
        self._server: _QuietServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def open(self) -> None:
        handler = self.fake._server.RequestHandlerClass
        self._server = _QuietServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class LateAnswerRootly(OutageRootly):
    """A Rootly that does the work but answers too late: :meth:`answer_late` makes the next matching requests
    change Rootly's state at once and hold their reply for ``seconds``, so a client with a shorter timeout gives up
    on a request that landed (the ambiguous failure a note must not be duplicated after). Unlike the ``"timeout"``
    script (which makes the change after the client gave up), the change is there when the client looks for it.
    It can also be :attr:`down`, as :class:`OutageRootly`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._late: list[tuple[str, re.Pattern[str], float]] = []

    def answer_late(self, method: str, path_regex: str, seconds: float, times: int = 1) -> None:
        with self._state:
            self._late.extend([(method, re.compile(path_regex), seconds)] * times)

    def handle(self, req: Recorded) -> Reply:
        reply = super().handle(req)  # the change is made whatever happens to the answer
        with self._state:
            late = next((x for x in self._late if x[0] == req.method and x[1].fullmatch(req.path)), None)
            if late is not None:
                self._late.remove(late)
        if late is not None:
            time.sleep(late[2])
        return reply
