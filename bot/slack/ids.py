"""Every Slack identifier the bot relies on, in one place.

Listeners, renderers, the manifest test and the docs all read these; a rename happens here once.
"""

from enum import StrEnum

COMMAND = "/rootly"


class Action(StrEnum):
    """``action_id`` of interactive elements on alert messages and modals."""

    ACKNOWLEDGE = "alert.acknowledge"
    RESOLVE = "alert.resolve"
    ADD_NOTE = "alert.add_note"
    DECLARE_INCIDENT = "alert.declare_incident"
    OVERFLOW = "alert.overflow"
    SNOOZE = "alert.snooze"
    OPEN_IN_ROOTLY = "alert.open"
    NOTE_TEXT = "note.text"


class Callback(StrEnum):
    """``callback_id`` of shortcuts and modals."""

    DECLARE_INCIDENT_SHORTCUT = "declare_incident"
    NOTE_MODAL = "alert_note_modal"
    INCIDENT_MODAL = "incident_modal"


class Block(StrEnum):
    """``block_id`` of blocks whose state the bot reads back."""

    NOTE_INPUT = "note_input"
    ALERT_ACTIONS = "alert_actions"
    ALERT_SUMMARY = "alert_summary"


# Bot scopes the code needs; the manifest must grant each of them (tests/test_manifest.py checks).
REQUIRED_BOT_SCOPES: tuple[str, ...] = (
    "commands",
    "chat:write",
    "chat:write.public",
    "users:read",
    "users:read.email",
    "channels:history",
    "groups:history",
    "im:history",
    "mpim:history",
    "channels:read",
    "groups:read",
)
