"""Tests of the Rootly fake itself: it must catch contract violations, answer valid traffic within the contract and
behave like Rootly where client code depends on it (state rules, pagination, errors, faults).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.contracts import ROOTLY, missing_reason
from tests.fakes.rootly import MAX_PAGE_SIZE, NOTE_MAX_CHARS, RootlyFake
from tests.fakes.server import Reply

TOKEN = "rootly-test-token"
JSONAPI = "application/vnd.api+json"


@pytest.fixture
def fake() -> Iterator[RootlyFake]:
    """A running fake; whatever the test did, the fake's answers must have stayed within the contract."""
    server = RootlyFake(TOKEN)
    server.start()
    try:
        yield server
    finally:
        server.stop()
    assert server.violations == [], "tests that provoke violations must take_violations()"


@pytest.fixture
def validating(fake: RootlyFake) -> RootlyFake:
    """The fake, for tests that only mean something when the contract is there."""
    if not fake.validating:
        pytest.skip(missing_reason(ROOTLY))
    return fake


def call(
    fake: RootlyFake,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = TOKEN,
    content_type: str = JSONAPI,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> requests.Response:
    """One request as a well-behaved client sends it (unless a test overrides a part)."""
    headers = {"Accept": JSONAPI, **(headers or {})}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        headers["Content-Type"] = content_type
        data = json.dumps(body)
    return requests.request(method, fake.url + path, headers=headers, data=data, timeout=5, **kwargs)


def note(details: str, user_id: int | None = None, kind: str | None = "note") -> dict[str, Any]:
    attrs: dict[str, Any] = {"details": details}
    if kind is not None:
        attrs["kind"] = kind
    if user_id is not None:
        attrs["user_id"] = user_id
    return {"data": {"type": "alert_events", "attributes": attrs}}


def alert_body(**attrs: Any) -> dict[str, Any]:
    return {"data": {"type": "alerts", "attributes": attrs}}


# validation ----------------------------------------------------------------------------------------------------
def test_empty_filter_value_is_a_violation(validating: RootlyFake) -> None:
    call(validating, "GET", "/v1/alerts", params={"filter[status]": ""})
    [problem] = validating.take_violations()
    assert "GET /v1/alerts" in problem and "'filter[status]' is empty" in problem


def test_undeclared_query_parameter_is_a_violation(validating: RootlyFake) -> None:
    call(validating, "GET", "/v1/alerts", params={"filter[urgency]": "High"})
    [problem] = validating.take_violations()
    assert "'filter[urgency]' is not declared for GET /v1/alerts" in problem


def test_integer_parameter_must_parse(validating: RootlyFake) -> None:
    call(validating, "GET", "/v1/alerts", params={"page[size]": "ten"})
    [problem] = validating.take_violations()
    assert "'page[size]'='ten' is not an integer" in problem


def test_note_without_kind_is_a_violation(validating: RootlyFake) -> None:
    alert = validating.add_alert()
    r = call(validating, "POST", f"/v1/alerts/{alert['id']}/events", note("hi", kind=None))
    assert r.status_code == 422
    [problem] = validating.take_violations()
    assert "request body: data/attributes: 'kind' is a required property" in problem


def test_wrong_content_type_is_a_violation(validating: RootlyFake) -> None:
    alert = validating.add_alert()
    r = call(validating, "POST", f"/v1/alerts/{alert['id']}/events", note("hi"), content_type="application/json")
    assert r.status_code == 201  # Rails parses it anyway; the contract says vnd.api+json
    [problem] = validating.take_violations()
    assert "Content-Type 'application/json' is not one of application/vnd.api+json" in problem


def test_unknown_operation_is_a_violation(validating: RootlyFake) -> None:
    alert = validating.add_alert()
    call(validating, "DELETE", f"/v1/alerts/{alert['id']}")
    [problem] = validating.take_violations()
    assert "method not in the contract for /v1/alerts/{id} (allowed: GET, PATCH)" in problem


def test_response_drift_is_caught(validating: RootlyFake) -> None:
    """If the fake's own state stops matching the schema, the answer is reported, not silently served."""
    alert = validating.add_alert()
    del alert["attributes"]["summary"]
    call(validating, "GET", f"/v1/alerts/{alert['id']}")
    [problem] = validating.take_violations()
    assert "→ 200: body: data/attributes: 'summary' is a required property" in problem


def test_handler_exception_is_a_violation(validating: RootlyFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validating, "_get_me", lambda *a: 1 / 0)
    r = call(validating, "GET", "/v1/users/me")
    assert r.status_code == 500
    [problem] = validating.take_violations()
    assert "GET /v1/users/me: the fake raised ZeroDivisionError" in problem


def test_valid_traffic_on_every_endpoint_has_no_violations(validating: RootlyFake) -> None:
    fake = validating
    service = fake.add_service("Checkout API", "checkout-api")
    team = fake.add_team("SRE", "sre")
    jane = fake.add_user("jane@example.com", "Jane Doe")
    alert = fake.add_alert(summary="Disk full", services=["checkout-api"], groups=["sre"], labels={"env": "prod"})
    aid = alert["id"]
    expected = [
        ("GET", "/v1/users/me", None, {}, 200),
        ("GET", "/v1/users", None, {"filter[email]": "JANE@example.com", "page[number]": "1", "page[size]": "5"}, 200),
        ("GET", f"/v1/users/{jane}", None, {}, 200),
        ("GET", "/v1/alerts", None, {"filter[status]": "open,triggered", "filter[services]": "checkout-api"}, 200),
        ("GET", "/v1/alerts", None, {"filter[labels]": "env:prod", "include": "responders,services"}, 200),
        ("GET", f"/v1/alerts/{alert['attributes']['short_id']}", None, {}, 200),
        ("POST", f"/v1/alerts/{aid}/acknowledge", None, {}, 200),
        ("POST", f"/v1/alerts/{aid}/events", note("looking", jane), {}, 201),
        ("GET", f"/v1/alerts/{aid}/events", None, {"filter[kind]": "note", "page[size]": "2"}, 200),
        ("PATCH", f"/v1/alerts/{aid}", alert_body(summary="Disk very full", service_ids=[service]), {}, 200),
        ("POST", f"/v1/alerts/{aid}/snooze", alert_body(delay_minutes=15), {}, 200),
        ("POST", f"/v1/alerts/{aid}/escalate", alert_body(escalation_policy_level=2), {}, 200),
        ("POST", f"/v1/alerts/{aid}/resolve", alert_body(resolution_message="freed space"), {}, 200),
        ("POST", f"/v1/alerts/{aid}/resolve", None, {}, 200),
        ("POST", "/v1/alerts", alert_body(summary="New", group_ids=[team], labels=[{"key": "a", "value": 1}]), {}, 201),
        ("GET", "/v1/alert_urgencies", None, {}, 200),
        ("GET", "/v1/severities", None, {"sort": "position"}, 200),
        ("GET", "/v1/services", None, {"filter[slug]": "checkout-api"}, 200),
        ("GET", "/v1/environments", None, {}, 200),
        ("GET", "/v1/teams", None, {"filter[search]": "sr"}, 200),
        ("GET", "/v1/incident_types", None, {}, 200),
        ("GET", "/v1/alert_events", None, {"page[size]": "2", "sort": "-created_at", "filter[kind]": "note"}, 200),
        ("GET", "/v1/alerts/nope", None, {}, 404),
    ]
    for method, path, body, params, status in expected:
        r = call(fake, method, path, body, params=params)
        assert r.status_code == status, (method, path, r.text)
        assert r.headers["Content-Type"].startswith(JSONAPI)
    sev = next(iter(fake.catalog["severities"]))
    r = call(fake, "POST", "/v1/incidents", {"data": {"type": "incidents", "attributes": {"severity_id": sev}}})
    assert r.status_code == 201
    incident = r.json()["data"]["id"]
    assert call(fake, "GET", "/v1/incidents", params={"filter[severity]": "sev0"}).json()["meta"]["total_count"] == 1
    event = {"data": {"type": "incident_events", "attributes": {"event": "Mitigated", "visibility": "internal"}}}
    assert call(fake, "POST", f"/v1/incidents/{incident}/events", event).status_code == 201
    assert fake.take_violations() == []


def test_without_a_contract_nothing_is_checked() -> None:
    with RootlyFake(TOKEN, contract=None) as server:
        assert not server.validating
        r = call(server, "GET", "/v1/alerts", params={"bogus": "1"}, content_type="text/plain")
        assert r.status_code == 200
        assert server.violations == []


# behaviour -----------------------------------------------------------------------------------------------------
def test_empty_filter_gets_500_like_rootly(fake: RootlyFake) -> None:
    r = call(fake, "GET", "/v1/alerts", params={"filter[status]": ""})
    assert r.status_code == 500
    assert r.json() == {"errors": [{"title": "Internal Server Error", "status": "500"}]}
    fake.take_violations()


def test_pagination_links_and_meta(fake: RootlyFake) -> None:
    for i in range(25):
        fake.add_alert(summary=f"alert {i}")
    r = call(fake, "GET", "/v1/alerts", params={"page[number]": "2", "page[size]": "10", "filter[source]": "datadog"})
    body = r.json()
    assert [a["attributes"]["summary"] for a in body["data"]] == [f"alert {i}" for i in range(14, 4, -1)]
    assert body["meta"] == {"current_page": 2, "next_page": 3, "prev_page": 1, "total_count": 25, "total_pages": 3}
    links = body["links"]
    assert "filter%5Bsource%5D=datadog" in links["next"] and "page%5Bnumber%5D=3" in links["next"]
    assert "page%5Bnumber%5D=1" in links["prev"] and "page%5Bnumber%5D=3" in links["last"]
    seen, url = [], links["first"]
    while url:
        page = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).json()
        seen += [a["id"] for a in page["data"]]
        url = page["links"]["next"]
    assert len(seen) == len(set(seen)) == 25


def test_page_size_is_clamped_to_100(fake: RootlyFake) -> None:
    for _ in range(MAX_PAGE_SIZE + 1):
        fake.add_alert()
    body = call(fake, "GET", "/v1/alerts", params={"page[size]": "500"}).json()
    assert len(body["data"]) == MAX_PAGE_SIZE
    assert body["meta"]["total_pages"] == 2 and "page%5Bsize%5D=100" in body["links"]["next"]


def test_list_filters_and_newest_first(fake: RootlyFake) -> None:
    fake.add_service("API", "api")
    fake.add_alert(summary="old", created_at="2025-01-01T00:00:00Z", services=["api"], labels={"env": "prod"})
    fake.add_alert(summary="new", created_at="2025-01-02T00:00:00Z", status="open", source="grafana")
    fake.add_alert(summary="done", created_at="2025-01-03T00:00:00Z", status="resolved")

    def summaries(**params: str) -> list[str]:
        return [a["attributes"]["summary"] for a in call(fake, "GET", "/v1/alerts", params=params).json()["data"]]

    assert summaries() == ["done", "new", "old"]
    assert summaries(**{"filter[status]": "open,triggered"}) == ["new", "old"]
    assert summaries(**{"filter[source]": "grafana"}) == ["new"]
    assert summaries(**{"filter[services]": "api"}) == ["old"]
    assert summaries(**{"filter[labels]": "env:prod"}) == ["old"]
    assert summaries(**{"filter[created_at][gte]": "2025-01-02T00:00:00Z"}) == ["done", "new"]


def test_list_hides_responders_unless_included(fake: RootlyFake) -> None:
    fake.add_alert()
    [plain] = call(fake, "GET", "/v1/alerts").json()["data"]
    [included] = call(fake, "GET", "/v1/alerts", params={"include": "responders"}).json()["data"]
    assert "responders" not in plain["attributes"] and included["attributes"]["responders"] == []


def test_acknowledge_only_from_triggered(fake: RootlyFake) -> None:
    alert = fake.add_alert()
    r = call(fake, "POST", f"/v1/alerts/{alert['id']}/acknowledge")
    attrs = r.json()["data"]["attributes"]
    assert r.status_code == 200 and attrs["status"] == "acknowledged"
    assert attrs["updated_at"] >= attrs["created_at"]
    assert [(u["id"], u["email"]) for u in attrs["responders"]] == [(fake.me_id, "bot@example.com")]
    for status in ("acknowledged", "open", "resolved"):
        other = fake.add_alert(status=status)
        r = call(fake, "POST", f"/v1/alerts/{other['id']}/acknowledge")
        assert r.status_code == 400
        assert r.json() == {"errors": [{"title": f"Cannot acknowledge {status} alert", "status": "400"}]}


def test_resolve_twice_returns_the_alert_unchanged(fake: RootlyFake) -> None:
    alert = fake.add_alert()
    first = call(fake, "POST", f"/v1/alerts/{alert['id']}/resolve", alert_body(resolution_message="fixed")).json()
    again = call(fake, "POST", f"/v1/alerts/{alert['id']}/resolve").json()
    assert first["data"]["attributes"]["status"] == "resolved" and first["data"]["attributes"]["ended_at"]
    assert again == first


def test_alert_by_short_id_and_unknown_alert(fake: RootlyFake) -> None:
    alert = fake.add_alert(short_id="t8rgnt")
    r = call(fake, "GET", "/v1/alerts/t8rgnt")
    assert r.status_code == 200 and r.json()["data"]["id"] == alert["id"]
    assert r.json()["data"]["attributes"]["url"] == "https://rootly.com/account/alerts/t8rgnt"
    assert fake.get_alert("t8rgnt") is alert
    missing = call(fake, "GET", "/v1/alerts/zzzzzz")
    assert missing.status_code == 404 and missing.json()["errors"][0]["status"] == "404"


def test_notes(fake: RootlyFake) -> None:
    alert = fake.add_alert()
    jane = fake.add_user("jane@example.com")
    path = f"/v1/alerts/{alert['attributes']['short_id']}/events"  # short ids work here too
    assert call(fake, "POST", path, note("first", jane)).status_code == 201
    assert call(fake, "POST", path, note("second")).status_code == 201
    assert call(fake, "POST", path, note("ghost", 999)).status_code == 422
    assert call(fake, "POST", path, note("x" * (NOTE_MAX_CHARS + 1))).status_code == 422
    assert fake.notes(alert["id"]) == [("first", jane), ("second", None)]
    listed = call(fake, "GET", path, params={"filter[kind]": "note"}).json()
    assert [e["attributes"]["details"] for e in listed["data"]] == ["first", "second"]
    assert listed["data"][0]["attributes"]["user"]["email"] == "jane@example.com"
    # Rails answers 404 for an unknown record even where the contract omits it: not a violation
    assert call(fake, "POST", "/v1/alerts/zzzzzz/events", note("lost")).status_code == 404


def test_concurrent_acknowledges_let_exactly_one_win(fake: RootlyFake) -> None:
    alert = fake.add_alert()
    with ThreadPoolExecutor(8) as pool:
        codes = list(
            pool.map(lambda _: call(fake, "POST", f"/v1/alerts/{alert['id']}/acknowledge").status_code, range(8))
        )
    assert sorted(codes) == [200] + [400] * 7


def test_latency_delays_every_answer(fake: RootlyFake) -> None:
    fake.latency = 0.2
    started = time.monotonic()
    assert call(fake, "GET", "/v1/users/me").status_code == 200
    assert time.monotonic() - started >= 0.2


def test_users_lookup(fake: RootlyFake) -> None:
    jane = fake.add_user("Jane.Doe@Example.com")
    me = call(fake, "GET", "/v1/users/me").json()["data"]
    assert me["id"] == str(fake.me_id) and me["attributes"]["email"] == "bot@example.com"
    found = call(fake, "GET", "/v1/users", params={"filter[email]": "jane.doe@example.com"}).json()["data"]
    assert [u["id"] for u in found] == [str(jane)]
    assert found[0]["attributes"]["full_name"] == "Jane Doe"
    assert call(fake, "GET", "/v1/users", params={"filter[email]": "jane@example.com"}).json()["data"] == []


def test_create_alert_deduplicates_while_open(fake: RootlyFake) -> None:
    body = alert_body(summary="CPU high", deduplication_key="cpu-1")
    first = call(fake, "POST", "/v1/alerts", body).json()["data"]
    again = call(fake, "POST", "/v1/alerts", body).json()["data"]
    assert again["id"] == first["id"] and first["attributes"]["source"] == "api"
    fake.alerts[first["id"]]["attributes"]["status"] = "resolved"
    assert call(fake, "POST", "/v1/alerts", body).json()["data"]["id"] != first["id"]


def test_incidents_get_sequential_ids(fake: RootlyFake) -> None:
    body = {"data": {"type": "incidents", "attributes": {"title": "Checkout down"}}}
    ids = [call(fake, "POST", "/v1/incidents", body).json()["data"]["attributes"]["sequential_id"] for _ in range(2)]
    assert ids == [1, 2] and len(fake.incidents) == 2


def test_alert_event_feed_cursor(fake: RootlyFake) -> None:
    for i in range(3):
        fake.add_alert(summary=f"a{i}")
    first = call(fake, "GET", "/v1/alert_events", params={"page[size]": "2"}).json()
    assert len(first["data"]) == 2 and first["meta"]["next_cursor"]
    rest = call(fake, "GET", "/v1/alert_events", params={"page[after]": first["meta"]["next_cursor"]}).json()
    assert len(rest["data"]) == 1
    idle = call(fake, "GET", "/v1/alert_events", params={"page[after]": rest["meta"]["next_cursor"]}).json()
    assert idle["data"] == [] and idle["meta"]["next_cursor"] == rest["meta"]["next_cursor"]


def test_wrong_or_missing_token_is_401(fake: RootlyFake) -> None:
    for token in ("nope", None):
        r = call(fake, "GET", "/v1/alerts", token=token)
        assert r.status_code == 401
        assert r.json() == {"errors": [{"title": "Unauthorized", "status": "401"}]}
    r = call(fake, "GET", "/v1/alerts", token=None, headers={"Authorization": TOKEN})
    assert r.status_code == 401
    if fake.validating:  # a wrong token is a situation, not a contract breach; a missing or non-bearer header is
        assert [v.split(": ", 1)[1] for v in fake.take_violations()] == [
            "Authorization header is missing",
            "Authorization header is not 'Bearer <token>'",
        ]


def test_rate_limit_headers_on_every_answer(fake: RootlyFake) -> None:
    fake.rate_limit = 2
    answers = [call(fake, "GET", "/v1/users/me") for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["1", "0", "0"]
    assert answers[1].headers["X-RateLimit-Used"] == "2" and answers[1].headers["X-RateLimit-Limit"] == "2"
    assert int(answers[2].headers["X-RateLimit-Reset"]) > time.time()
    assert answers[2].json() == {"errors": [{"title": "Rate limit exceeded", "status": "429"}]}
    assert call(fake, "POST", "/v1/alerts", alert_body(summary="writes count apart")).status_code == 201


def test_scripted_429_then_normal(fake: RootlyFake) -> None:
    alert = fake.add_alert()
    fake.script("POST", r"/acknowledge$", RootlyFake.rate_limited(2), RootlyFake.unavailable())
    path = f"/v1/alerts/{alert['id']}/acknowledge"
    limited, down, ok = (call(fake, "POST", path) for _ in range(3))
    assert limited.status_code == 429 and limited.headers["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(limited.headers["X-RateLimit-Reset"]) - time.time() <= 3
    assert limited.json() == {"errors": [{"title": "Rate limit exceeded", "status": "429"}]}
    assert down.status_code == 503 and down.json()["errors"][0]["status"] == "503"
    assert ok.status_code == 200 and fake.alerts[alert["id"]]["attributes"]["status"] == "acknowledged"


def test_scripted_timeout_happens_late(fake: RootlyFake) -> None:
    alert = fake.add_alert()
    fake.timeout_sleep = 0.4
    fake.script("POST", r"/v1/alerts/[^/]+/acknowledge", "timeout")
    with pytest.raises(requests.Timeout):
        requests.post(
            f"{fake.url}/v1/alerts/{alert['id']}/acknowledge", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=0.1
        )
    assert fake.alerts[alert["id"]]["attributes"]["status"] == "triggered"
    assert fake.wait_for(lambda: fake.alerts[alert["id"]]["attributes"]["status"] == "acknowledged", timeout=2)


def test_scripted_drop_closes_the_connection(fake: RootlyFake) -> None:
    fake.script("*", r"^/v1/users/me$", "drop", Reply(502, "<html>bad gateway</html>", content_type="text/html"))
    with pytest.raises(requests.ConnectionError):
        call(fake, "GET", "/v1/users/me")
    gateway = call(fake, "GET", "/v1/users/me")
    assert gateway.status_code == 502 and "X-RateLimit-Limit" in gateway.headers
    assert call(fake, "GET", "/v1/users/me").status_code == 200
    with pytest.raises(ValueError):
        fake.script("GET", "/v1/users/me", "explode")
