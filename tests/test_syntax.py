"""The /rootly command language."""

import pytest

from bot.domain import Backend
from bot.refs import ParsedRef
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
