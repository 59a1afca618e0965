"""The "Edit alert" form end to end: opened at once, prefilled, PATCHing only what changed, refusals in place."""

from __future__ import annotations

from typing import Any

from bot.render.ids import Action, Block, Callback
from tests.conftest import RunningBot
from tests.fakes.rootly import RootlyFake
from tests.fakes.server import Reply
from tests.fakes.slack import SlackFake
from tests.messages import text_of
from tests.test_alert_messages_e2e import feed_message


def open_form(bot: RunningBot, rootly: RootlyFake, slack: SlackFake, **attrs: Any) -> tuple[dict, dict]:
    alert, message = feed_message(bot, rootly, slack, **attrs)
    bot.sender.click(Action.OVERFLOW, f"edit|rootly:{alert['id']}", message=message, selected=True)
    [opened] = slack.wait_calls("views.open")
    assert "Loading" in text_of(opened["view"])
    [filled] = slack.wait_calls("views.update")
    assert filled["view"]["callback_id"] == Callback.EDIT_MODAL
    return alert, slack.views[filled["view_id"]]  # as Slack holds it, with its id


def block(view: dict, block_id: str) -> dict:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def state_from(view: dict, **overrides: dict) -> dict:
    """The form's state as Slack would send it, from the initial values, with some fields changed."""
    values: dict = {}
    for b in view["blocks"]:
        if b.get("type") != "input":
            continue
        element = b["element"]
        state: dict = {"type": element["type"]}
        if "initial_value" in element:
            state["value"] = element["initial_value"]
        elif element["type"].startswith("plain_text"):
            state["value"] = None
        if "initial_option" in element:
            state["selected_option"] = element["initial_option"]
        if element["type"].startswith("multi_"):
            state["selected_options"] = element.get("initial_options", [])
        values[b["block_id"]] = {element["action_id"]: state}
    for block_id, change in overrides.items():
        values[block_id][next(iter(values[block_id]))].update(change)
    return values


def test_edit_form_is_prefilled_and_patches_only_what_changed(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    rootly.add_service("Payments", "payments")
    search = rootly.add_service("Search", "search")
    alert, view = open_form(
        bot, rootly, slack, summary="Card declines", services=["payments"], labels={"team": "core"}, urgency="High"
    )
    assert block(view, Block.EDIT_SUMMARY)["element"]["initial_value"] == "Card declines"
    assert block(view, Block.EDIT_URGENCY)["element"]["initial_option"]["text"]["text"] == "High"
    assert [o["text"]["text"] for o in block(view, Block.EDIT_SERVICES)["element"]["initial_options"]] == ["Payments"]
    assert block(view, Block.EDIT_LABELS)["element"]["initial_value"] == "team=core"
    low = next(o for o in block(view, Block.EDIT_URGENCY)["element"]["options"] if o["text"]["text"] == "Low")
    values = state_from(
        view,
        **{
            Block.EDIT_URGENCY: {"selected_option": low},
            Block.EDIT_SERVICES: {
                "selected_options": [{"value": search, "text": {"type": "plain_text", "text": "Search"}}]
            },
            Block.EDIT_LABELS: {"value": "team=search\nenv=prod"},
        },
    )
    answer = bot.sender.submit_view(view, values)
    assert answer.json()["response_action"] == "update"
    done = slack.wait_calls("views.update", 2)[-1]
    said = text_of(done["view"])
    assert "Updated" in said
    [patch] = [r for r in rootly.requests if r.method == "PATCH"]
    attrs = patch.json["data"]["attributes"]
    assert set(attrs) == {"alert_urgency_id", "service_ids", "labels"}  # the summary did not change: not sent
    assert attrs["service_ids"] == [search]
    stored = rootly.get_alert(alert["id"])["attributes"]
    assert stored["alert_urgency"]["name"] == "Low" and {"key": "env", "value": "prod"} in stored["labels"]
    update = slack.wait_calls("chat.update")[-1]
    assert "Search" in text_of(update["blocks"])


def test_a_refusal_comes_back_beside_its_field_with_the_typing_kept(
    bot: RunningBot, rootly: RootlyFake, slack: SlackFake
) -> None:
    _, view = open_form(bot, rootly, slack, summary="Old summary")
    refusal = {
        "errors": [{"title": "Summary is too long", "status": "422", "source": {"pointer": "/data/attributes/summary"}}]
    }
    rootly.script("PATCH", r"/v1/alerts/", Reply(422, refusal))
    bot.sender.submit_view(view, state_from(view, **{Block.EDIT_SUMMARY: {"value": "A new summary I typed"}}))
    form = slack.wait_calls("views.update", 2)[-1]["view"]
    assert form["callback_id"] == Callback.EDIT_MODAL
    assert block(form, Block.EDIT_SUMMARY)["element"]["initial_value"] == "A new summary I typed"
    ids = [b.get("block_id") for b in form["blocks"]]
    after = form["blocks"][ids.index(Block.EDIT_SUMMARY) + 1]
    assert after["type"] == "context" and "Summary is too long" in text_of(after)


def test_bad_label_lines_are_refused_in_the_form(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    _, view = open_form(bot, rootly, slack)
    answer = bot.sender.submit_view(view, state_from(view, **{Block.EDIT_LABELS: {"value": "team=x\njust words"}}))
    body = answer.json()
    assert body["response_action"] == "errors" and "just words" in body["errors"][Block.EDIT_LABELS]
    assert [r for r in rootly.requests if r.method == "PATCH"] == []


def test_many_services_are_searched_as_you_type(bot: RunningBot, rootly: RootlyFake, slack: SlackFake) -> None:
    for i in range(150):
        rootly.add_service(f"Service {i:03d}", f"svc-{i:03d}")
    _, view = open_form(bot, rootly, slack)
    element = block(view, Block.EDIT_SERVICES)["element"]
    assert element["type"] == "multi_external_select"
    payload = {
        "type": "block_suggestion",
        "user": {"id": "U111"},
        "team": {"id": "T111"},
        "api_app_id": "A111",
        "action_id": Action.EDIT_SERVICES.value,
        "block_id": Block.EDIT_SERVICES.value,
        "value": "Service 14",
        "view": view,
    }
    options = bot.sender.interactive(payload).json()["options"]
    labels = [o["text"]["text"] for o in options]
    assert labels and all("Service 14" in label for label in labels)
