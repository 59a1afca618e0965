"""The ilert client and backend against the ilert fake, over real HTTP: paging, actions, notes as COMMENT events,
error mapping (KEY_ERROR, NONE_OPEN_FOR_KEY, already accepted/resolved), rate limits and retries.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.backends import AlertBackend, Backends
from bot.backends.ilert import IlertBackend, IlertClient
from bot.backends.ilert.mapping import ui_base_url
from bot.domain import AlertFilters, AlertStatus, Backend, Person
from bot.support import errors
from tests.fakes.ilert import IlertFake, error_reply

TOKEN = "ilert-test-token"
KEY = "il1api-test-key"
OPEN = AlertFilters()


class Sleeps(list[float]):
    """Records the waits the client asks for instead of sleeping them."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def fake() -> Iterator[IlertFake]:
    server = IlertFake(TOKEN, KEY).start()
    try:
        yield server  # type: ignore[misc]
    finally:
        server.stop()
    assert server.violations == [], "the client sent ilert something outside the contract"


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(fake: IlertFake, sleeps: Sleeps) -> Iterator[IlertClient]:
    made = IlertClient.create(fake.api_url, TOKEN, KEY, timeout=2, rate_limit_budget=10, sleep=sleeps)
    yield made
    made.http.close()


@pytest.fixture
def backend(client: IlertClient) -> IlertBackend:
    return IlertBackend(client)


# reading -------------------------------------------------------------------------------------------------------
def test_list_pages_over_250_alerts_with_max_100(fake: IlertFake, backend: IlertBackend) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(250):
        fake.add_alert(f"alert {i}", report_time=start + timedelta(minutes=i))
    fake.add_alert("closed", state="RESOLVED")
    page = backend.list_open_alerts(OPEN, limit=250)
    assert page.total == 250
    assert [a.summary for a in page.alerts[:2]] == ["alert 249", "alert 248"]
    assert len({a.ref.id for a in page.alerts}) == 250
    listed = fake.requests_to("GET", "/api/alerts")
    pages = [r for r in listed if r.path == "/api/alerts"]
    assert [r.query["start-index"] for r in pages] == [["0"], ["100"], ["200"]]
    assert all(r.query["max-results"] == ["100"] and r.query["states"] == ["PENDING", "ACCEPTED"] for r in pages)


def test_list_total_comes_from_count_without_reading_everything(fake: IlertFake, backend: IlertBackend) -> None:
    for i in range(130):
        fake.add_alert(f"alert {i}")
    page = backend.list_open_alerts(OPEN, limit=10)
    assert (len(page.alerts), page.total) == (10, 130)
    assert len([r for r in fake.requests_to("GET", "/api/alerts") if r.path == "/api/alerts"]) == 1
    assert len(fake.requests_to("GET", "/api/alerts/count")) == 1


def test_list_maps_statuses_to_ilert_states(fake: IlertFake, backend: IlertBackend) -> None:
    fake.add_alert("pending")
    fake.add_alert("accepted", state="ACCEPTED")
    fake.add_alert("resolved", state="RESOLVED")
    triggered = backend.list_open_alerts(AlertFilters(statuses=("triggered",)), limit=10)
    assert [a.summary for a in triggered.alerts] == ["pending"]
    acked = backend.list_open_alerts(AlertFilters(statuses=("acknowledged",)), limit=10)
    assert [(a.summary, a.status) for a in acked.alerts] == [("accepted", AlertStatus.ACKNOWLEDGED)]


def test_list_filters_ilert_cannot_apply_are_applied_here(fake: IlertFake, backend: IlertBackend) -> None:
    fake.add_alert("loud", priority="HIGH")
    fake.add_alert("quiet", priority="LOW")
    other = fake.add_alert_source("Datadog", "il1api-dd")
    fake.add_alert("from datadog", priority="LOW", source_id=other)
    low = backend.list_open_alerts(AlertFilters(urgencies=("low",)), limit=10)
    assert sorted(a.summary for a in low.alerts) == ["from datadog", "quiet"]
    assert low.total == 2
    by_name = backend.list_open_alerts(AlertFilters(sources=("datadog",)), limit=10)
    assert [a.summary for a in by_name.alerts] == ["from datadog"]
    by_id = backend.list_open_alerts(AlertFilters(sources=(str(other),)), limit=10)
    assert [a.summary for a in by_id.alerts] == ["from datadog"]
    assert fake.requests[-1].query["sources"] == [str(other)]  # numeric source ids are ilert's own filter


def test_get_maps_the_alert(fake: IlertFake, backend: IlertBackend) -> None:
    jane = fake.add_user("jane@example.com", "Jane", "Doe")
    seeded = fake.add_alert("Disk full", details="/var at 99%", priority="LOW", responders=[jane])
    alert = backend.get_alert(str(seeded["id"]))
    assert alert.ref.backend is Backend.ILERT and alert.ref.id == str(seeded["id"]) == alert.short_id
    assert (alert.summary, alert.description, alert.status) == ("Disk full", "/var at 99%", AlertStatus.TRIGGERED)
    assert alert.urgency is not None and alert.urgency.name == "Low"
    assert alert.source == "Chatops API" and [s.name for s in alert.services] == ["Chatops API"]
    assert [p.name for p in alert.responders] == ["Jane Doe"]
    assert alert.url == f"{fake.url}/alert/view?id={seeded['id']}"
    assert alert.created_at.tzinfo is not None


def test_unknown_and_non_numeric_ids_are_not_found(fake: IlertFake, backend: IlertBackend) -> None:
    with pytest.raises(errors.NotFound):
        backend.get_alert("424242")
    fake.reset_requests()
    with pytest.raises(errors.NotFound, match="not an ilert alert id"):
        backend.get_alert("t8rgnt")
    assert fake.requests == []  # never sent: it would not even fit the path


def test_registry_finds_ilert_alerts(fake: IlertFake, backend: IlertBackend) -> None:
    from bot.domain.refs import parse_alert_reference

    seeded = fake.add_alert("x")
    registry = Backends([backend])
    owner, alert = registry.find_alert(parse_alert_reference(f"https://acme.ilert.com/alert/view?id={seeded['id']}"))
    assert owner is backend and alert.summary == "x"
    shown = IlertClient.create(fake.api_url, TOKEN, KEY, ui_url="https://acme.ilert.com").get_alert(alert.ref.id).url
    assert parse_alert_reference(shown or "") == parse_alert_reference(
        alert.ref.id
    )  # the link the bot shows parses back


def test_ui_url_derivation() -> None:
    assert ui_base_url("https://api.ilert.com/api") == "https://app.ilert.com"
    assert ui_base_url("https://acme.ilert.com/api/") == "https://acme.ilert.com"


# actions -------------------------------------------------------------------------------------------------------
def test_accept_and_already_accepted(fake: IlertFake, backend: IlertBackend) -> None:
    seeded = fake.add_alert("Disk full")
    alert = backend.acknowledge(str(seeded["id"]))
    assert alert.status is AlertStatus.ACKNOWLEDGED
    assert fake.alerts[seeded["id"]]["status"] == "ACCEPTED"
    with pytest.raises(errors.Conflict, match="already acknowledged"):
        backend.acknowledge(str(seeded["id"]))


def test_resolve_and_already_resolved(fake: IlertFake, backend: IlertBackend) -> None:
    seeded = fake.add_alert("Disk full")
    assert backend.resolve(str(seeded["id"])).status is AlertStatus.RESOLVED
    with pytest.raises(errors.Conflict, match="already resolved") as caught:
        backend.resolve(str(seeded["id"]))
    assert caught.value.backend == "ilert"
    with pytest.raises(errors.Conflict, match="already resolved"):
        backend.acknowledge(str(seeded["id"]))


def test_resolve_message_goes_in_as_a_comment_before_resolving(fake: IlertFake, backend: IlertBackend) -> None:
    seeded = fake.add_alert("Disk full")
    backend.resolve(str(seeded["id"]), "freed space")
    assert fake.comments(seeded["id"]) == [{"creator": "rootly-chatops", "content": "freed space"}]
    assert fake.alerts[seeded["id"]]["status"] == "RESOLVED"


def test_note_is_a_comment_event_on_the_right_alert(fake: IlertFake, backend: IlertBackend) -> None:
    first = fake.add_alert("Disk full", alert_key="disk/1")
    second = fake.add_alert("CPU hot", alert_key="cpu/1")
    jane = Person(id="7", name="Jane Doe", email="jane@example.com")
    note = backend.add_note(str(second["id"]), "  looking into it  ", jane)
    assert fake.comments(second["id"]) == [{"creator": "Jane Doe", "content": "looking into it"}]
    assert fake.comments(first["id"]) == []
    assert (note.alert_id, note.details, note.author_id) == (str(second["id"]), "looking into it", "7")
    [sent] = fake.requests_to("POST", "/api/events")
    assert "authorization" not in sent.headers
    assert sent.json["eventType"] == "COMMENT" and sent.json["alertKey"] == "cpu/1"
    assert sent.json["integrationKey"] == KEY
    assert [n.details for n in backend.client.alert_comments(str(second["id"]))] == ["looking into it"]


def test_note_on_another_sources_alert_uses_that_sources_key(fake: IlertFake, backend: IlertBackend) -> None:
    other = fake.add_alert_source("Datadog", "il1api-dd")
    mine = fake.add_alert("mine", alert_key="same")
    theirs = fake.add_alert("theirs", alert_key="same", source_id=other)
    backend.add_note(str(theirs["id"]), "hello", None)
    assert fake.comments(theirs["id"]) == [{"creator": "rootly-chatops", "content": "hello"}]
    assert fake.comments(mine["id"]) == []
    assert fake.requests_to("POST", "/api/events")[-1].json["integrationKey"] == "il1api-dd"


def test_note_needs_an_open_keyed_alert(fake: IlertFake, backend: IlertBackend) -> None:
    unkeyed = fake.add_alert("made by hand", alert_key="")
    with pytest.raises(errors.Conflict, match="no alertKey"):
        backend.add_note(str(unkeyed["id"]), "hi", None)
    closed = fake.add_alert("old", state="RESOLVED", alert_key="k")
    fake.add_alert("new one with the same key", alert_key="k")
    with pytest.raises(errors.Conflict, match="already closed"):
        backend.add_note(str(closed["id"]), "hi", None)  # would otherwise land on the new alert
    assert fake.requests_to("POST", "/api/events") == []
    with pytest.raises(errors.Invalid):
        backend.add_note(str(closed["id"]), "   ", None)


def test_none_open_for_key_reads_as_already_closed(fake: IlertFake, backend: IlertBackend) -> None:
    """The alert closed between our read and the COMMENT: ilert answers NONE_OPEN_FOR_KEY."""
    seeded = fake.add_alert("Disk full", alert_key="disk/1")
    fake.script("POST", "/api/events$", error_reply(400, "No open alert for key", "NONE_OPEN_FOR_KEY"))
    with pytest.raises(errors.Conflict, match="already closed") as caught:
        backend.add_note(str(seeded["id"]), "hi", None)
    assert caught.value.code == "NONE_OPEN_FOR_KEY"


def test_key_error_is_unauthorized(fake: IlertFake) -> None:
    bad = IlertBackend(IlertClient.create(fake.api_url, "revoked", KEY, timeout=2))
    fake.add_alert("x")
    with pytest.raises(errors.Unauthorized) as caught:
        bad.list_open_alerts(OPEN, limit=5)
    assert (caught.value.status, caught.value.code, caught.value.backend) == (403, "KEY_ERROR", "ilert")
    assert "revoked" not in str(caught.value)


# rate limits and retries ---------------------------------------------------------------------------------------
def test_429_is_waited_out(fake: IlertFake, backend: IlertBackend, sleeps: Sleeps) -> None:
    seeded = fake.add_alert("x")
    fake.script("GET", r"/api/alerts/\d+$", fake.rate_limited(3))
    assert backend.get_alert(str(seeded["id"])).summary == "x"
    assert len(sleeps) == 1 and 4.0 <= sleeps[0] <= 4.25  # Retry-After + 1 s margin + jitter


def test_429_past_the_budget_is_rate_limited(fake: IlertFake, client: IlertClient) -> None:
    fake.event_rate_limit = 2
    client.http.rate_limit_budget = 0
    backend = IlertBackend(client)
    backend.client.trigger("one")
    backend.client.trigger("two")
    with pytest.raises(errors.RateLimited) as caught:
        backend.client.trigger("three")
    assert caught.value.retry_after is not None and caught.value.retry_after > 1
    assert len(fake.alerts) == 2


def test_5xx_on_get_is_retried(fake: IlertFake, backend: IlertBackend) -> None:
    seeded = fake.add_alert("x")
    fake.script("GET", r"/api/alerts/\d+$", fake.unavailable(503))
    assert backend.get_alert(str(seeded["id"])).summary == "x"
    assert len(fake.requests_to("GET", f"/api/alerts/{seeded['id']}")) == 2


def test_5xx_on_put_is_not_retried(fake: IlertFake, backend: IlertBackend) -> None:
    seeded = fake.add_alert("x")
    fake.script("PUT", r"/accept$", fake.unavailable(500))
    with pytest.raises(errors.Unavailable) as caught:
        backend.acknowledge(str(seeded["id"]))
    assert caught.value.ambiguous
    assert len(fake.requests_to("PUT", "/api/alerts")) == 1


def test_trigger_retries_5xx_because_its_key_makes_it_idempotent(
    fake: IlertFake, backend: IlertBackend, sleeps: Sleeps
) -> None:
    fake.script("POST", "/api/events$", "timeout")
    fake.timeout_sleep = 2.5  # past the client's 2 s timeout: ilert got the event, the client does not know
    key = backend.client.trigger("Disk full")
    assert fake.wait_for(lambda: len(fake.events) == 2)
    assert len(fake.alerts) == 1 and next(iter(fake.alerts.values()))["alertKey"] == key
    assert sleeps  # waited before repeating


def test_comment_is_never_repeated_blindly(fake: IlertFake, backend: IlertBackend) -> None:
    seeded = fake.add_alert("x", alert_key="k")
    fake.script("POST", "/api/events$", fake.unavailable(502))
    with pytest.raises(errors.Unavailable) as caught:
        backend.add_note(str(seeded["id"]), "hi", None)
    assert caught.value.ambiguous
    assert len(fake.requests_to("POST", "/api/events")) == 1


# trigger and users ---------------------------------------------------------------------------------------------
def test_trigger_twice_with_the_same_key_is_one_alert(fake: IlertFake, backend: IlertBackend) -> None:
    links = [("https://grafana.example.com/d/1", "Dashboard")]
    key = backend.client.trigger("Disk full", details="/var", priority="low", alert_key="srv/mail01", links=links)
    again = backend.client.trigger("Disk full (again)", alert_key="SRV/MAIL01 ")
    assert (key, again) == ("srv/mail01", "SRV/MAIL01")
    [alert] = fake.alerts.values()
    assert (alert["summary"], alert["details"], alert["priority"]) == ("Disk full", "/var", "LOW")
    assert alert["links"] == [{"href": "https://grafana.example.com/d/1", "text": "Dashboard"}]
    assert len(fake.events) == 2


def test_trigger_generates_a_key(fake: IlertFake, backend: IlertBackend) -> None:
    first, second = backend.client.trigger("a"), backend.client.trigger("b")
    assert first != second and first.startswith("rootly-chatops-")
    assert {a["alertKey"] for a in fake.alerts.values()} == {first, second}


def test_trigger_checks_its_input(fake: IlertFake, backend: IlertBackend) -> None:
    with pytest.raises(errors.Invalid):
        backend.client.trigger("  ")
    with pytest.raises(errors.Invalid, match="HIGH or LOW"):
        backend.client.trigger("x", priority="urgent")
    assert fake.events == []


def test_trigger_without_a_source_key_says_what_is_missing(fake: IlertFake) -> None:
    keyless = IlertBackend(IlertClient.create(fake.api_url, TOKEN, None))
    with pytest.raises(errors.BackendError, match="ILERT_ALERT_SOURCE_KEY"):
        keyless.client.trigger("x")


def test_find_user_is_case_insensitive(fake: IlertFake, backend: IlertBackend) -> None:
    jane = fake.add_user("Jane.Doe@example.com", "Jane", "Doe")
    found = backend.find_user("  jane.doe@EXAMPLE.com ")
    assert found == Person(id=str(jane), name="Jane Doe", email="Jane.Doe@example.com")
    assert backend.find_user("nobody@example.com") is None
    assert backend.find_user("") is None


def test_me_is_the_tokens_user(backend: IlertBackend) -> None:
    assert backend.client.me().email == "bot@example.com"


def test_backend_shape_and_rootly_only_actions(backend: IlertBackend) -> None:
    as_protocol: AlertBackend = backend
    assert (as_protocol.kind, as_protocol.display_name) == (Backend.ILERT, "ilert")
    for action in (lambda: backend.snooze("1", 5), lambda: backend.escalate("1"), lambda: backend.set_noise("1", True)):
        with pytest.raises(errors.Unsupported):
            action()
