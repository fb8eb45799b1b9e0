"""The message metadata types the bot posts with: each names what a message answers, so that
a history look-up finds it and nothing is posted twice."""

from __future__ import annotations

NUDGE_EVENT = "fwbot_nudge"  # a progress nudge: {"subject": owner, "period": week}
DIGEST_EVENT = "fwbot_digest"  # the weekly digest: {"period": week}
ESCALATION_EVENT = "fwbot_escalation"  # an overdue initiative told to its escalation target
REPORT_EVENT = "fwbot_delivery_report"  # nudges that could not be sent, told to the admins
REPLY_EVENT = "fwbot_reply"  # an answer to a kept request: {"request": its key}
BUSY_EVENT = "fwbot_busy"  # "busy, answered in a minute", told about a deferred request
