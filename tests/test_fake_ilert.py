"""Tests of the ilert fake itself: it must catch contract violations, answer valid traffic within the contract and
behave like ilert where client code depends on it (events by alertKey, state rules, paging, errors, limits, faults).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.contracts import ILERT, missing_reason
from tests.fakes.ilert import IlertFake, error_reply

TOKEN = "ilert-test-token"
KEY = "il1api-test-key"


@pytest.fixture
def fake() -> Iterator[IlertFake]:
    """A running fake; whatever the test did, the fake's answers must have stayed within the contract."""
    server = IlertFake(TOKEN, KEY)
    server.start()
    try:
        yield server
    finally:
        server.stop()
    assert server.violations == [], "tests that provoke violations must take_violations()"


@pytest.fixture
def validating(fake: IlertFake) -> IlertFake:
    """The fake, for tests that only mean something when the contract is there."""
    if not fake.validating:
        pytest.skip(missing_reason(ILERT))
    return fake


def call(
    fake: IlertFake,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = TOKEN,
    content_type: str = "application/json",
    **kwargs: Any,
) -> requests.Response:
    """One REST request as a well-behaved client sends it; ``path`` is below ``/api``."""
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        headers["Content-Type"] = content_type
        data = json.dumps(body)
    return requests.request(method, fake.api_url + path, headers=headers, data=data, timeout=5, **kwargs)


def event(fake: IlertFake, event_type: str, alert_key: str | None = None, **fields: Any) -> requests.Response:
    """One events-API call: no Authorization header, the integration key in the body."""
    body: dict[str, Any] = {"integrationKey": KEY, "eventType": event_type, "summary": "Disk full", **fields}
    if alert_key is not None:
        body["alertKey"] = alert_key
    return call(fake, "POST", "/events", body, token=None)


# validation ----------------------------------------------------------------------------------------------------
def test_undeclared_query_parameter_is_a_violation(validating: IlertFake) -> None:
    call(validating, "GET", "/alerts", params={"status": "PENDING"})
    [problem] = validating.take_violations()
    assert "query parameter 'status' is not declared for GET /alerts" in problem


def test_max_results_over_100_is_a_violation(validating: IlertFake) -> None:
    call(validating, "GET", "/alerts", params={"max-results": "500"})
    [problem] = validating.take_violations()
    assert "'max-results'='500'" in problem and "maximum of 100" in problem


def test_unknown_state_is_a_violation(validating: IlertFake) -> None:
    call(validating, "GET", "/alerts", params=[("states", "PENDING"), ("states", "OPEN")])
    [problem] = validating.take_violations()
    assert "'states'='OPEN'" in problem


def test_repeated_states_are_valid(validating: IlertFake) -> None:
    r = call(validating, "GET", "/alerts", params=[("states", "PENDING"), ("states", "ACCEPTED")])
    assert r.status_code == 200
    assert validating.take_violations() == []


def test_event_without_summary_is_a_violation_and_refused(validating: IlertFake) -> None:
    r = call(validating, "POST", "/events", {"integrationKey": KEY, "eventType": "ALERT"}, token=None)
    assert r.status_code == 400
    [problem] = validating.take_violations()
    assert "'summary' is a required property" in problem


def test_event_with_legacy_api_key_field_is_a_violation(validating: IlertFake) -> None:
    """The contract names the key ``integrationKey``; the older ``apiKey`` is not in it."""
    call(validating, "POST", "/events", {"apiKey": KEY, "eventType": "ALERT", "summary": "x"}, token=None)
    assert any("'integrationKey' is a required property" in p for p in validating.take_violations())


def test_unknown_event_type_is_a_violation(validating: IlertFake) -> None:
    event(validating, "SNOOZE", "k")
    assert any("'SNOOZE' is not one of" in p for p in validating.take_violations())


def test_events_carrying_the_user_token_are_a_violation(validating: IlertFake) -> None:
    call(validating, "POST", "/events", {"integrationKey": KEY, "eventType": "ALERT", "summary": "x"})
    [problem] = validating.take_violations()
    assert "the events API takes none" in problem


def test_rest_without_bearer_token_is_a_violation(validating: IlertFake) -> None:
    r = call(validating, "GET", "/users/current", token=None)
    assert r.status_code == 403
    [problem] = validating.take_violations()
    assert "Authorization header is missing" in problem


def test_wrong_content_type_is_a_violation(validating: IlertFake) -> None:
    call(validating, "POST", "/users/search-email", {"email": "a@b.c"}, content_type="text/plain")
    assert any("Content-Type 'text/plain'" in p for p in validating.take_violations())


def test_unknown_operation_is_a_violation(validating: IlertFake) -> None:
    call(validating, "DELETE", "/alerts/1001")
    [problem] = validating.take_violations()
    assert "method not in the contract" in problem


def test_paths_outside_the_api_base_are_violations(validating: IlertFake) -> None:
    requests.get(validating.url + "/alerts", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    [problem] = validating.take_violations()
    assert "outside the API base path '/api'" in problem


def test_response_drift_is_caught(validating: IlertFake) -> None:
    alert = validating.add_alert("Disk full")
    alert["status"] = "OPEN"
    call(validating, "GET", f"/alerts/{alert['id']}")
    [problem] = validating.take_violations()
    assert "→ 200: body: status: 'OPEN' is not one of" in problem


def test_seeding_an_alert_that_breaks_the_contract_fails(validating: IlertFake) -> None:
    with pytest.raises(ValueError, match="breaks the contract"):
        validating.add_alert("x", priority="URGENT")


def test_handler_exception_is_a_violation(validating: IlertFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validating, "_current_user", lambda *a: 1 / 0)
    assert call(validating, "GET", "/users/current").status_code == 500
    [problem] = validating.take_violations()
    assert "GET /api/users/current: the fake raised ZeroDivisionError" in problem


def test_valid_traffic_on_every_endpoint_has_no_violations(validating: IlertFake) -> None:
    fake = validating
    alert = fake.add_alert("Disk full", details="/var is 99%", alert_key="srv/mail01")
    aid = alert["id"]
    fake.add_user("jane@example.com", "Jane", "Doe")
    states = [("states", "PENDING"), ("states", "ACCEPTED")]
    expected: list[tuple[str, str, Any, Any, int]] = [
        ("GET", "/users/current", None, {}, 200),
        ("POST", "/users/search-email", {"email": "JANE@example.com"}, {}, 200),
        ("POST", "/users/search-email", {"email": "nobody@example.com"}, {}, 404),
        ("GET", "/alerts", None, [*states, ("start-index", "0"), ("max-results", "100")], 200),
        ("GET", "/alerts/count", None, states, 200),
        ("GET", f"/alerts/{aid}", None, {}, 200),
        ("GET", "/alerts/999999", None, {}, 404),
        ("GET", f"/alerts/{aid}/log-entries", None, {"start-index": "0", "max-results": "50"}, 200),
        ("GET", "/alert-sources", None, {"start-index": "0", "max-results": "50"}, 200),
        ("PUT", f"/alerts/{aid}/accept", None, {}, 200),
        ("PUT", f"/alerts/{aid}/accept", None, {}, 400),
        ("PUT", f"/alerts/{aid}/resolve", None, {}, 200),
        ("PUT", f"/alerts/{aid}/resolve", None, {}, 400),
        ("GET", "/users/current", None, {}, 200),
    ]
    for method, path, body, params, status in expected:
        r = call(fake, method, path, body, params=params)
        assert r.status_code == status, (method, path, r.text)
    links = [{"href": "https://grafana.example.com/d/1", "text": "Dashboard"}]
    assert (
        event(fake, "ALERT", "k1", priority="LOW", details="d", links=links, customDetails={"a": 1}).status_code == 202
    )
    assert event(fake, "ACCEPT", "k1").status_code == 202
    assert event(fake, "COMMENT", "k1", comments=[{"creator": "Jane Doe", "content": "on it"}]).status_code == 202
    assert event(fake, "RESOLVE", "k1").status_code == 202
    assert event(fake, "RESOLVE", "k1").status_code == 400
    assert call(fake, "GET", "/users/current", token="wrong").status_code == 403
    assert fake.take_violations() == []


def test_without_a_contract_nothing_is_checked() -> None:
    with IlertFake(TOKEN, KEY, contract=None) as server:
        assert not server.validating
        r = call(server, "GET", "/alerts", params={"bogus": "1", "max-results": "500"})
        assert r.status_code == 200
        assert server.violations == []


# REST behaviour ------------------------------------------------------------------------------------------------
def test_bad_token_is_403_key_error(fake: IlertFake) -> None:
    r = call(fake, "GET", "/alerts", token="nope")
    assert r.status_code == 403
    assert r.json()["code"] == "KEY_ERROR"


def test_list_filters_by_state_and_pages_newest_first(fake: IlertFake) -> None:
    ids = [fake.add_alert(f"a{i}")["id"] for i in range(7)]
    fake.add_alert("done", state="RESOLVED")
    fake.add_alert("taken", state="ACCEPTED")
    params = [("states", "PENDING"), ("start-index", "2"), ("max-results", "3")]
    page = call(fake, "GET", "/alerts", params=params).json()
    assert [a["id"] for a in page] == ids[::-1][2:5]
    assert call(fake, "GET", "/alerts", params=[("states", "PENDING"), ("states", "ACCEPTED")]).json()[0][
        "summary"
    ] == ("taken")
    assert call(fake, "GET", "/alerts/count", params=[("states", "PENDING")]).json() == {"count": 7}
    assert len(call(fake, "GET", "/alerts").json()) == 9  # default max-results is 50


def test_accept_records_the_tokens_user_and_refuses_twice(fake: IlertFake) -> None:
    alert = fake.add_alert("Disk full")
    body = call(fake, "PUT", f"/alerts/{alert['id']}/accept").json()
    assert body["status"] == "ACCEPTED"
    [responder] = [r for r in body["responders"] if r["status"] == "ACCEPTED"]
    assert responder["user"]["id"] == fake.me_id
    again = call(fake, "PUT", f"/alerts/{alert['id']}/accept")
    assert (again.status_code, again.json()["code"]) == (400, "ALERT_ALREADY_ACCEPTED")


def test_search_email_is_case_insensitive_and_404_has_no_body(fake: IlertFake) -> None:
    jane = fake.add_user("Jane.Doe@example.com", "Jane", "Doe")
    assert call(fake, "POST", "/users/search-email", {"email": "jane.doe@EXAMPLE.com"}).json()["id"] == jane
    missing = call(fake, "POST", "/users/search-email", {"email": "x@example.com"})
    assert (missing.status_code, missing.content) == (404, b"")


# events API ----------------------------------------------------------------------------------------------------
def test_alert_events_group_by_trimmed_case_insensitive_key(fake: IlertFake) -> None:
    assert event(fake, "ALERT", "Srv/Mail01").status_code == 202
    assert event(fake, "ALERT", "  srv/mail01 ").status_code == 202
    assert len(fake.alerts) == 1
    assert len(fake.events) == 2
    [alert] = fake.alerts.values()
    assert alert["alertKey"] == "Srv/Mail01"


def test_alert_event_after_resolve_opens_a_new_alert(fake: IlertFake) -> None:
    event(fake, "ALERT", "k")
    event(fake, "RESOLVE", "k")
    event(fake, "ALERT", "k")
    assert sorted(a["status"] for a in fake.alerts.values()) == ["PENDING", "RESOLVED"]


def test_alert_event_without_key_gets_one(fake: IlertFake) -> None:
    event(fake, "ALERT")
    event(fake, "ALERT")
    keys = {a["alertKey"] for a in fake.alerts.values()}
    assert len(keys) == 2 and all(keys)


def test_accept_resolve_and_comment_by_key(fake: IlertFake) -> None:
    alert = fake.add_alert("Disk full", alert_key="disk/1")
    other = fake.add_alert("CPU", alert_key="cpu/1")
    assert event(fake, "ACCEPT", "DISK/1").status_code == 202
    assert alert["status"] == "ACCEPTED"
    assert event(fake, "COMMENT", "disk/1", comments=[{"creator": "Jane", "content": "looking"}]).status_code == 202
    assert fake.comments(alert["id"]) == [{"creator": "Jane", "content": "looking"}]
    assert fake.comments(other["id"]) == []
    assert event(fake, "RESOLVE", "disk/1").status_code == 202
    assert alert["status"] == "RESOLVED" and "resolvedOn" in alert
    assert other["status"] == "PENDING"


@pytest.mark.parametrize("event_type", ["ACCEPT", "RESOLVE", "COMMENT"])
def test_no_open_alert_for_key_is_400_none_open_for_key(fake: IlertFake, event_type: str) -> None:
    fake.add_alert("old", state="RESOLVED", alert_key="gone")
    r = event(fake, event_type, "gone", comments=[{"creator": "x", "content": "y"}])
    assert r.status_code == 400
    assert r.json()["code"] == "NONE_OPEN_FOR_KEY"


def test_comment_without_comments_is_refused(fake: IlertFake) -> None:
    fake.add_alert("x", alert_key="k")
    assert event(fake, "COMMENT", "k").status_code == 400


def test_unknown_integration_key_is_refused(fake: IlertFake) -> None:
    r = call(fake, "POST", "/events", {"integrationKey": "nope", "eventType": "ALERT", "summary": "x"}, token=None)
    assert r.status_code == 400
    assert fake.alerts == {}


def test_fifty_events_a_minute_per_key(fake: IlertFake) -> None:
    other_key = "il1api-other"
    fake.add_alert_source("Other", other_key)
    for i in range(50):
        assert event(fake, "ALERT", f"k{i}").status_code == 202
    limited = event(fake, "ALERT", "k50")
    assert limited.status_code == 429
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    assert len(fake.alerts) == 50
    body = {"integrationKey": other_key, "eventType": "ALERT", "summary": "x"}
    assert call(fake, "POST", "/events", body, token=None).status_code == 202


# faults --------------------------------------------------------------------------------------------------------
def test_scripted_replies_come_first_then_normal_service(fake: IlertFake) -> None:
    alert = fake.add_alert("x")
    fake.script("GET", r"/api/alerts/\d+$", fake.rate_limited(2), fake.unavailable(502))
    first = call(fake, "GET", f"/alerts/{alert['id']}")
    assert (first.status_code, first.headers["Retry-After"], first.json()["code"]) == (429, "2", "RATE_LIMIT")
    assert call(fake, "GET", f"/alerts/{alert['id']}").status_code == 502
    assert call(fake, "GET", f"/alerts/{alert['id']}").status_code == 200


def test_scripted_drop_closes_the_connection(fake: IlertFake) -> None:
    fake.script("*", "/api/events", "drop")
    with pytest.raises(requests.ConnectionError):
        event(fake, "ALERT", "k")
    assert fake.alerts == {}


def test_unknown_scripted_keyword_is_refused(fake: IlertFake) -> None:
    with pytest.raises(ValueError):
        fake.script("GET", "/api/alerts", "explode")


def test_error_reply_shape() -> None:
    reply = error_reply(400, "nope", "NONE_OPEN_FOR_KEY")
    assert reply.body == {"status": 400, "message": "nope", "code": "NONE_OPEN_FOR_KEY"}
