"""/align, the "Align this message" shortcut, and the buttons and modal of an /align result."""

from __future__ import annotations

import json
import logging

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from retrieval.align import AlignInputError

from ...alignments import UnknownObjectives
from ..blocks import (
    Message,
    alignment_message,
    edit_tags_modal,
    selected_ids_from_state,
    shared_alignment_message,
    usage_message,
)
from ..deps import SlackDeps
from ..guard import reporting_failures
from ..ids import (
    ACTION_ALIGN_CONFIRM,
    ACTION_ALIGN_EDIT,
    ACTION_ALIGN_SHARE,
    ACTION_ALIGN_TRACK,
    BLOCK_EDIT_TAGS,
    COMMAND_ALIGN,
    SHORTCUT_ALIGN_MESSAGE,
    VIEW_EDIT_TAGS,
)
from ..incoming import plain_text

log = logging.getLogger("fwbot.slack")


def _text(summary: str) -> Message:
    return Message(text=summary, blocks=[])


def run_alignment(deps: SlackDeps, text: str, *, user: str, channel: str | None,
                  response_url: str | None) -> None:
    """Align ``text`` and reply privately with the tags and their buttons."""
    def reply(message: Message, **kw) -> None:
        deps.delivery.reply(message, user=user, channel=channel, response_url=response_url, **kw)

    with reporting_failures("align", deps.metrics, reply,
                            summary="I couldn't align that proposal."):
        try:
            with deps.metrics.timed("align"):
                run = deps.alignments.align(text, user_id=user, channel_id=channel)
        except AlignInputError as exc:
            reply(_text(str(exc)))
            return
        reply(alignment_message(run.alignment, deps.framework, alignment_id=run.alignment_id,
                                proposal=text))


def _decided_message(deps: SlackDeps, record) -> Message:
    alignment = deps.alignments.stored(record)
    return alignment_message(alignment, deps.framework, alignment_id=record.id,
                             proposal=record.text, status=record.status,
                             decided_ids=list(record.final_ids or ()))


def _alignment_id(body: dict) -> int | None:
    try:
        return int(body["actions"][0]["value"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def register(app: App, deps: SlackDeps) -> None:
    @app.command(COMMAND_ALIGN)
    def on_align(ack: Ack, command: dict) -> None:
        text = plain_text(command.get("text"))
        if not text:
            usage = usage_message(deps.framework)
            ack(response_type="ephemeral", text=usage.text, blocks=usage.blocks)
            return
        ack()
        deps.later(lambda: run_alignment(deps, text, user=command["user_id"],
                                         channel=command.get("channel_id"),
                                         response_url=command.get("response_url")))

    @app.shortcut(SHORTCUT_ALIGN_MESSAGE)
    def on_align_message(ack: Ack, shortcut: dict) -> None:
        ack()
        user = shortcut["user"]["id"]
        channel = (shortcut.get("channel") or {}).get("id")
        text = plain_text((shortcut.get("message") or {}).get("text"))
        url = shortcut.get("response_url")
        if not text:
            deps.later(lambda: deps.delivery.reply(
                _text("That message has no text to align."), user=user, channel=channel,
                response_url=url))
            return
        deps.later(lambda: run_alignment(deps, text, user=user, channel=channel,
                                         response_url=url))

    def _context(body: dict) -> tuple[str, str | None, str | None]:
        return (body["user"]["id"], (body.get("channel") or {}).get("id"),
                body.get("response_url"))

    def _record_or_say(body: dict):
        user, channel, url = _context(body)
        alignment_id = _alignment_id(body)
        record = deps.store.alignment(alignment_id) if alignment_id is not None else None
        if record is None:
            deps.delivery.reply(_text("I can't find that alignment any more — run /align again."),
                                user=user, channel=channel, response_url=url)
        return record

    @app.action(ACTION_ALIGN_SHARE)
    def on_share(ack: Ack, body: dict) -> None:
        ack()
        user, channel, url = _context(body)
        notify = lambda m: deps.delivery.reply(m, user=user, channel=channel)  # noqa: E731
        with reporting_failures("align_share", deps.metrics, notify):
            record = _record_or_say(body)
            if record is None:
                return
            decided = None if record.final_ids is None else list(record.final_ids)
            message = shared_alignment_message(
                deps.alignments.stored(record), deps.framework, user_id=user,
                proposal=record.text, status=record.status, decided_ids=decided)
            deps.delivery.reply(message, user=user, channel=channel, response_url=url,
                                in_channel=True)

    @app.action(ACTION_ALIGN_CONFIRM)
    def on_confirm(ack: Ack, body: dict) -> None:
        ack()
        user, channel, url = _context(body)
        notify = lambda m: deps.delivery.reply(m, user=user, channel=channel)  # noqa: E731
        with reporting_failures("align_confirm", deps.metrics, notify):
            record = _record_or_say(body)
            if record is None:
                return
            ids = list(record.suggested_ids)
            decided = deps.alignments.decide(record.id, user_id=user, ids=ids)
            deps.delivery.reply(_decided_message(deps, decided), user=user, channel=channel,
                                response_url=url, replace_original=True)

    @app.action(ACTION_ALIGN_EDIT)
    def on_edit(ack: Ack, body: dict, client: WebClient) -> None:
        ack()
        user, channel, url = _context(body)
        notify = lambda m: deps.delivery.reply(m, user=user, channel=channel)  # noqa: E731
        with reporting_failures("align_edit", deps.metrics, notify):
            record = _record_or_say(body)
            if record is None:
                return
            selected = list(record.final_ids if record.final_ids is not None
                            else record.suggested_ids)
            meta = json.dumps({"a": record.id, "c": channel, "r": url})
            view = edit_tags_modal(deps.framework, selected_ids=selected, private_metadata=meta)
            try:
                client.views_open(trigger_id=body["trigger_id"], view=view)
            except SlackApiError as exc:
                if exc.response.get("error") != "expired_trigger_id":
                    raise
                deps.metrics.api_errors.labels("views.open", "expired_trigger_id").inc()
                deps.delivery.reply(
                    _text("That took a moment too long and Slack closed the window — "
                          "click *Edit tags* again."), user=user, channel=channel,
                    response_url=url)

    @app.view(VIEW_EDIT_TAGS)
    def on_edit_submitted(ack: Ack, body: dict, view: dict) -> None:
        # Nothing selected is a decision too: no objective fits this proposal.
        ids = selected_ids_from_state(view.get("state", {}).get("values", {}))
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            alignment_id = int(meta["a"])
        except (ValueError, KeyError, TypeError):
            ack(response_action="errors",
                errors={BLOCK_EDIT_TAGS: "This form is out of date — run /align again."})
            return
        ack()
        user = body["user"]["id"]
        channel, url = meta.get("c"), meta.get("r")
        notify = lambda m: deps.delivery.reply(m, user=user, channel=channel)  # noqa: E731
        with reporting_failures("align_edit_tags", deps.metrics, notify):
            try:
                decided = deps.alignments.decide(alignment_id, user_id=user, ids=ids)
            except UnknownObjectives as exc:
                notify(_text(str(exc)))
                return
            deps.delivery.reply(_decided_message(deps, decided), user=user, channel=channel,
                                response_url=url, replace_original=True)

    @app.action(ACTION_ALIGN_TRACK)
    def on_track(ack: Ack, body: dict) -> None:
        ack()
        user, channel, url = _context(body)
        notify = lambda m: deps.delivery.reply(m, user=user, channel=channel)  # noqa: E731
        with reporting_failures("align_track", deps.metrics, notify):
            alignment_id = _alignment_id(body)
            if deps.on_track is None or alignment_id is None:
                deps.delivery.reply(
                    _text("Tracking initiatives isn't switched on in this workspace yet."),
                    user=user, channel=channel, response_url=url)
                return
            deps.on_track(body, alignment_id)
