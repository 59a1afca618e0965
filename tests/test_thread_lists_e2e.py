"""A list posted in a channel (`/rootly alerts here`) is the root of a thread too: each later event on an alert in a
row of it is told there once, in order, each reply headed by its alert. Digests keep their threads quiet."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from tests.conftest import RunningBot
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake
from tests.messages import text_of
from tests.test_threads_e2e import FAST, message_event, reply_in, send_event, settle, thread, wait_thread


def post_list(bot: RunningBot, slack: SlackFake) -> str:
    bot.sender.slash("alerts here")
    slack.wait_calls("chat.postMessage", 1, timeout=10)
    [listed] = [m for m in slack.messages("C111") if "thread_ts" not in m]
    return str(listed["ts"])


def test_a_lists_thread_tells_each_rows_story_once_headed_by_its_alert(
    make_bot, rootly: RootlyFake, slack: SlackFake
) -> None:  # type: ignore[no-untyped-def]
    bob = rootly.add_user("bob@example.com", "Bob Builder")
    disk = rootly.add_alert(summary="Disk full on db-1", status="triggered")
    queue = rootly.add_alert(summary="Queue backlog growing", status="triggered")
    earlier = rootly.act_in_rootly(disk["id"], "note", bob, "before the list: history the row already shows")
    earlier["attributes"]["created_at"] = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    with make_bot(**FAST) as bot:
        ts = post_list(bot, slack)
        bot.app.services.poller.poll_once()  # the feed's cursor starts now
        rootly.act_in_rootly(disk["id"], "acknowledged", bob)
        rootly.act_in_rootly(disk["id"], "note", bob, "Freeing space on /var")
        rootly.act_in_rootly(queue["id"], "escalated", bob, level=2)
        bot.app.services.poller.poll_once()
        replies = wait_thread(slack, "C111", ts, 2)
        settle(bot)
        assert len(thread(slack, "C111", ts)) == 2  # a burst on one alert: one reply per alert
        by_alert = {r["blocks"][0]["text"]["text"]: text_of(r["blocks"]) for r in replies}
        [disk_reply] = [t for h, t in by_alert.items() if disk["attributes"]["short_id"] in h]
        [queue_reply] = [t for h, t in by_alert.items() if queue["attributes"]["short_id"] in h]
        assert "Disk full on db-1" in disk_reply.splitlines()[0]
        assert "👀 Acknowledged by *Bob Builder*" in disk_reply and ">Freeing space on /var" in disk_reply
        assert "history" not in disk_reply
        assert "Queue backlog growing" in queue_reply.splitlines()[0]
        assert "📣 Escalated by *Bob Builder* (level 2)" in queue_reply and "Disk" not in queue_reply
        for reply in replies:  # the notification text names the alert too
            assert reply["text"].split(" · ")[0] in (disk["attributes"]["short_id"], queue["attributes"]["short_id"])
        # The list's rows re-render in place, as before.
        assert [u for u in slack.calls("chat.update") if u["ts"] == ts]
        # Exactly once: another poll and another re-render tell nothing again.
        bot.app.services.poller.poll_once()
        story = bot.app.threads.story  # type: ignore[union-attr]
        from bot.domain import AlertRef, Backend

        assert story.tell(AlertRef(Backend.ROOTLY, disk["id"])) is True
        settle(bot)
        assert len(thread(slack, "C111", ts)) == 2
        # A reply in a list's thread names no single alert: it stays in Slack even where replies become notes.
        bot.sender.slash("threads on")
        reply_ts = reply_in(slack, "C111", ts, "looking at both")
        send_event(bot, message_event("C111", "looking at both", ts=reply_ts, thread_ts=ts))
        time.sleep(0.5)
        assert [d for d, _ in rootly.notes(disk["id"])] == [
            "before the list: history the row already shows",
            "Freeing space on /var",
        ]
        assert rootly.notes(queue["id"]) == []


def test_a_digest_keeps_its_thread_quiet(make_bot, rootly: RootlyFake, slack: SlackFake) -> None:  # type: ignore[no-untyped-def]
    alert = rootly.add_alert(summary="Cert expires in 3 days", status="triggered")
    with make_bot(**FAST) as bot:
        bot.sender.slash("digest now")
        slack.wait_calls("chat.postMessage", 1, timeout=15)
        ts = next(m for m in slack.messages("C111") if "Cert expires" in text_of(m.get("blocks") or []))["ts"]
        bot.app.services.poller.poll_once()
        rootly.act_in_rootly(alert["id"], "acknowledged")
        bot.app.services.poller.poll_once()
        wait_until_row_updated(slack, ts)
        settle(bot)
        assert thread(slack, "C111", ts) == []


def wait_until_row_updated(slack: SlackFake, ts: str) -> None:
    from tests.waiting import wait_until

    wait_until(lambda: [u for u in slack.calls("chat.update") if u["ts"] == ts], message="the digest's row")
