"""The progress feature's outgoing messages as (fallback text, block dicts), for the nudge
runner and the digest publisher, which know nothing of Block Kit objects."""

from __future__ import annotations

from datetime import datetime

from bot.progress.digest import DigestData
from bot.progress.exactly_once import Rendered
from bot.progress.nudges import Renderers

from .blocks import Message, to_dicts
from .blocks.digest import digest_message
from .blocks.progress import escalation_message, failure_report_message, nudge_message


def _rendered(message: Message) -> Rendered:
    return message.text, to_dicts(message.blocks)


def render_digest(data: DigestData, refreshed_at: datetime | None) -> Rendered:
    return _rendered(digest_message(data, refreshed_at=refreshed_at))


def renderers() -> Renderers:
    return Renderers(
        nudge=lambda plan, now: _rendered(nudge_message(plan, now=now)),
        escalation=lambda item, weeks, now: _rendered(escalation_message(item, weeks, now=now)),
        failure_report=lambda failures: _rendered(failure_report_message(failures)),
    )
