"""The incident form's pure parts: prefill, rendering, reading it back, metadata, and where Rootly's errors go."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from slack_sdk.models.views import View

from bot.domain import (
    Alert,
    AlertRef,
    AlertStatus,
    Backend,
    CatalogItem,
    CatalogKind,
    Incident,
    NewIncident,
    Picker,
    Pickers,
)
from bot.incidents import messages as incident_messages
from bot.incidents import modal as incident_modal
from bot.incidents import prefill as incident_prefill
from bot.incidents.form import Meta, field_errors, read_form, to_new_incident
from bot.incidents.modal import FormValues
from bot.incidents.service import Origin, Source
from bot.incidents.thread_copy import ThreadCopy
from bot.render.ids import Action, Block, Callback
from bot.render.pickers import Choice
from bot.support import errors

ALERT = AlertRef(Backend.ROOTLY, "7c9e6679-7425-40de-944b-e07fc1f90ae7")


def pickers(services: int = 5, searched: bool = False) -> Pickers:
    def items(kind: CatalogKind, n: int) -> tuple[CatalogItem, ...]:
        return tuple(CatalogItem(f"{kind.value}-{i}", f"{kind.value.title()} {i}", position=i) for i in range(n))

    by_kind = {kind: Picker(kind, items(kind, 3), searched=False) for kind in CatalogKind}
    by_kind[CatalogKind.SERVICES] = Picker(CatalogKind.SERVICES, items(CatalogKind.SERVICES, services), searched)
    return Pickers(by_kind)


def valid(view: dict) -> dict:
    View(**view).validate_json()  # raises what Slack would refuse
    return view


# --- prefill --------------------------------------------------------------------------------------------------------
def test_a_long_message_keeps_author_and_permalink_and_fits_slack() -> None:
    filled = incident_prefill.from_message(
        "Checkout down\n" + "z" * 4000, author="Alice", channel="ops", permalink="https://x.slack.com/p1"
    )
    assert filled.title == "Checkout down"
    assert len(filled.summary) == incident_prefill.SUMMARY_MAX
    assert filled.summary.startswith("Alice wrote in #ops (https://x.slack.com/p1):\nCheckout down\nzzz")
    assert filled.origin == "Message from Alice in #ops" and filled.origin_url == "https://x.slack.com/p1"


def test_an_alert_prefills_summary_description_and_link() -> None:
    alert = Alert(
        ref=ALERT,
        short_id="abc123",
        summary="Disk full",
        status=AlertStatus.TRIGGERED,
        source="datadog",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        url="https://rootly.com/account/alerts/abc123",
        description="Volume at 99%",
    )
    filled = incident_prefill.from_alert(alert, attachable=True)
    assert filled.title == "Disk full" and filled.alert is alert
    assert filled.summary == "Volume at 99%\n\nAlert abc123: Disk full\nhttps://rootly.com/account/alerts/abc123"
    assert incident_prefill.from_alert(alert, attachable=False).alert is None


def test_the_command_title_is_bounded_by_rootly() -> None:
    assert len(incident_prefill.from_command("t" * 300).title) == 255
    assert incident_prefill.from_command(None).title == ""


# --- rendering ------------------------------------------------------------------------------------------------------
def test_the_form_offers_short_lists_whole_and_long_ones_searched() -> None:
    view = valid(incident_modal.incident_form(FormValues(title="x"), pickers(5), metadata="{}", alert_label="abc123"))
    types = {b["block_id"]: b["element"]["type"] for b in view["blocks"] if b["type"] == "input"}
    assert types[Block.INCIDENT_SERVICES] == "multi_static_select"
    assert types[Block.INCIDENT_SEVERITY] == "static_select"
    assert types[Block.INCIDENT_PARENT] == "external_select"
    assert types[Block.INCIDENT_ALERT] == "checkboxes" and types[Block.INCIDENT_PRIVATE] == "checkboxes"
    searched = valid(incident_modal.incident_form(FormValues(), pickers(100, searched=True), metadata="{}"))
    types = {b["block_id"]: b["element"]["type"] for b in searched["blocks"] if b["type"] == "input"}
    assert types[Block.INCIDENT_SERVICES] == "multi_external_select" and Block.INCIDENT_ALERT not in types


def test_handed_back_values_are_shown_with_notes_under_their_fields() -> None:
    values = FormValues(
        title="T",
        summary="S",
        picked={
            CatalogKind.SERVICES: (Choice("services-1", "Services 1"),),
            CatalogKind.SEVERITIES: (Choice("severities-2", "Severities 2"),),
        },
        parent=Choice("p1", "INC-4 · Parent"),
        private=True,
    )
    view = valid(
        incident_modal.incident_form(
            values, pickers(), metadata="{}", notes={Block.INCIDENT_SERVICES.value: "Unknown service"}, banner="No."
        )
    )
    blocks = view["blocks"]
    at = next(i for i, b in enumerate(blocks) if b.get("block_id") == Block.INCIDENT_SERVICES)
    assert "Unknown service" in blocks[at + 1]["elements"][0]["text"]
    assert blocks[at]["element"]["initial_options"][0]["value"] == "services-1"
    severity = next(b for b in blocks if b.get("block_id") == Block.INCIDENT_SEVERITY)
    assert severity["element"]["initial_option"]["value"] == "severities-2"
    parent = next(b for b in blocks if b.get("block_id") == Block.INCIDENT_PARENT)
    assert parent["element"]["initial_option"]["value"] == "p1"
    assert "No." in blocks[0]["text"]["text"]


def test_an_empty_list_is_left_off_the_form() -> None:
    empty = Pickers({k: Picker(k, (), searched=False) for k in CatalogKind})
    view = valid(incident_modal.incident_form(FormValues(), empty, metadata="{}"))
    assert Block.INCIDENT_TEAMS not in {b.get("block_id") for b in view["blocks"]}


INCIDENT = Incident(
    id="i1",
    title="Checkout <down>",
    sequential_id=123,
    url="https://rootly.com/account/incidents/123-checkout",
    severity="SEV1",
    slack_channel_id="C0INC",
)


def test_the_declaration_reads_as_the_issue_says() -> None:
    message = incident_messages.declared_message(INCIDENT, "U1", copy=None, copying=False)
    line = message["blocks"][0]["text"]["text"]
    assert line.startswith(
        "🚨 *<https://rootly.com/account/incidents/123-checkout|INC-123>* Checkout &lt;down&gt; declared by <@U1>"
        " · severity SEV1"
    )
    assert "Incident channel: <#C0INC>" in line


@pytest.mark.parametrize(
    ("copy", "copying", "said"),
    [
        (ThreadCopy(total=30), True, "⏳ Copying 30 messages"),
        (ThreadCopy(copied=1, total=1), False, "📋 1 message of this thread copied"),
        (ThreadCopy(copied=200, total=200, more=True), False, "(the first 200: the thread is longer)"),
        (ThreadCopy(copied=28, total=30, failed=2), False, "2 could not be copied"),
        (ThreadCopy(unreadable="not_in_channel"), False, "/invite @rootly"),
    ],
)
def test_the_copy_is_reported(copy: ThreadCopy, copying: bool, said: str) -> None:
    assert said in incident_messages.copy_text(copy, copying=copying)


def test_the_already_declared_modal_links_and_offers_a_separate_one() -> None:
    view = valid(incident_modal.already_declared_modal(INCIDENT, "U2", subject="thread", metadata="{}"))
    assert view["callback_id"] == Callback.INCIDENT_DECLARED_MODAL
    [open_button, separate] = view["blocks"][1]["elements"]
    assert open_button["url"] == INCIDENT.url and separate["action_id"] == Action.INCIDENT_DECLARE_SEPARATE
    busy = valid(incident_modal.already_declared_modal(None, "U2", subject="alert", metadata="{}", in_progress=True))
    assert "right now" in busy["blocks"][0]["text"]["text"]


# --- reading it back ------------------------------------------------------------------------------------------------
def test_metadata_round_trips_and_refuses_what_the_bot_did_not_write() -> None:
    meta = Meta(Source(Origin.ALERT, "C1", "1.2", ALERT), "Alert abc: " + "y" * 5000, "https://r/a", "abc123")
    back = Meta.decode(meta.encode())
    assert back.source == meta.source and back.alert_label == "abc123" and len(meta.encode()) < 3000
    separate = back.separate()
    assert separate.source.separate and separate.alert_label is None
    for garbage in ("", "{}", "not json", '{"o": "nope"}', '{"o": "alert", "a": "bad"}'):
        with pytest.raises(ValueError):
            Meta.decode(garbage)


def test_keys_follow_the_source() -> None:
    assert Source(Origin.MESSAGE, "C1", "1.2").key("V1") == "thread:C1:1.2"
    assert Source(Origin.ALERT, "C1", "1.2", ALERT).key("V1") == f"alert:rootly:{ALERT.id}"
    assert Source(Origin.COMMAND, "C1").key("V1") == "view:V1"
    assert Source(Origin.MESSAGE, "C1", "1.2", separate=True).key("V9") == "view:V9"


def _sel(value: str, text: str) -> dict:
    return {"text": {"type": "plain_text", "text": text}, "value": value}


def test_the_state_reads_back_as_a_new_incident() -> None:
    state = {
        Block.INCIDENT_TITLE: {Action.INCIDENT_TITLE: {"type": "plain_text_input", "value": "  Disk   full "}},
        Block.INCIDENT_SUMMARY: {Action.INCIDENT_SUMMARY: {"type": "plain_text_input", "value": None}},
        Block.INCIDENT_SEVERITY: {
            Action.INCIDENT_SEVERITY: {"type": "static_select", "selected_option": _sel("s1", "SEV1")}
        },
        Block.INCIDENT_SERVICES: {
            Action.INCIDENT_SERVICES: {
                "type": "multi_external_select",
                "selected_options": [_sel("a", "A"), _sel("b", "B")],
            }
        },
        Block.INCIDENT_PARENT: {Action.INCIDENT_PARENT: {"type": "external_select", "selected_option": None}},
        Block.INCIDENT_ALERT: {
            Action.INCIDENT_ALERT: {"type": "checkboxes", "selected_options": [_sel("attach", "x")]}
        },
        Block.INCIDENT_PRIVATE: {Action.INCIDENT_PRIVATE: {"type": "checkboxes", "selected_options": []}},
    }
    form = read_form(state)
    assert form.picked[CatalogKind.SERVICES] == (Choice("a", "A"), Choice("b", "B")) and form.attach_alert
    meta = Meta(Source(Origin.ALERT, "C1", "1.2", ALERT), alert_label="abc123")
    assert to_new_incident(form, meta) == NewIncident(
        title="Disk full", severity_id="s1", service_ids=("a", "b"), alert_ids=(ALERT.id,)
    )
    # No alert block (an ilert alert, or a command): nothing attached.
    assert to_new_incident(read_form({}), Meta(Source(Origin.COMMAND))).alert_ids == ()


PRESENT = {b.value for b in Block if b.value.startswith("incident_")}


@pytest.mark.parametrize(
    ("message", "block"),
    [
        ("Title is too long (maximum is 255 characters)", Block.INCIDENT_TITLE),
        ("Validation failed: Severity must exist", Block.INCIDENT_SEVERITY),
        ("Unknown service", Block.INCIDENT_SERVICES),
        ("Group not found", Block.INCIDENT_TEAMS),
        ("Parent incident is not active", Block.INCIDENT_PARENT),
        ("Alert ids are invalid", Block.INCIDENT_ALERT),
        ("Incident type is archived", Block.INCIDENT_TYPES),
        ("Something nobody can place", Block.INCIDENT_TITLE),
    ],
)
def test_rootly_messages_go_next_to_the_field_they_name(message: str, block: Block) -> None:
    assert field_errors(errors.Invalid(message), PRESENT) == {block.value: message}


def test_a_message_quoting_a_submitted_id_goes_to_that_field() -> None:
    draft = NewIncident(title="x", environment_ids=("env-9",))
    assert field_errors(errors.Invalid("'env-9' does not exist"), PRESENT, draft) == {
        Block.INCIDENT_ENVIRONMENTS.value: "'env-9' does not exist"
    }


def test_several_messages_and_absent_blocks() -> None:
    exc = errors.Invalid("Severity must exist; Alert is resolved")
    found = field_errors(exc, PRESENT - {Block.INCIDENT_ALERT.value})
    assert found == {
        Block.INCIDENT_SEVERITY.value: "Severity must exist",
        Block.INCIDENT_TITLE.value: "Alert is resolved",
    }
