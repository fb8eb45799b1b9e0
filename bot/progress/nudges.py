"""One idempotent pass of the weekly nudges: plan, claim, send, record.

Exactly once per (owner, week):

1. Who is due comes from :func:`bot.progress.schedule.plan_nudges`.
2. Each DM is *claimed* in the database before it is sent (``send_claims``, unique on
   kind/subject/period), a chunk at a time, so two passes — two processes, two replicas —
   never both send it.
3. The DM carries message metadata naming the owner and the week. A claim left unfinished
   (its claimer died between sending and recording, or could not tell whether Slack got the
   message) is taken over by a later pass only after its lease ended or its claimer is known
   dead, and that pass first looks for the DM in the conversation's history: found, it is
   recorded as sent; not found, it is sent.
4. Permanent errors (``account_inactive``, ``user_not_found``…) are recorded and reported to
   the admins once; transient ones are retried with backoff, then left to the next pass.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from ..slack_api.events import ESCALATION_EVENT, NUDGE_EVENT, REPORT_EVENT
from ..storage.claimers import active_run, claimed_at, claimer, takeover_due
from ..storage.claims_store import ClaimStore
from ..storage.progress_records import ClaimRecord, InitiativeRecord, OwnerPrefs
from ..storage.progress_store import ProgressStore
from .schedule import NudgePlan, Skipped, plan_nudges, week_key, weeks_overdue

log = logging.getLogger("fwbot.nudges")

DEFAULT_LEASE = timedelta(minutes=10)

# What a message to Slack is for the runner: (fallback text, blocks as dicts).
Rendered = tuple[str, list[dict[str, Any]]]


class Sender(Protocol):
    """What :class:`bot.slack_api.sender.SlackSender` offers the runner."""

    def post(
        self,
        channel: str,
        *,
        text: str,
        blocks: list[dict] | None,
        metadata: dict | None,
        thread_ts: str | None = None,
    ) -> Any: ...

    def find_delivered(
        self,
        channel: str,
        *,
        event_type: str,
        match: dict[str, Any],
        since: datetime,
        channel_id: str | None = None,
    ) -> tuple[str, str] | None: ...


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
        self._halted: str | None = None
        self._sleep = sleep
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

    def _lease(self, now: datetime) -> datetime:
        return now + self.config.lease

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
                wall = time.time()  # Slack's clock: where to look in the history later
                won = self.claims.claim_many(
                    "nudge",
                    [
                        (p.owner_id, p.key, {"items": [i.id for i in p.items], "wall": wall})
                        for p in part
                    ],
                    claimed_by=me,
                    lease_until=self._lease(now),
                    now=now,
                )
                by_owner = {(c.subject, c.period): c for c in won}
                report.already += len(part) - len(won)
                jobs = [
                    (by_owner[(p.owner_id, p.key)], p)
                    for p in part
                    if (p.owner_id, p.key) in by_owner
                ]
                for claim, plan, outcome in pool.map(
                    lambda job: (*job, self._deliver(job[1], now)), jobs
                ):
                    self._record(claim, plan.owner_id, outcome, me, now, report)

    def _deliver(self, plan: NudgePlan, now: datetime) -> Any:
        if self._halted:
            return _Halted()
        text, blocks = self.render.nudge(plan, now)
        if self.sender is None:
            raise RuntimeError("sending nudges needs Slack: set SLACK_BOT_TOKEN")
        return self.sender.post(
            plan.owner_id,
            text=text,
            blocks=blocks,
            metadata=self._metadata(NUDGE_EVENT, plan.owner_id, plan.key),
        )

    @staticmethod
    def _metadata(event_type: str, subject: str, period: str) -> dict[str, Any]:
        return {"event_type": event_type, "event_payload": {"subject": subject, "period": period}}

    def _record(
        self, claim: ClaimRecord, owner: str, result: Any, me: str, now: datetime, report: RunReport
    ) -> None:
        outcome = getattr(result, "outcome", "uncertain")
        if getattr(result, "fatal", False):  # the token or its scopes: nobody can be reached
            self._halted = str(result.error)
            outcome = "retry"
        if outcome == "sent":
            self.claims.finish(
                claim.id,
                claimed_by=me,
                state="sent",
                channel_id=result.channel_id,
                message_ts=result.ts,
                now=now,
            )
            report.sent.append(owner)
            if claim.kind == "nudge" and result.channel_id:
                self._remember_dm(owner, result.channel_id, now)
        elif outcome == "permanent":
            self.claims.finish(claim.id, claimed_by=me, state="failed", error=result.error, now=now)
            self.store.audit(
                "system",
                "delivery_failed",
                f"owner:{owner}",
                now=now,
                kind=claim.kind,
                period=claim.period,
                error=result.error,
            )
            report.failed.append((owner, str(result.error)))
        else:  # retry / uncertain: a later pass takes the claim over (and checks Slack)
            # An uncertain message may still land within the client's timeout: the claim
            # stays held that long, so no pass reads the history before it could show.
            hold = self.config.in_flight_grace if outcome == "uncertain" else 0.0
            self.claims.release(
                claim.id,
                claimed_by=me,
                error=f"{outcome}: {result.error}",
                now=now,
                lease_until=now + timedelta(seconds=hold),
            )
            report.deferred.append((owner, f"{outcome}: {result.error}"))

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
        taken: list[ClaimRecord] = []
        from_the_dead = False
        for claim in claims:
            if claim.state != "claimed":
                continue
            if not takeover_due(claim, now):
                report.in_flight += 1
                continue
            mine = self.claims.take_over(
                claim, claimed_by=me, lease_until=self._lease(now), now=now
            )
            if mine is None:
                report.in_flight += 1
                continue
            taken.append(mine)
            from_the_dead = from_the_dead or now < claim.lease_until
        if from_the_dead:
            # A pass that just died may have requests still on their way to Slack: give them
            # the client's timeout to land before the history is read.
            self._sleep(self.config.in_flight_grace)
        for mine in taken:
            plan = plan_of.get((mine.subject, mine.period))
            self._resolve(mine, plan, me, now, report)

    def _resolve(
        self, claim: ClaimRecord, plan: NudgePlan | None, me: str, now: datetime, report: RunReport
    ) -> None:
        """A claim whose message may or may not have gone out: look before sending."""
        owner = claim.subject
        known = self._prefs.get(owner)
        dm = known.dm_channel if known else None
        try:
            found = self.sender.find_delivered(  # type: ignore[union-attr]
                owner,
                event_type=NUDGE_EVENT,
                match={"subject": owner, "period": claim.period},
                since=claimed_at(claim),
                channel_id=dm,
            )
        except Exception as exc:  # can't tell: never resend blindly; try again next pass
            self.claims.release(claim.id, claimed_by=me, error=f"unverified: {exc}", now=now)
            report.deferred.append((owner, f"could not check Slack: {exc}"))
            return
        if found is not None:
            channel_id, ts = found
            self.claims.finish(
                claim.id, claimed_by=me, state="sent", channel_id=channel_id, message_ts=ts, now=now
            )
            report.found_delivered.append(owner)
            return
        if plan is None:  # nothing is overdue any more: nothing to send
            self.claims.finish(
                claim.id, claimed_by=me, state="failed", error="no_longer_due", now=now
            )
            return
        self._record(claim, owner, self._deliver(plan, now), me, now, report)

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
            claim = self._claim_one(
                "escalation", f"initiative:{item.id}", period, target, ESCALATION_EVENT, me, now
            )
            if claim is None:
                continue
            text, blocks = self.render.escalation(item, weeks, now)
            result = self.sender.post(  # type: ignore[union-attr]
                target,
                text=text,
                blocks=blocks,
                metadata=self._metadata(ESCALATION_EVENT, claim.subject, period),
            )
            self._record(claim, target, result, me, now, report)
            if getattr(result, "outcome", "") == "sent":
                report.sent.remove(target)
                report.escalated.append(item.id)

    def _claim_one(
        self,
        kind: str,
        subject: str,
        period: str,
        target: str,
        event_type: str,
        me: str,
        now: datetime,
    ) -> ClaimRecord | None:
        """Claim one message to ``target``; an unfinished claim of a dead pass is taken over
        and, if Slack already has the message, finished. None: nothing to send."""
        claim = self.claims.claim(
            kind,
            subject,
            period,
            claimed_by=me,
            lease_until=self._lease(now),
            now=now,
            detail={"wall": time.time()},
        )
        if claim is not None:
            return claim
        found = self.claims.claims(kind, period=period, subject=subject)
        old = found[0] if found else None
        if old is None or not takeover_due(old, now):
            return None
        mine = self.claims.take_over(old, claimed_by=me, lease_until=self._lease(now), now=now)
        if mine is None:
            return None
        if self.sender is None:
            return None
        try:
            delivered = self.sender.find_delivered(
                target,
                event_type=event_type,
                match={"subject": subject, "period": period},
                since=claimed_at(mine),
            )
        except Exception as exc:
            self.claims.release(mine.id, claimed_by=me, error=f"unverified: {exc}", now=now)
            return None
        if delivered is not None:
            self.claims.finish(
                mine.id,
                claimed_by=me,
                state="sent",
                channel_id=delivered[0],
                message_ts=delivered[1],
                now=now,
            )
            return None
        return mine

    def _report_failures(self, me: str, now: datetime, report: RunReport) -> None:
        failures = sorted(set(report.failed))
        admins = sorted(self.admins()) if self.admins is not None else self.config.admins
        if not failures or not admins or self.sender is None:
            return
        period = f"{week_key(now.date())}/" + ",".join(f"{o}={e}" for o, e in failures)[:40]
        text, blocks = self.render.failure_report(failures)
        for admin in admins:
            claim = self._claim_one(
                "report", admin, f"{period}#{len(failures)}", admin, REPORT_EVENT, me, now
            )
            if claim is None:
                continue
            result = self.sender.post(
                admin,
                text=text,
                blocks=blocks,
                metadata=self._metadata(REPORT_EVENT, admin, claim.period),
            )
            outcome = getattr(result, "outcome", "uncertain")
            state = "sent" if outcome == "sent" else "failed"
            self.claims.finish(
                claim.id,
                claimed_by=me,
                state=state,
                channel_id=getattr(result, "channel_id", None),
                message_ts=getattr(result, "ts", None),
                error=None if state == "sent" else str(result.error),
                now=now,
            )
            if state == "sent":
                report.reported_to.append(admin)
