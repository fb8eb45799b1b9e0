"""/align, the "Align this message" shortcut, and the buttons and modal of an /align result."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import App

from retrieval.align import AlignInputError

from ...services.alignments import UnknownObjectives
from ...services.ownership import NotYours
from ...services.proposal_files import slack_files_reader
from ...storage.store import AlignmentRecord, UnknownRecord
from ..blocks import (
    Message,
    alignment_message,
    edit_tags_modal,
    escape,
    selected_ids_from_state,
    shared_alignment_message,
    usage_message,
)
from ..deps import SlackDeps
from ..durable import Job, Plan, Ticket
from ..features import Feature
from ..guard import refuse, reporting_failures
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
from .kept import kept, kept_action

log = logging.getLogger("fwbot.slack")


def _text(summary: str) -> Message:
    return Message(text=summary, blocks=[])


def run_alignment(
    deps: SlackDeps,
    text: str,
    *,
    user: str,
    channel: str | None,
    response_url: str | None,
    read_note: str | None = None,
) -> None:
    """Align ``text`` and reply privately with the tags and their buttons (and ``read_note``:
    which documents were read)."""

    def reply(message: Message, **kw) -> None:
        deps.delivery.reply(message, user=user, channel=channel, response_url=response_url, **kw)

    with reporting_failures(
        "align", deps.metrics, reply, summary="I couldn't align that proposal."
    ):
        try:
            with deps.metrics.timed("align"):
                run = deps.alignments.align(text, user_id=user, channel_id=channel)
        except AlignInputError as exc:
            reply(_text(str(exc)))
            return
        reply(
            alignment_message(
                run.alignment,
                deps.framework,
                alignment_id=run.alignment_id,
                proposal=text,
                read_note=read_note,
            )
        )


def run_file_alignment(
    deps: SlackDeps,
    text: str,
    files: list[dict],
    *,
    user: str,
    channel: str | None,
    response_url: str | None,
) -> None:
    """Align a message's text together with its documents (each fetched and read); files that
    can't be read are named with the reason, alone when nothing is left to align."""

    def reply(message: Message) -> None:
        deps.delivery.reply(message, user=user, channel=channel, response_url=response_url)

    with reporting_failures(
        "align_files", deps.metrics, reply, summary="I couldn't read the files of that message."
    ):
        read = slack_files_reader(deps.delivery.client)(files)
        proposal = read.proposal(text)
        if not proposal:
            reply(_text(escape(read.note() or "That message has no text to align.")))
            return
        run_alignment(
            deps,
            proposal,
            user=user,
            channel=channel,
            response_url=response_url,
            read_note=read.note(),
        )


def _decided_message(deps: SlackDeps, record) -> Message:
    alignment = deps.alignments.stored(record)
    return alignment_message(
        alignment,
        deps.framework,
        alignment_id=record.id,
        proposal=record.text,
        status=record.status,
        decided_ids=list(record.final_ids or ()),
    )


@dataclass(frozen=True)
class Click:
    """Who pressed a button, where, and the response URL to answer through."""

    user: str
    channel: str | None
    response_url: str | None

    @classmethod
    def of(cls, body: dict) -> Click:
        return cls(
            body["user"]["id"], (body.get("channel") or {}).get("id"), body.get("response_url")
        )

    def reply(self, deps: SlackDeps, message: Message, **kw) -> None:
        deps.delivery.reply(
            message, user=self.user, channel=self.channel, response_url=self.response_url, **kw
        )

    def notify(self, deps: SlackDeps) -> Callable[[Message], None]:
        """For failures: a fresh message to the user (the response URL may be the problem)."""
        return lambda m: deps.delivery.reply(m, user=self.user, channel=self.channel)


def _alignment_id(body: dict) -> int | None:
    try:
        return int(body["actions"][0]["value"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def plan_command(deps: SlackDeps) -> Plan:
    def plan(command: dict, ticket: Ticket) -> Job | None:
        text = plain_text(command.get("text"))
        if not text:
            return None  # the usage went with the ack
        return lambda: run_alignment(
            deps,
            text,
            user=command["user_id"],
            channel=command.get("channel_id"),
            response_url=command.get("response_url"),
        )

    return plan


def plan_message_shortcut(deps: SlackDeps) -> Plan:
    """ "Align this message": its text, with its documents when it has some."""

    def plan(shortcut: dict, ticket: Ticket) -> Job | None:
        user = shortcut["user"]["id"]
        channel = (shortcut.get("channel") or {}).get("id")
        message = shortcut.get("message") or {}
        text = plain_text(message.get("text"))
        files = [f for f in message.get("files") or () if isinstance(f, dict)]
        url = shortcut.get("response_url")
        if files:
            return lambda: run_file_alignment(
                deps, text, files, user=user, channel=channel, response_url=url
            )
        if not text:
            return lambda: deps.delivery.reply(
                _text("That message has no text to align."),
                user=user,
                channel=channel,
                response_url=url,
            )
        return lambda: run_alignment(deps, text, user=user, channel=channel, response_url=url)

    return plan


def plan_edit_tags(deps: SlackDeps) -> Plan:
    """The *Edit tags* form, submitted: record the decision and show it."""

    def plan(body: dict, ticket: Ticket) -> Job | None:
        view = body.get("view") or {}
        # Nothing selected is a decision too: no objective fits this proposal.
        ids = selected_ids_from_state(view.get("state", {}).get("values", {}))
        meta = _form_metadata(view)
        if meta is None:
            return None
        alignment_id = int(meta["a"])
        user = body["user"]["id"]
        channel, url = meta.get("c"), meta.get("r")

        def job() -> None:
            notify = lambda m: deps.delivery.reply(m, user=user, channel=channel)  # noqa: E731
            with reporting_failures("align_edit_tags", deps.metrics, notify):
                try:
                    decided = deps.alignments.decide(alignment_id, user_id=user, ids=ids)
                except NotYours as exc:
                    refuse("align_edit_tags", deps.metrics, notify, str(exc))
                    return
                except UnknownObjectives as exc:
                    notify(_text(str(exc)))
                    return
                except UnknownRecord:
                    notify(_text("I can't find that alignment any more — run /align again."))
                    return
                deps.delivery.reply(
                    _decided_message(deps, decided),
                    user=user,
                    channel=channel,
                    response_url=url,
                    replace_original=True,
                )

        return job

    return plan


def _form_metadata(view: dict) -> dict | None:
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        int(meta["a"])
        return meta
    except (ValueError, KeyError, TypeError):
        return None


def register(app: App, deps: SlackDeps) -> None:
    def usage_when_empty(command: dict) -> dict[str, Any] | None:
        """A bare /align is answered in its ack: how to use it."""
        if plain_text(command.get("text")):
            return None
        usage = usage_message(deps.framework)
        return {"response_type": "ephemeral", "text": usage.text, "blocks": usage.blocks}

    kept(
        app,
        deps,
        "command",
        COMMAND_ALIGN,
        plan_command(deps),
        answer_now=usage_when_empty,
        deferrable=True,
    )
    kept(
        app, deps, "shortcut", SHORTCUT_ALIGN_MESSAGE, plan_message_shortcut(deps), deferrable=True
    )

    def button(action_id: str, name: str):
        """Register ``handle(click, record, body)`` for a button of an /align result: kept,
        acked, then the alignment found (or said to be gone), the user refused unless it is
        theirs (or they are an admin), and any failure reported."""
        Handler = Callable[[Click, AlignmentRecord, dict], None]

        def register_handler(handle: Handler) -> Handler:
            def plan(body: dict, ticket: Ticket) -> Job | None:
                def job() -> None:
                    click = Click.of(body)
                    with reporting_failures(name, deps.metrics, click.notify(deps)):
                        try:
                            record = deps.alignments.owned(_alignment_id(body), click.user)
                        except NotYours as exc:
                            refuse(name, deps.metrics, lambda m: click.reply(deps, m), str(exc))
                            return
                        if record is None:
                            click.reply(
                                deps,
                                _text("I can't find that alignment any more — run /align again."),
                            )
                            return
                        handle(click, record, body)

                return job

            kept_action(app, deps, action_id, plan)
            return handle

        return register_handler

    @button(ACTION_ALIGN_SHARE, "align_share")
    def share(click: Click, record: AlignmentRecord, body: dict) -> None:
        record = deps.alignments.share(record.id, user_id=click.user)
        decided = None if record.final_ids is None else list(record.final_ids)
        message = shared_alignment_message(
            deps.alignments.stored(record),
            deps.framework,
            user_id=record.user_id,  # who ran it (an admin may share it for them)
            proposal=record.text,
            status=record.status,
            decided_ids=decided,
        )
        click.reply(deps, message, in_channel=True)

    @button(ACTION_ALIGN_CONFIRM, "align_confirm")
    def confirm(click: Click, record: AlignmentRecord, body: dict) -> None:
        decided = deps.alignments.decide(
            record.id, user_id=click.user, ids=list(record.suggested_ids)
        )
        click.reply(deps, _decided_message(deps, decided), replace_original=True)

    @button(ACTION_ALIGN_EDIT, "align_edit")
    def edit(click: Click, record: AlignmentRecord, body: dict) -> None:
        selected = list(record.final_ids if record.final_ids is not None else record.suggested_ids)
        meta = json.dumps({"a": record.id, "c": click.channel, "r": click.response_url})
        view = edit_tags_modal(deps.framework, selected_ids=selected, private_metadata=meta)
        if not deps.delivery.open_view(body.get("trigger_id"), view):
            click.reply(
                deps,
                _text(
                    "That took a moment too long and Slack closed the window "
                    "— click *Edit tags* again."
                ),
            )

    @button(ACTION_ALIGN_TRACK, "align_track")
    def track(click: Click, record: AlignmentRecord, body: dict) -> None:
        track = deps.extensions.track if deps.extensions else None
        if track is None:
            click.reply(
                deps, _text("Tracking initiatives isn't switched on in this workspace yet.")
            )
            return
        track(body, record.id)

    def errors_when_out_of_date(body: dict) -> dict[str, Any] | None:
        if _form_metadata(body.get("view") or {}) is not None:
            return None
        return {
            "response_action": "errors",
            "errors": {BLOCK_EDIT_TAGS: "This form is out of date — run /align again."},
        }

    kept(
        app, deps, "view", VIEW_EDIT_TAGS, plan_edit_tags(deps), answer_now=errors_when_out_of_date
    )


FEATURE = Feature("align", register)
