"""Nothing done twice: storms of double clicks, resubmitted forms, Slack Events API retries and webhook
redeliveries to two replicas each cause one side effect. Keys live in the database, so they hold across replicas.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from bot.render.ids import Action, Block
from tests import guarantees
from tests.conftest import RunningBot
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.test_alert_messages_e2e import WEBHOOK_SECRET, created_event, signed_webhook
from tests.test_incidents_e2e import created, form, values
from tests.waiting import wait_until

GUARANTEE = "Nothing done twice"
STORM = 20
PAYLOADS = Path(__file__).resolve().parents[2] / "shared" / "slack-payloads"


def storm(n: int, fn: Callable[[int], requests.Response]) -> list[int]:
    """``n`` requests at once (released together), as a frantic double-clicker or a retrying Slack sends them."""
    gate = threading.Barrier(n)

    def one(i: int) -> int:
        gate.wait()
        return fn(i).status_code

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def settle(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for the first side effect (failing when there is none), then long enough for a second one to show."""
    wait_until(predicate, timeout, message="the request had no effect at all")
    time.sleep(0.5)  # a second side effect would show by now


def posts(rootly: RootlyFake, suffix: str) -> list[Any]:
    return [r for r in rootly.requests_to("POST", "/v1/") if r.path.endswith(suffix)]


def test_a_storm_of_acknowledge_clicks_acknowledges_once(bot: RunningBot, rootly: RootlyFake) -> None:
    alert = rootly.add_alert(summary="Disk", status="triggered")
    rootly.latency = 0.2
    codes = storm(STORM, lambda i: bot.sender.click(Action.ACKNOWLEDGE, f"rootly:{alert['id']}", user=f"U{i:03d}"))
    settle(lambda: len(posts(rootly, "/acknowledge")) >= 1)
    assert codes == [200] * STORM
    guarantees.record(
        GUARANTEE, f"{STORM} simultaneous Acknowledge clicks → acknowledgements", len(posts(rootly, "/acknowledge"))
    )
    assert len(posts(rootly, "/acknowledge")) == 1


def test_a_storm_of_resolve_clicks_resolves_once(bot: RunningBot, rootly: RootlyFake) -> None:
    alert = rootly.add_alert(summary="Disk", status="acknowledged")
    rootly.latency = 0.2
    codes = storm(STORM, lambda i: bot.sender.click(Action.RESOLVE, f"rootly:{alert['id']}"))
    settle(lambda: len(posts(rootly, "/resolve")) >= 1)
    assert codes == [200] * STORM
    guarantees.record(GUARANTEE, f"{STORM} simultaneous Resolve clicks → resolutions", len(posts(rootly, "/resolve")))
    assert len(posts(rootly, "/resolve")) == 1


def test_a_note_form_submitted_again_and_again_adds_one_note(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    alert = rootly.add_alert(summary="Disk", status="triggered")
    bot.sender.click(Action.ADD_NOTE, f"rootly:{alert['id']}")
    [opened] = slack.wait_calls("views.open")
    view = slack.views[opened["view"].get("id") or next(iter(slack.views))]
    typed = {Block.NOTE_INPUT: {Action.NOTE_TEXT: {"type": "plain_text_input", "value": "one note only"}}}
    codes = storm(10, lambda i: bot.sender.submit_view(view, typed))
    settle(lambda: len(rootly.notes(alert["id"])) >= 1)
    assert codes == [200] * 10
    landed = len(rootly.notes(alert["id"]))
    guarantees.record(GUARANTEE, "10 simultaneous submissions of one note form → notes", landed)
    assert landed == 1


def test_an_incident_form_submitted_again_and_again_declares_one_incident(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    bot.sender.slash("incident Checkout down")
    view = form(slack)
    rootly.latency = 0.3
    codes = storm(5, lambda i: bot.sender.submit_view(view, values("Checkout down")))
    settle(lambda: len(created(rootly)) >= 1)
    assert codes == [200] * 5
    guarantees.record(GUARANTEE, "5 simultaneous submissions of one incident form → incidents", len(rootly.incidents))
    assert len(created(rootly)) == 1 and len(rootly.incidents) == 1


def home_opened(event_id: str, user: str = "U111") -> bytes:
    payload = json.loads((PAYLOADS / "app_home_opened.json").read_text())
    payload["event_id"] = event_id
    payload["event"]["user"] = user
    payload["authorizations"][0]["team_id"] = "T111"
    return json.dumps(payload).encode()


def test_events_api_retries_are_handled_once_across_replicas(make_bot, rootly: RootlyFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    """Slack resends an event (``X-Slack-Retry-Num``) when the first answer was slow or lost; the App Home is
    published once per ``app_home_opened`` event id, whichever replica each delivery reaches."""
    rootly.latency = 0.1  # the first handling is still under way when the retries arrive
    with make_bot() as one, make_bot() as two:
        events = [f"Ev{uuid.uuid4().hex[:10].upper()}" for _ in range(5)]
        deliveries = [(e, retry) for e in events for retry in range(4)]  # the first try and Slack's three retries

        def deliver(i: int) -> requests.Response:
            event_id, retry = deliveries[i]
            bot = (one, two)[i % 2]
            headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
            return bot.sender.post(home_opened(event_id), "application/json", headers=headers)

        codes = storm(len(deliveries), deliver)
        settle(lambda: len(slack.calls("views.publish")) >= len(events))
    assert codes == [200] * len(deliveries)
    published = len(slack.calls("views.publish"))
    guarantees.record(
        GUARANTEE,
        f"{len(deliveries)} Events API deliveries ({len(events)} events × 4 tries, 2 replicas) → Home publishes",
        published,
    )
    assert published == len(events)


def test_a_webhook_redelivered_to_two_replicas_posts_once(make_bot, rootly: RootlyFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    with (
        make_bot(ROOTLY_WEBHOOK_SECRET=WEBHOOK_SECRET, FEED_POLL_SECONDS="0") as one,
        make_bot(ROOTLY_WEBHOOK_SECRET=WEBHOOK_SECRET, FEED_POLL_SECONDS="0") as two,
    ):
        one.sender.slash("feed on")
        alerts = [rootly.add_alert(summary=f"Redelivered {i}", status="triggered") for i in range(5)]
        deliveries = [created_event(a) for a in alerts for _ in range(2)]  # the same event id twice, plus …
        deliveries += [created_event(a) for a in alerts]  # … a new event id for each alert
        sends = [(d, (one, two)[k % 2]) for d in deliveries for k in range(2)]  # each to both replicas
        codes = storm(len(sends), lambda i: signed_webhook(sends[i][1].url, sends[i][0]))
        settle(lambda: len(slack.calls("chat.postMessage")) >= len(alerts))
    assert set(codes) <= {200, 202}
    guarantees.record(
        GUARANTEE,
        f"{len(sends)} webhook deliveries of {len(alerts)} alerts to 2 replicas → feed posts",
        len(slack.calls("chat.postMessage")),
    )
    assert len(slack.calls("chat.postMessage")) == len(alerts)
