"""The /rootly command language."""

import pytest

from bot.domain import Backend
from bot.domain.refs import ParsedRef
from bot.slack import syntax


def ref(alert_id: str = "t8rgnt") -> ParsedRef:
    return ParsedRef(alert_id, Backend.ROOTLY)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ack t8rgnt", syntax.Acknowledge(ref())),
        ("ACKNOWLEDGE t8rgnt", syntax.Acknowledge(ref())),
        ("resolve t8rgnt", syntax.Resolve(ref(), None)),
        ("resolve t8rgnt rolled back  the deploy", syntax.Resolve(ref(), "rolled back  the deploy")),
        ("note t8rgnt disk full\nsecond line", syntax.AddNote(ref(), "disk full\nsecond line")),
        ("", syntax.Help()),
        ("help", syntax.Help()),
        ("help note", syntax.Help(topic="note")),
        ("frobnicate t8rgnt", syntax.Help(unknown="frobnicate")),
    ],
)
def test_parses(text: str, expected: syntax.Command) -> None:
    assert syntax.parse(text) == expected


def test_note_keeps_the_text_exactly_as_typed_inside() -> None:
    text = "line *one* <@U1>\n\n```code```  & more"
    parsed = syntax.parse(f"note t8rgnt {text}")
    assert parsed == syntax.AddNote(ref(), text)


@pytest.mark.parametrize(
    ("text", "command", "problem"),
    [
        ("ack", "ack", "Which alert?"),
        ("ack t8rgnt extra", "ack", "takes one alert"),
        ("note t8rgnt", "note", "note is empty"),
        ("note t8rgnt    ", "note", "note is empty"),
        ("resolve not/an/id", "resolve", "doesn't look like an alert"),
    ],
)
def test_invalid_arguments_name_the_problem(text: str, command: str, problem: str) -> None:
    parsed = syntax.parse(text)
    assert isinstance(parsed, syntax.Invalid)
    assert parsed.command == command
    assert problem in parsed.problem
    assert command in syntax.USAGE


def test_a_bad_reference_hands_the_note_back() -> None:
    parsed = syntax.parse("note ??? the important words")
    assert isinstance(parsed, syntax.Invalid)
    assert parsed.typed == "the important words"


def test_update_reads_each_change_and_typographic_quotes() -> None:
    parsed = syntax.parse(
        "update t8rgnt urgency:Low service:api,web label:team=pay label:old= noise:no summary:“Disk full”"
    )
    assert isinstance(parsed, syntax.UpdateAlert)
    changes = parsed.changes
    assert changes.urgency == "Low" and changes.services == ("api", "web") and changes.noise is False
    assert changes.set_labels == (("team", "pay"),) and changes.remove_labels == ("old",)
    assert changes.summary == "Disk full"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("update t8rgnt", "Say what to change"),
        ("update t8rgnt colour:red", "can't change `colour:red`"),
        ('update t8rgnt summary:"open', "quote is not closed"),
        ("update t8rgnt label:=x", "label needs a key"),
    ],
)
def test_update_errors_name_the_bad_part(text: str, problem: str) -> None:
    parsed = syntax.parse(text)
    assert isinstance(parsed, syntax.Invalid) and problem in parsed.problem


def test_trigger_options() -> None:
    parsed = syntax.parse("trigger DB down --details lag 300s --priority HIGH --key db-1 --route dba --to ilert")
    assert parsed == syntax.Trigger(
        "DB down", details="lag 300s", priority="high", key="db-1", route="dba", backend=Backend.ILERT
    )
    too_long = syntax.parse("trigger " + "x" * 300)
    assert isinstance(too_long, syntax.Invalid) and "--details" in too_long.problem and too_long.typed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("alerts", syntax.ListAlerts(syntax.parse_filters([]))),
        ("alerts here status:acknowledged", syntax.ListAlerts(syntax.parse_filters(["status:acknowledged"]), True)),
        ("feed off", syntax.FeedOff()),
        ("feed list", syntax.FeedList()),
    ],
)
def test_alerts_and_feed(text: str, expected: syntax.Command) -> None:
    assert syntax.parse(text) == expected


def test_filters_reject_unknown_statuses_and_keys() -> None:
    with pytest.raises(syntax.FilterError, match="not an alert status"):
        syntax.parse_filters(["status:burning"])
    with pytest.raises(syntax.FilterError, match="don't understand"):
        syntax.parse_filters(["colour:red"])
    assert syntax.parse_filters(["service:a,b", "service:a"]).services == ("a", "b")
