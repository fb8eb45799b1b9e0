"""What the Slack listeners need, wired once by the composition root
(:mod:`bot.wiring.composition`)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from contextvars import copy_context
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from framework_data.schema import Framework

from ..progress.service import ProgressService
from ..services.alignments import AlignmentService
from ..services.questions import QuestionService
from ..storage.store import Store
from . import request_log
from .backpressure import BUSY, TRY_AGAIN, Shed, WorkGate, can_tell, tell, told_quietly
from .delivery import Delivery
from .durable import TAKEN, TICKET, Inbox, Job, Plan, Ticket, request_key, submission_key
from .metrics import Metrics

if TYPE_CHECKING:
    from .features import Extensions

log = logging.getLogger("fwbot.slack")


_SHED_LOG = {"busy": "deferred", "silent": "deferred", "try_again": "not done"}


def _timer(seconds: float, run: Callable[[], None]) -> None:
    """Runs ``run`` in ``seconds``, in a daemon thread of its own."""
    timer = threading.Timer(seconds, run)
    timer.daemon = True
    timer.start()


@dataclass
class SlackDeps:
    framework: Framework
    questions: QuestionService
    alignments: AlignmentService
    store: Store
    delivery: Delivery
    metrics: Metrics
    # What the app's features put in its extension points (bot.slack.features), set once
    # by build_app.
    extensions: Extensions | None = None
    # Progress tracking (/progress, nudges' buttons, the App Home section); None: off.
    progress: ProgressService | None = None
    # Post-ack work runs here: a pool as small as the machine's cores, apart from bolt's
    # listener pool, so acks never queue behind answers being computed. None: run inline.
    work: Executor | None = None
    # Where acknowledged work is written down until done (None: not kept, e.g. the console)
    # and what to do with each kind of request (see bot.slack.durable).
    inbox: Inbox | None = None
    plans: dict[str, Plan] = field(default_factory=dict)
    # Model-written answers in threads are streamed as they are written (bot.slack.streaming).
    stream_answers: bool = True
    # A taken-over request's job waits until its ticket's ``look_after`` on this clock (epoch
    # seconds), put off by ``defer(seconds, run)``: a daemon timer. Injectable for tests.
    clock: Callable[[], float] = time.time
    defer: Callable[[float, Callable[[], None]], None] = _timer
    # Back-pressure (bot.slack.backpressure): the most work queued or running here; None:
    # unbounded. "Busy" lines are posted from ``notices`` (None: inline), after the ack.
    # Only the kinds in ``deferrable`` wait (questions, alignments: the heavy work); the rest
    # is light and some of it must open a modal within the 3 s of its trigger: done anyway.
    gate: WorkGate | None = None
    notices: Executor | None = None
    deferrable: set[str] = field(default_factory=set)

    def plan(self, kind: str) -> Callable[[Plan], Plan]:
        """Register the plan for ``kind`` (used by the listener and by the recovery)."""

        def register(plan: Plan) -> Plan:
            self.plans[kind] = plan
            return plan

        return register

    def run_durably(
        self,
        kind: str,
        body: dict,
        context: dict[str, Any] | None = None,
        *,
        tell_busy: bool = True,
    ) -> Shed | None:
        """Plan the request ``body`` and run its job after the ack, kept until done. Events
        bring their ticket in ``context`` (the middleware recorded them, and only the first
        listener to run takes it; events it did not record are nobody's work and are only
        planned); other requests are recorded here, so call this *before* ``ack()``.
        A duplicate is dropped. When this replica is full (``gate``) the work is deferred
        (or, unrecorded, not done) and what the person is told is returned: posted here
        unless ``tell_busy`` is false (a command says it in its ack)."""
        ticket = None
        if body.get("type") == "event_callback":
            ticket = context.get(TICKET) if context is not None else None
            if ticket is TAKEN:
                return None  # another listener of this event has it
            if context is not None:
                context[TICKET] = TAKEN
        elif self.inbox is not None:
            key = request_key(body)
            try:
                ticket = self.inbox.receive(key, kind, body)
            except Exception as exc:  # Slack never resends these: do it now, unkept
                log.warning(
                    "request %s (%s) could not be recorded (%s); doing it without keeping it",
                    key,
                    kind,
                    type(exc).__name__,
                )
                self.metrics.failures.labels("record_request").inc()
                ticket = Ticket("", kind, time.time())
            else:
                if ticket is None:
                    log.info("request %s (%s) already handled: dropped", key, kind)
                    request_log.note_outcome("duplicate")
                    return None
        job = self.plans[kind](body, ticket or Ticket("", kind, time.time()))
        if job is not None and self.gate is not None and not self.gate.try_enter():
            if kind in self.deferrable:
                return self._shed(kind, body, job, ticket, tell_busy=tell_busy)
            self.gate.enter()  # light work that can't wait: done anyway, counted
        self.later(job, ticket, admitted=True)
        return None

    def _shed(
        self, kind: str, body: dict, job: Job, ticket: Ticket | None, *, tell_busy: bool
    ) -> Shed | None:
        """This replica is full: hand the work back for later (any replica's recovery), and
        say so once; unrecorded work can't be handed back: "try again"."""
        assert self.gate is not None
        if ticket is None or not ticket.key or self.inbox is None:
            told: Shed = "try_again"
            message = TRY_AGAIN
        elif not self.inbox.defer(ticket):  # the database is away: do it here after all
            self.gate.enter()
            self.later(job, ticket, admitted=True)
            return None
        else:
            self.gate.deferred()
            told, message = "busy", BUSY
            if ticket.resumed or ticket.deferred:  # told before (or not ours to tell)
                told = "silent"
        key = ticket.key if ticket is not None else ""
        if told != "silent" and not can_tell(body):
            told = "silent"
        log.info("busy: request %s (%s) %s", key or "-", kind, _SHED_LOG[told])
        if told != "silent" and tell_busy:
            post = told_quietly(lambda: tell(self.delivery, body, message, key))
            if self.notices is None:
                post()
            else:
                self.notices.submit(post)
        self.metrics.work_shed.labels(kind, told).inc()
        return told

    def first_submission(self, body: dict) -> bool:
        """Whether the form submission ``body`` is seen for the first time. Called before a
        form writes anything: it claims the submission (:func:`submission_key`), so that a
        replay of it, now or later, gets False (and is counted among the duplicates) and
        writes nothing. True without an inbox, or when the claim can't be written (the
        database is away: the write that follows says so on the form)."""
        if self.inbox is None:
            return True
        key = submission_key(body)
        try:
            ticket = self.inbox.receive(key, None, None)
        except Exception as exc:
            log.warning("submission %s could not be claimed (%s)", key, type(exc).__name__)
            return True
        if ticket is None:
            log.info("submission %s seen before (a replay): nothing written", key)
            self.metrics.duplicates.inc()
            request_log.note_outcome("duplicate")
            return False
        return True

    def later(
        self, job: Job | None, ticket: Ticket | None = None, *, admitted: bool = False
    ) -> None:
        """Run ``job`` (which reports its own failures to the user) after the ack; then mark
        ``ticket`` done. A job that never runs (the process stops first) leaves it undone:
        the next start finishes it. The job counts in ``gate`` until it ends (``admitted``:
        it was counted already; otherwise, e.g. recovered work, it is counted now)."""
        counted = self.gate is not None and job is not None
        if counted and not admitted:
            self.gate.enter()  # type: ignore[union-attr]

        def run() -> None:
            try:
                if job is not None:
                    with request_log.working_on(ticket.key if ticket is not None else ""):
                        job()
            finally:
                if ticket is not None and self.inbox is not None:
                    self.inbox.finish(ticket)
                if job is not None and ticket is not None and ticket.key:
                    self.metrics.reply_seconds.labels(ticket.kind).observe(
                        max(0.0, self.clock() - ticket.received_at)
                    )
                if counted:
                    self.gate.leave()  # type: ignore[union-attr]

        wait = ticket.look_after - self.clock() if ticket is not None else 0.0
        if wait > 0:  # taken over: what the dead process sent may still be landing
            self.defer(wait, lambda: self._run_now(run))
            return
        self._run_now(run)

    def _run_now(self, run: Callable[[], None]) -> None:
        if self.work is None:
            _logged(run)
            return
        self.work.submit(copy_context().run, _logged, run)  # the request's log fields too


def _logged(job: Callable[[], object]) -> None:
    try:
        job()
    except Exception:  # reporting_failures inside the job tells the user; this is a backstop
        log.exception("post-ack work failed")
