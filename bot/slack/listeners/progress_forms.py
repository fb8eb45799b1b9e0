"""The modals of /progress: opening them (from the command, buttons, App Home and /align's
"Track as initiative"), switching initiatives in the update form, and their submissions.

A submission is checked and saved *before* the ack, so a problem (a percent of 150, an
unknown objective, someone else's initiative) is shown on the right field of the still-open
form, with what was typed kept; it is claimed before it is saved, so a replay of it saves
nothing (:meth:`~bot.slack.deps.SlackDeps.first_submission`). Confirmations, the nudge DM's
update, the new owner's DM and the App Home refresh come after the ack, in ``deps.later``.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from ...progress.service import MAX_NOTE, MAX_TITLE, ProgressError, ProgressService
from ...services.ownership import NotYours
from ...slack_api.views import update_view
from ...storage.progress_records import NewInitiative
from ...storage.vocabulary import Cadence, UpdateStatus
from ..blocks import Message
from ..blocks.base import mention
from ..blocks.progress import (
    failure_reason,
    notice,
    objective_ids_text,
    service_text,
    title_of,
)
from ..blocks.progress_modals import (
    new_initiative_modal,
    parse_percent,
    read_new_initiative_form,
    read_update_form,
    update_modal,
)
from ..blocks.text import one_line, shorten
from ..deps import SlackDeps
from ..durable import Job, Plan, Ticket, kind_of
from ..guard import reporting_failures
from ..ids import (
    BLOCK_NEW_CADENCE,
    BLOCK_NEW_OBJECTIVES,
    BLOCK_NEW_OWNER,
    BLOCK_NEW_TITLE,
    VIEW_PROGRESS_NEW,
    VIEW_PROGRESS_UPDATE,
)
from .home import publish_home
from .progress_nudge import change_nudge, item_done

log = logging.getLogger("fwbot.slack")
MAX_METADATA = 3000
TRACK_TITLE_CHARS = 100
ERROR_CHARS = 300


def service(deps: SlackDeps) -> ProgressService:
    if deps.progress is None:
        raise RuntimeError("progress tracking is not configured")
    return deps.progress


@dataclass(frozen=True)
class Where:
    """Who acts and where to answer: the channel and response URL of the command or
    button, the nudge DM (channel, ts) the action came from, or the App Home."""

    user: str
    channel: str | None = None
    response_url: str | None = None
    nudge: tuple[str, str] | None = None
    home: bool = False

    def tell(self, deps: SlackDeps, message: Message) -> None:
        """Privately: through the response URL, else ephemeral in the channel, else DM."""
        deps.delivery.reply(
            message, user=self.user, channel=self.channel, response_url=self.response_url
        )

    def notify(self, deps: SlackDeps) -> Callable[[Message], None]:
        """For failures: a fresh message (the response URL may be the problem)."""
        return lambda m: deps.delivery.reply(m, user=self.user, channel=self.channel)

    def metadata(self, **extra: Any) -> str:
        """This, plus ``extra``, as a modal's private_metadata (≤ 3000 characters)."""
        data: dict[str, Any] = {
            "c": self.channel,
            "r": self.response_url,
            "n": list(self.nudge) if self.nudge else None,
            "h": 1 if self.home else None,
            **extra,
        }
        data = {k: v for k, v in data.items() if v is not None}
        text = json.dumps(data, separators=(",", ":"))
        if len(text) > MAX_METADATA:
            data.pop("r", None)
            text = json.dumps(data, separators=(",", ":"))
        return text

    @classmethod
    def of_view(cls, user: str, private_metadata: str | None) -> tuple[Where, dict[str, Any]]:
        try:
            data = json.loads(private_metadata or "{}")
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        nudge = data.get("n")
        nudge = (
            (str(nudge[0]), str(nudge[1])) if isinstance(nudge, list) and len(nudge) == 2 else None
        )
        return cls(user, data.get("c"), data.get("r"), nudge, bool(data.get("h"))), data


def open_view(deps: SlackDeps, trigger_id: str | None, view: View, where: Where) -> bool:
    """``views.open``; when Slack says the trigger expired, the user is asked to try again."""
    if deps.delivery.open_view(trigger_id, view):
        return True
    where.tell(
        deps, notice("That took a moment too long and Slack closed the window — please try again.")
    )
    return False


def open_update(deps: SlackDeps, initiative_id: int, trigger_id: str | None, where: Where) -> None:
    """The "Post an update" modal on one initiative (the owner's or, for admins, anyone's);
    ProgressError (for the caller to tell) when it is not the user's to change."""
    progress = service(deps)
    record = progress.changeable(initiative_id, where.user)
    if record.status != "active":
        where.tell(deps, notice(f"{title_of(record)} is closed, so it needs no more updates."))
        return
    view = update_modal(
        progress.mine(where.user),
        record,
        framework=deps.framework,
        now=progress.clock(),
        private_metadata=where.metadata(i=record.id),
    )
    open_view(deps, trigger_id, view, where)


def open_new(
    deps: SlackDeps,
    trigger_id: str | None,
    where: Where,
    *,
    title: str = "",
    description: str = "",
    objective_ids: tuple[str, ...] = (),
    alignment_id: int | None = None,
) -> None:
    view = new_initiative_modal(
        deps.framework,
        title=title,
        description=description,
        objective_ids=objective_ids,
        owner_id=where.user,
        private_metadata=where.metadata(a=alignment_id),
    )
    open_view(deps, trigger_id, view, where)


def on_track(deps: SlackDeps, body: dict, alignment_id: int) -> None:
    """/align's "Track as initiative": the new-initiative modal, filled from the alignment."""
    where = Where(
        body["user"]["id"], (body.get("channel") or {}).get("id"), body.get("response_url")
    )
    record = deps.alignments.find(alignment_id)
    if record is None:
        where.tell(deps, notice("I can't find that alignment any more — run /align again."))
        return
    first = next((line for line in record.text.splitlines() if line.strip()), record.text)
    ids = record.final_ids if record.final_ids is not None else record.suggested_ids
    open_new(
        deps,
        body.get("trigger_id"),
        where,
        title=shorten(first, TRACK_TITLE_CHARS),
        description=record.text.strip(),
        objective_ids=tuple(ids),
        alignment_id=record.id,
    )


def _own_alignment(deps: SlackDeps, value: object, user_id: str) -> int | None:
    """The alignment a new-initiative form says it came from, if the submitter may link it
    (theirs, or they are an admin): the form's metadata comes back from the client."""
    if not isinstance(value, int):
        return None
    try:
        record = deps.alignments.owned(value, user_id)
    except NotYours:
        log.warning("a new-initiative form named an alignment not the submitter's; not linked")
        return None
    return record.id if record is not None else None


def switch_initiative(deps: SlackDeps, body: dict) -> None:
    """The update form's initiative menu changed: show that initiative's form instead."""
    user, view = body["user"]["id"], body.get("view") or {}
    where, _ = Where.of_view(user, view.get("private_metadata"))
    with reporting_failures("progress_switch", deps.metrics, where.notify(deps)):
        option = (body.get("actions") or [{}])[0].get("selected_option") or {}
        value = str(option.get("value") or "")
        if not value.isdigit():
            return
        progress = service(deps)
        try:
            record = progress.changeable(int(value), user)
        except ProgressError as exc:
            where.tell(deps, notice(service_text(str(exc))))
            return
        new = update_modal(
            progress.mine(user),
            record,
            framework=deps.framework,
            now=progress.clock(),
            private_metadata=where.metadata(i=record.id),
        )
        if not update_view(deps.delivery.client, view.get("id"), view.get("hash"), new):
            log.info("update form changed meanwhile; not replaced")  # a newer switch won


# ---- submissions ------------------------------------------------------------------------------


def _plain(message: str) -> str:
    """A service message for a form error (plain text: mentions become @ids)."""
    return shorten(re.sub(r"<@([A-Z0-9]+)(?:\|[^>]*)?>", r"@\1", message), ERROR_CHARS)


def _unexpected(name: str, deps: SlackDeps) -> str:
    ref = uuid.uuid4().hex[:8]
    log.exception("%s failed (ref %s)", name, ref)
    deps.metrics.failures.labels(name).inc()
    return f"Sorry — I couldn't save this just now. Please try again. (ref {ref})"


def submit_update(deps: SlackDeps, ack: Callable[..., Any], body: dict, view: dict) -> None:
    """Check and record a "Post an update" submission; errors go back to the form."""
    form = read_update_form((view.get("state") or {}).get("values") or {})
    where, meta = Where.of_view(body["user"]["id"], view.get("private_metadata"))
    initiative_id = form.initiative_id or (
        meta.get("i") if isinstance(meta.get("i"), int) else None
    )
    errors: dict[str, str] = {}
    if initiative_id is None:
        errors[form.initiative_block] = "Please choose an initiative."
    if UpdateStatus.lookup(form.status) is None:
        errors[form.status_block] = "Please choose a status."
    percent = None
    try:
        percent = parse_percent(form.percent)
    except ValueError:
        errors[form.percent_block] = "Please enter a whole number from 0 to 100."
    if len(form.note.strip()) > MAX_NOTE:
        errors[form.note_block] = f"Please keep the note under {MAX_NOTE:,} characters."
    if errors or initiative_id is None or form.status is None:
        ack(response_action="errors", errors=errors)
        return
    if not deps.first_submission(body):  # a replay: closed as before, nothing written
        ack()
        return
    try:
        service(deps).post_update(
            initiative_id, actor=where.user, status=form.status, percent=percent, note=form.note
        )
    except ProgressError as exc:
        ack(response_action="errors", errors={form.initiative_block: _plain(str(exc))})
        return
    except Exception:
        ack(
            response_action="errors",
            errors={form.initiative_block: _unexpected("progress_update_submit", deps)},
        )
        return
    # Saved: the confirmation is kept (before the ack) so that a crash does not lose it.
    deps.run_durably(
        kind_of("view", VIEW_PROGRESS_UPDATE), {**body, "fwbot": {"initiative_id": initiative_id}}
    )
    ack()


def plan_after_update(deps: SlackDeps) -> Plan:
    return _plan_after(deps, _after_update)


def _plan_after(deps: SlackDeps, then: Callable[[SlackDeps, Where, int], None]) -> Plan:
    """The confirmation after a saved form: ``then(deps, where, initiative_id)``, with the
    initiative id the listener added to the kept body."""

    def plan(body: dict, ticket: Ticket) -> Job | None:
        initiative_id = (body.get("fwbot") or {}).get("initiative_id")
        if not isinstance(initiative_id, int):
            return None
        where, _ = Where.of_view(
            body["user"]["id"], (body.get("view") or {}).get("private_metadata")
        )
        return lambda: then(deps, where, initiative_id)

    return plan


def _after_update(deps: SlackDeps, where: Where, initiative_id: int) -> None:
    with reporting_failures(
        "progress_after_update",
        deps.metrics,
        where.notify(deps),
        summary="Your update is saved, but I couldn't confirm it.",
    ):
        record = service(deps).get(initiative_id)
        label = record.last_status.label if record.last_status else ""
        percent = f" · {record.last_percent}%" if record.last_percent is not None else ""
        done = f"Updated: {label}{percent} — thank you!"
        shown = change_nudge(deps, where, item_done(initiative_id, done), done)
        if where.home:  # the refreshed App Home shows the update
            publish_home(deps, deps.delivery.client, where.user)
        elif not shown:
            where.tell(
                deps,
                notice(
                    f"Thank you! Your update on {title_of(record)} is posted: {label}{percent}."
                ),
            )


def submit_new(deps: SlackDeps, ack: Callable[..., Any], body: dict, view: dict) -> None:
    """Check and create a "New initiative" submission; errors go back to the form."""
    form = read_new_initiative_form((view.get("state") or {}).get("values") or {})
    where, meta = Where.of_view(body["user"]["id"], view.get("private_metadata"))
    progress = service(deps)
    errors: dict[str, str] = {}
    title = one_line(form.title)
    if not title:
        errors[BLOCK_NEW_TITLE] = "Please give the initiative a title."
    elif len(title) > MAX_TITLE:
        errors[BLOCK_NEW_TITLE] = f"Please keep the title under {MAX_TITLE} characters."
    objective_ids: tuple[str, ...] = ()
    try:
        objective_ids = progress.check_objectives(form.objective_ids)
    except ProgressError as exc:
        errors[BLOCK_NEW_OBJECTIVES] = _plain(str(exc))
    if not form.owner_id:
        errors[BLOCK_NEW_OWNER] = "Please choose who owns it."
    cadence = Cadence.lookup(form.cadence)
    if cadence is None:
        errors[BLOCK_NEW_CADENCE] = "Please choose how often to post updates."
    if errors or not form.owner_id or cadence is None:
        ack(response_action="errors", errors=errors)
        return
    if not deps.first_submission(body):  # a replay: closed as before, nothing written
        ack()
        return
    alignment = _own_alignment(deps, meta.get("a"), where.user)
    new = NewInitiative(
        title=title,
        owner_id=form.owner_id,
        objective_ids=objective_ids,
        cadence=cadence,
        description=form.description,
        source_alignment_id=alignment,
    )
    try:
        record = progress.create(new, actor=where.user)
    except ProgressError as exc:
        ack(response_action="errors", errors={BLOCK_NEW_TITLE: _plain(str(exc))})
        return
    except Exception:
        ack(
            response_action="errors",
            errors={BLOCK_NEW_TITLE: _unexpected("progress_new_submit", deps)},
        )
        return
    deps.run_durably(
        kind_of("view", VIEW_PROGRESS_NEW), {**body, "fwbot": {"initiative_id": record.id}}
    )
    ack()


def plan_after_create(deps: SlackDeps) -> Plan:
    return _plan_after(deps, _after_create)


def _after_create(deps: SlackDeps, where: Where, initiative_id: int) -> None:
    with reporting_failures(
        "progress_after_create",
        deps.metrics,
        where.notify(deps),
        summary="The initiative is created, but I couldn't confirm it.",
    ):
        record = service(deps).get(initiative_id)
        every = record.cadence.phrase
        ids = objective_ids_text(record)
        if record.owner_id == where.user:
            text = (
                f"Done! {title_of(record)} is tracked, serving {ids}. I'll ask you for an "
                f"update {every}; `/progress` posts one any time."
            )
        else:
            text = (
                f"Done! {title_of(record)} is tracked, serving {ids}. "
                f"{mention(record.owner_id)} owns it; I've let them know."
            )
        if where.home:
            publish_home(deps, deps.delivery.client, where.user)
        else:
            where.tell(deps, notice(text))
        if record.owner_id != where.user:
            tell_user(
                deps,
                where,
                record.owner_id,
                f"Hi {mention(record.owner_id)}! {mention(where.user)} made you the owner "
                f"of {title_of(record)} (objectives {ids}). I'll ask you for a short "
                f"update {every}. `/progress` posts one, `/progress list` shows all yours.",
            )


def tell_user(deps: SlackDeps, where: Where, user: str, text: str) -> None:
    """A DM to ``user`` (a new owner, a lead); if Slack refuses, ``where.user`` hears why."""
    try:
        deps.delivery.post(user, [notice(text)])
    except SlackApiError as exc:
        reason = failure_reason(str(exc.response.get("error", "unknown")))
        where.tell(deps, notice(f"I couldn't tell {mention(user)} by direct message: {reason}."))
