"""A real HTTP server on 127.0.0.1 for fakes: threaded, records every request, stops cleanly.

Fakes subclass :class:`FakeServer` and implement :meth:`handle`. Tests assert on :attr:`requests` (what reached
the server), never on mocks of a client.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    """One request as it reached a fake."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode("utf-8"), keep_blank_values=True).items()}


class DropConnection(Exception):
    """Raise from ``handle`` to close the connection without answering, like a server dying mid-request."""


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list → JSON; bytes/str sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (its timeout, on purpose in tests) is not an error of the fake."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class FakeServer:
    """Subclass and implement ``handle(req) -> Reply``."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.latency: float = 0.0
        self._lock = threading.Lock()
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as two writes: without this, 40 ms per request

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                req = Recorded(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                with fake._lock:
                    fake.requests.append(req)
                if fake.latency:
                    time.sleep(fake.latency)
                try:
                    reply = fake.handle(req)
                except DropConnection:
                    self.close_connection = True
                    return
                except Exception as exc:  # a bug in a fake must show, not hang the client
                    reply = Reply(500, {"fake_error": repr(exc)})
                    fake.on_error(req, exc)
                if isinstance(reply.body, (dict, list)):
                    payload = json.dumps(reply.body).encode()
                elif isinstance(reply.body, str):
                    payload = reply.body.encode()
                else:
                    payload = reply.body or b""
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(payload)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _QuietServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        # A short poll interval makes stop() take ~20 ms instead of 0.5 s; every test stops its fakes.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    # lifecycle -----------------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # for subclasses ------------------------------------------------------------------------------------------
    def handle(self, req: Recorded) -> Reply:
        raise NotImplementedError

    def on_error(self, req: Recorded, exc: Exception) -> None:
        """Called when ``handle`` raised; fakes may record it as a violation."""

    def requests_to(self, method: str, path_prefix: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    def reset_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def wait_for(self, predicate: Any, timeout: float = 5.0) -> bool:
        """Poll until ``predicate()`` is truthy; the bot does its work after acking, so tests wait for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.01)
        return bool(predicate())
