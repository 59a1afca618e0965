"""Who the bot is in the workspace, asked once (``auth.test``) and shared by every request.

Bolt's default single-workspace authorization calls ``auth.test`` on the first requests, on the acknowledgement
path, without a lock: a cold burst makes many identical calls and every request in it waits for Slack. This asks
once, under a lock, and is warmed at start so no person's click waits on it.
"""

from __future__ import annotations

import logging
import threading

from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient

log = logging.getLogger(__name__)


class WorkspaceAuthorization:
    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._lock = threading.Lock()
        self._result: AuthorizeResult | None = None

    def result(self) -> AuthorizeResult:
        with self._lock:
            if self._result is None:
                response = self.client.auth_test()
                self._result = AuthorizeResult.from_auth_test_response(
                    auth_test_response=response, bot_token=self.client.token
                )
            return self._result

    def warm(self) -> None:
        """Best effort at start: a failure here is retried by the first request (and `check` explains it)."""
        try:
            self.result()
        except Exception as exc:
            log.warning("auth.test at start failed (%s); the first request will try again", exc)

    def __call__(self) -> AuthorizeResult:
        return self.result()
