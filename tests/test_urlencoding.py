"""The fast percent-decoder gives exactly what the standard library gives, on every value.

``bot.support.urlencoding`` decodes through quoted-printable (``binascii.a2b_qp``) when a value cannot be read
differently by it, and through ``urllib.parse`` otherwise. The generated values lean on what tells the two apart:
``%`` with and without two hex digits, ``=``, line breaks, ``+``, invalid UTF-8 escapes and non-ASCII text.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, quote_plus, unquote_plus, urlencode

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.slack.middleware.guards import parse_slack_body
from bot.support import urlencoding

PIECES = st.sampled_from(
    ["%", "%2", "%20", "%3D", "%3d", "%0A", "%0D%0A", "%e2%82%ac", "%ff", "%C3", "%zz", "%%41", "=", "=41", "+", " ",
     "\t", "\r", "\n", "_", "a", "F", "0", "9", "g", "é", "&", ".", "~", "\x00", "\x7f", "{", '"']
)  # fmt: skip
VALUES = st.lists(st.one_of(PIECES, st.text(max_size=3)), max_size=30).map("".join)


@settings(max_examples=3000, deadline=None)
@given(VALUES)
def test_decoding_matches_the_standard_library(value: str) -> None:
    assert urlencoding.unquote_plus(value) == unquote_plus(value)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_whatever_was_encoded_decodes_back(text: str) -> None:
    assert urlencoding.unquote_plus(quote_plus(text)) == text


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(VALUES, VALUES), max_size=4), st.booleans())
def test_forms_read_as_parse_qsl_reads_them(fields: list[tuple[str, str]], payload_first: bool) -> None:
    text = urlencode(fields)
    if payload_first and fields:
        text = "payload=" + quote_plus(fields[0][1]) + ("&" + urlencode(fields[1:]) if fields[1:] else "")
    assert urlencoding.form_fields(text) == dict(parse_qsl(text, keep_blank_values=True))


def test_a_click_carrying_its_whole_message_is_parsed_as_sent() -> None:
    payload = {
        "type": "block_actions",
        "user": {"id": "U1"},
        "actions": [{"action_id": "alert.acknowledge", "value": "rootly:1=2&3"}],
        "message": {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "50% of *checkout* → 5xx\n€"}}]},
        "response_url": "https://hooks.slack.com/actions/T1/1/x",
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    assert parse_slack_body(body, "application/x-www-form-urlencoded") == payload
