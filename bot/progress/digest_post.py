"""Posting the weekly digest to its channel, exactly once a week, and keeping it current.

The digest of a week covers the seven days before its slot (weekday and time in the digest's
zone). It is sent through :class:`~.exactly_once.ExactlyOnceSender` like a nudge (claim kind
``digest``, the channel, the week; metadata to find it by), so a crash between posting and
recording never posts it twice. The chart goes into the digest's thread. An update that
arrives after the digest was posted (and before the next one) marks it stale; the next pass
re-renders it with ``chat.update`` and swaps the chart for a fresh one."""

from __future__ import annotations

import dataclasses
import logging
import time as wall_clock
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Protocol

from framework_data.schema import Framework

from ..slack_api.events import DIGEST_EVENT
from ..storage.claimers import active_run, claimer
from ..storage.claims_store import ClaimStore
from ..storage.progress_records import DigestRecord
from ..storage.progress_store import ProgressStore
from .digest import DigestData, build_digest
from .exactly_once import ExactlyOnceSender, Outcome, Outgoing, Rendered, Sender
from .schedule import weekly_slot, zone

log = logging.getLogger("fwbot.digest")

LEASE = timedelta(minutes=10)


class DigestSender(Sender, Protocol):
    """The sender, with what the digest does besides posting: an edit and a chart."""

    def update(self, channel: str, ts: str, *, text: str, blocks: list[dict] | None) -> None: ...

    def upload(
        self, channel: str, *, thread_ts: str | None, content: bytes, filename: str, title: str
    ) -> str | None: ...

    def delete_file(self, file_id: str) -> None: ...


@dataclass(frozen=True)
class DigestConfig:
    channel: str
    weekday: int = 0
    at: time = time(12, 0)
    tz: str = "UTC"
    # Seconds a request may still be on its way to Slack (the client's timeout, plus margin).
    in_flight_grace: float = 20.0


class DigestPublisher:
    def __init__(
        self,
        store: ProgressStore,
        claims: ClaimStore,
        framework: Framework,
        sender: DigestSender,
        config: DigestConfig,
        *,
        render: Callable[[DigestData, datetime | None], Rendered],
        chart: Callable[[DigestData], bytes],
        claimer: str | None = None,
        sleep: Callable[[float], None] = wall_clock.sleep,
    ) -> None:
        """``claimer``: who holds the digest's claim; default a new ``host:pid:run`` for
        each pass, so that a pass known dead has its claim taken over at once."""
        self.store, self.claims, self.framework = store, claims, framework
        self.sender, self.config = sender, config
        self.render, self.chart, self.claimer = render, chart, claimer
        self.once = ExactlyOnceSender(
            claims, sender, lease=LEASE, in_flight_grace=config.in_flight_grace, sleep=sleep
        )

    def slot(self, now: datetime) -> tuple[str, datetime]:
        c = self.config
        return weekly_slot(now, c.weekday, c.at, zone(c.tz))

    def data(self, start: datetime, end: datetime, now: datetime) -> DigestData:
        period_key = self.slot(end - timedelta(seconds=1))[0]
        updates = self.store.updates_between(start, max(end, now))
        return build_digest(
            self.framework,
            self.store.initiatives(),
            updates,
            period=period_key,
            period_start=start,
            period_end=end,
            now=now,
        )

    # ---- posting ---------------------------------------------------------------------------

    def run(self, now: datetime, *, dry_run: bool = False) -> str:
        """Post this week's digest if its time has come and it is not out yet; refresh stale
        ones. Returns what happened, for logs and ``--dry-run``."""
        period, slot = self.slot(now)
        channel = self.config.channel
        done = []
        if now < slot:
            done.append(f"digest for {period} due at {slot:%Y-%m-%d %H:%M} UTC")
        elif self.store.digest(channel, period) is not None:
            done.append(f"digest for {period} already posted")
        elif dry_run:
            done.append(f"would post the digest for {period} to {channel}")
        else:
            done.append(self._post(period, slot, now))
        if not dry_run:
            done += [
                self.refresh(record, late, now)
                for record, late in self.store.stale_digests()
                if record.live_until > now
            ]
        return "; ".join(done)

    def _post(self, period: str, slot: datetime, now: datetime) -> str:
        if self.claimer is not None:
            return self._post_as(self.claimer, period, slot, now)
        run_id = uuid.uuid4().hex[:12]
        with active_run(run_id):
            return self._post_as(claimer(run_id), period, slot, now)

    def _post_as(self, me: str, period: str, slot: datetime, now: datetime) -> str:
        channel = self.config.channel
        start = slot - timedelta(days=7)
        message = Outgoing(
            "digest",
            channel,
            period,
            to=channel,
            event_type=DIGEST_EVENT,
            payload={"period": period},
            channel_id=channel,
        )
        made: list[DigestData] = []

        def render() -> Rendered:
            made.append(self.data(start, slot, now))
            return self.render(made[0], None)

        def delivered(outcome: Outcome) -> None:
            """Kept before the claim is finished: a crash in between finds it posted."""
            ts = outcome.ts or ""
            file_id = self._upload_chart(made[0], ts) if made and outcome.step == "sent" else None
            self.store.record_digest(
                channel_id=channel,
                period=period,
                period_start=start,
                period_end=slot,
                live_until=slot + timedelta(days=7),
                message_ts=ts,
                file_id=file_id,
                now=now,
            )

        outcome = self.once.once(message, render, me, now, on_delivered=delivered)
        if outcome.delivered:
            return f"posted the digest for {period} to {channel}"
        if outcome.step in ("held", "done"):
            return f"digest for {period} is being posted by another pass"
        if outcome.step == "unverified":
            error = f"could not check Slack: {outcome.error}"
        else:
            error = f"{outcome.step}: {outcome.error or ''}"
        log.error("posting the digest for %s to %s failed: %s", period, channel, error)
        return f"digest for {period} NOT posted ({error})"

    def _upload_chart(self, data: DigestData, thread_ts: str) -> str | None:
        """The chart in the digest's thread; None (logged) if it could not be made or sent —
        the digest itself stands without it."""
        try:
            png = self.chart(data)
            return self.sender.upload(
                self.config.channel,
                thread_ts=thread_ts,
                content=png,
                filename=f"progress-{data.period}.png",
                title=f"Progress by goal, {data.period}",
            )
        except Exception:
            log.exception("uploading the digest chart failed")
            return None

    # ---- late updates --------------------------------------------------------------------

    def refresh(self, record: DigestRecord, late_updates: int, now: datetime) -> str:
        """Re-render a stale digest: late updates count as received."""
        data = self.data(record.period_start, now, now)
        data = dataclasses.replace(
            data, period=record.period, period_end=record.period_end, late_updates=late_updates
        )
        text, blocks = self.render(data, now)
        try:
            self.sender.update(record.channel_id, record.message_ts or "", text=text, blocks=blocks)
        except Exception as exc:
            log.exception("updating the digest %s failed", record.period)
            return f"digest for {record.period} NOT refreshed ({exc})"
        file_id = self._upload_chart(data, record.message_ts or "")
        if file_id and record.file_id:
            try:
                self.sender.delete_file(record.file_id)
            except Exception:
                log.exception("deleting the old digest chart %s failed", record.file_id)
        self.store.digest_refreshed(
            record.id, file_id=file_id or record.file_id, rendered_at=now, now=now
        )
        return f"refreshed the digest for {record.period} ({late_updates} late updates)"
