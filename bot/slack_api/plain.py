"""The one fallback rule: a message Slack refuses for its blocks or its length goes again as
plain text, in pieces Slack takes whole — the content is never dropped."""

from __future__ import annotations

# Slack refused the blocks or the length: send the message again as plain text.
TEXT_FALLBACK_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_too_long"})
# Characters of one plain-text piece (Slack shows about 4,000 whole).
PLAIN_TEXT_LIMIT = 3900


def plain_prefix(text: str) -> str:
    """``text`` as one plain-text message: cut to the limit with "…" where one message must
    do (a nudge, an updated message)."""
    return text if len(text) <= PLAIN_TEXT_LIMIT else text[: PLAIN_TEXT_LIMIT - 1] + "…"
