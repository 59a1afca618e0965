"""The sections extension point on its own: providers that fail or hang, and sections that are too long."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

from bot.digests.render import EXTRA_JSON_MAX, DigestView, digest_message, empty_digest
from bot.domain import Alert, AlertRef, AlertStatus, Backend
from bot.domain.sections import InfoSection, SectionProvider
from bot.render.sections import section_text
from bot.render.text import MESSAGE_BLOCKS_MAX, within_message_limits
from bot.services.sections import TIMED_OUT, Sections, section_pool
from bot.support import errors
from tests.messages import text_of

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_a_failing_or_hanging_provider_is_named_and_the_others_show() -> None:
    release = threading.Event()

    def hangs(_: str) -> InfoSection:
        release.wait(10)
        return InfoSection("Slow", ("late",))

    def down(_: str) -> InfoSection:
        raise errors.Unavailable("Rootly did not answer (503)", status=503)

    def broken(_: str) -> InfoSection:
        raise KeyError("oops")

    pool = section_pool()
    sections: Sections[str] = Sections(
        [
            SectionProvider("Slow", hangs),
            SectionProvider("On call", down),
            SectionProvider("Nothing", lambda user: None),
            SectionProvider("Broken", broken),
            SectionProvider("Fine", lambda user: InfoSection("Fine", (f"hello {user}",))),
        ],
        pool=pool,
        timeout=0.3,
    )
    try:
        found = sections.read("U1")
    finally:
        release.set()
        pool.shutdown(wait=True)
    assert [s.title for s in found] == ["Slow", "On call", "Broken", "Fine"]  # in order; None is left out
    assert found[0].failure == TIMED_OUT
    assert found[1].failure == "Rootly did not answer (503)"
    assert found[2].failure and "oops" not in found[2].failure  # no internals shown to people
    assert found[3] == InfoSection("Fine", ("hello U1",))


def test_section_text_keeps_whole_lines_and_counts_the_rest() -> None:
    section = InfoSection("Open incidents", tuple(f"• <https://x/{n}|INC-{n}> title {n}" for n in range(50)), "more")
    text = section_text(section, 300)
    assert len(text) <= 300 and text.startswith("*Open incidents*\n")
    shown = text.count("• ")
    assert 0 < shown < 50 and text.endswith(f"…and {50 - shown} more · more")
    assert all(line.endswith(f"title {line.split('INC-')[1].split('>')[0]}") for line in text.split("\n")[1:-1])
    failed = section_text(InfoSection.failed("On call", "Rootly did not answer"))
    assert failed == "*On call*\n⚠️ Unavailable right now: Rootly did not answer."


def test_digest_sections_fit_slacks_limits_whatever_their_size() -> None:
    alerts = [
        Alert(AlertRef(Backend.ROOTLY, f"a{n}"), f"ALT{n}", f"alert {n} " + "x" * 150, AlertStatus.TRIGGERED, "dd", NOW)
        for n in range(300)
    ]
    huge = InfoSection("On call", tuple(f"• *Policy {n}* 🧑‍🚒: Person {n} " + "é" * 80 for n in range(200)))
    view = DigestView(alerts, 300, NOW, sections=(huge, InfoSection.failed("Open incidents", "timeout")))
    message = digest_message(view)
    blocks = message["blocks"]
    assert within_message_limits(blocks) and len(blocks) <= MESSAGE_BLOCKS_MAX
    said = text_of(blocks)
    assert "*On call*" in said and "more" in said and "*Open incidents*\n⚠️ Unavailable right now" in said
    assert all(len(json.dumps(b)) <= EXTRA_JSON_MAX for b in blocks[2:4])  # each section within its share
    assert "alert 0" in said  # the alerts still have the room the digest is for
    empty = empty_digest(DigestView([], 0, NOW, sections=(huge,)))
    assert "*On call*" in text_of(empty["blocks"]) and within_message_limits(empty["blocks"])
