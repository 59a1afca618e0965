"""Nothing typed is lost: notes, acknowledgements and resolutions Rootly cannot take now are queued, delivered once
after it recovers, and the person is told; permanent refusals are told at once and not queued.

The outage figure: Rootly answers 503 for ``GUARANTEE_OUTAGE_SECONDS`` (default 5; the issue's figure uses 30)
while ``GUARANTEE_ACTIONS`` (default 200) notes and acknowledgements arrive by slash command and button.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import AlertRef, Backend
from bot.render.ids import Action
from bot.store.outbox import OutboxStore
from tests import guarantees
from tests.conftest import ROOTLY_TOKEN, RunningBot
from tests.fakes.faults import LateListener, OutageRootly
from tests.fakes.server import Reply
from tests.fakes.slack import SlackFake
from tests.messages import text_of
from tests.waiting import wait_until

GUARANTEE = "Nothing typed is lost"


@pytest.fixture
def rootly() -> Iterator[OutageRootly]:
    fake = OutageRootly(token=ROOTLY_TOKEN).start()
    try:
        yield fake
    finally:
        fake.stop()
    assert fake.violations == [], "requests or responses broke the Rootly contract"


def said(slack: SlackFake) -> list[str]:
    return [text_of(r) + "\n" + str(r.get("text") or "") for r in slack.responses()]


def waiting(bot: RunningBot) -> int:
    return bot.app.services.outbox_store.depth()


# --- the outage figure ----------------------------------------------------------------------------------------------
def test_an_outage_loses_nothing_and_duplicates_nothing(make_bot, rootly: OutageRootly, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    """Rootly down for the outage while notes and acks arrive; after recovery each lands exactly once."""
    rootly.add_user("alice@example.com", "Alice Example")
    n_acks = guarantees.ACTIONS // 2
    n_notes = guarantees.ACTIONS - n_acks
    alerts = [rootly.add_alert(summary=f"Outage alert {i}", status="triggered")["id"] for i in range(n_acks)]
    notes = {f"outage note {i}: lines & <markup> 🚒": alerts[i % n_acks] for i in range(n_notes)}
    sends = [("note", alert, text) for text, alert in notes.items()]
    sends += [("ack-button" if i % 2 else "ack-command", alert, None) for i, alert in enumerate(alerts)]
    sends.sort(key=lambda s: hash(s[2] or s[1]))  # interleave kinds

    with make_bot(OUTBOX_SECONDS="1", FEED_POLL_SECONDS="0") as bot:
        bot.app.start_background()
        rootly.down = 503
        outage_began = time.monotonic()
        spacing = guarantees.OUTAGE_SECONDS * 0.6 / len(sends)

        def send(kind: str, alert: str, text: str | None) -> int:
            if kind == "note":
                return bot.sender.slash(f"note {alert} {text}").status_code
            if kind == "ack-command":
                return bot.sender.slash(f"ack {alert}").status_code
            return bot.sender.click(Action.ACKNOWLEDGE, f"rootly:{alert}").status_code

        statuses = []
        with ThreadPoolExecutor(4) as pool:
            futures = []
            for i, item in enumerate(sends):
                futures.append(pool.submit(send, *item))
                time.sleep(max(0.0, outage_began + i * spacing - time.monotonic()))
            statuses = [f.result() for f in futures]
        assert statuses == [200] * len(sends)
        time.sleep(max(0.0, outage_began + guarantees.OUTAGE_SECONDS - time.monotonic()))
        # Every action's first attempt made (and failed, so queued) before the count; Rootly is still down.
        wait_until(lambda: bot.app.services.work.busy() == 0, timeout=30)
        queued_during_outage = waiting(bot)
        rootly.down = None
        recovered = time.monotonic()

        def all_landed() -> bool:
            have = {d for alert in set(notes.values()) for d, _ in rootly.notes(alert)}
            acked = all(rootly.get_alert(a)["attributes"]["status"] == "acknowledged" for a in alerts)
            return acked and all(text in have for text in notes)

        wait_until(all_landed, timeout=120 + guarantees.OUTAGE_SECONDS * 2, interval=0.05)
        delivered_in = time.monotonic() - recovered
        wait_until(lambda: waiting(bot) == 0, timeout=30)
        wait_until(
            lambda: sum("From the outbox" in s for s in said(slack)) >= queued_during_outage,
            30,
            message="not everyone whose action was queued was told its outcome",
        )
        time.sleep(1.5)  # anything sent twice would show by now

    landed_notes = [d for alert in set(notes.values()) for d, _ in rootly.notes(alert)]
    lost = sum(1 for text in notes if text not in landed_notes)
    lost += sum(1 for a in alerts if rootly.get_alert(a)["attributes"]["status"] != "acknowledged")
    duplicated = sum(landed_notes.count(text) - 1 for text in notes if text in landed_notes)
    duplicated += sum(max(0, rootly.actions_done(a, "acknowledged") - 1) for a in alerts)
    attributions = [d for d in landed_notes if d.startswith("Acknowledged in Slack by")]
    duplicated += max(0, len(attributions) - len(alerts))
    replies = said(slack)
    queued_told = sum("queued" in s for s in replies)
    outcome_told = sum("From the outbox" in s for s in replies)
    size = f"Rootly 503 for {guarantees.OUTAGE_SECONDS:g} s, {len(sends)} notes/acks"
    guarantees.record(GUARANTEE, f"outage ({size}): lost", lost)
    guarantees.record(GUARANTEE, f"outage ({size}): duplicated", duplicated)
    guarantees.record(GUARANTEE, f"outage ({size}): queued in the outbox", queued_during_outage)
    guarantees.record(GUARANTEE, f"outage ({size}): attempted only after recovery", len(sends) - queued_during_outage)
    guarantees.record(GUARANTEE, f"outage ({size}): all delivered within (s of recovery)", round(delivered_in, 2))
    guarantees.record(
        GUARANTEE, f"outage ({size}): people told queued / told outcome", f"{queued_told} / {outcome_told}"
    )
    assert lost == 0 and duplicated == 0
    assert queued_during_outage > 0 and queued_told >= queued_during_outage
    assert outcome_told == queued_during_outage, "each queued action's outcome is told once, none twice"


# --- every kind of transient failure is queued ---------------------------------------------------------------------
FAULTS = {
    "503": lambda: OutageRootly.unavailable(503),
    "500 after sending": lambda: OutageRootly.unavailable(500),
    "429 past the budget": lambda: OutageRootly.rate_limited(reset_in=600),
    "timeout after sending": lambda: "timeout",
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_transient_failure_queues_the_note_and_it_lands_once(
    make_bot, rootly: OutageRootly, slack: SlackFake, fault: str
) -> None:  # type: ignore[no-untyped-def]
    alert = rootly.add_alert(summary="CPU", status="triggered")
    rootly.timeout_sleep = 0.8
    rootly.script("POST", r"/events$", FAULTS[fault]())
    with make_bot(ROOTLY_TIMEOUT="0.5", RATE_LIMIT_BUDGET="1") as bot:
        bot.sender.slash(f"note {alert['id']} words for {fault}")
        wait_until(lambda: any("queued" in s or "did not confirm" in s for s in said(slack)))
        assert waiting(bot) == 1
        time.sleep(1.0 if fault == "timeout after sending" else 0)
        assert bot.app.services.outbox.deliver_due() == 1
    assert [d for d, _ in rootly.notes(alert["id"])].count(f"words for {fault}\n\n— Alice Example (via Slack)") == 1


def test_connection_refused_is_queued_and_delivered_when_rootly_listens(
    make_bot, rootly: OutageRootly, slack: SlackFake
) -> None:  # type: ignore[no-untyped-def]
    alert = rootly.add_alert(summary="CPU", status="triggered")
    late = LateListener(rootly)
    try:
        with make_bot(ROOTLY_API_URL=late.url) as bot:
            bot.sender.slash(f"resolve {alert['id']} fixed by restart")
            wait_until(lambda: any("queued" in s for s in said(slack)))
            assert bot.app.services.outbox.deliver_due() == 0  # still nothing listening
            late.open()
            bot.app.services.outbox_store.expedite()
            assert bot.app.services.outbox.deliver_due() == 1
    finally:
        late.close()
    assert rootly.get_alert(alert["id"])["attributes"]["status"] == "resolved"
    assert rootly.actions_done(alert["id"], "resolved") == 1


# --- permanent failures are told at once ---------------------------------------------------------------------------
PERMANENT = {
    "404": (Reply(404, {"errors": [{"title": "Not found", "status": "404"}]}), "has no alert"),
    "422": (Reply(422, {"errors": [{"title": "Details is invalid", "status": "422"}]}), "refused it"),
    "401": (Reply(401, {"errors": [{"title": "Unauthorized", "status": "401"}]}), "rejected the bot's API key"),
}


@pytest.mark.parametrize("status", list(PERMANENT))
def test_permanent_refusals_are_told_at_once_and_not_queued(
    bot: RunningBot, rootly: OutageRootly, slack: SlackFake, status: str
) -> None:
    alert = rootly.add_alert(summary="CPU", status="triggered")
    reply, words = PERMANENT[status]
    rootly.script("POST", r"/events$", Reply(reply.status, reply.body, content_type="application/vnd.api+json"))
    bot.sender.slash(f"note {alert['id']} keep these words")
    wait_until(lambda: len(slack.responses()) >= 1)
    [answer] = said(slack)
    assert words in answer and "keep these words" in answer and "queued" not in answer
    assert waiting(bot) == 0


# --- gaps closed ----------------------------------------------------------------------------------------------------
def test_a_button_ack_queued_in_an_outage_is_delivered_inside_the_double_click_window(
    bot: RunningBot, rootly: OutageRootly, slack: SlackFake
) -> None:
    """The click took a 30-second claim against double clicks; the outbox continues that click, so the claim must
    not make it drop the acknowledgement as a "double click" (it did: the item was marked done, nothing sent)."""
    alert = rootly.add_alert(summary="Disk", status="triggered")
    rootly.down = 503
    bot.sender.click(Action.ACKNOWLEDGE, f"rootly:{alert['id']}")
    wait_until(lambda: any("queued" in s for s in said(slack)))
    rootly.down = None
    assert bot.app.services.outbox.deliver_due() == 1
    assert rootly.get_alert(alert["id"])["attributes"]["status"] == "acknowledged"
    assert any("From the outbox: Acknowledged" in s for s in said(slack))


def test_an_item_whose_deliverer_died_mid_send_is_checked_before_it_is_sent_again(
    bot: RunningBot, rootly: OutageRootly, slack: SlackFake
) -> None:
    """A replica leased the note, sent it, and died before recording it: whoever takes the expired lease over must
    look for the note first, or it lands twice."""
    alert = rootly.add_alert(summary="Disk", status="triggered")
    store: OutboxStore = bot.app.services.outbox_store
    payload = {
        "slack_user_id": "U111",
        "text": "sent by a replica that died",
        "queued_at": datetime.now(UTC).isoformat(),
        "response_url": slack.response_url(),
    }
    store.enqueue("note", AlertRef(Backend.ROOTLY, alert["id"]).encode(), payload, check_first=False)
    [leased] = store.lease_due(lease_seconds=0.0)  # the dying replica's lease, already run out
    assert not leased.check_first
    bot.app.services.backends.get(Backend.ROOTLY).add_note(alert["id"], "sent by a replica that died", None)
    time.sleep(0.01)
    assert bot.app.services.outbox.deliver_due() == 1
    assert [d for d, _ in rootly.notes(alert["id"])] == ["sent by a replica that died"]
    assert any("already on the alert" in s for s in said(slack))


def test_the_same_words_noted_earlier_are_not_taken_for_the_queued_note(
    bot: RunningBot, rootly: OutageRootly, slack: SlackFake
) -> None:
    """An ambiguous note is looked for before it is sent again, but only among notes written since it was typed:
    an older "rebooted" on the alert is someone's earlier note, and taking it for this one would lose this one."""
    alert = rootly.add_alert(summary="Disk", status="triggered")
    bot.app.services.backends.get(Backend.ROOTLY).add_note(alert["id"], "rebooted", None)
    store: OutboxStore = bot.app.services.outbox_store
    later = datetime.now(UTC) + timedelta(minutes=30)  # typed well after the earlier note
    payload = {"slack_user_id": "U111", "text": "rebooted", "queued_at": later.isoformat()}
    store.enqueue("note", AlertRef(Backend.ROOTLY, alert["id"]).encode(), payload, check_first=True)
    assert bot.app.services.outbox.deliver_due() == 1
    assert [d.split("\n")[0] for d, _ in rootly.notes(alert["id"])] == ["rebooted", "rebooted"]


def test_an_outage_costs_one_probe_per_pass_and_recovery_flushes_everything(
    bot: RunningBot, rootly: OutageRootly, slack: SlackFake
) -> None:
    alerts = [rootly.add_alert(summary=f"a{i}", status="triggered")["id"] for i in range(10)]
    rootly.down = 503
    for a in alerts:
        bot.sender.click(Action.ACKNOWLEDGE, f"rootly:{a}")
    wait_until(lambda: waiting(bot) == 10)
    before = len(rootly.writes("/acknowledge"))
    assert bot.app.services.outbox.deliver_due() == 0
    assert len(rootly.writes("/acknowledge")) - before == 1  # one probe, not ten attempts
    rootly.down = None
    assert bot.app.services.outbox.deliver_due() == 10  # one landed, the rest were made due at once
    assert all(rootly.get_alert(a)["attributes"]["status"] == "acknowledged" for a in alerts)


def test_a_queued_action_that_finally_fails_says_why_and_hands_the_text_back(
    bot: RunningBot, rootly: OutageRootly, slack: SlackFake
) -> None:
    alert = rootly.add_alert(summary="Disk", status="triggered")
    rootly.down = 503
    bot.sender.slash(f"note {alert['id']} the words I typed")
    wait_until(lambda: waiting(bot) == 1)
    with rootly._state:
        del rootly.alerts[alert["id"]]  # deleted in Rootly meanwhile
    rootly.down = None
    assert bot.app.services.outbox.deliver_due() == 0
    final = said(slack)[-1]
    assert "could not be completed" in final and "the words I typed" in final
    assert waiting(bot) == 0


def test_the_outcome_reaches_the_person_by_dm_when_the_channel_cannot(
    bot: RunningBot, rootly: OutageRootly, slack: SlackFake
) -> None:
    """A note from a modal has no response URL; if the ephemeral message fails too (the bot left the channel), the
    person still hears how their queued note went, in a DM."""
    alert = rootly.add_alert(summary="Disk", status="triggered")
    store: OutboxStore = bot.app.services.outbox_store
    payload = {"slack_user_id": "U111", "channel": "C404", "text": "from a modal", "queued_at": "2020-01-01T00:00:00"}
    store.enqueue("note", AlertRef(Backend.ROOTLY, alert["id"]).encode(), payload, check_first=False)
    slack.fail("chat.postEphemeral", "channel_not_found")
    assert bot.app.services.outbox.deliver_due() == 1
    [dm] = slack.wait_calls("chat.postMessage")
    assert dm["channel"] == "U111" and "From the outbox" in dm["text"]


def test_a_burst_of_one_persons_clicks_in_an_outage_is_queued_without_waiting_in_line(
    bot: RunningBot, rootly: OutageRootly, slack: SlackFake
) -> None:
    """Each click looks the person up in Rootly (for attribution), one lookup at a time per person. While Rootly
    is down every lookup fails after its retries; clicks that waited for a lookup now share its failure instead of
    each repeating it in turn (which put 16 clicks ~10 s behind one another before they reached the outbox)."""
    rootly.add_user("alice@example.com", "Alice Example")
    alerts = [rootly.add_alert(summary=f"a{i}", status="triggered")["id"] for i in range(16)]
    rootly.down = 503
    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda a: bot.sender.click(Action.ACKNOWLEDGE, f"rootly:{a}"), alerts))
    wait_until(lambda: sum("queued" in s for s in said(slack)) == len(alerts), timeout=30)
    took = time.monotonic() - started
    assert took < 4.0, f"queued only after {took:.1f} s"
    rootly.down = None
    assert bot.app.services.outbox.deliver_due() == len(alerts)
    attributed = [a for alert in alerts for d, a in rootly.notes(alert)]
    assert attributed and all(a is not None for a in attributed)  # delivered later, by the person's Rootly user
