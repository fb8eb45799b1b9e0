"""One idempotent pass of the weekly nudges: plan, then send each DM exactly once.

1. Who is due comes from :func:`bot.progress.schedule.plan_nudges`.
2. Each DM is claimed, sent and recorded through :class:`~.exactly_once.ExactlyOnceSender`
   (the one copy of the protocol), a chunk of claims at a time and the posts on a few
   threads. Claims left unfinished by earlier passes are taken over, looked up in Slack's
   history and sent only if they are not there.
3. Overdue initiatives are escalated, and nudges that could not be delivered are reported to
   the admins, through the same protocol.
4. Permanent errors (``account_inactive``, ``user_not_found``…) are recorded and reported to
   the admins once; transient ones are retried by the sender, then left to the next pass; an
   error no recipient escapes (a revoked token) stops the pass.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..slack_api.events import ESCALATION_EVENT, NUDGE_EVENT, REPORT_EVENT
from ..storage.claimers import active_run, claimer
from ..storage.claims_store import ClaimStore
from ..storage.progress_records import ClaimRecord, InitiativeRecord, OwnerPrefs
from ..storage.progress_store import ProgressStore
from .exactly_once import ExactlyOnceSender, Outcome, Outgoing, Rendered, Sender
from .schedule import NudgePlan, Skipped, plan_nudges, week_key, weeks_overdue

__all__ = ["NudgeConfig", "NudgeRunner", "Rendered", "Renderers", "RunReport", "Sender"]

log = logging.getLogger("fwbot.nudges")

DEFAULT_LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class Renderers:
    """Pure message builders, injected (Block Kit lives in :mod:`bot.slack.blocks`)."""

    nudge: Callable[[NudgePlan, datetime], Rendered]
    escalation: Callable[[InitiativeRecord, int, datetime], Rendered]
    failure_report: Callable[[list[tuple[str, str]]], Rendered]


@dataclass(frozen=True)
class NudgeConfig:
    default_tz: str = "UTC"
    lease: timedelta = DEFAULT_LEASE
    workers: int = 4
    chunk: int = 64
    escalate_after_weeks: int | None = None
    escalate_to: str | None = None
    admins: tuple[str, ...] = ()
    # Seconds a request may still be on its way to Slack (the client's timeout, plus margin).
    in_flight_grace: float = 20.0


@dataclass
class RunReport:
    """What one pass did (or, dry, would do)."""

    now: datetime
    planned: list[NudgePlan] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    already: int = 0  # claims that already existed for this week (sent or in flight)
    in_flight: int = 0  # of those, held by another live pass
    sent: list[str] = field(default_factory=list)
    found_delivered: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (owner, error), permanent
    deferred: list[tuple[str, str]] = field(default_factory=list)  # (owner, error), next pass
    escalated: list[int] = field(default_factory=list)
    reported_to: list[str] = field(default_factory=list)
    digest: str | None = None
    halted: str | None = None  # a Slack error that stopped the pass (bad token, scopes)
    seconds: float = 0.0


class _Halted:
    """The result of a send skipped because the pass stopped."""

    outcome = "retry"
    error = "pass stopped"
    fatal = False


class NudgeRunner:
    def __init__(
        self,
        store: ProgressStore,
        claims: ClaimStore,
        sender: Sender | None,
        renderers: Renderers,
        config: NudgeConfig = NudgeConfig(),
        *,
        refresh_time_zones: Callable[[Iterable[str], datetime], None] | None = None,
        admins: Callable[[], Iterable[str]] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``admins``: who hears about failed deliveries, asked each pass (a Slack user group
        may change); default ``config.admins``."""
        self.store = store
        self.claims = claims
        self.sender = sender
        self.render = renderers
        self.config = config
        self.refresh_time_zones = refresh_time_zones
        self.admins = admins
        self.once = ExactlyOnceSender(
            claims, sender, lease=config.lease, in_flight_grace=config.in_flight_grace, sleep=sleep
        )
        self._halted: str | None = None
        self._prefs: dict[str, OwnerPrefs] = {}  # the owners' preferences, loaded per pass

    # ---- planning ----------------------------------------------------------------------

    def plan(self, now: datetime) -> tuple[list[NudgePlan], list[Skipped]]:
        """Who is due a nudge at ``now`` (from the database as it is)."""
        initiatives = self.store.initiatives()
        prefs = self.store.all_prefs({i.owner_id for i in initiatives})
        return plan_nudges(initiatives, prefs, now, default_tz=self.config.default_tz)

    # ---- the pass ----------------------------------------------------------------------

    def run(self, now: datetime | None = None, *, dry_run: bool = False) -> RunReport:
        now = now or datetime.now(UTC)
        started = time.monotonic()
        report = RunReport(now=now)
        initiatives = self.store.initiatives()
        owners = {i.owner_id for i in initiatives}
        if self.refresh_time_zones is not None and not dry_run:
            try:
                self.refresh_time_zones(owners, now)
            except Exception:  # stale zones are better than no nudges
                log.exception("refreshing owners' time zones failed")
        self._prefs = self.store.all_prefs(owners)
        plans, report.skipped = plan_nudges(
            initiatives, self._prefs, now, default_tz=self.config.default_tz
        )
        existing = {
            (c.subject, c.period): c
            for c in self.claims.claims("nudge", periods={p.key for p in plans})
        }
        fresh = [p for p in plans if (p.owner_id, p.key) not in existing]
        report.planned = plans if dry_run else fresh
        report.already = len(plans) - len(fresh)
        if dry_run:
            report.in_flight = sum(c.state == "claimed" for c in existing.values())
            report.seconds = time.monotonic() - started
            return report
        if self.sender is None:
            raise RuntimeError("sending nudges needs Slack: set SLACK_BOT_TOKEN")
        run_id = uuid.uuid4().hex[:12]
        me = claimer(run_id)
        self._halted = None
        with active_run(run_id):
            plan_of = {(p.owner_id, p.key): p for p in plans}
            self._recover(existing.values(), plan_of, me, now, report)
            self._send_fresh(fresh, me, now, report)
            self._escalate(initiatives, me, now, report)
            self._report_failures(me, now, report)
        report.halted = self._halted
        report.seconds = time.monotonic() - started
        return report

    def _nudge(self, owner: str, week: str) -> Outgoing:
        """The nudge DM of ``owner`` for ``week`` (its DM channel, when known, for look-ups)."""
        known = self._prefs.get(owner)
        return Outgoing(
            "nudge",
            owner,
            week,
            to=owner,
            event_type=NUDGE_EVENT,
            payload={"subject": owner, "period": week},
            channel_id=known.dm_channel if known else None,
        )

    def _send_fresh(
        self, plans: Sequence[NudgePlan], me: str, now: datetime, report: RunReport
    ) -> None:
        chunk = max(1, self.config.chunk)
        with ThreadPoolExecutor(
            max_workers=max(1, self.config.workers), thread_name_prefix="fwbot-nudge"
        ) as pool:
            for start in range(0, len(plans), chunk):
                part = plans[start : start + chunk]
                if self._halted:
                    break
                won = self.once.claim_many(
                    "nudge",
                    [(p.owner_id, p.key, {"items": [i.id for i in p.items]}) for p in part],
                    me,
                    now,
                )
                by_owner = {(c.subject, c.period): c for c in won}
                report.already += len(part) - len(won)
                jobs = [
                    (by_owner[(p.owner_id, p.key)], p)
                    for p in part
                    if (p.owner_id, p.key) in by_owner
                ]
                for claim, plan, result in pool.map(
                    lambda job: (*job, self._deliver(job[1], now)), jobs
                ):
                    self._note(self.once.record(claim, result, me, now), plan.owner_id, now, report)

    def _deliver(self, plan: NudgePlan, now: datetime) -> Any:
        """Posts one nudge (on a worker thread); the sender's result."""
        if self._halted:
            return _Halted()
        return self.once.post(self._nudge(plan.owner_id, plan.key), self.render.nudge(plan, now))

    def _note(self, outcome: Outcome, owner: str, now: datetime, report: RunReport) -> None:
        """What a recorded send means for the pass: the report, the audit, a halt."""
        claim = outcome.claim
        assert claim is not None
        if outcome.fatal:  # the token or its scopes: nobody can be reached
            self._halted = outcome.error
        if outcome.step == "sent":
            report.sent.append(owner)
            if claim.kind == "nudge" and outcome.channel_id:
                self._remember_dm(owner, outcome.channel_id, now)
        elif outcome.step == "permanent":
            self.store.audit(
                "system",
                "delivery_failed",
                f"owner:{owner}",
                now=now,
                kind=claim.kind,
                period=claim.period,
                error=outcome.error,
            )
            report.failed.append((owner, str(outcome.error)))
        else:  # retry / uncertain: released for a later pass
            report.deferred.append((owner, f"{outcome.step}: {outcome.error}"))

    def _remember_dm(self, owner: str, channel_id: str, now: datetime) -> None:
        known = self._prefs.get(owner)
        if known is not None and known.dm_channel == channel_id:
            return
        try:
            self.store.set_prefs(owner, actor="system", now=now, audit=False, dm_channel=channel_id)
        except Exception:  # only an optimisation for later history checks
            log.exception("remembering the DM channel of %s failed", owner)

    # ---- unfinished claims of earlier passes ---------------------------------------------

    def _recover(
        self,
        claims: Iterable[ClaimRecord],
        plan_of: dict[tuple[str, str], NudgePlan],
        me: str,
        now: datetime,
        report: RunReport,
    ) -> None:
        taken: list[tuple[ClaimRecord, ClaimRecord]] = []  # (theirs, now mine)
        for claim in claims:
            if claim.state != "claimed":
                continue
            mine = self.once.take_over(claim, me, now)
            if mine is None:
                report.in_flight += 1
                continue
            taken.append((claim, mine))
        self.once.wait_for_in_flight((old for old, _ in taken), now)
        for _, mine in taken:
            plan = plan_of.get((mine.subject, mine.period))
            self._resolve(mine, plan, me, now, report)

    def _resolve(
        self, claim: ClaimRecord, plan: NudgePlan | None, me: str, now: datetime, report: RunReport
    ) -> None:
        """A claim whose message may or may not have gone out: look before sending."""
        owner = claim.subject
        nudge = self._nudge(owner, claim.period)
        seen = self.once.look(claim, nudge, me, now)
        if seen is not None and seen.step == "unverified":
            report.deferred.append((owner, f"could not check Slack: {seen.error}"))
            return
        if seen is not None:
            report.found_delivered.append(owner)
            return
        if plan is None:  # nothing is overdue any more: nothing to send
            self.once.abandon(claim, me, now, "no_longer_due")
            return
        result = self._deliver(plan, now)
        self._note(self.once.record(claim, result, me, now, message=nudge), owner, now, report)

    # ---- escalation and failure reports -------------------------------------------------

    def _escalate(
        self, initiatives: Iterable[InitiativeRecord], me: str, now: datetime, report: RunReport
    ) -> None:
        after, target = self.config.escalate_after_weeks, self.config.escalate_to
        if not after or not target:
            return
        due = []
        for item in initiatives:
            owner = self._prefs.get(item.owner_id)
            if owner and owner.leave_until and now < owner.leave_until:
                continue
            weeks = weeks_overdue(item, now)
            if weeks >= after:
                due.append((item, weeks))
        for item, weeks in due:
            period = f"overdue-since-{item.overdue_from:%Y%m%dT%H%MZ}"
            subject = f"initiative:{item.id}"
            message = Outgoing(
                "escalation",
                subject,
                period,
                to=target,
                event_type=ESCALATION_EVENT,
                payload={"subject": subject, "period": period},
            )
            outcome = self.once.once(
                message,
                functools.partial(self.render.escalation, item, weeks, now),
                me,
                now,
            )
            if outcome.step == "sent":
                report.escalated.append(item.id)
            elif outcome.step in ("permanent", "retry", "uncertain"):
                self._note(outcome, target, now, report)

    def _report_failures(self, me: str, now: datetime, report: RunReport) -> None:
        failures = sorted(set(report.failed))
        admins = sorted(self.admins()) if self.admins is not None else self.config.admins
        if not failures or not admins or self.sender is None:
            return
        period = f"{week_key(now.date())}/" + ",".join(f"{o}={e}" for o, e in failures)[:40]
        rendered = self.render.failure_report(failures)
        for admin in admins:
            subject_period = f"{period}#{len(failures)}"
            message = Outgoing(
                "report",
                admin,
                subject_period,
                to=admin,
                event_type=REPORT_EVENT,
                payload={"subject": admin, "period": subject_period},
            )
            # A report is tried once: failed or not, no later pass sends it again.
            outcome = self.once.once(message, lambda: rendered, me, now, give_up=True)
            if outcome.step == "sent":
                report.reported_to.append(admin)
