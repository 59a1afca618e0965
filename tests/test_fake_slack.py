"""The Slack fake answers like Slack, driven through the real slack_sdk / slack_bolt clients.

Bot tests trust this fake to refuse what Slack refuses; these tests pin that down before anything relies on it.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from tests.fakes.slack import SlackFake

TOKEN = "xoxb-test-token"


@pytest.fixture
def fake() -> Iterator[SlackFake]:
    with SlackFake(bot_token=TOKEN) as server:
        yield server


@pytest.fixture
def client(fake: SlackFake) -> WebClient:
    return WebClient(token=TOKEN, base_url=fake.api_url)


def api_error(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def modal(title: str = "Add note", **extra: Any) -> dict[str, Any]:
    return {"type": "modal", "title": {"type": "plain_text", "text": title}, "blocks": [section("hi")], **extra}


# recording and auth ----------------------------------------------------------------------------------------------
def test_calls_are_recorded_with_decoded_params_from_json_and_form(fake: SlackFake, client: WebClient) -> None:
    blocks = [section("*Alert* fired")]
    client.chat_postMessage(channel="C1", text="Alert fired", blocks=blocks)  # sent as JSON
    client.api_call("chat.postMessage", params={"channel": "C1", "text": "x", "blocks": json.dumps(blocks)})  # form
    fake.add_user("U1", "ada@example.com", "Ada Lovelace")
    client.users_info(user="U1")

    posted = fake.calls("chat.postMessage")
    assert [p["blocks"] for p in posted] == [blocks, blocks]
    assert posted[0]["channel"] == "C1" and posted[0]["text"] == "Alert fired"
    assert fake.calls("users.info") == [{"user": "U1"}]
    assert fake.wait_calls("chat.postMessage", n=2) == posted
    assert fake.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert fake.violations == []


def test_wrong_or_missing_token_and_unknown_method(fake: SlackFake) -> None:
    wrong = WebClient(token="xoxb-wrong", base_url=fake.api_url)
    assert api_error(wrong.auth_test).response["error"] == "invalid_auth"
    assert api_error(WebClient(base_url=fake.api_url).auth_test).response["error"] == "not_authed"

    # the token may also come as a form field, as older clients send it
    req = urllib.request.Request(f"{fake.api_url}auth.test", data=f"token={TOKEN}".encode(), method="POST")
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert json.loads(resp.read())["ok"] is True

    err = api_error(lambda: WebClient(token=TOKEN, base_url=fake.api_url).api_call("chat.frobnicate"))
    assert err.response["error"] == "unknown_method"


def test_auth_test_reports_identity_and_granted_scopes(fake: SlackFake, client: WebClient) -> None:
    fake.granted_scopes = ["chat:write", "commands"]
    resp = client.auth_test()
    assert resp["team_id"] == "T111" and resp["user_id"] == fake.bot_user_id and resp["bot_id"] == fake.bot_id
    assert resp.headers["x-oauth-scopes"] == "chat:write,commands"
    err = api_error(lambda: client.users_info(user="U1"))
    assert err.response["error"] == "missing_scope" and err.response["needed"] == "users:read"


def test_users_info_and_lookup_by_email(fake: SlackFake, client: WebClient) -> None:
    fake.add_user("U1", "ada@example.com", "Ada Lovelace", tz="America/New_York", display_name="ada")
    user = client.users_info(user="U1")["user"]
    assert user["id"] == "U1" and user["real_name"] == "Ada Lovelace" and user["tz"] == "America/New_York"
    assert user["profile"] == {
        "email": "ada@example.com",
        "real_name": "Ada Lovelace",
        "real_name_normalized": "Ada Lovelace",
        "display_name": "ada",
        "display_name_normalized": "ada",
    }
    assert client.users_lookupByEmail(email="ADA@example.com")["user"]["id"] == "U1"
    assert api_error(lambda: client.users_info(user="U404")).response["error"] == "user_not_found"
    assert api_error(lambda: client.users_lookupByEmail(email="x@y.z")).response["error"] == "users_not_found"


# messages --------------------------------------------------------------------------------------------------------
def test_post_message_ts_are_unique_and_increasing(fake: SlackFake, client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="C1", text=f"m{i}")["ts"] for i in range(5)]
    assert stamps[0] == "1700000000.000100"
    assert len(set(stamps)) == 5
    assert stamps == sorted(stamps, key=float)
    assert [m["text"] for m in fake.messages("C1")] == [f"m{i}" for i in range(5)]


def test_post_message_to_user_lands_in_dm_and_ephemeral_returns_message_ts(client: WebClient) -> None:
    resp = client.chat_postMessage(channel="U1", text="hi")
    assert resp["channel"] == "D1" and resp["message"]["text"] == "hi"
    assert client.chat_postEphemeral(channel="C1", user="U1", text="only you")["message_ts"]
    with pytest.warns(UserWarning, match="text"):  # slack_sdk warns too; Slack itself refuses
        assert api_error(lambda: client.chat_postMessage(channel="C1")).response["error"] == "no_text"


def test_update_delete_and_unknown_ts(fake: SlackFake, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C1", text="old", blocks=[section("old")])["ts"]
    err = api_error(lambda: client.chat_update(channel="C1", ts="1.000001", text="new"))
    assert err.response["error"] == "message_not_found"

    updated = client.chat_update(channel="C1", ts=ts, text="new")
    assert updated["message"]["text"] == "new" and updated["message"]["blocks"] == [section("old")]  # kept
    client.chat_update(channel="C1", ts=ts, text="newer", blocks=[])
    assert "blocks" not in fake.messages("C1")[0]

    seeded = fake.add_message("C1", "a person's message", user="U1")
    assert api_error(lambda: client.chat_update(channel="C1", ts=seeded, text="x")).response["error"] == (
        "cant_update_message"
    )
    client.chat_delete(channel="C1", ts=ts)
    assert api_error(lambda: client.chat_delete(channel="C1", ts=ts)).response["error"] == "message_not_found"


def test_permalink_carries_thread_ts_for_replies(fake: SlackFake, client: WebClient) -> None:
    thread_ts = fake.add_thread("C1", "parent", [("U1", "first reply")])
    reply_ts = fake.messages("C1")[1]["ts"]
    top = client.chat_getPermalink(channel="C1", message_ts=thread_ts)["permalink"]
    assert top == f"https://example.slack.com/archives/C1/p{thread_ts.replace('.', '')}"
    reply = client.chat_getPermalink(channel="C1", message_ts=reply_ts)["permalink"]
    assert reply.startswith(f"https://example.slack.com/archives/C1/p{reply_ts.replace('.', '')}?thread_ts={thread_ts}")


# threads and channels --------------------------------------------------------------------------------------------
def test_conversations_replies_paginates_oldest_first(fake: SlackFake, client: WebClient) -> None:
    thread_ts = fake.add_thread("C1", "disk full", [("U1", f"reply {i}") for i in range(4)])
    client.chat_postMessage(channel="C1", thread_ts=thread_ts, text="bot reply")

    first = client.conversations_replies(channel="C1", ts=thread_ts, limit=2)
    assert first["has_more"] is True and first["response_metadata"]["next_cursor"]
    texts = [
        m["text"]
        for page in client.conversations_replies(channel="C1", ts=thread_ts, limit=2)
        for m in page["messages"]
    ]
    assert texts == ["disk full", "reply 0", "reply 1", "reply 2", "reply 3", "bot reply"]
    parent = fake.messages("C1")[0]
    assert parent["reply_count"] == 5 and parent["thread_ts"] == thread_ts
    assert len(fake.calls("conversations.replies")) == 1 + 3


def test_not_in_channel_then_join(fake: SlackFake, client: WebClient) -> None:
    thread_ts = fake.add_thread("C2", "parent", [])
    fake.not_in_channel.add("C2")
    err = api_error(lambda: client.conversations_replies(channel="C2", ts=thread_ts))
    assert err.response["error"] == "not_in_channel"
    assert client.conversations_info(channel="C2")["channel"]["is_member"] is False
    assert client.chat_postMessage(channel="C2", text="ok with chat:write.public")["ok"]

    assert api_error(lambda: client.conversations_join(channel="C2")).response["error"] == "missing_scope"
    fake.granted_scopes.append("channels:join")
    client.conversations_join(channel="C2")
    assert client.conversations_replies(channel="C2", ts=thread_ts)["messages"][0]["text"] == "parent"

    fake.add_channel("G9", "secret", is_private=True)
    fake.not_in_channel.add("G9")
    assert api_error(lambda: client.chat_postMessage(channel="G9", text="x")).response["error"] == "not_in_channel"


# views ----------------------------------------------------------------------------------------------------------
def test_views_open_update_and_hash_conflict(fake: SlackFake, client: WebClient) -> None:
    opened = client.views_open(trigger_id="123.456", view=modal(external_id="note-1"))["view"]
    assert opened["id"] == "V0001" and opened["hash"]

    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Saved"))["view"]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    assert updated["title"]["text"] == "Saved"

    err = api_error(lambda: client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal()))
    assert err.response["error"] == "hash_conflict"
    assert api_error(lambda: client.views_update(view_id="V9999", view=modal())).response["error"] == "not_found"
    assert api_error(lambda: client.views_open(trigger_id="", view=modal())).response["error"] == "invalid_arguments"

    opened2 = client.views_open(trigger_id="t2", view=modal(external_id="ext-2"))["view"]
    by_external = client.views_update(external_id="ext-2", view=modal("By external id"))["view"]
    assert by_external["id"] == opened2["id"]
    assert client.views_push(trigger_id="t3", view=modal())["view"]["id"] == "V0003"
    home = {"type": "home", "blocks": [section("home")]}
    assert (
        client.views_publish(user_id="U1", view=home)["view"]["id"]
        == client.views_publish(user_id="U1", view=home)["view"]["id"]
    )
    assert fake.violations == []


def test_views_are_validated(fake: SlackFake, client: WebClient) -> None:
    err = api_error(lambda: client.views_open(trigger_id="t", view=modal("x" * 25)))
    assert err.response["error"] == "invalid_blocks"
    blocks = [section(str(i)) for i in range(101)]
    err = api_error(lambda: client.views_open(trigger_id="t", view={**modal(), "blocks": blocks}))
    assert err.response["error"] == "invalid_blocks"
    assert client.views_open(trigger_id="t", view={**modal(), "blocks": blocks[:100]})["ok"]
    assert any("title is 25 characters" in v for v in fake.violations)
    assert any("101 blocks" in v for v in fake.violations)


def test_text_inputs_longer_than_slack_allows_are_refused(fake: SlackFake, client: WebClient) -> None:
    """Slack accepts a plain_text_input's max_length from 1 to 3,000 only: a form asking for more never opens."""

    def form(max_length: int) -> dict:
        element = {"type": "plain_text_input", "action_id": "note", "multiline": True, "max_length": max_length}
        block = {"type": "input", "block_id": "b", "label": {"type": "plain_text", "text": "Note"}, "element": element}
        return {**modal(), "submit": {"type": "plain_text", "text": "Add"}, "blocks": [block]}

    err = api_error(lambda: client.views_open(trigger_id="t", view=form(10_000)))
    assert err.response["error"] == "invalid_blocks"
    assert any("max_length is 10000, Slack allows 1 to 3000" in v for v in fake.violations)
    assert client.views_open(trigger_id="t", view=form(3000))["ok"]


# Block Kit limits -----------------------------------------------------------------------------------------------
def test_valid_message_is_accepted_without_violations(fake: SlackFake, client: WebClient) -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Alert: disk full"}},
        section("x" * 3000),
        {"type": "divider"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "via Rootly"}]},
        {
            "type": "actions",
            "block_id": "alert_actions",
            "elements": [
                {"type": "button", "action_id": "alert.acknowledge", "text": {"type": "plain_text", "text": "Ack"}},
                {"type": "button", "action_id": "alert.open", "url": "https://rootly.com/a/1", "value": "v" * 2000,
                 "text": {"type": "plain_text", "text": "b" * 75}},
            ],
        },
    ]  # fmt: skip
    assert client.chat_postMessage(channel="C1", text="Alert: disk full", blocks=blocks)["ok"]
    assert fake.messages("C1")[0]["blocks"] == blocks
    assert fake.violations == []


@pytest.mark.parametrize(
    ("blocks", "error", "reason"),
    [
        ([section(str(i)) for i in range(51)], "invalid_blocks", "51 blocks"),
        ([section("x" * 3001)], "invalid_blocks", "section text is 3001 characters"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "invalid_blocks", "header text"),
        (
            [{"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b" * 76}}]}],
            "invalid_blocks",
            "button text",
        ),
        (
            [{"type": "actions", "elements": [{"type": "button", "action_id": "a" * 256, "text": "ok"}]}],
            "invalid_blocks",
            "action_id",
        ),
        ([{"type": "no_such_block"}], "invalid_blocks", "unknown block type"),
        ([section("x" * 2900) for _ in range(5)], "msg_blocks_too_long", "characters of JSON"),
    ],
)
def test_messages_slack_would_refuse(
    fake: SlackFake, client: WebClient, blocks: list[dict[str, Any]], error: str, reason: str
) -> None:
    err = api_error(lambda: client.chat_postMessage(channel="C1", text="fallback", blocks=blocks))
    assert err.response["error"] == error
    assert fake.violations and reason in fake.violations[0]
    assert fake.messages("C1") == []
    assert api_error(lambda: client.chat_postEphemeral(channel="C1", user="U1", text="f", blocks=blocks)).response[
        "error"
    ] == (error)


def test_update_is_validated_too(fake: SlackFake, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C1", text="ok")["ts"]
    err = api_error(lambda: client.chat_update(channel="C1", ts=ts, text="ok", blocks=[section("x" * 3001)]))
    assert err.response["error"] == "invalid_blocks"
    assert fake.messages("C1")[0]["text"] == "ok"


# response_url ---------------------------------------------------------------------------------------------------
def test_response_url_records_bodies_as_sent(fake: SlackFake) -> None:
    resp = WebhookClient(fake.response_url()).send(text="done", response_type="ephemeral", replace_original=True)
    assert (resp.status_code, resp.body) == (200, "ok")
    Respond(response_url=fake.response_url("r2"))(text="", delete_original=True)

    assert fake.wait_responses(n=2) == [
        {"text": "done", "response_type": "ephemeral", "replace_original": True},
        {"text": "", "delete_original": True},
    ]
    assert fake.responses("r2") == [{"text": "", "delete_original": True}]
    assert fake.violations == []


def test_response_url_refuses_bad_blocks(fake: SlackFake) -> None:
    resp = WebhookClient(fake.response_url()).send(text="x", blocks=[section(str(i)) for i in range(51)])
    assert (resp.status_code, resp.body) == (400, "invalid_blocks")
    assert "51 blocks" in fake.violations[0]


def test_wait_raises_with_what_did_arrive(fake: SlackFake, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="only one")
    with pytest.raises(AssertionError, match="only one"):
        fake.wait_calls("chat.postMessage", n=2, timeout=0.05)
    with pytest.raises(AssertionError, match="response_url"):
        fake.wait_responses(timeout=0.05)


# faults ---------------------------------------------------------------------------------------------------------
def test_fail_answers_the_error_then_recovers(fake: SlackFake, client: WebClient) -> None:
    fake.fail("chat.postMessage", "channel_not_found", times=2)
    for _ in range(2):
        assert api_error(lambda: client.chat_postMessage(channel="C1", text="x")).response["error"] == (
            "channel_not_found"
        )
    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    assert client.auth_test()["ok"]  # other methods unaffected


def test_latency_delays_answers(fake: SlackFake, client: WebClient) -> None:
    fake.latency = 0.05
    started = time.monotonic()
    client.auth_test()
    assert time.monotonic() - started >= 0.05


def test_rate_limit_answers_429_with_retry_after(fake: SlackFake, client: WebClient) -> None:
    fake.rate_limit("chat.postMessage", retry_after=7)
    err = api_error(lambda: client.chat_postMessage(channel="C1", text="x"))
    assert err.response.status_code == 429
    assert err.response.headers["Retry-After"] == "7"
    assert err.response["error"] == "ratelimited"
    assert client.chat_postMessage(channel="C1", text="x")["ok"]

    fake.rate_limit("auth.test", retry_after=0)
    patient = WebClient(
        token=TOKEN, base_url=fake.api_url, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)]
    )
    assert patient.auth_test()["ok"]
    assert len(fake.calls("auth.test")) == 2


def test_channel_limit_allows_a_burst_then_one_post_a_second_per_channel(fake: SlackFake, client: WebClient) -> None:
    fake.limit_channels(per_second=1.0, burst=3)
    for i in range(3):
        assert client.chat_postMessage(channel="C1", text=f"burst {i}")["ok"]
    err = api_error(lambda: client.chat_postMessage(channel="C1", text="one too many"))
    assert err.response.status_code == 429 and err.response["error"] == "ratelimited"
    assert int(err.response.headers["Retry-After"]) >= 1
    assert client.chat_postMessage(channel="C2", text="another channel has its own allowance")["ok"]
    ts = fake.messages("C1")[0]["ts"]
    assert client.chat_update(channel="C1", ts=ts, text="updates are not posts")["ok"]
    assert fake.rate_limited == {"C1": 1}
    assert [m["text"] for m in fake.messages("C1")] == ["updates are not posts", "burst 1", "burst 2"]
    time.sleep(1.05)  # a token comes back each second
    assert client.chat_postMessage(channel="C1", text="after a second")["ok"]
