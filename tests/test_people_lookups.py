"""Who a person is gets looked up once, even when their clicks arrive together (bot/services/people.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bot.render.ids import Action
from tests.fakes.rootly import RootlyFake
from tests.fakes.slack import SlackFake


def test_clicks_by_one_person_arriving_together_cost_one_lookup(bot: Any, rootly: RootlyFake, slack: SlackFake) -> None:
    alice = rootly.add_user("alice@example.com", "Alice Example")
    alerts = [rootly.add_alert(summary=f"Disk {n}", status="triggered") for n in range(5)]
    rootly.latency = 0.2  # every lookup is still in flight when the other clicks need it
    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(lambda a: bot.sender.click(Action.ACKNOWLEDGE, f"rootly:{a['id']}"), alerts))
    assert [a.status_code for a in answers] == [200] * 5
    slack.wait_responses(5, timeout=15)
    assert all(rootly.get_alert(a["id"])["attributes"]["status"] == "acknowledged" for a in alerts)
    assert len(slack.calls("users.info")) == 1
    assert len(rootly.requests_to("GET", "/v1/users")) == 1
    # Every attribution note is by Alice's Rootly user: the waiting clicks got the first lookup's answer.
    assert {user for a in alerts for _, user in rootly.notes(a["id"])} == {alice}
