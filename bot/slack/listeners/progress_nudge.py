"""Changing the message a /progress button was pressed in, after the change it asked for:
a weekly nudge DM (an item marked done, the snooze buttons replaced) or a `/progress list`.

Nothing of the request's own copy of the message (``body["message"]``: its blocks, its text)
is ever sent back to Slack: a signed but forged request could carry anything there. A nudge
is changed only when the bot's records say it is a nudge the bot sent to the user who
clicked (:meth:`~bot.progress.service.ProgressService.is_nudge_of`: its DM, its ts), and
only from the message as Slack holds it (``conversations.history``); a list is built anew
from the database. Anything else gets a reply instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from ...progress.service import ProgressService
from ...slack_api.messages import message_at
from ..blocks import Message
from ..blocks.base import to_dicts
from ..blocks.progress import has_item, initiatives_message, nudge_item_done
from ..deps import SlackDeps

if TYPE_CHECKING:  # progress_forms imports this module
    from .progress_forms import Where

log = logging.getLogger("fwbot.slack")

Change = Callable[[list[dict[str, Any]]], list[dict[str, Any]] | None]


def _progress(deps: SlackDeps) -> ProgressService:
    if deps.progress is None:
        raise RuntimeError("progress tracking is not configured")
    return deps.progress


def as_message(blocks: list[dict[str, Any]], text: str) -> Message:
    return Message(text=text, blocks=[b for b in map(Block.parse, blocks) if b is not None])


def item_done(initiative_id: int, text: str) -> Change:
    """The change marking one item done ("✓ ``text``"); None when it isn't there."""

    def change(blocks: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        if not has_item(blocks, initiative_id):
            return None
        return nudge_item_done(blocks, initiative_id, text)

    return change


def change_nudge(deps: SlackDeps, where: Where, change: Change, text: str) -> bool:
    """Apply ``change`` to the nudge ``where.nudge`` (``chat.update``) if it is one the bot
    sent to ``where.user``, read from Slack; False when it is not, can't be found, ``change``
    gives None or Slack refuses (the caller then confirms some other way)."""
    if where.nudge is None:
        return False
    channel, ts = where.nudge
    try:
        if not _progress(deps).is_nudge_of(where.user, channel, ts):
            log.info("%s/%s is not a nudge of %s: not changed", channel, ts, where.user)
            return False
        shown = message_at(deps.delivery.client, channel, ts)
        if shown is None:
            return False
        new = change(list(shown.get("blocks") or []))
        if new is None:
            return False
        deps.delivery.update(channel, ts, as_message(new, shown.get("text") or text))
        return True
    except SlackApiError as exc:
        log.info("could not update the nudge %s/%s: %s", channel, ts, exc.response.get("error"))
        return False


def refresh_list(deps: SlackDeps, where: Where, change: Change) -> bool:
    """Replace the ephemeral `/progress list` clicked in (through its response URL) by the
    user's list built anew, with ``change`` applied; False without a response URL or when
    ``change`` gives None."""
    if where.response_url is None:
        return False
    progress = _progress(deps)
    fresh = initiatives_message(progress.mine(where.user), now=progress.clock(), user_id=where.user)
    new = change(to_dicts(fresh.blocks))
    if new is None:
        return False
    deps.delivery.reply(
        as_message(new, fresh.text),
        user=where.user,
        channel=where.channel,
        response_url=where.response_url,
        replace_original=True,
    )
    return True
