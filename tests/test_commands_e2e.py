"""`/rootly ack | resolve | note | help` end to end: signed Slack requests in, Rootly calls and replies out."""

from __future__ import annotations

import time

from tests.conftest import RunningBot
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.messages import reply, text_of


def posts(rootly: RootlyFake, suffix: str) -> list:
    return [r for r in rootly.requests if r.method == "POST" and r.path.endswith(suffix)]


# --- acknowledge ------------------------------------------------------------------------------------------------


def test_ack_acknowledges_and_attributes_to_the_person(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alice = rootly.add_user("ALICE@example.com", "Alice Example")
    alert = rootly.add_alert(summary="Disk full on db-1", status="triggered")
    short_id = alert["attributes"]["short_id"]

    resp = bot.sender.slash(f"ack {short_id}")

    assert resp.status_code == 200
    assert "Acknowledging" in resp.text and short_id in resp.text
    message = reply(slack)
    assert "Acknowledged" in text_of(message) and "<@U111>" in text_of(message)
    assert "<!date^" in text_of(message)  # each reader sees their own time zone
    assert rootly.get_alert(alert["id"])["attributes"]["status"] == "acknowledged"
    assert rootly.notes(alert["id"]) == [("Acknowledged in Slack by Alice Example", alice)]


def test_ack_of_an_open_alert_explains_what_can_be_done(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alert = rootly.add_alert(summary="Queue backlog", status="open")
    bot.sender.slash(f"ack {alert['id']}")
    said = text_of(reply(slack))
    assert "only triggered alerts can be acknowledged" in said and "resolve" in said
    assert posts(rootly, "/acknowledge") == []
    assert rootly.get_alert(alert["id"])["attributes"]["status"] == "open"


def test_ack_twice_says_it_is_already_acknowledged(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alert = rootly.add_alert(summary="CPU", status="triggered")
    bot.sender.slash(f"ack {alert['attributes']['short_id']}")
    reply(slack)
    bot.sender.slash(f"ack {alert['attributes']['short_id']}")
    assert "already acknowledged" in text_of(reply(slack, 2))
    assert len(posts(rootly, "/acknowledge")) == 1


def test_ack_unknown_alert(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    bot.sender.slash("ack zzzzzz")
    said = text_of(reply(slack))
    assert "zzzzzz" in said and "No alert" in said
    assert posts(rootly, "/acknowledge") == []


def test_ack_by_rootly_link_pasted_in_slack(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alert = rootly.add_alert(summary="Latency", status="triggered")
    bot.sender.slash(f"ack <https://rootly.com/account/alerts/{alert['id']}|ALT>")
    assert "Acknowledged" in text_of(reply(slack))
    assert rootly.get_alert(alert["id"])["attributes"]["status"] == "acknowledged"


def test_ack_answers_slack_before_rootly_answers(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alert = rootly.add_alert(summary="Slow", status="triggered")
    rootly.latency = 1.0
    resp = bot.sender.slash(f"ack {alert['id']}")
    # The HTTP answer came back while the Rootly work had not finished: nothing has reached the person yet.
    assert resp.status_code == 200 and slack.responses() == []
    assert "Acknowledged" in text_of(reply(slack))


def test_attribution_notes_can_be_turned_off(make_bot, rootly: RootlyFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    alert = rootly.add_alert(summary="CPU", status="triggered")
    with make_bot(ATTRIBUTION_NOTES="false") as bot:
        bot.sender.slash(f"ack {alert['id']}")
        assert "Acknowledged" in text_of(reply(slack))
    assert rootly.notes(alert["id"]) == []


# --- resolve ----------------------------------------------------------------------------------------------------


def test_resolve_with_a_message(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    rootly.add_user("alice@example.com", "Alice Example")
    alert = rootly.add_alert(summary="5xx spike", status="acknowledged")
    bot.sender.slash(f"resolve {alert['attributes']['short_id']} rolled back deploy 42")
    said = text_of(reply(slack))
    assert "Resolved" in said
    body = posts(rootly, "/resolve")[0].json
    assert body["data"]["attributes"]["resolution_message"] == "rolled back deploy 42"
    assert rootly.get_alert(alert["id"])["attributes"]["status"] == "resolved"
    assert [d for d, _ in rootly.notes(alert["id"])] == ["Resolved in Slack by Alice Example: rolled back deploy 42"]


def test_resolve_an_already_resolved_alert(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alert = rootly.add_alert(summary="done", status="resolved")
    bot.sender.slash(f"resolve {alert['id']}")
    assert "already resolved" in text_of(reply(slack))
    assert posts(rootly, "/resolve") == []


# --- note -------------------------------------------------------------------------------------------------------


def test_note_is_authored_by_the_persons_rootly_user(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alice = rootly.add_user("alice@example.com", "Alice Example")
    alert = rootly.add_alert(summary="Disk", status="acknowledged")
    note = "found it: debug logs <filled> the disk & more\nsecond line"
    bot.sender.slash(f"note {alert['attributes']['short_id']} {note}")
    said = text_of(reply(slack))
    assert "Note added" in said and "&lt;filled&gt;" in said  # shown as typed, not as Slack markup
    assert rootly.notes(alert["id"]) == [(note, alice)]


def test_note_without_a_rootly_match_still_lands_and_says_who(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    alert = rootly.add_alert(summary="Disk", status="triggered")
    bot.sender.slash(f"note {alert['id']} checking now")
    said = text_of(reply(slack))
    assert "not attached" in said and "alice@example.com" in said
    [(details, author)] = rootly.notes(alert["id"])
    assert details.startswith("checking now") and "Alice Example (via Slack)" in details
    assert author is None


def test_user_lookup_is_cached_between_actions(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    rootly.add_user("alice@example.com", "Alice Example")
    alert = rootly.add_alert(summary="Disk", status="triggered")
    for i in range(3):
        bot.sender.slash(f"note {alert['id']} update {i}")
        reply(slack, i + 1)
    assert len(slack.calls("users.info")) == 1
    assert len([r for r in rootly.requests if r.path == "/v1/users"]) == 1


def test_empty_note_is_refused_at_once_with_the_syntax(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    resp = bot.sender.slash("note t8rgnt   ")
    assert "note is empty" in resp.text and "/rootly note <alert> <text>" in resp.text
    time.sleep(0.2)
    assert rootly.requests == [] and slack.responses() == []


def test_oversize_note_is_refused_and_handed_back(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alert = rootly.add_alert(summary="Disk", status="triggered")
    long_note = "log line\n" * 1500  # 13,500 characters
    bot.sender.slash(f"note {alert['id']} {long_note}")
    message = reply(slack)
    assert "at most 10,000 characters" in text_of(message)
    assert long_note.strip() in message["text"]  # nothing typed is lost
    assert posts(rootly, "/events") == []


def test_note_with_a_bad_reference_hands_the_text_back(bot: RunningBot, slack: SlackFake) -> None:
    resp = bot.sender.slash("note not/an/alert the words I typed")
    assert "doesn't look like an alert" in resp.text and "the words I typed" in resp.text


# --- help -------------------------------------------------------------------------------------------------------


def test_help_and_unknown_commands(bot: RunningBot, rootly: RootlyFake) -> None:
    for text in ("", "help"):
        body = bot.sender.slash(text).json()
        assert "/rootly ack <alert>" in str(body["blocks"]) and "/rootly note <alert> <text>" in str(body["blocks"])
    unknown = bot.sender.slash("frobnicate now").json()
    assert "frobnicate" in unknown["text"] and "/rootly resolve" in str(unknown["blocks"])
    assert rootly.requests == []


# --- Rootly failures --------------------------------------------------------------------------------------------


def test_rate_limit_within_budget_is_waited_out(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alert = rootly.add_alert(summary="CPU", status="triggered")
    rootly.script("POST", r"/acknowledge$", RootlyFake.rate_limited(reset_in=1))
    bot.sender.slash(f"ack {alert['id']}")
    assert "Acknowledged" in text_of(reply(slack))
    assert len(posts(rootly, "/acknowledge")) == 2


def test_rate_limit_past_budget_is_queued_and_delivered_later(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    alert = rootly.add_alert(summary="CPU", status="triggered")
    rootly.script("POST", r"/acknowledge$", RootlyFake.rate_limited(reset_in=120))
    bot.sender.slash(f"ack {alert['id']}")
    said = text_of(reply(slack))
    assert "rate limiting" in said and "queued" in said
    assert rootly.get_alert(alert["id"])["attributes"]["status"] == "triggered"
    assert bot.app.services.outbox.deliver_due() == 1
    assert rootly.get_alert(alert["id"])["attributes"]["status"] == "acknowledged"
    assert "From the outbox: Acknowledged" in text_of(reply(slack, 2))


def test_rootly_outage_queues_the_resolution_and_keeps_the_text(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    alert = rootly.add_alert(summary="CPU", status="triggered")
    rootly.script("POST", r"/resolve$", RootlyFake.unavailable(503))
    bot.sender.slash(f"resolve {alert['id']} fixed by restart")
    message = reply(slack)
    assert "queued" in text_of(message)
    assert "fixed by restart" in message["text"]  # the message typed is handed back
    assert bot.app.services.outbox.deliver_due() == 1
    body = [r for r in rootly.requests if r.path.endswith("/resolve")][-1].json
    assert body["data"]["attributes"]["resolution_message"] == "fixed by restart"


def test_get_retries_a_transient_5xx(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alert = rootly.add_alert(summary="CPU", status="triggered")
    rootly.script("GET", r"/v1/alerts/[^/]+$", RootlyFake.unavailable(502))
    bot.sender.slash(f"ack {alert['id']}")
    assert "Acknowledged" in text_of(reply(slack))


def test_a_note_that_timed_out_after_sending_lands_once(make_bot, rootly: RootlyFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    alert = rootly.add_alert(summary="CPU", status="triggered")
    rootly.timeout_sleep = 1.0
    rootly.script("POST", r"/events$", "timeout")
    with make_bot(ROOTLY_TIMEOUT="0.5") as bot:
        bot.sender.slash(f"note {alert['id']} important words")
        message = reply(slack)
        assert "did not confirm" in text_of(message) and "important words" in message["text"]
        time.sleep(1.0)  # Rootly applied the note after the bot gave up waiting
        assert bot.app.services.outbox.deliver_due() == 1
        assert "already on the alert" in text_of(reply(slack, 2))
    assert len(posts(rootly, "/events")) == 1  # checked, not sent again
    assert len([d for d, _ in rootly.notes(alert["id"]) if d.startswith("important words")]) == 1


def test_rejected_rootly_token(make_bot, rootly: RootlyFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    with make_bot(ROOTLY_API_TOKEN="wrong-token") as bot:
        bot.sender.slash("ack t8rgnt")
        said = text_of(reply(slack))
    assert "rejected the bot's API key" in said and "wrong-token" not in said


# --- forged requests --------------------------------------------------------------------------------------------


def test_forged_stale_and_unsigned_requests_get_401_and_change_nothing(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    import requests

    alert = rootly.add_alert(summary="CPU", status="triggered")
    body = f"command=%2Frootly&text=ack+{alert['id']}&user_id=U111".encode()
    form = "application/x-www-form-urlencoded"
    wrong = bot.sender.post(body, form, headers={"X-Slack-Signature": "v0=" + "0" * 64})
    stale = bot.sender.slash(f"ack {alert['id']}", timestamp=int(time.time()) - 6 * 60)
    unsigned = requests.post(f"{bot.url}/slack/events", data=body, headers={"Content-Type": form}, timeout=5)
    assert [wrong.status_code, stale.status_code, unsigned.status_code] == [401, 401, 401]
    time.sleep(0.3)
    assert rootly.requests == [] and slack.responses() == []
    assert rootly.get_alert(alert["id"])["attributes"]["status"] == "triggered"


def test_health_and_unknown_paths(bot: RunningBot) -> None:
    import requests

    health = requests.get(f"{bot.url}/healthz", timeout=5)
    assert health.status_code == 200 and health.json()["database"] == "ok"
    assert requests.get(f"{bot.url}/nope", timeout=5).status_code == 404
    big = requests.post(
        f"{bot.url}/slack/events", data=b"x" * (1_048_576 + 1), headers={"Content-Type": "text/plain"}, timeout=5
    )
    assert big.status_code == 413
