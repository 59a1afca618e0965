"""Lengths the APIs and Slack accept, in one place, so clients, renderers and forms agree on them."""

from __future__ import annotations

# Rootly accepts long notes, but Slack shows at most ~3,000 characters in a section and people read less; the bound
# keeps every note readable in both places and is checked before anything is sent.
NOTE_MAX_CHARS = 10_000
# Rootly documents no title limit; 255 is the bound of a Rails string column, so a longer title is refused before
# anything is sent instead of by Rootly.
INCIDENT_TITLE_MAX = 255
TEXT_INPUT_MAX = 3000  # Slack's plain-text inputs hold at most 3,000 characters
