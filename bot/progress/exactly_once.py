"""Exactly once: the one copy of the protocol every scheduled message follows — nudges,
escalations, the admins' failure reports and the weekly digest.

1. **Claim** the message in the database (``send_claims``, unique on kind/subject/period)
   before it is sent, so two passes — two processes, two replicas — never both send it.
2. **Take over** a claim left unfinished only when :func:`~bot.storage.claimers.takeover_due`
   says so: its lease ended, or its claimer is known dead. A claim taken from a claimer
   whose lease still ran (it died) waits ``in_flight_grace`` seconds first: its request may
   still be on its way to Slack.
3. **Look up** a taken-over message in the conversation's history (by its metadata): found,
   it is recorded as sent; the look-up failed, the claim is **released** (never resend
   blindly) and a later pass tries again; not there, it is sent.
4. **Send** it once through the paced sender (:class:`bot.slack_api.sender.SlackSender`).
5. **Record** what Slack said: ``sent`` finishes the claim with where it went; ``permanent``
   finishes it failed; ``retry`` / ``uncertain`` (and an error that stops every send, such as
   a revoked token) release it for a later pass — an uncertain one held ``in_flight_grace``
   seconds longer, so no pass reads the history before the message could show there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from ..storage.claimers import claimed_at, takeover_due
from ..storage.claims_store import ClaimStore
from ..storage.progress_records import ClaimRecord

# What a message to Slack is: (fallback text, blocks as dicts).
Rendered = tuple[str, list[dict[str, Any]]]

Step = Literal[
    "sent",  # posted now
    "found",  # an earlier claimer had posted it: recorded as sent
    "permanent",  # never for this recipient: the claim finished failed
    "retry",  # certainly not delivered: released for a later pass
    "uncertain",  # may have been delivered: released, held a while
    "unverified",  # the history could not be read: released, not sent
    "held",  # another live pass holds the claim
    "done",  # the claim was finished before (sent or failed)
]


class Sender(Protocol):
    """What :class:`bot.slack_api.sender.SlackSender` offers the protocol."""

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

    def watch_late_copies(
        self, channel_id: str, ts: str, metadata: Mapping[str, Any], *, since: datetime
    ) -> None: ...


@dataclass(frozen=True)
class Outgoing:
    """One message to send exactly once: its claim key (``kind``, ``subject``, ``period``),
    where it goes (``to``: a channel id, or a user id for the app's DM with them;
    ``channel_id``: that DM's id when known, to skip looking it up) and the metadata it
    carries — ``event_type`` and ``payload``, by which the history look-up finds it."""

    kind: str
    subject: str
    period: str
    to: str
    event_type: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    channel_id: str | None = None

    @property
    def metadata(self) -> dict[str, Any]:
        return {"event_type": self.event_type, "event_payload": dict(self.payload)}


@dataclass(frozen=True)
class Outcome:
    """What became of one message (see :data:`Step`); ``fatal``: an error no recipient will
    escape (the token, its scopes): the caller stops sending."""

    step: Step
    claim: ClaimRecord | None = None
    channel_id: str | None = None
    ts: str | None = None
    error: str | None = None
    fatal: bool = False

    @property
    def delivered(self) -> bool:
        return self.step in ("sent", "found")


class ExactlyOnceSender:
    """Claims, takes over, looks up, sends and records, as the module docstring says.
    ``lease``: how long a claim is held; ``in_flight_grace``: seconds a request may still be
    on its way to Slack (the client's timeout, plus margin)."""

    def __init__(
        self,
        claims: ClaimStore,
        sender: Sender | None,
        *,
        lease: timedelta,
        in_flight_grace: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.claims, self.sender = claims, sender
        self.lease, self.in_flight_grace, self._sleep = lease, in_flight_grace, sleep

    # ---- 1. claim -----------------------------------------------------------------------

    def claim(self, message: Outgoing, me: str, now: datetime) -> ClaimRecord | None:
        """A new claim of ``message`` for ``me``; None when one exists already."""
        return self.claims.claim(
            message.kind,
            message.subject,
            message.period,
            claimed_by=me,
            lease_until=now + self.lease,
            now=now,
            detail={"wall": time.time()},
        )

    def claim_many(
        self,
        kind: str,
        items: Iterable[tuple[str, str, dict[str, Any]]],
        me: str,
        now: datetime,
    ) -> list[ClaimRecord]:
        """New claims of ``(subject, period, detail)`` items in one go; those that existed
        already are left out."""
        wall = time.time()  # Slack's clock: where to look in the history later
        return self.claims.claim_many(
            kind,
            [(subject, period, {**detail, "wall": wall}) for subject, period, detail in items],
            claimed_by=me,
            lease_until=now + self.lease,
            now=now,
        )

    # ---- 2. take over -------------------------------------------------------------------

    def take_over(self, claim: ClaimRecord, me: str, now: datetime) -> ClaimRecord | None:
        """``claim`` made ``me``'s if :func:`takeover_due` (lease ended or claimer dead) and
        nobody took it meanwhile; else None."""
        if not takeover_due(claim, now):
            return None
        return self.claims.take_over(claim, claimed_by=me, lease_until=now + self.lease, now=now)

    def wait_for_in_flight(self, taken_from: Iterable[ClaimRecord], now: datetime) -> None:
        """Claims taken from claimers whose lease still ran (they died): give their requests
        the client's timeout to land before the history is read."""
        if any(now < old.lease_until for old in taken_from):
            self._sleep(self.in_flight_grace)

    # ---- 3. look up ---------------------------------------------------------------------

    def look(
        self,
        claim: ClaimRecord,
        message: Outgoing,
        me: str,
        now: datetime,
        *,
        on_delivered: Callable[[Outcome], object] | None = None,
    ) -> Outcome | None:
        """A taken-over claim whose message may or may not have gone out: is it in Slack's
        history? ``found`` (recorded as sent, ``on_delivered`` told first), ``unverified``
        (the look-up failed: the claim is released, nothing is sent), or None: not there,
        send it."""
        try:
            found = self._sender().find_delivered(
                message.to,
                event_type=message.event_type,
                match=dict(message.payload),
                since=claimed_at(claim),
                channel_id=message.channel_id,
            )
        except Exception as exc:  # can't tell: never resend blindly; try again next pass
            self.claims.release(claim.id, claimed_by=me, error=f"unverified: {exc}", now=now)
            return Outcome("unverified", claim, error=str(exc))
        if found is None:
            return None
        outcome = Outcome("found", claim, channel_id=found[0], ts=found[1])
        if on_delivered is not None:
            on_delivered(outcome)
        self.claims.finish(
            claim.id, claimed_by=me, state="sent", channel_id=found[0], message_ts=found[1], now=now
        )
        return outcome

    # ---- 4. send, 5. record -------------------------------------------------------------

    def post(self, message: Outgoing, rendered: Rendered) -> Any:
        """Posts ``message`` once (no claim bookkeeping: :meth:`record` does that); the
        sender's result. Safe to call from worker threads."""
        text, blocks = rendered
        return self._sender().post(message.to, text=text, blocks=blocks, metadata=message.metadata)

    def record(
        self,
        claim: ClaimRecord,
        result: Any,
        me: str,
        now: datetime,
        *,
        give_up: bool = False,
        on_delivered: Callable[[Outcome], object] | None = None,
        message: Outgoing | None = None,
    ) -> Outcome:
        """Finishes or releases ``claim`` by the sender's ``result`` (see the module
        docstring); ``give_up``: any failure finishes it failed, no later pass retries.
        ``on_delivered`` is told of a sent message before its claim is finished.
        ``message``: what was sent, so that a taken-over claim's message is watched for a
        late copy of the earlier claimer's post (:mod:`bot.slack_api.late_copies`)."""
        step: Step = getattr(result, "outcome", "uncertain")
        error = getattr(result, "error", None)
        fatal = bool(getattr(result, "fatal", False))
        if fatal and not give_up:  # nobody can be reached: not this recipient's failure
            step = "retry"
        outcome = Outcome(
            step,
            claim,
            channel_id=getattr(result, "channel_id", None),
            ts=getattr(result, "ts", None),
            error=None if error is None else str(error),
            fatal=fatal,
        )
        if step == "sent":
            if claim.attempts > 1 and outcome.channel_id and outcome.ts and message is not None:
                # taken over: an earlier claimer's post, not in the history when looked
                # for, may still land beside this one
                self._sender().watch_late_copies(
                    outcome.channel_id, outcome.ts, message.metadata, since=claimed_at(claim)
                )
            if on_delivered is not None:
                on_delivered(outcome)
            self.claims.finish(
                claim.id,
                claimed_by=me,
                state="sent",
                channel_id=outcome.channel_id,
                message_ts=outcome.ts,
                now=now,
            )
        elif give_up or step == "permanent":
            self.claims.finish(claim.id, claimed_by=me, state="failed", error=str(error), now=now)
        else:  # retry / uncertain: a later pass takes the claim over (and checks Slack)
            hold = self.in_flight_grace if step == "uncertain" else 0.0
            self.claims.release(
                claim.id,
                claimed_by=me,
                error=f"{step}: {error}",
                now=now,
                lease_until=now + timedelta(seconds=hold),
            )
        return outcome

    # ---- the whole protocol, for one message -------------------------------------------

    def once(
        self,
        message: Outgoing,
        render: Callable[[], Rendered],
        me: str,
        now: datetime,
        *,
        give_up: bool = False,
        on_delivered: Callable[[Outcome], object] | None = None,
    ) -> Outcome:
        """Claim (or take over, look up), send and record ``message``; ``render`` is called
        only when it is to be sent. ``on_delivered``: told of the message once it is known
        in Slack (sent now or found), before its claim is finished."""
        claim = self.claim(message, me, now)
        if claim is None:
            existing = self.claims.claims(
                message.kind, period=message.period, subject=message.subject
            )
            old = existing[0] if existing else None
            if old is None:
                return Outcome("held")
            if old.state != "claimed":
                return Outcome("done", old)
            claim = self.take_over(old, me, now)
            if claim is None:
                return Outcome("held", old)
            self.wait_for_in_flight([old], now)
            seen = self.look(claim, message, me, now, on_delivered=on_delivered)
            if seen is not None:
                return seen
        result = self.post(message, render())
        return self.record(
            claim, result, me, now, give_up=give_up, on_delivered=on_delivered, message=message
        )

    def abandon(self, claim: ClaimRecord, me: str, now: datetime, error: str) -> None:
        """Finish ``claim`` failed without sending (nothing is due any more)."""
        self.claims.finish(claim.id, claimed_by=me, state="failed", error=error, now=now)

    def _sender(self) -> Sender:
        if self.sender is None:
            raise RuntimeError("sending needs Slack: set SLACK_BOT_TOKEN")
        return self.sender
