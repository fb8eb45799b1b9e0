"""Progress tracking in Slack: `/progress`, the buttons of its messages, nudge DMs and App
Home, its two modals, /align's "Track as initiative" and the App Home section.

Every listener acks at once and hands the rest to ``deps.later`` (commands, buttons), or —
for modal submissions — checks and saves before the ack so problems show on the form
(:mod:`.progress_forms`). The service decides who may do what.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import Ack, App
from slack_sdk.models.blocks import Block

from ...progress.service import ProgressError
from ..blocks.base import header, sections
from ..blocks.progress import (
    notice,
    nudge_snoozed,
    progress_home_blocks,
    service_text,
    slack_time,
)
from ..deps import SlackDeps
from ..durable import Job, Ticket, kind_of
from ..features import Feature
from ..guard import reporting_failures
from ..ids import (
    ACTION_PROGRESS_NEW,
    ACTION_PROGRESS_NO_CHANGE,
    ACTION_PROGRESS_SNOOZE_TOMORROW,
    ACTION_PROGRESS_SNOOZE_WEEK,
    ACTION_PROGRESS_UPDATE,
    ACTION_UPDATE_INITIATIVE,
    COMMAND_PROGRESS,
    VIEW_PROGRESS_NEW,
    VIEW_PROGRESS_UPDATE,
)
from .home import publish_home
from .kept import kept, kept_action
from .progress_commands import run_command
from .progress_forms import (
    Where,
    on_track,
    open_new,
    open_update,
    plan_after_create,
    plan_after_update,
    service,
    submit_new,
    submit_update,
    switch_initiative,
)
from .progress_nudge import Change, change_nudge, item_done, refresh_list

log = logging.getLogger("fwbot.slack")


def where_clicked(body: dict) -> Where:
    """Who clicked, and where: a message (its channel, response URL and — in a DM — the
    message itself, which may be a nudge) or App Home."""
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    in_message = container.get("type") == "message" and not container.get("is_ephemeral")
    nudge = (channel, ts) if in_message and channel and ts else None
    return Where(
        body["user"]["id"],
        channel,
        body.get("response_url"),
        nudge,
        home=container.get("type") == "view" and (body.get("view") or {}).get("type") == "home",
    )


def _clicked_initiative(body: dict) -> int:
    """The initiative id a button carries; ProgressError (told to the user) if none."""
    try:
        return int((body.get("actions") or [{}])[0].get("value"))
    except (TypeError, ValueError):
        raise ProgressError(
            "I can't tell which initiative that was — try `/progress list`."
        ) from None


def home_section(deps: SlackDeps) -> Callable[[str], list[Block]]:
    """ "Your initiatives" for App Home; a failure shows a line instead of breaking Home."""

    def section(user: str) -> list[Block]:
        try:
            progress = service(deps)
            return progress_home_blocks(progress.mine(user), now=progress.clock())
        except Exception:
            log.exception("could not list the initiatives of %s for App Home", user)
            return [
                header("Your initiatives"),
                *sections(
                    "I couldn't load your initiatives just now — `/progress list` shows them."
                ),
            ]

    return section


def register(app: App, deps: SlackDeps) -> None:
    kept(
        app,
        deps,
        "command",
        COMMAND_PROGRESS,
        lambda command, ticket: lambda: run_command(deps, command),
    )
    kept_action(
        app,
        deps,
        ACTION_UPDATE_INITIATIVE,
        lambda body, ticket: lambda: switch_initiative(deps, body),
    )
    # The forms are checked and saved before the ack; their confirmations are kept.
    deps.plan(kind_of("view", VIEW_PROGRESS_UPDATE))(plan_after_update(deps))
    deps.plan(kind_of("view", VIEW_PROGRESS_NEW))(plan_after_create(deps))

    def button(action_id: str, name: str):
        """Register ``handle(where, body)`` for a button: kept, acked, then run with any
        ProgressError told to the user and any other failure reported."""

        def register_handler(handle: Callable[[Where, dict], None]):
            def plan(body: dict, ticket: Ticket) -> Job | None:
                def job() -> None:
                    where = where_clicked(body)
                    with reporting_failures(name, deps.metrics, where.notify(deps)):
                        try:
                            handle(where, body)
                        except ProgressError as exc:
                            where.tell(deps, notice(service_text(str(exc))))

                return job

            kept_action(app, deps, action_id, plan)
            return handle

        return register_handler

    def after_change(where: Where, change: Change | None, text: str) -> None:
        """Show a change where the click was: the App Home, the message clicked (``change``
        applied to it as the bot's records and Slack have it, never as the request says), or
        else a reply saying ``text``."""
        if where.home:
            publish_home(deps, deps.delivery.client, where.user)
            return
        if change is not None:
            if where.nudge:
                if change_nudge(deps, where, change, text):
                    return
            elif refresh_list(deps, where, change):  # an ephemeral list: built anew
                return
        where.tell(deps, notice(text))

    @button(ACTION_PROGRESS_UPDATE, "progress_post_update")
    def post_update(where: Where, body: dict) -> None:
        open_update(deps, _clicked_initiative(body), body.get("trigger_id"), where)

    @button(ACTION_PROGRESS_NO_CHANGE, "progress_no_change")
    def no_change(where: Where, body: dict) -> None:
        initiative_id = _clicked_initiative(body)
        update = service(deps).no_change(initiative_id, actor=where.user)
        percent = f" · {update.percent}%" if update.percent is not None else ""
        text = f"No change: still {update.status.label}{percent} — thank you!"
        after_change(where, item_done(initiative_id, text), text)

    def snooze(spec: str):
        def handle(where: Where, body: dict) -> None:
            prefs = service(deps).snooze(where.user, spec)
            until = prefs.snoozed_until
            text = f"Snoozed until {slack_time(until)}." if until else "Snooze ended."
            snoozed = (lambda blocks: nudge_snoozed(blocks, until)) if until else None
            after_change(where, snoozed if where.nudge else None, text)

        return handle

    button(ACTION_PROGRESS_SNOOZE_TOMORROW, "progress_snooze")(snooze("tomorrow"))
    button(ACTION_PROGRESS_SNOOZE_WEEK, "progress_snooze")(snooze("next week"))

    @button(ACTION_PROGRESS_NEW, "progress_new")
    def new(where: Where, body: dict) -> None:
        open_new(deps, body.get("trigger_id"), where)

    @app.view(VIEW_PROGRESS_UPDATE)
    def on_update_submitted(ack: Ack, body: dict, view: dict) -> None:
        submit_update(deps, ack, body, view)

    @app.view(VIEW_PROGRESS_NEW)
    def on_new_submitted(ack: Ack, body: dict, view: dict) -> None:
        submit_new(deps, ack, body, view)


FEATURE = Feature(
    "progress",
    register,
    home_section=home_section,
    track=lambda deps: lambda body, alignment_id: on_track(deps, body, alignment_id),
)
