"""Logging set-up: readable text or one JSON object per line, with every configured secret redacted."""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from types import TracebackType

from bot.support import request_context
from bot.support.log_writer import BatchedStreamHandler

# Libraries whose loggers must reach the root handler and nothing else (no handler of their own, propagating), so
# that with LOG_FORMAT=json every line the process writes is one JSON object.
LIBRARY_LOGGERS = ("slack_bolt", "slack_sdk", "waitress", "apscheduler", "urllib3", "sqlalchemy", "py.warnings")


class Redactor(logging.Filter):
    """Replaces secret values wherever they appear in a record's final message."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = self.scrub(record.getMessage())
            record.msg, record.args = message, None
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = self.scrub(record.exc_text)
        return True


class RequestIdFilter(logging.Filter):
    """Puts the current Slack request's id (``bot.support.request_context``) on every record, or None outside one."""

    def filter(self, record: logging.LogRecord) -> bool:
        rid = request_context.current()
        record.request_id = rid
        record.request_tag = f" [{rid}]" if rid else ""
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "request_id", None):
            entry["request_id"] = record.request_id
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str = "INFO", fmt: str = "text", secrets: Iterable[str] = ()) -> None:
    handler = BatchedStreamHandler(sys.stderr)  # no request thread waits on stderr (bot/support/log_writer.py)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s%(request_tag)s: %(message)s"))
    handler.addFilter(RequestIdFilter())
    handler.addFilter(Redactor(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        if isinstance(old, BatchedStreamHandler):
            old.close()  # its lines written, its writer thread stopped
    root.addHandler(handler)
    root.setLevel(level)
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        for old in list(library.handlers):
            library.removeHandler(old)
        library.propagate = True
    logging.captureWarnings(True)
    _log_uncaught()


def _log_uncaught() -> None:
    """Uncaught exceptions (main thread, other threads, ``__del__``) become log records, not raw tracebacks."""
    crash = logging.getLogger("bot.crash")

    def on_exception(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        crash.critical("uncaught %s: %s", kind.__name__, value, exc_info=(kind, value, tb))

    def on_thread_exception(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        name = args.thread.name if args.thread else "?"
        crash.error(
            "uncaught %s in thread %s: %s",
            args.exc_type.__name__,
            name,
            args.exc_value,
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )

    def on_unraisable(args: sys.UnraisableHookArgs) -> None:
        crash.warning(
            "%s: %r",
            args.err_msg or "exception ignored",
            args.object,
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback) if args.exc_value else None,
        )

    sys.excepthook = on_exception
    threading.excepthook = on_thread_exception
    sys.unraisablehook = on_unraisable
