"""Identifiers shared by the Block Kit builders and the listeners that handle their actions."""

from __future__ import annotations

# Answers
ACTION_FEEDBACK_HELPFUL = "feedback_helpful"
ACTION_FEEDBACK_NOT_HELPFUL = "feedback_not_helpful"

# /align results
ACTION_ALIGN_SHARE = "align_share"
ACTION_ALIGN_CONFIRM = "align_confirm"
ACTION_ALIGN_EDIT = "align_edit"
ACTION_ALIGN_TRACK = "align_track"

# The "Edit tags" modal
VIEW_EDIT_TAGS = "align_edit_tags"
BLOCK_EDIT_TAGS = "tags_block"
ACTION_EDIT_TAGS = "tags_select"

# Message shortcut "Align this message"
SHORTCUT_ALIGN_MESSAGE = "align_message"

# Slash command
COMMAND_ALIGN = "/align"

# Progress tracking: /progress, its messages (lists, nudges, App Home) and modals
COMMAND_PROGRESS = "/progress"
ACTION_PROGRESS_UPDATE = "progress_update"  # "Post update" button (value: initiative id)
ACTION_PROGRESS_NO_CHANGE = "progress_no_change"  # "No change" button (value: initiative id)
ACTION_PROGRESS_SNOOZE_TOMORROW = "progress_snooze_tomorrow"
ACTION_PROGRESS_SNOOZE_WEEK = "progress_snooze_week"
ACTION_PROGRESS_NEW = "progress_new"  # "New initiative" button (App Home)
# Block ids in progress messages: one item's buttons are "progress_item:<id>"
BLOCK_PROGRESS_ITEM = "progress_item"
BLOCK_PROGRESS_SNOOZE = "progress_snooze"
BLOCK_PROGRESS_MORE = "progress_more"

# The "Post an update" modal; the status, percent and note blocks are "<block>:<id>" so
# switching initiatives (views.update) shows the new one's values
VIEW_PROGRESS_UPDATE = "progress_update_modal"
BLOCK_UPDATE_INITIATIVE = "pu_initiative"
ACTION_UPDATE_INITIATIVE = "pu_initiative_select"  # dispatch_action: re-fills the form
BLOCK_UPDATE_STATUS = "pu_status"
ACTION_UPDATE_STATUS = "pu_status_select"
BLOCK_UPDATE_PERCENT = "pu_percent"
ACTION_UPDATE_PERCENT = "pu_percent_input"
BLOCK_UPDATE_NOTE = "pu_note"
ACTION_UPDATE_NOTE = "pu_note_input"

# The "New initiative" modal
VIEW_PROGRESS_NEW = "progress_new_modal"
BLOCK_NEW_TITLE = "ni_title"
ACTION_NEW_TITLE = "ni_title_input"
BLOCK_NEW_DESCRIPTION = "ni_description"
ACTION_NEW_DESCRIPTION = "ni_description_input"
BLOCK_NEW_OBJECTIVES = "ni_objectives"
ACTION_NEW_OBJECTIVES = "ni_objectives_select"
BLOCK_NEW_OWNER = "ni_owner"
ACTION_NEW_OWNER = "ni_owner_select"
BLOCK_NEW_CADENCE = "ni_cadence"
ACTION_NEW_CADENCE = "ni_cadence_select"
