"""Every Slack identifier the bot relies on, in one place.

Listeners, renderers, the manifest test and the docs all read these; a rename happens here once.
"""

from enum import StrEnum

# The slash command's default name; SLACK_COMMAND renames it (a workspace may already have Rootly's own /rootly).
DEFAULT_COMMAND = "/rootly"


class Action(StrEnum):
    """``action_id`` of interactive elements on alert messages and modals."""

    ACKNOWLEDGE = "alert.acknowledge"
    RESOLVE = "alert.resolve"
    ADD_NOTE = "alert.add_note"
    DECLARE_INCIDENT = "alert.declare_incident"
    OVERFLOW = "alert.overflow"
    SNOOZE = "alert.snooze"
    OPEN_IN_ROOTLY = "alert.open"
    ROW_OPEN = "alert.row_open"  # "Open" on a row of a feed's group message: the alert with all its buttons
    NOTE_TEXT = "note.text"
    EDIT_SUMMARY = "edit.summary"
    EDIT_DESCRIPTION = "edit.description"
    EDIT_URGENCY = "edit.urgency"
    EDIT_SERVICES = "edit.services"
    EDIT_ENVIRONMENTS = "edit.environments"
    EDIT_TEAMS = "edit.teams"
    EDIT_LABELS = "edit.labels"
    # the incident form; each field's action_id (options requests name the picker by it)
    INCIDENT_TITLE = "incident.title"
    INCIDENT_SUMMARY = "incident.summary"
    INCIDENT_SEVERITY = "incident.severity"
    INCIDENT_TYPES = "incident.types"
    INCIDENT_SERVICES = "incident.services"
    INCIDENT_TEAMS = "incident.teams"
    INCIDENT_ENVIRONMENTS = "incident.environments"
    INCIDENT_PARENT = "incident.parent"
    INCIDENT_ALERT = "incident.alert"
    INCIDENT_PRIVATE = "incident.private"
    INCIDENT_OPEN = "incident.open"  # link button to an incident in Rootly (acknowledged, nothing else)
    INCIDENT_DECLARE_SEPARATE = "incident.declare_separate"
    # on call (bot/oncall/)
    ONCALL_PAGE = "oncall.page"  # the page preview's Page button
    ONCALL_PAGE_CANCEL = "oncall.page_cancel"
    ONCALL_TAKE = "oncall.take"  # "I'll take it" on a schedule's on-call answer
    # the live incident message and its modals
    INCIDENT_MITIGATE = "incident.mitigate"
    INCIDENT_RESOLVE = "incident.resolve"
    INCIDENT_ADD_NOTE = "incident.add_note"
    INCIDENT_SET_SEVERITY = "incident.set_severity"
    INCIDENT_ASSIGN_ROLE = "incident.assign_role"
    INCIDENT_MENU = "incident.menu"  # overflow: Cancel incident…, Open in Rootly
    INCIDENT_TEXT = "incident.text"  # the message a mitigation, resolution, cancellation or timeline note carries
    INCIDENT_ROLE = "incident.role"
    INCIDENT_ROLE_USER = "incident.role_user"
    INCIDENT_PICK = "incident.pick"  # which incident, in the "Add to incident timeline" modal
    NOTE_ALERT = "note.alert"  # which alert, in the "Add to alert as note" modal (bot/threads/)
    TIMELINE_COMMENT = "incident.timeline_comment"  # the adder's own words in that modal (optional)


class Callback(StrEnum):
    """``callback_id`` of shortcuts and modals."""

    DECLARE_INCIDENT_SHORTCUT = "declare_incident"
    NOTE_MODAL = "alert_note_modal"
    EDIT_MODAL = "alert_edit_modal"
    INCIDENT_MODAL = "incident_modal"
    INCIDENT_DECLARED_MODAL = "incident_declared_modal"  # "this thread already has an incident"
    INCIDENT_ACTION_MODAL = "incident_action_modal"  # mitigate / resolve / cancel / add to timeline
    INCIDENT_ROLE_MODAL = "incident_role_modal"
    ADD_TO_TIMELINE_SHORTCUT = "add_to_incident_timeline"
    TIMELINE_MODAL = "incident_timeline_modal"  # the shortcut's modal: which incident
    NOTE_SHORTCUT = "add_alert_note"  # message shortcut "Add to alert as note" (bot/threads/listener.py)
    NOTE_SHORTCUT_MODAL = "alert_note_shortcut_modal"  # the shortcut's modal off an alert's thread: which alert


class Block(StrEnum):
    """``block_id`` of blocks whose state the bot reads back."""

    NOTE_INPUT = "note_input"
    NOTE_ALERT = "note_alert"  # which alert, in the "Add to alert as note" modal
    ALERT_ACTIONS = "alert_actions"
    ALERT_SUMMARY = "alert_summary"
    ALERT_ROW = "alert_row"  # + ":<backend>:<id>": one compact row (a feed's group message), re-rendered alone
    EDIT_SUMMARY = "edit_summary"
    EDIT_DESCRIPTION = "edit_description"
    EDIT_URGENCY = "edit_urgency"
    EDIT_SERVICES = "edit_services"
    EDIT_ENVIRONMENTS = "edit_environments"
    EDIT_TEAMS = "edit_teams"
    EDIT_LABELS = "edit_labels"
    INCIDENT_TITLE = "incident_title"
    INCIDENT_SUMMARY = "incident_summary"
    INCIDENT_SEVERITY = "incident_severity"
    INCIDENT_TYPES = "incident_types"
    INCIDENT_SERVICES = "incident_services"
    INCIDENT_TEAMS = "incident_teams"
    INCIDENT_ENVIRONMENTS = "incident_environments"
    INCIDENT_PARENT = "incident_parent"
    INCIDENT_ALERT = "incident_alert"
    INCIDENT_PRIVATE = "incident_private"
    ONCALL_ACTIONS = "oncall_actions"
    INCIDENT_ACTIONS = "incident_actions"  # + ":<incident id>"
    INCIDENT_TEXT = "incident_text"
    INCIDENT_ROLE = "incident_role"
    INCIDENT_ROLE_USER = "incident_role_user"
    INCIDENT_PICK = "incident_pick"
    TIMELINE_COMMENT = "incident_timeline_comment"


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
    "usergroups:read",  # POLICY_RESOLVE / POLICY_DECLARE name user groups; membership comes from Slack
    "reactions:write",  # ✅ on a thread reply that became a note on its alert
)

# Events API subscriptions (bot events) the code handles; the manifest must subscribe to each.
BOT_EVENTS: tuple[str, ...] = (
    "app_home_opened",
    "message.channels",  # replies in alert threads (public channels) become notes, where a channel opted in
    "message.groups",  # the same in private channels the bot was invited to
)
