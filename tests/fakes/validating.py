"""What every contract-checked API fake shares: violations, scripted faults, and request/response validation.

:class:`ValidatingFake` sits between :class:`~tests.fakes.server.FakeServer` and a concrete fake (Rootly, ilert). It
holds the :class:`~tests.fakes.contract.ContractValidator` (``None`` when the contract is absent: then nothing is
checked and every other behaviour stays), records problems in :attr:`ValidatingFake.violations`, and serves the
replies a test scripted with :meth:`ValidatingFake.script` before the fake's own logic runs.
"""

from __future__ import annotations

import json
import re
import threading
import traceback
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.contract import ContractValidator
from tests.fakes.server import FakeServer, Recorded, Reply

INVALID_JSON: Any = object()  # a request body that is not JSON
SCRIPT_KEYWORDS = ("timeout", "drop")


@dataclass
class Script:
    method: str
    pattern: re.Pattern[str]
    replies: deque[Reply | str] = field(default_factory=deque)


class ValidatingFake(FakeServer):
    """Base of API fakes that check traffic against an OpenAPI contract.

    Subclasses implement ``handle`` and call :meth:`request_problems` / :meth:`response_problems` and
    :meth:`take_script` from it, in the order their API would.
    """

    def __init__(self, validator: ContractValidator | None) -> None:
        super().__init__()
        self.validator = validator
        self.violations: list[str] = []
        self.timeout_sleep: float = 3.0
        self._state = threading.RLock()
        self._scripts: list[Script] = []

    @property
    def validating(self) -> bool:
        """True when a contract was found: only then are requests and answers checked."""
        return self.validator is not None

    def take_violations(self) -> list[str]:
        """Return and clear the violations (for tests that provoke them on purpose)."""
        with self._state:
            found, self.violations[:] = list(self.violations), []
            return found

    def _violate(self, problems: Iterable[str]) -> None:
        with self._state:
            self.violations.extend(problems)

    def on_error(self, req: Recorded, exc: Exception) -> None:
        """A bug in the fake is a violation, so a test cannot pass on a 500 the fake made by mistake."""
        last = traceback.format_exception(exc)[-2].strip().splitlines()[0]
        self._violate([f"{req.method} {req.path}: the fake raised {exc!r} at {last}"])

    # fault injection -----------------------------------------------------------------------------------------
    def script(self, method: str, path_regex: str, *replies: Reply | str) -> None:
        """The next requests whose method (``*`` = any) matches and whose path ``re.search``-es ``path_regex`` (anchor
        with ``^``/``$``) get these replies in order.

        A :class:`Reply` is sent as is (no contract check: faults are the test's choice); ``"timeout"`` sleeps
        :attr:`timeout_sleep` and then handles the request normally, so the side effect happens after the client gave
        up; ``"drop"`` closes the connection without an answer.
        """
        for reply in replies:
            if isinstance(reply, str) and reply not in SCRIPT_KEYWORDS:
                raise ValueError(f"unknown scripted reply {reply!r}")
        with self._state:
            self._scripts.append(Script(method.upper(), re.compile(path_regex), deque(replies)))

    def take_script(self, req: Recorded) -> Reply | str | None:
        """The scripted reply for this request, if one is queued (it is used up)."""
        with self._state:
            for script in self._scripts:
                if script.method in ("*", req.method) and script.pattern.search(req.path) and script.replies:
                    reply = script.replies.popleft()
                    self._scripts = [s for s in self._scripts if s.replies]
                    return reply
        return None

    # validation ----------------------------------------------------------------------------------------------
    @staticmethod
    def request_json(req: Recorded) -> Any:
        """The request body as JSON, ``None`` when empty, :data:`INVALID_JSON` when not JSON."""
        if not req.body:
            return None
        try:
            return json.loads(req.body)
        except ValueError:
            return INVALID_JSON

    def request_problems(self, req: Recorded, body: Any) -> list[str]:
        """What the contract says is wrong with the request (nothing when no contract was found)."""
        if self.validator is None:
            return []
        return self.validator.check_request(
            req.method, req.path, req.query, req.headers, req.body, None if body is INVALID_JSON else body
        )

    def response_problems(self, req: Recorded, reply: Reply) -> list[str]:
        """What the contract says is wrong with the fake's own answer (a bug in the fake, or in its data)."""
        if self.validator is None:
            return []
        body, raw = reply.body, None
        if isinstance(body, (bytes, str)) and not body:
            body = None  # an empty body is no body
        elif isinstance(body, (bytes, str)):
            raw = body.encode() if isinstance(body, str) else body
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        return self.validator.check_response(req.method, req.path, reply.status, body, reply.content_type, raw=raw)
