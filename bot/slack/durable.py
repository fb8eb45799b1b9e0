"""Nothing acknowledged is lost: work is written down before Slack gets its ack.

Slack does not send again what it got a 200 for, so a process killed between the ack and the
reply would lose the question. Every request the bot acts on after its ack is therefore
recorded first (:class:`~bot.storage.work_store.WorkStore`), then acknowledged, then worked,
then marked done:

* **Events** are acknowledged by bolt before any listener runs, so the global middleware
  (:func:`receive_requests`) records them — in the same insert as the duplicate check it
  always made — and hands the listener a :class:`Ticket` in ``context``.
* **Commands, shortcuts, buttons and forms** are acknowledged by their listener's ``ack()``:
  the listener calls :meth:`~bot.slack.deps.SlackDeps.run_durably` *before* ``ack()``.
* **Forms that write before their ack** (so a problem shows on the form) first claim the
  submission (:meth:`~bot.slack.deps.SlackDeps.first_submission`, :func:`submission_key`):
  a replay of a signed submission within its five minutes is acknowledged and writes nothing.

What to do with a request is a *plan*: a plain function of the request body (and its ticket)
that returns the job to run, or None when there is nothing to do. A listener and the recovery
use the same plan, so a request recovered after a crash is handled exactly as it would have
been. Plans are registered by kind (``event:app_mention``, ``command:/align``,
``action:<action_id>``, ``view:<callback_id>``, ``shortcut:<callback_id>``), which
:func:`kind_of` alone builds; :func:`bot.slack.listeners.kept.kept` registers a plan and the
listener that keeps its requests in one call.

Work left undone by a process that died (on this host: its pid is gone; elsewhere: its lease
ended) is taken over by a Slack retry of the same event, or by :func:`recover`, which the
server runs at start and every minute. A taken-over ticket is ``resumed``: replies in
conversations carry metadata naming the ticket and are looked for in the history before they
are posted again. Private replies (ephemeral, ``response_url``) cannot be looked up: they are
sent again only when the dead process had not marked the work done, which a reply that
arrived and a mark that did not leaves a window of milliseconds for.

A replica with more work than it has room for hands new work back (:meth:`Inbox.defer`,
:mod:`bot.slack.backpressure`): taken over, it is done as new (``deferred``: nothing of it was
posted).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from slack_bolt import BoltRequest, BoltResponse

from ..slack_api.events import REPLY_EVENT
from ..storage.claimers import claimer, claimer_is_dead, run_ended, run_started
from ..storage.work_store import WorkItem, WorkStore
from . import request_log
from .metrics import Metrics

log = logging.getLogger("fwbot.slack")

LEASE = timedelta(minutes=15)  # another host's undone work is taken over after this
SETTLE = 20.0  # seconds: the Web API client's default timeout (15 s) and a margin
KEEP = timedelta(days=1)  # Slack retries an event for about an hour; rows are kept a day
PRUNE_EVERY = timedelta(hours=1)
TICKET = "fwbot_ticket"  # the key of the ticket in bolt's context
TAKEN = "taken"  # ... once a listener has taken it

Job = Callable[[], object]


@dataclass(frozen=True, slots=True)
class Ticket:
    """One recorded request. ``resumed``: its work was started by a process that died, so
    parts of it may have happened: look before posting again."""

    key: str
    kind: str
    received_at: float  # seconds since the epoch (Slack's clock: where history look-ups start)
    resumed: bool = False
    # A resumed ticket's work waits until then (epoch seconds): a post the dead process had
    # sent may still be on its way into the history until its client would have timed out.
    look_after: float = 0.0
    # The message the dead process was streaming the reply into (a resumed ticket's), if any.
    reply_ts: str | None = None
    # Taken over after a full replica deferred it (bot.slack.backpressure): told "busy" then.
    deferred: bool = False

    @property
    def reply_metadata(self) -> dict[str, Any]:
        return {"event_type": REPLY_EVENT, "event_payload": {"request": self.key}}

    @property
    def look_since(self) -> float | None:
        """Where to look for a reply already posted, or None: nothing to look for."""
        return self.received_at if self.resumed else None


Plan = Callable[[dict, Ticket], Job | None]

RequestType = Literal["event", "command", "action", "view", "shortcut"]


def kind_of(request_type: RequestType, name: str) -> str:
    """The kind a request is kept and planned under: ``kind_of("command", "/align")`` is
    ``command:/align``; ``name`` is the event type, command, action id or callback id."""
    return f"{request_type}:{name}"


def request_key(body: Mapping[str, Any]) -> str:
    """The key of a request: the event id, else the interaction's trigger id (unique per
    click or command), else a fresh id (recorded, never deduplicated)."""
    if body.get("type") == "event_callback" and body.get("event_id"):
        return str(body["event_id"])
    trigger = body.get("trigger_id")
    return f"trigger:{trigger}" if trigger else f"request:{uuid.uuid4().hex}"


def submission_key(body: Mapping[str, Any]) -> str:
    """The key of a form submission (``view_submission``) that a replay of it repeats and a
    second genuine submission does not: its trigger id (Slack gives each submission a new
    one), else a digest of the whole body (a replay repeats it byte for byte). Apart from
    :func:`request_key`'s keys: the submission's confirmation is kept under that one."""
    trigger = body.get("trigger_id")
    if trigger:
        return f"submitted:{trigger}"
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return f"submitted:{hashlib.sha256(canonical.encode()).hexdigest()}"


def never_answered(event: Mapping[str, Any]) -> bool:
    """Messages the bot never acts on (other bots, edits, joins, deletions, top-level channel
    chatter): with ``message.channels`` they are most events, and need no row. Everything
    else that the question plans look at passes; they decide the rest."""
    if event.get("type") != "message":
        return False
    return bool(
        event.get("bot_id")
        or event.get("subtype") not in (None, "thread_broadcast")
        or (event.get("channel_type") != "im" and not event.get("thread_ts"))
    )


class Inbox:
    """Records requests, hands out tickets, marks them done, finds work left undone."""

    def __init__(
        self,
        store: WorkStore,
        *,
        lease: timedelta = LEASE,
        settle: float = SETTLE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        is_dead: Callable[[str], bool] = claimer_is_dead,
    ) -> None:
        """``settle``: seconds a taken-over request waits before it looks for its reply (the
        Web API client's timeout and a margin: what the dead process sent has landed)."""
        self.store, self.lease, self.clock, self.is_dead = store, lease, clock, is_dead
        self.settle = settle
        self.run_id = uuid.uuid4().hex[:12]
        self.owner = claimer(self.run_id)
        self._lock = threading.Lock()
        self._unmarked: set[str] = set()
        run_started(self.run_id)

    def close(self) -> None:
        """This inbox's undone work counts as left by a dead process from now on."""
        run_ended(self.run_id)

    def receive(self, key: str, kind: str | None, body: dict | None) -> Ticket | None:
        """Record a request; its ticket, or None for a duplicate (seen and done, or in hand).
        ``body`` None: a duplicate check only (nothing to keep), the ticket is not resumable."""
        now = self.clock()
        got = self.store.receive(
            key,
            kind=kind,
            body=body,
            owner=self.owner,
            lease=self.lease,
            is_dead=self.is_dead,
            now=now,
        )
        if got == "duplicate":
            return None
        if got == "resumed":
            log.info("request %s was left undone by a stopped process: taking it over", key)
        resumed = got == "resumed"
        return Ticket(
            key,
            kind or "",
            now.timestamp(),
            resumed=resumed,
            look_after=now.timestamp() + self.settle if resumed else 0.0,
            reply_ts=self._noted_reply(key) if resumed else None,
        )

    def note_reply(self, ticket: Ticket, reply_ts: str) -> None:
        """The reply to ``ticket`` is being streamed into ``reply_ts`` (kept so that a
        restart completes that message; not kept, a restart posts the reply anew)."""
        if not ticket.key:
            return
        try:
            self.store.note_reply(ticket.key, reply_ts)
        except Exception as exc:
            log.warning("could not note the reply of %s (%s)", ticket.key, type(exc).__name__)

    def _noted_reply(self, key: str) -> str | None:
        try:
            return self.store.noted_reply(key)
        except Exception:  # the database was there a moment ago: a new post is the fallback
            return None

    def finish(self, ticket: Ticket) -> None:
        if not ticket.key:
            return
        try:
            self.store.finish(ticket.key, now=self.clock())
        except Exception as exc:  # the database is away: marked by the next recovery pass
            log.warning(
                "could not mark request %s done (%s); will retry", ticket.key, type(exc).__name__
            )
            with self._lock:
                self._unmarked.add(ticket.key)

    def defer(self, ticket: Ticket) -> bool:
        """Hand ``ticket``'s work back undone, for whoever has room to take it over (this
        process's recovery included); False when it could not be (then do it here)."""
        try:
            return bool(ticket.key) and self.store.hand_back(
                ticket.key, owner=self.owner, started=ticket.resumed, now=self.clock()
            )
        except Exception as exc:
            log.warning("could not defer request %s (%s)", ticket.key, type(exc).__name__)
            return False

    def _mark_unmarked(self) -> set[str]:
        """Mark done the work whose mark failed; the keys still unmarked."""
        with self._lock:
            keys, self._unmarked = self._unmarked, set()
        left = set()
        for key in keys:
            try:
                self.store.finish(key, now=self.clock())
            except Exception:
                left.add(key)
        with self._lock:
            self._unmarked |= left
        return left

    def take_over_undone(
        self, *, limit: int = 100, take: int | None = None, handed_back: bool = False
    ) -> list[tuple[WorkItem, Ticket]]:
        """Undone work (of the ``limit`` oldest; ``handed_back``: of the work handed back
        only) whose owner is dead or whose lease ended, now ours, at most ``take`` of it
        (work this process did but could not mark done is marked now, not done again)."""
        unmarked = self._mark_unmarked()
        taken: list[tuple[WorkItem, Ticket]] = []
        for key, _owner, _lease in self.store.unfinished(limit=limit, handed_back=handed_back):
            if key in unmarked:
                continue
            if take is not None and len(taken) >= take:
                break
            item = self.store.take_over(
                key, owner=self.owner, lease=self.lease, is_dead=self.is_dead, now=self.clock()
            )
            if item is not None:
                taken.append(
                    (
                        item,
                        Ticket(
                            item.key,
                            item.kind,
                            item.received_at.timestamp(),
                            resumed=not item.deferred,  # deferred: never started
                            look_after=0.0
                            if item.deferred
                            else self.clock().timestamp() + self.settle,
                            reply_ts=item.reply_ts,
                            deferred=item.deferred,
                        ),
                    )
                )
        return taken


def recover(
    inbox: Inbox,
    plans: Mapping[str, Plan],
    later: Callable[[Job | None, Ticket], None],
    *,
    room: int | None = None,
    handed_back: bool = False,
) -> int:
    """Take over the work stopped processes left undone (or full ones deferred) and run it
    through its plan, no more than ``room`` of it (``handed_back``: only work handed back);
    how many were taken over."""
    if room == 0:
        return 0
    taken = inbox.take_over_undone(take=room, handed_back=handed_back)
    if any(not ticket.deferred for _, ticket in taken):
        log.warning(
            "fwbot: %d acknowledged request(s) left undone by a stopped process: "
            "finishing them (replies already posted are looked for first)",
            len(taken),
        )
    for item, ticket in taken:
        plan = plans.get(item.kind)
        if plan is None:
            log.error("request %s: no plan for %r any more; dropped", item.key, item.kind)
            inbox.finish(ticket)
            continue
        try:
            job = plan(item.body, ticket)
        except Exception:
            log.exception(
                "request %s (%s) could not be planned again; dropped", item.key, item.kind
            )
            inbox.finish(ticket)
            continue
        later(job, ticket)
    return len(taken)


def event_kind(body: Mapping[str, Any]) -> str:
    return kind_of("event", (body.get("event") or {}).get("type", "?"))


def receive_requests(
    inbox: Inbox,
    plans: Mapping[str, Plan],
    metrics: Metrics,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Callable[..., BoltResponse | None]:
    """Global middleware for events: each ``event_id`` is handled once, across retries and
    replicas, and an event some plan acts on is recorded with its body before bolt acks it
    (its ticket goes to the listener in ``context``). A retry of an event already handled or
    in hand is acknowledged and goes no further; a retry of one a dead process left undone
    is taken over. Rows older than :data:`KEEP` are pruned about once every
    :data:`PRUNE_EVERY`."""
    next_prune = [clock()]
    lock = threading.Lock()

    def prune_if_due(now: datetime) -> None:
        with lock:
            if now < next_prune[0]:
                return
            next_prune[0] = now + PRUNE_EVERY
        try:
            removed, abandoned = inbox.store.prune(now - KEEP)
            if removed:
                log.info("pruned %d received requests older than %s", removed, KEEP)
            if abandoned:
                log.error(
                    "%d acknowledged request(s) were never finished within %s: given up",
                    abandoned,
                    KEEP,
                )
        except Exception:  # pruning is housekeeping: never fail a request over it
            log.exception("pruning received requests failed")

    def middleware(
        req: BoltRequest, body: dict, context: dict, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if not event_id or never_answered(body.get("event") or {}):
            return next()  # not an event, or one nobody acts on: nothing to record
        prune_if_due(clock())
        kind = event_kind(body)
        try:
            ticket = inbox.receive(str(event_id), kind, body if kind in plans else None)
        except Exception as exc:  # the database is away: Slack sends it again later
            log.warning(
                "event %s not recorded (%s: %s): answered 503, Slack retries it",
                event_id,
                type(exc).__name__,
                _first_line(exc),
            )
            metrics.failures.labels("record_request").inc()
            request_log.note_outcome("not_recorded")
            return BoltResponse(status=503, body="")
        if ticket is None:
            retry = req.headers.get("x-slack-retry-num", ["-"])[0]
            log.info("event %s already handled (retry %s): dropped", event_id, retry)
            metrics.duplicates.inc()
            request_log.note_outcome("duplicate")
            return BoltResponse(status=200, body="")
        context[TICKET] = ticket
        return next()

    return middleware


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else ""
