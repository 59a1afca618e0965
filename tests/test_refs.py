"""What people paste as an alert reference, and what the bot makes of it."""

import pytest

from bot.domain import Backend
from bot.domain.refs import BadReference, ParsedRef, parse_alert_reference

UUID = "0b7e4c1a-3f0e-4e43-9f3a-2d8c1c8e9a11"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("t8rgnt", ParsedRef("t8rgnt", Backend.ROOTLY)),
        ("  ALT100005 ", ParsedRef("ALT100005", Backend.ROOTLY)),
        (UUID.upper(), ParsedRef(UUID, Backend.ROOTLY)),
        (f"https://rootly.com/account/alerts/{UUID}", ParsedRef(UUID, Backend.ROOTLY)),
        ("https://rootly.com/account/alerts/t8rgnt?tab=timeline", ParsedRef("t8rgnt", Backend.ROOTLY)),
        ("<https://acme.rootly.com/account/alerts/t8rgnt|ALT-1>", ParsedRef("t8rgnt", Backend.ROOTLY)),
        ("<https://rootly.com/account/alerts/t8rgnt>", ParsedRef("t8rgnt", Backend.ROOTLY)),
        ("123456", ParsedRef("123456", Backend.ILERT)),
        ("https://acme.ilert.com/alerts/987", ParsedRef("987", Backend.ILERT)),
        ("https://acme.ilert.com/alert/view?id=42", ParsedRef("42", Backend.ILERT)),
    ],
)
def test_accepts_what_people_copy(text: str, expected: ParsedRef) -> None:
    assert parse_alert_reference(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Which alert?"),
        ("foo bar", "doesn't look like an alert"),
        ("../../v1/incidents", "doesn't look like an alert"),
        ("https://example.com/alerts/t8rgnt", "isn't a Rootly or ilert alert link"),
        ("https://rootly.com/account/incidents/abc", "doesn't point at an alert"),
        ("https://acme.ilert.com/alerts/abc", "doesn't point at an alert"),
        ("x" * 500, "doesn't look like an alert"),
    ],
)
def test_rejects_with_a_message_that_says_what_to_type(text: str, says: str) -> None:
    with pytest.raises(BadReference) as caught:
        parse_alert_reference(text)
    assert says in str(caught.value)
    assert "short id" in str(caught.value) or "expected" in str(caught.value)
    assert len(str(caught.value)) < 300  # an oversize paste is not echoed whole
