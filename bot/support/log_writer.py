"""Log lines written by one writer thread, in batches, so no request thread waits on the log's stream.

``logging.StreamHandler`` writes and flushes each record on the thread that logs it, under the handler's lock. When
many Slack requests are answered at once, the thread holding that lock gives up the interpreter lock for its
``write`` and then waits its turn to get it back, while every other request thread that logs queues on the handler
lock behind it; and when the stream is a pipe to a slow log collector, every acknowledgement waits on that pipe.

Here a request thread only finishes the record (its message and traceback as text, its request id, secrets
redacted: the filters run on the calling thread) and appends it to a queue. One writer thread formats what has
queued and writes it with a single ``write`` and ``flush``, then pauses ``gather`` seconds so that a burst's lines go
out in a few writes rather than one per line. The stdlib's ``QueueListener`` wakes for every record and writes them
one by one, which is the cost this avoids, hence a handler of its own.

``flush()`` (called by ``logging.shutdown`` at exit, and by ``close``) writes whatever is queued on the calling
thread, so nothing logged before a normal exit is lost; a SIGKILL loses at most the last ``gather`` seconds. If the
stream stops taking lines altogether, at most ``max_queued`` wait in memory; later ones are counted, not kept, and
the count is written once the stream takes lines again (a blocked log must not stop the bot, nor fill its memory).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import TextIO

GATHER = 0.02  # seconds the writer waits after a write, gathering the next lines of a burst
MAX_QUEUED = 20_000  # lines held while the stream takes none (a few MB)


class BatchedStreamHandler(logging.Handler):
    def __init__(self, stream: TextIO, gather: float = GATHER, max_queued: int = MAX_QUEUED) -> None:
        super().__init__()
        self.stream = stream
        self.gather = gather
        self.max_queued = max_queued
        self._dropped = 0
        self._queue: deque[logging.LogRecord] = deque()  # appends and pops are atomic: no lock on the log path
        self._wake = threading.Event()
        self._write_lock = threading.Lock()  # one writer at a time: the thread, or flush() at exit
        self._closed = False
        self._writer = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self._writer.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            # Made final here, on the logging thread: the arguments may change after the call returns, and the
            # traceback is only safe to read now.
            record.msg, record.args = record.getMessage(), None
            if record.exc_info:
                if not record.exc_text:
                    record.exc_text = (self.formatter or logging.Formatter()).formatException(record.exc_info)
                record.exc_info = None
        except Exception:
            self.handleError(record)
            return
        if len(self._queue) >= self.max_queued:
            self._dropped += 1  # under the handler's lock (Handler.handle)
            return
        self._queue.append(record)
        if not self._wake.is_set():  # the writer is asleep (or about to be): one wake-up per batch, not per line
            self._wake.set()

    def flush(self) -> None:
        with self._write_lock:
            self._write_queued()

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        self.flush()
        super().close()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait()
            self._wake.clear()
            with self._write_lock:
                self._write_queued()
            time.sleep(self.gather)

    def _write_queued(self) -> None:
        lines: list[str] = []
        while self._queue:
            record = self._queue.popleft()
            try:
                lines.append(self.format(record) + "\n")
            except Exception:
                self.handleError(record)
        with self.lock:  # type: ignore[union-attr]  # Handler.createLock made it
            dropped, self._dropped = self._dropped, 0
        if dropped:  # a record like any other, through the same filters and format (with LOG_FORMAT=json, JSON)
            notice = logging.makeLogRecord(
                {
                    "name": __name__,
                    "levelno": logging.WARNING,
                    "levelname": "WARNING",
                    "msg": f"{dropped} log line(s) dropped: the log stream took none while {self.max_queued} waited",
                }
            )
            if self.filter(notice):
                lines.append(self.format(notice) + "\n")
        if not lines:
            return
        try:
            self.stream.write("".join(lines))
            self.stream.flush()
        except Exception:  # a closed or broken stream: say so once per batch, as StreamHandler would per record
            self.handleError(logging.makeLogRecord({"msg": f"{len(lines)} log line(s) could not be written"}))
