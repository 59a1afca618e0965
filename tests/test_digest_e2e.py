"""Digests end to end: slash commands answer in words, the scheduler posts on time, buttons work in digests, and
the CLI prints or posts one digest. The real app, served over HTTP, against the Slack and Rootly fakes."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

from bot.digests.jobs import PREFIX, RESYNC_JOB
from bot.render.ids import Action, Block
from tests.conftest import bot_env
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.messages import action_ids, reply, text_of
from tests.test_cli import run_cli


def slash_json(bot, text: str, **fields: str) -> dict:  # type: ignore[no-untyped-def]
    answer = bot.sender.slash(text, **fields)
    assert answer.status_code == 200, answer.text
    return answer.json()


def list_calls(rootly: RootlyFake) -> list:
    return [r for r in rootly.requests if r.method == "GET" and r.path == "/v1/alerts"]


def test_subscribing_answers_in_words_with_the_next_due_time(bot, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    answer = slash_json(bot, "digest daily 09:00 Europe/Berlin service:payments urgency:High")
    assert answer["response_type"] == "in_channel"
    said = text_of(answer)
    assert "Digest *#1* for <#C111>" in said
    assert "every day at 09:00, Europe/Berlin time" in said
    assert "service payments" in said and "urgency High" in said and "nothing is posted" in said
    assert "⏰ Next digest: " in said and ("09:00 CET (in " in said or "09:00 CEST (in " in said)
    job = bot.app.scheduler.get_job(f"{PREFIX}1")
    assert job is not None and str(job.trigger.timezone) == "Europe/Berlin"
    assert bot.app.scheduler.get_job(RESYNC_JOB) is not None
    # The same request again changes nothing; a channel without a zone inherits the one it chose.
    again = slash_json(bot, "digest daily 09:00 Europe/Berlin service:payments urgency:High")
    assert "already has this digest, *#1*" in text_of(again)
    inherited = slash_json(bot, 'digest cron "30 8 * * 1-5" empty:note')
    assert "at 08:30 on Monday to Friday (cron `30 8 * * 1-5`), Europe/Berlin time" in text_of(inherited)
    assert "one line says so" in text_of(inherited)


def test_every_form_of_the_schedule_is_understood(bot) -> None:  # type: ignore[no-untyped-def]
    for text, words in [
        ("digest weekdays 09:00 America/New_York", "on weekdays (Monday to Friday) at 09:00, America/New_York time"),
        ("digest every 4h", "every 4 hours, America/New_York time"),  # the zone the channel chose
        ('digest cron "0 9 * * 7"', "at 09:00 on Sunday (cron `0 9 * * 7`)"),
    ]:
        assert words in text_of(slash_json(bot, text, channel_id="C222")), text


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("digest daily 25:00", "`25:00` is not a time of day"),
        ("digest daily 09:00 Mars/Olympus", "`Mars/Olympus` is not a time zone"),
        ("digest every 30s", "too often: digests come at most every minute"),
        ('digest cron "0 9 * * 8"', "day-of-week field `8`"),
        ("digest daily 09:00 colour:red", "colour:red"),
        ("digest off 42", "no digest #42"),
    ],
)
def test_mistakes_are_named_and_change_nothing(bot, text: str, fragment: str) -> None:  # type: ignore[no-untyped-def]
    answer = slash_json(bot, text)
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    assert fragment in text_of(answer)
    assert "/rootly digest daily 09:00" in text_of(answer)  # the syntax, as a hint
    assert bot.app.digests.subscriptions() == []


def test_list_and_off(bot) -> None:  # type: ignore[no-untyped-def]
    slash_json(bot, "digest daily 09:00 Europe/Berlin")
    slash_json(bot, "digest every 4h")
    slash_json(bot, "digest weekdays 08:00", channel_id="C999")
    listing = text_of(slash_json(bot, "digest list")["blocks"])
    assert "*#1*" in listing and "*#2*" in listing and listing.count("— next digest: ") == 2
    assert "1 more in other channels: <#C999>" in listing
    stopped = slash_json(bot, "digest off 1")
    assert stopped["response_type"] == "in_channel" and "Stopped 1 digest" in text_of(stopped)
    assert bot.app.scheduler.get_job(f"{PREFIX}1") is None
    all_here = text_of(slash_json(bot, "digest off"))
    assert "#2" in all_here
    assert "has no digests" in text_of(slash_json(bot, "digest list"))
    assert {j.id for j in bot.app.scheduler.get_jobs() if j.id.startswith(PREFIX)} == {f"{PREFIX}3"}


def test_digest_now_reads_pages_of_100_and_posts_once(bot, rootly: RootlyFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    rootly.add_service("Payments", "payments")
    rootly.add_service("Search", "search")
    for i in range(250):
        rootly.add_alert(
            summary=f"alert {i}",
            services=["payments" if i % 3 else "search"],
            urgency=("High", "Medium", "Low")[i % 3],
            status="triggered" if i % 2 else "open",
        )
    rootly.add_alert(summary="done", status="resolved")
    rootly.requests.clear()
    answer = bot.sender.slash("digest now")
    assert "Putting a digest of open alerts" in answer.text
    [call] = slack.wait_calls("chat.postMessage", 1, timeout=15)
    assert call["channel"] == "C111"
    header = call["blocks"][0]["text"]["text"]
    assert header == "📋 Alert digest · 250 open"
    assert Action.ACKNOWLEDGE in action_ids(call["blocks"])
    assert "done" not in text_of(call["blocks"])
    calls = list_calls(rootly)
    assert len(calls) == math.ceil(250 / 100)
    assert {c.query["page[size]"][0] for c in calls} == {"100"}
    assert all(c.query["filter[status]"] == ["open,triggered"] for c in calls)
    # Nothing per alert: besides the pages of alerts, only the sections' reads, once each (on call, open incidents).
    others = [r.path for r in rootly.requests if r.path != "/v1/alerts"]
    assert len(others) == len(set(others)) and set(others) <= {
        "/v1/oncalls", "/v1/teams", "/v1/schedules", "/v1/escalation_policies", "/v1/services", "/v1/incidents"
    }  # fmt: skip
    time.sleep(0.3)
    assert len(slack.calls("chat.postMessage")) == 1


def test_digest_now_with_nothing_open_says_so(bot, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    bot.sender.slash("digest now service:payments")
    [call] = slack.wait_calls("chat.postMessage", 1, timeout=10)
    assert "no open alerts matching `status open or triggered, service payments`" in text_of(call["blocks"])


def test_digest_now_where_the_bot_cannot_post(bot, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    slack.add_channel("G123", "secret-ops", is_private=True)
    slack.not_in_channel.add("G123")
    bot.sender.slash("digest now", channel_id="G123")
    assert "/invite @rootly" in text_of(reply(slack))


def test_scheduled_digests_post_each_slot_once_and_stop_when_turned_off(  # type: ignore[no-untyped-def]
    make_bot, rootly: RootlyFake, slack: SlackFake
) -> None:
    rootly.add_alert(summary="Queue backlog", status="triggered")
    with make_bot(DIGEST_MIN_INTERVAL_SECONDS="1", DIGEST_RESYNC_SECONDS="0.5", FEED_POLL_SECONDS="0") as bot:
        bot.app.start_background()
        slash_json(bot, "digest every 3s")
        posts = slack.wait_calls("chat.postMessage", 2, timeout=20)
        slots = [p["metadata"]["event_payload"]["slot"] for p in posts]
        assert len(set(slots)) == 2 and all(p["channel"] == "C111" for p in posts)
        assert "Queue backlog" in text_of(posts[0]["blocks"])
        assert "Digest #1 · every 3 seconds, UTC time" in text_of(posts[0]["blocks"])
        slash_json(bot, "digest off")
        settled = len(slack.calls("chat.postMessage"))
        time.sleep(4)
        assert len(slack.calls("chat.postMessage")) <= settled + 1  # at most one already running when it stopped
        runs = bot.app.digests.store.runs()
        assert runs == []  # removed with the subscription


def test_acknowledge_on_a_digest_re_renders_its_row(bot, rootly: RootlyFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    alert = rootly.add_alert(summary="Card declines spiking", status="triggered")
    for i in range(30):
        rootly.add_alert(summary=f"other {i}", status="open")
    bot.sender.slash("digest now")
    [call] = slack.wait_calls("chat.postMessage", 1, timeout=10)
    message = slack.messages("C111")[-1]
    value = f"rootly:{alert['id']}"
    assert value in json.dumps(message["blocks"])
    bot.sender.click(Action.ACKNOWLEDGE, value, message=message)
    [update] = slack.wait_calls("chat.update", 1, timeout=10)
    assert update["ts"] == message["ts"]
    row = next(b for b in update["blocks"] if b.get("block_id") == f"{Block.ALERT_ACTIONS}:{value}")
    assert Action.ACKNOWLEDGE not in action_ids([row])
    assert "Acknowledged by <@U111>" in text_of(update["blocks"])
    assert rootly.alerts[alert["id"]]["attributes"]["status"] == "acknowledged"
    assert len(update["blocks"]) == len(call["blocks"])  # the rest of the digest is untouched


def test_subscriptions_survive_a_restart(make_bot) -> None:  # type: ignore[no-untyped-def]
    with make_bot() as bot:
        slash_json(bot, "digest weekdays 09:00 Europe/Berlin")
    with make_bot() as bot:
        job = bot.app.scheduler.get_job(f"{PREFIX}1")
        assert job is not None and str(job.trigger.timezone) == "Europe/Berlin"
        assert "*#1*" in text_of(slash_json(bot, "digest list"))


def test_cli_prints_the_digest_without_posting(tmp_path: Path, rootly: RootlyFake, slack: SlackFake) -> None:
    rootly.add_service("Payments", "payments")
    rootly.add_alert(summary="Card declines spiking", services=["payments"], status="triggered")
    rootly.add_alert(summary="Elsewhere", status="triggered")
    done = run_cli(
        ["digest", "--channel", "C123", "service:payments", "--print"], bot_env(tmp_path, rootly, slack), tmp_path
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["channel"] == "C123" and printed["text"].startswith("Alert digest: 1 open alert")
    assert "Card declines spiking" in text_of(printed["blocks"]) and "Elsewhere" not in text_of(printed["blocks"])
    assert slack.calls("chat.postMessage") == []


def test_cli_posts_one_digest(tmp_path: Path, rootly: RootlyFake, slack: SlackFake) -> None:
    rootly.add_alert(summary="Card declines spiking", status="triggered")
    done = run_cli(["digest", "--channel", "C123"], bot_env(tmp_path, rootly, slack), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Posted the digest to C123" in done.stdout
    [call] = slack.calls("chat.postMessage")
    assert call["channel"] == "C123" and "Card declines spiking" in text_of(call["blocks"])


def test_cli_names_a_bad_filter(tmp_path: Path, rootly: RootlyFake, slack: SlackFake) -> None:
    done = run_cli(["digest", "--channel", "C123", "colour:red", "--print"], bot_env(tmp_path, rootly, slack), tmp_path)
    assert done.returncode == 2 and "colour:red" in done.stderr
