"""Block Kit builders for the Slack bot: pure functions from answers, alignments and the
framework to slack_sdk message blocks and views, always within Slack's limits (``limits``).

User-typed and framework text is escaped (:func:`escape`) wherever it lands in mrkdwn.
"""

from __future__ import annotations

from .alignments import (
    alignment_message,
    error_message,
    shared_alignment_message,
    usage_message,
)
from .answers import (
    answer_messages,
    citation_label,
    citation_line,
    feedback_ack_context,
    replace_feedback_buttons,
    streamed_answer_footer,
)
from .base import Message, fallback_text, paginate, to_dicts
from .home import RecentAlignment, home_view
from .modals import edit_tags_modal, selected_ids_from_state
from .text import clip, escape, shorten, split_text

__all__ = [
    "Message",
    "RecentAlignment",
    "alignment_message",
    "answer_messages",
    "citation_label",
    "citation_line",
    "clip",
    "edit_tags_modal",
    "error_message",
    "escape",
    "fallback_text",
    "feedback_ack_context",
    "home_view",
    "paginate",
    "replace_feedback_buttons",
    "selected_ids_from_state",
    "shared_alignment_message",
    "shorten",
    "split_text",
    "streamed_answer_footer",
    "to_dicts",
    "usage_message",
]
