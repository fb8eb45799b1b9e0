"""Slack's size limits for Block Kit payloads, in one place.

The builders in this package keep every payload within these limits; the fake Slack API used in
tests keeps its own copy. Lengths are counted in characters of the text as sent (after
escaping).
"""

from __future__ import annotations

# Blocks per surface
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100  # modal and App Home views

# Text
MAX_MESSAGE_TEXT = 40_000  # the top-level `text` of a message (notification fallback)
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELD_TEXT = 2000
MAX_CONTEXT_ELEMENT_TEXT = 2000
MAX_CONTEXT_ELEMENTS = 10
MAX_HEADER_TEXT = 150
MAX_INPUT_LABEL = 2000

# Buttons and actions
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTIONS_ELEMENTS = 25

# Select menus
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_OPTION_GROUP_LABEL = 75
MAX_SELECT_OPTIONS = 100  # options of a select without groups
MAX_OPTION_GROUPS = 100
MAX_GROUP_OPTIONS = 100  # options in one option group

# Views
MAX_VIEW_TITLE = 24  # also submit and close labels
MAX_PRIVATE_METADATA = 3000
