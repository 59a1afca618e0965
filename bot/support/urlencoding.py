"""Percent-decoding of form values at C speed, with exactly the standard library's result.

A click on an alert message arrives as one form field, ``payload``, holding the whole message as URL-encoded JSON:
kilobytes with an escape every few characters. ``urllib.parse.unquote_plus`` decodes it in Python, escape by
escape: 150 µs for 5 KB, most of the CPU of acknowledging such a click (bench/README.md, "Bolt's keyword injection
and a click's percent-decoding"; 7 µs this way). The
standard library has no C percent-decoder, but ``binascii.a2b_qp`` decodes quoted-printable, whose ``=XX`` escapes are
percent-encoding's ``%XX`` with another marker. Quoted-printable differs only around a literal ``=``, line breaks and a
marker not followed by two hex digits, so a value with any of those (or with non-ASCII text, which the standard
library decodes run by run) is left to ``unquote_plus``. ``tests/test_urlencoding.py`` checks the two agree on
generated values.
"""

from __future__ import annotations

import binascii
import re
from urllib.parse import parse_qsl
from urllib.parse import unquote_plus as _unquote_plus

# Anything quoted-printable would read differently from percent-encoding.
_NOT_PLAIN = re.compile(r"%(?![0-9A-Fa-f]{2})|[=\r\n]")


def unquote_plus(value: str) -> str:
    """``urllib.parse.unquote_plus(value)`` (UTF-8, undecodable bytes replaced), much faster on long values."""
    if not value.isascii() or _NOT_PLAIN.search(value):
        return _unquote_plus(value)
    return binascii.a2b_qp(value.replace("+", " ").replace("%", "=")).decode("utf-8", "replace")


def form_fields(text: str) -> dict[str, str]:
    """A URL-encoded form's fields, the last of repeated ones, blank ones kept: ``dict(parse_qsl(text, True))``.

    Slack's interaction bodies are a single ``payload=…`` field, decoded here with :func:`unquote_plus`; any other
    form (slash commands: a dozen short fields) goes to ``parse_qsl``.
    """
    name, equals, value = text.partition("=")
    if name == "payload" and equals and "&" not in value:
        return {name: unquote_plus(value)}
    return dict(parse_qsl(text, keep_blank_values=True))
