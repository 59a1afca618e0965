"""Log lines leave the logging thread at once and reach the stream whole, in order, in few writes."""

from __future__ import annotations

import io
import json
import logging
import threading
import weakref

from bot.support.log_writer import BatchedStreamHandler
from bot.support.logs import JsonFormatter
from tests.waiting import wait_until


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


class StuckStream(io.StringIO):
    """A pipe nobody reads: ``write`` blocks until released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()

    def write(self, text: str) -> int:
        self.entered.set()
        self.release.wait(10)
        return super().write(text)


def logger_to(handler: logging.Handler, name: str) -> logging.Logger:
    log = logging.getLogger(f"test.log_writer.{name}")
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.INFO)
    return log


def test_lines_from_many_threads_arrive_whole_in_order_and_in_few_writes() -> None:
    stream = CountingStream()
    handler = BatchedStreamHandler(stream, gather=0.05)
    handler.setFormatter(logging.Formatter("%(threadName)s %(message)s"))
    log = logger_to(handler, "many")

    def speak(n: int) -> None:
        for i in range(100):
            log.info("line %d", i)

    threads = [threading.Thread(target=speak, args=(n,), name=f"t{n}") for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    handler.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 400
    for n in range(4):
        mine = [int(line.split()[-1]) for line in lines if line.startswith(f"t{n} ")]
        assert mine == list(range(100))  # whole lines, each thread's in its order
    assert stream.writes <= 40  # batched: far fewer writes than lines (one per line before)


def test_the_logging_thread_does_not_wait_on_a_stuck_stream_and_nothing_is_lost() -> None:
    stream = StuckStream()
    handler = BatchedStreamHandler(stream, gather=0.0)
    log = logger_to(handler, "stuck")
    log.info("first")
    assert stream.entered.wait(5)  # the writer is now blocked inside write()
    done = threading.Event()

    def answer_requests() -> None:
        for i in range(200):
            log.info("request %d", i)
        done.set()

    threading.Thread(target=answer_requests, daemon=True).start()
    assert done.wait(5), "logging blocked on the stream"
    assert not stream.release.is_set()
    stream.release.set()
    handler.close()
    lines = stream.getvalue().splitlines()
    assert lines == ["first"] + [f"request {i}" for i in range(200)]


def test_beyond_its_limit_lines_are_counted_then_reported_not_kept() -> None:
    stream = StuckStream()
    handler = BatchedStreamHandler(stream, gather=0.0, max_queued=10)
    handler.setFormatter(JsonFormatter())  # the report is a log line like the others: JSON under LOG_FORMAT=json
    log = logger_to(handler, "limit")
    log.info("first")
    assert stream.entered.wait(5)
    for i in range(25):
        log.info("queued %d", i)
    stream.release.set()
    handler.close()
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    messages = [e["message"] for e in entries]
    assert [m for m in messages if m.startswith("queued")] == [f"queued {i}" for i in range(10)]
    report = [e for e in entries if "dropped" in e["message"]]
    assert len(report) == 1 and report[0]["message"].startswith("15 log line(s) dropped")
    assert report[0]["level"] == "warning"


def test_a_message_is_fixed_when_logged_not_when_written() -> None:
    stream = io.StringIO()
    handler = BatchedStreamHandler(stream, gather=0.2)
    log = logger_to(handler, "fixed")
    items = ["a"]
    log.info("items %s", items)
    items.append("b")  # after the call, before the writer formats it
    handler.close()
    assert stream.getvalue() == "items ['a']\n"


def test_tracebacks_are_kept_as_text_and_reach_the_json_line() -> None:
    stream = io.StringIO()
    handler = BatchedStreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    log = logger_to(handler, "exc")
    try:
        raise ValueError("bad value")
    except ValueError:
        log.exception("it failed")
    wait_until(lambda: "it failed" in stream.getvalue(), timeout=5, message="the line was never written")
    handler.close()
    entry = json.loads(stream.getvalue())
    assert entry["message"] == "it failed"
    assert "ValueError: bad value" in entry["exception"]


def test_logging_shutdown_writes_what_is_still_queued() -> None:
    # What runs at exit (and before `rootly-bot run`'s os._exit after an unfinished drain).
    stream = io.StringIO()
    handler = BatchedStreamHandler(stream, gather=5.0)
    log = logger_to(handler, "shutdown")
    log.info("one")
    wait_until(lambda: stream.getvalue() == "one\n", timeout=5, message="the first line was never written")
    log.info("two")  # the writer now gathers for 5 s: only shutdown can write this one in time
    logging.shutdown([weakref.ref(handler)])
    assert stream.getvalue() == "one\ntwo\n"
