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
