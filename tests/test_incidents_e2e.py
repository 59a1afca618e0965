"""Declaring incidents end to end: the slash command, the message shortcut and the alert button against the fakes.

Every Rootly request is checked against the contract (the ``rootly`` fixture fails the test on any violation) and
every view against Slack's limits (the ``slack`` fixture likewise).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from bot.render.ids import Action, Block, Callback
from tests.conftest import RunningBot
from tests.fakes.rootly import RootlyFake
from tests.fakes.server import Reply
from tests.fakes.slack import SlackFake
from tests.messages import action_ids, text_of
from tests.waiting import wait_until

TRIGGER_WINDOW = 3.0  # Slack's trigger_id expires after 3 s


# --- Slack requests the bot receives -------------------------------------------------------------------------------
def shortcut(bot: RunningBot, message: dict[str, Any], *, channel: str = "C111", user: str = "U111") -> Any:
    """The "Declare incident" message shortcut (shape of shared/slack-payloads/message_action*.json)."""
    payload = {
        "type": "message_action",
        "token": "verification_token",
        "action_ts": "1700000100.000200",
        "team": {"id": "T111", "domain": "test"},
        "user": {"id": user, "name": "alice"},
        "channel": {"id": channel, "name": "oncall"},
        "callback_id": Callback.DECLARE_INCIDENT_SHORTCUT.value,
        "trigger_id": "111.222.shortcut",
        "message_ts": message["ts"],
        "message": {"type": "message", **message},
        "response_url": bot.sender.response_url,
    }
    return bot.sender.interactive(payload)


def suggest(bot: RunningBot, view: dict[str, Any], action: Action, query: str) -> list[dict[str, Any]]:
    """An options request (block_suggestion) from an external select in the view; returns the options offered."""
    payload = {
        "type": "block_suggestion",
        "user": {"id": "U111", "name": "alice", "team_id": "T111"},
        "team": {"id": "T111", "domain": "test"},
        "api_app_id": "A111",
        "token": "verification_token",
        "container": {"type": "view", "view_id": view["id"]},
        "action_id": action.value,
        "block_id": "b",
        "value": query,
        "view": view,
    }
    answer = bot.sender.interactive(payload)
    assert answer.status_code == 200, answer.text
    return answer.json()["options"]


def click_in_view(bot: RunningBot, view: dict[str, Any], action: Action, value: str = "1") -> Any:
    payload = {
        "type": "block_actions",
        "user": {"id": "U111", "name": "alice", "team_id": "T111"},
        "api_app_id": "A111",
        "token": "verification_token",
        "container": {"type": "view", "view_id": view["id"]},
        "trigger_id": "111.333.click",
        "team": {"id": "T111", "domain": "test"},
        "view": view,
        "actions": [{"action_id": action.value, "block_id": "b", "type": "button", "value": value, "action_ts": "1"}],
    }
    return bot.sender.interactive(payload)


# --- reading views ------------------------------------------------------------------------------------------------
def form(slack: SlackFake, n: int = 1) -> dict[str, Any]:
    """The n-th incident form the bot showed (views.open or views.update), as Slack now holds that view."""

    def shown() -> bool:
        views = ("views.open", "views.update")
        return (
            len([c for m in views for c in slack.calls(m) if c["view"].get("callback_id") == Callback.INCIDENT_MODAL])
            >= n
        )

    try:
        wait_until(shown, message=f"no incident form #{n}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; views sent: {[text_of(c['view'])[:80] for c in all_views(slack)]}") from None
    with_form = [v for v in slack.views.values() if v.get("callback_id") == Callback.INCIDENT_MODAL]
    return with_form[-1]


def all_views(slack: SlackFake) -> list[dict[str, Any]]:
    return slack.calls("views.open") + slack.calls("views.update")


def block(view: dict[str, Any], block_id: Block) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def options(view: dict[str, Any], block_id: Block) -> list[tuple[str, str]]:
    """(value, text) of a static select's options."""
    return [(o["value"], o["text"]["text"]) for o in block(view, block_id)["element"]["options"]]


def picked(*choices: tuple[str, str], multi: bool = True) -> dict[str, Any]:
    chosen = [{"text": {"type": "plain_text", "text": text}, "value": value} for value, text in choices]
    if multi:
        return {"type": "multi_static_select", "selected_options": chosen}
    return {"type": "static_select", "selected_option": chosen[0] if chosen else None}


def values(
    title: str,
    *,
    summary: str | None = None,
    severity: tuple[str, str] | None = None,
    services: tuple[tuple[str, str], ...] = (),
    parent: tuple[str, str] | None = None,
    private: bool = False,
    attach: bool | None = None,
) -> dict[str, Any]:
    """A view_submission's state.values for the incident form."""
    state: dict[str, Any] = {
        Block.INCIDENT_TITLE: {Action.INCIDENT_TITLE: {"type": "plain_text_input", "value": title}},
        Block.INCIDENT_SUMMARY: {Action.INCIDENT_SUMMARY: {"type": "plain_text_input", "value": summary}},
        Block.INCIDENT_SEVERITY: {Action.INCIDENT_SEVERITY: picked(*([severity] if severity else []), multi=False)},
        Block.INCIDENT_SERVICES: {Action.INCIDENT_SERVICES: picked(*services)},
        Block.INCIDENT_PARENT: {
            Action.INCIDENT_PARENT: {"type": "external_select", **({"selected_option": _opt(parent)} if parent else {})}
        },
        Block.INCIDENT_PRIVATE: {
            Action.INCIDENT_PRIVATE: {
                "type": "checkboxes",
                "selected_options": [_opt(("private", "Private"))] * private,
            }
        },
    }
    if attach is not None:
        chosen = [_opt(("attach", "Attach"))] if attach else []
        state[Block.INCIDENT_ALERT] = {Action.INCIDENT_ALERT: {"type": "checkboxes", "selected_options": chosen}}
    return state


def _opt(choice: tuple[str, str]) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": choice[1]}, "value": choice[0]}


def created(rootly: RootlyFake) -> list[dict[str, Any]]:
    """The bodies of POST /v1/incidents that reached Rootly."""
    return [
        r.json["data"]["attributes"] for r in rootly.requests_to("POST", "/v1/incidents") if r.path == "/v1/incidents"
    ]


def events(rootly: RootlyFake, incident_id: str) -> list[dict[str, Any]]:
    return [e["attributes"] for e in rootly.incident_events.get(incident_id, [])]


def thread_message(slack: SlackFake, channel: str, ts: str) -> dict[str, Any]:
    return next(m for m in slack.messages(channel) if m["ts"] == ts)


# --- /rootly incident ---------------------------------------------------------------------------------------------
def test_slash_command_opens_the_form_and_declares_in_the_channel(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    for i in range(5):
        rootly.add_service(f"Service {i}", f"svc-{i}")
    answer = bot.sender.slash("incident   Checkout   is down")
    assert answer.status_code == 200 and not answer.text  # an empty ack: the modal is the answer
    [opened] = slack.wait_calls("views.open")
    assert opened["trigger_id"] == "111.111.xxx"
    view = form(slack)
    assert block(view, Block.INCIDENT_TITLE)["element"]["initial_value"] == "Checkout is down"
    assert block(view, Block.INCIDENT_TITLE)["element"]["max_length"] == 255
    # Severities in Rootly's order; five services: the whole list, as a static select.
    assert [text for _, text in options(view, Block.INCIDENT_SEVERITY)] == ["SEV0", "SEV1", "SEV2", "SEV3"]
    assert block(view, Block.INCIDENT_SERVICES)["element"]["type"] == "multi_static_select"
    assert len(options(view, Block.INCIDENT_SERVICES)) == 5
    assert "public again" in text_of(block(view, Block.INCIDENT_PRIVATE))
    sev1 = options(view, Block.INCIDENT_SEVERITY)[1]
    svc = options(view, Block.INCIDENT_SERVICES)[2]
    answer = bot.sender.submit_view(
        view, values("Checkout is down", summary="Card payments fail", severity=sev1, services=(svc,))
    )
    body = answer.json()
    assert body["response_action"] == "update" and "INC-1" in text_of(body["view"])
    [sent] = created(rootly)
    assert sent["title"] == "Checkout is down" and sent["summary"] == "Card payments fail"
    assert sent["severity_id"] == sev1[0] and sent["service_ids"] == [svc[0]]
    assert "private" not in sent and "parent_incident_id" not in sent and "alert_ids" not in sent
    [post] = slack.wait_calls("chat.postMessage")
    assert post["channel"] == "C111" and not post.get("thread_ts")
    said = text_of(post["blocks"])
    assert "🚨" in said and "INC-1" in said and "Checkout is down" in said and "<@U111>" in said and "SEV1" in said
    [incident] = rootly.incidents.values()
    assert incident["attributes"]["url"] in said
    [note] = slack.wait_calls("chat.postEphemeral")
    assert note["user"] == "U111" and incident["attributes"]["url"] in text_of(note["blocks"])


def test_a_second_form_opens_filled_at_once_from_the_cache(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    bot.sender.slash("incident first")
    form(slack)
    rootly.reset_requests()
    bot.sender.slash("incident second")
    [_, second] = slack.wait_calls("views.open", 2)
    assert second["view"]["callback_id"] == Callback.INCIDENT_MODAL  # no loading state: nothing to wait for
    assert block(second["view"], Block.INCIDENT_TITLE)["element"]["initial_value"] == "second"
    assert rootly.requests == []


def test_help_lists_the_incident_command(bot: RunningBot) -> None:
    assert "/rootly incident [title]" in text_of(bot.sender.slash("help").json())


# --- the message shortcut -----------------------------------------------------------------------------------------
RICH = (
    "*Checkout* is down for <@U222> and <!here> :fire:\n"
    "See <https://grafana.example.com/d/abc?from=now-1h|the dashboard> and <#C999|payments-ops>, "
    "mail <mailto:sre@example.com|sre@example.com>; 5 &lt; 6 &amp; 7 &gt; 2\n"
    '```\nTraceback (most recent call last):\n  File "app.py", line 1\n```\n'
)


def test_shortcut_prefills_from_a_rich_long_message(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    slack.add_user("U222", "bob@example.com", "Bob Builder")
    text = RICH + "x" * (4000 - len(RICH))
    ts = slack.add_message("C111", text, user="U111")
    assert shortcut(bot, thread_message(slack, "C111", ts)).status_code == 200
    view = form(slack)
    title = block(view, Block.INCIDENT_TITLE)["element"]["initial_value"]
    assert title == "Checkout is down for @Bob Builder and @here :fire:"
    summary = block(view, Block.INCIDENT_SUMMARY)["element"]["initial_value"]
    assert len(summary) <= 3000 and summary.endswith("…")
    permalink = f"https://example.slack.com/archives/C111/p{ts.replace('.', '')}"
    assert summary.startswith(f"Alice Example wrote in #channel-c111 ({permalink}):\n")
    assert "the dashboard (https://grafana.example.com/d/abc?from=now-1h)" in summary
    assert "#payments-ops" in summary and "sre@example.com" in summary and "5 < 6 & 7 > 2" in summary
    assert '```\nTraceback (most recent call last):\n  File "app.py", line 1\n```' in summary
    assert slack.calls("chat.getPermalink")[0]["message_ts"] == ts
    assert permalink in text_of(view["blocks"][0])  # the form says where it came from, linked


def test_shortcut_on_a_thread_reply_declares_replies_in_the_thread_and_copies_it(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    slack.add_user("U222", "bob@example.com", "Bob Builder")
    replies = [("U222", "p99 is 4s <@U111>"), ("U111", "on it")]
    thread_ts = slack.add_thread("C111", "Payments look slow", replies, parent_user="U111")
    reply_ts = slack.messages("C111")[-1]["ts"]
    shortcut(bot, thread_message(slack, "C111", reply_ts), user="U222")
    view = form(slack)
    assert block(view, Block.INCIDENT_TITLE)["element"]["initial_value"] == "on it"
    answer = bot.sender.submit_view(view, values("Payments slow"), user="U222").json()
    assert answer["response_action"] == "update"
    [incident] = rootly.incidents.values()
    [post] = slack.wait_calls("chat.postMessage")
    assert post["thread_ts"] == thread_ts and post["channel"] == "C111"
    wait_until(lambda: "copied" in text_of(slack.calls("chat.update")))
    [update] = slack.calls("chat.update")
    assert "3 messages of this thread copied to the incident timeline" in text_of(update["blocks"])
    lines = [e["event"] for e in events(rootly, incident["id"])]
    assert [line.split(" ", 1)[1] for line in lines] == [
        "Alice Example: Payments look slow",
        "Bob Builder: p99 is 4s @Alice Example",
        "Alice Example: on it",
    ]
    # The modal reports the copy too.
    wait_until(lambda: "copied" in text_of(slack.calls("views.update")[-1]["view"]))


def test_timeline_copy_of_a_thirty_message_thread(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    slack.add_user("U222", "bob@example.com", "Bob Builder")
    replies = [
        ("U222" if i % 2 else "U111", f"step {i}: <https://logs.example.com/{i}|logs> for <@U222>")
        for i in range(1, 30)
    ]
    thread_ts = slack.add_thread("C111", "DB failover :rotating_light:", replies, parent_user="U111")
    shortcut(bot, thread_message(slack, "C111", thread_ts))
    bot.sender.submit_view(form(slack), values("DB failover"))
    [incident] = rootly.incidents.values()
    wait_until(lambda: len(events(rootly, incident["id"])) == 30 and slack.calls("chat.update"))
    copied = events(rootly, incident["id"])
    assert all(e["visibility"] == "internal" for e in copied)
    assert copied[0]["event"] == "[22:13Z] Alice Example: DB failover :rotating_light:"
    for i, event in enumerate(copied[1:], 1):
        who = "Bob Builder" if i % 2 else "Alice Example"
        assert event["event"] == f"[22:13Z] {who}: step {i}: logs (https://logs.example.com/{i}) for @Bob Builder"
    assert all(
        r.json["data"]["attributes"]["visibility"] == "internal" for r in rootly.requests_to("POST", "/v1/incidents/")
    )
    assert "30 messages of this thread copied" in text_of(slack.calls("chat.update")[-1]["blocks"])


def test_a_thread_the_bot_cannot_read_is_still_declared_and_says_how_to_fix_it(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    ts = slack.add_message("C333", "Search is returning nothing")
    slack.not_in_channel.add("C333")
    shortcut(bot, thread_message(slack, "C333", ts), channel="C333")
    bot.sender.submit_view(form(slack), values("Search broken"))
    assert len(rootly.incidents) == 1
    [post] = slack.wait_calls("chat.postMessage")  # public channel: chat:write.public lets the bot reply
    assert post["thread_ts"] == ts and "/invite @rootly" in text_of(post["blocks"])
    assert "/invite @rootly" in text_of(slack.wait_calls("chat.postEphemeral")[0]["blocks"])
    wait_until(lambda: "/invite @rootly" in text_of(slack.calls("views.update")[-1]["view"]))  # the modal says it too
    assert not rootly.incident_events


# --- never twice --------------------------------------------------------------------------------------------------
def test_a_second_declaration_from_the_same_thread_shows_the_first(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    thread_ts = slack.add_thread("C111", "API errors", [("U111", "500s everywhere")])
    shortcut(bot, thread_message(slack, "C111", thread_ts))
    bot.sender.submit_view(form(slack), values("API errors"))
    [incident] = rootly.incidents.values()
    url = incident["attributes"]["url"]
    reply_ts = slack.messages("C111")[1]["ts"]
    shortcut(bot, thread_message(slack, "C111", reply_ts))
    wait_until(
        lambda: any(
            c["view"].get("callback_id") == Callback.INCIDENT_DECLARED_MODAL for c in slack.calls("views.update")
        ),
        message="the 'already declared' view was never shown",
    )
    small = [v for v in slack.views.values() if v.get("callback_id") == Callback.INCIDENT_DECLARED_MODAL][-1]
    assert "already has an incident" in text_of(small) and "INC-1" in text_of(small)
    buttons = [e for b in small["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons[0]["url"] == url and buttons[0]["action_id"] == Action.INCIDENT_OPEN
    assert action_ids(small["blocks"]) == {Action.INCIDENT_OPEN, Action.INCIDENT_DECLARE_SEPARATE}
    assert click_in_view(bot, small, Action.INCIDENT_OPEN).status_code == 200
    assert len(created(rootly)) == 1
    # Deliberately separate: a new form in the same modal, keyed by that modal; the thread hears of both.
    click_in_view(bot, small, Action.INCIDENT_DECLARE_SEPARATE)
    separate = form(slack, 2)
    assert separate["id"] == small["id"]
    bot.sender.submit_view(separate, values("API errors in EU"))
    assert len(rootly.incidents) == 2
    posts = slack.wait_calls("chat.postMessage", 2)
    assert all(p["thread_ts"] == thread_ts for p in posts) and "INC-2" in text_of(posts[1]["blocks"])


def test_double_submit_creates_one_incident(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    thread_ts = slack.add_thread("C111", "Queue backlog", [])
    shortcut(bot, thread_message(slack, "C111", thread_ts))
    view = form(slack)
    rootly.latency = 0.5  # the first POST is still in flight when the second submit arrives
    answers: list[Any] = []

    def submit() -> None:
        answers.append(bot.sender.submit_view(view, values("Queue backlog")).json())

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(created(rootly)) == 1 and len(rootly.incidents) == 1
    assert all(a["response_action"] == "update" and "INC-1" in text_of(a["view"]) for a in answers)
    wait_until(lambda: slack.calls("chat.postMessage"), message="the incident was never announced")
    time.sleep(0.5)  # a second announcement, were there one, would have been posted by now
    assert len(slack.calls("chat.postMessage")) == 1  # announced once


def test_a_second_alert_click_shows_the_incident_already_declared(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    alert = rootly.add_alert(summary="Disk full on db-1", status="triggered")
    message = {"ts": "1700000000.000100", "text": "alert"}
    bot.sender.click(Action.DECLARE_INCIDENT, f"rootly:{alert['id']}", message=message)
    bot.sender.submit_view(form(slack), values("Disk full on db-1", attach=True))
    bot.sender.click(Action.DECLARE_INCIDENT, f"rootly:{alert['id']}", message=message)
    wait_until(lambda: any("already has an incident" in text_of(c["view"]) for c in slack.calls("views.update")))
    assert len(created(rootly)) == 1


# --- the alert button -----------------------------------------------------------------------------------------------
def test_alert_button_prefills_from_the_alert_and_attaches_it(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    alert = rootly.add_alert(
        summary="Disk full on db-1", description="Volume /data at 99%", status="triggered", short_id="dsk001"
    )
    bot.sender.slash("alerts here")
    [listing] = slack.wait_calls("chat.postMessage")
    row = next(b for b in listing["blocks"] if b.get("type") == "actions")
    button = next(e for e in row["elements"] if e["action_id"] == Action.DECLARE_INCIDENT)
    assert button["value"] == f"rootly:{alert['id']}"
    ts = slack.messages("C111")[-1]["ts"]
    bot.sender.click(Action.DECLARE_INCIDENT, button["value"], message={"ts": ts, "text": listing["text"]})
    view = form(slack)
    assert block(view, Block.INCIDENT_TITLE)["element"]["initial_value"] == "Disk full on db-1"
    summary = block(view, Block.INCIDENT_SUMMARY)["element"]["initial_value"]
    assert summary.startswith("Volume /data at 99%") and "https://rootly.com/account/alerts/dsk001" in summary
    attach = block(view, Block.INCIDENT_ALERT)["element"]
    assert attach["initial_options"][0]["value"] == "attach" and "dsk001" in attach["options"][0]["text"]["text"]
    bot.sender.submit_view(view, values("Disk full on db-1", attach=True))
    [sent] = created(rootly)
    assert sent["alert_ids"] == [alert["id"]]
    [incident] = rootly.incidents.values()
    assert rootly.incident_alerts[incident["id"]] == [alert["id"]]
    reply = slack.wait_calls("chat.postMessage", 2)[-1]
    assert reply["thread_ts"] == ts and "INC-1" in text_of(reply["blocks"])


def test_unticking_the_alert_declares_without_it(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    alert = rootly.add_alert(summary="CPU high", status="triggered")
    bot.sender.click(Action.DECLARE_INCIDENT, f"rootly:{alert['id']}", message={"ts": "1700000000.000100"})
    bot.sender.submit_view(form(slack), values("CPU high", attach=False))
    assert "alert_ids" not in created(rootly)[0]


# --- pickers ------------------------------------------------------------------------------------------------------
def test_five_hundred_services_are_searched_as_typed(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    for i in range(500):
        rootly.add_service(f"Service {i:03d}", f"svc-{i:03d}")
    for i in range(150):
        rootly.add_incident_type(f"Type {i:03d}")
    bot.sender.slash("incident")
    view = form(slack)
    services = block(view, Block.INCIDENT_SERVICES)["element"]
    assert services["type"] == "multi_external_select" and services["min_query_length"] == 0
    assert block(view, Block.INCIDENT_TYPES)["element"]["type"] == "multi_external_select"
    assert block(view, Block.INCIDENT_SEVERITY)["element"]["type"] == "static_select"
    first = suggest(bot, view, Action.INCIDENT_SERVICES, "")
    assert len(first) == 100 and first[0]["text"]["text"] == "Service 000"
    rootly.reset_requests()
    found = suggest(bot, view, Action.INCIDENT_SERVICES, "Service 42")
    assert [o["text"]["text"] for o in found] == [f"Service 42{i}" for i in range(10)]
    [search] = rootly.requests_to("GET", "/v1/services")
    assert search.query["filter[search]"] == ["service 42"]
    # Incident types have no search filter in Rootly's API: matched here over the pages read.
    types = suggest(bot, view, Action.INCIDENT_TYPES, "type 14")
    assert [o["text"]["text"] for o in types] == [f"Type 14{i}" for i in range(10)]
    assert all("filter[search]" not in r.query for r in rootly.requests_to("GET", "/v1/incident_types"))
    # The submitted id is what Rootly gets.
    svc = (found[3]["value"], found[3]["text"]["text"])
    bot.sender.submit_view(view, values("Many services", services=(svc,)))
    assert created(rootly)[0]["service_ids"] == [svc[0]]


def test_a_list_rootly_cannot_give_is_searched_instead(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    rootly.script(
        "GET", r"^/v1/teams$", RootlyFake.unavailable(503), RootlyFake.unavailable(503), RootlyFake.unavailable(503)
    )
    bot.sender.slash("incident Teams unknown")
    view = form(slack)
    teams = block(view, Block.INCIDENT_TEAMS)
    assert teams["element"]["type"] == "multi_external_select" and "did not answer" in teams["hint"]["text"]


# --- failures on submit -------------------------------------------------------------------------------------------
def test_a_rootly_422_shows_next_to_its_field_and_keeps_the_form(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    service_id = rootly.add_service("Legacy billing", "legacy-billing")
    bot.sender.slash("incident Billing down")
    view = form(slack)
    svc = next(o for o in options(view, Block.INCIDENT_SERVICES) if o[0] == service_id)
    rootly.catalog["services"].pop(service_id)  # deleted in Rootly while the form was open
    answer = bot.sender.submit_view(view, values("Billing down", services=(svc,))).json()
    assert answer["response_action"] == "errors"
    assert (
        list(answer["errors"]) == [Block.INCIDENT_SERVICES]
        and "does not exist" in answer["errors"][Block.INCIDENT_SERVICES]
    )
    assert rootly.incidents == {}
    # Nothing was claimed for good: without the service it goes through.
    assert bot.sender.submit_view(view, values("Billing down")).json()["response_action"] == "update"
    assert len(rootly.incidents) == 1


def test_a_scripted_422_naming_a_field(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    bot.sender.slash("incident x")
    view = form(slack)
    refusal = {"errors": [{"title": "Validation failed: Severity must exist", "status": "422"}]}
    rootly.script("POST", r"^/v1/incidents$", Reply(422, refusal, content_type="application/vnd.api+json"))
    answer = bot.sender.submit_view(view, values("x", severity=options(view, Block.INCIDENT_SEVERITY)[0])).json()
    assert answer == {
        "response_action": "errors",
        "errors": {Block.INCIDENT_SEVERITY: "Validation failed: Severity must exist"},
    }


@pytest.mark.parametrize(
    ("reply", "said"),
    # Built when the test runs: a 429's X-RateLimit-Reset is a moment in time.
    [(lambda: RootlyFake.unavailable(503), "not answering"), (lambda: RootlyFake.rate_limited(30), "rate limiting")],
)
def test_an_outage_or_rate_limit_on_submit_keeps_everything_typed(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake, reply: Callable[[], Reply], said: str
) -> None:
    bot.sender.slash("incident Outage test")
    view = form(slack)
    rootly.script("POST", r"^/v1/incidents$", reply())
    answer = bot.sender.submit_view(view, values("Outage test", summary="typed with care")).json()
    assert answer["response_action"] == "errors"
    message = answer["errors"][Block.INCIDENT_TITLE]
    assert said in message and "Nothing was created" in message
    assert rootly.incidents == {}
    assert bot.sender.submit_view(view, values("Outage test")).json()["response_action"] == "update"
    assert len(rootly.incidents) == 1


def test_a_timeout_is_looked_up_before_anything_is_retried(make_bot, rootly: RootlyFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    with make_bot(ROOTLY_TIMEOUT="1") as bot:
        bot.sender.slash("incident Slow create")
        view = form(slack)
        rootly.timeout_sleep = 1.5  # Rootly creates it after the bot gave up waiting
        rootly.script("POST", r"^/v1/incidents$", "timeout")
        answer = bot.sender.submit_view(view, values("Slow create")).json()
        assert answer["response_action"] == "update" and "Declaring" in text_of(answer["view"])
        wait_until(lambda: any("INC-1" in text_of(c["view"]) for c in slack.calls("views.update")))
        assert len(created(rootly)) == 1 and len(rootly.incidents) == 1
        lookups = [r for r in rootly.requests_to("GET", "/v1/incidents") if "filter[labels]" in r.query]
        assert lookups and lookups[-1].query["filter[labels]"][0].startswith("slack_declaration:")
        slack.wait_calls("chat.postMessage")


def test_a_dropped_create_is_offered_again_only_after_checking(make_bot, rootly: RootlyFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    with make_bot() as bot:
        bot.sender.slash("incident Dropped")
        view = form(slack)
        rootly.script("POST", r"^/v1/incidents$", "drop")  # the connection dies: did Rootly create it?
        answer = bot.sender.submit_view(view, values("Dropped", summary="keep me")).json()
        wait_until(
            lambda: len([r for r in rootly.requests_to("GET", "/v1/incidents") if "filter[labels]" in r.query]) >= 2
        )
        if answer["response_action"] == "errors":
            assert "Submit again" in answer["errors"][Block.INCIDENT_TITLE]
        else:  # answered with progress: the form comes back with the warning and what was typed
            back = form(slack, 2)
            assert "Submit again" in text_of(back)
            assert block(back, Block.INCIDENT_SUMMARY)["element"]["initial_value"] == "keep me"
        assert rootly.incidents == {}
        before = len([r for r in rootly.requests_to("GET", "/v1/incidents") if "filter[labels]" in r.query])
        assert bot.sender.submit_view(view, values("Dropped")).json()["response_action"] == "update"
        assert len(rootly.incidents) == 1
        after = [r for r in rootly.requests_to("GET", "/v1/incidents") if "filter[labels]" in r.query]
        assert len(after) > before  # looked up again before the second POST
        tokens = {
            r.json["data"]["attributes"]["labels"]["slack_declaration"]
            for r in rootly.requests_to("POST", "/v1/incidents")
            if r.path == "/v1/incidents"
        }
        assert len(tokens) == 1  # the retry carries the same marker, so either attempt is found


# --- sub-incidents ------------------------------------------------------------------------------------------------
def test_a_sub_incident_names_its_parent(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    bot.sender.slash("incident Parent outage")
    bot.sender.submit_view(form(slack), values("Parent outage"))
    [parent] = rootly.incidents.values()
    bot.sender.slash("incident Child problem")
    child_form = form(slack, 2)
    found = suggest(bot, child_form, Action.INCIDENT_PARENT, "parent")
    assert [o["value"] for o in found] == [parent["id"]] and "INC-1" in found[0]["text"]["text"]
    search = rootly.requests_to("GET", "/v1/incidents")[-1]
    assert search.query["filter[search]"] == ["parent"] and "started" in search.query["filter[status]"][0]
    answer = bot.sender.submit_view(child_form, values("Child problem", parent=(parent["id"], "INC-1"), private=True))
    assert answer.json()["response_action"] == "update"
    child = created(rootly)[-1]
    assert child["parent_incident_id"] == parent["id"] and child["private"] is True


# --- latency --------------------------------------------------------------------------------------------------------
def test_with_rootly_slow_the_modal_still_opens_inside_the_trigger_window(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    ts = slack.add_message("C111", "Everything is slow")
    rootly.latency = 2.0
    sent = time.monotonic()
    answer = shortcut(bot, thread_message(slack, "C111", ts))
    assert answer.status_code == 200
    slack.wait_calls("views.open")
    opened_at = next(r.at for r in slack.requests if r.path == "/api/views.open")
    assert opened_at - sent < TRIGGER_WINDOW
    assert "Getting" in text_of(slack.calls("views.open")[0]["view"])  # the loading state
    view = form(slack)
    filled_at = next(r.at for r in slack.requests if r.path == "/api/views.update")
    assert filled_at - sent < 2.0 * 3  # the five lists are read in parallel, not one after another
    started = time.monotonic()
    answer = bot.sender.submit_view(view, values("Everything is slow")).json()
    assert time.monotonic() - started < TRIGGER_WINDOW
    assert answer["response_action"] == "update" and "Declaring" in text_of(answer["view"])
    wait_until(lambda: any("INC-1" in text_of(c["view"]) for c in slack.calls("views.update")))
    assert len(rootly.incidents) == 1
    rootly.latency = 0
    wait_until(lambda: "1 message of this thread copied" in text_of(slack.calls("views.update")[-1]["view"]))


def test_an_expired_trigger_is_explained(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    slack.fail("views.open", "expired_trigger_id")
    bot.sender.slash("incident Too late")
    [said] = slack.wait_responses(1)
    assert "3 s" in said["text"] and said["response_type"] == "ephemeral"
    assert created(rootly) == []
