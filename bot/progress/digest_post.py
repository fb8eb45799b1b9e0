"""Posting the weekly digest to its channel, exactly once a week, and keeping it current.

The digest of a week covers the seven days before its slot (weekday and time in the digest's
zone). It is claimed like a nudge (``send_claims``: kind ``digest``, the channel, the week)
and carries metadata, so a crash between posting and recording never posts it twice. The
chart goes into the digest's thread. An update that arrives after the digest was posted (and
before the next one) marks it stale; the next pass re-renders it with ``chat.update`` and
swaps the chart for a fresh one."""

from __future__ import annotations

import dataclasses
import logging
import time as wall_clock
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Protocol

from framework_data.schema import Framework

from ..slack_api.events import DIGEST_EVENT
from ..storage.claimers import claimed_at
from ..storage.claims_store import ClaimStore
from ..storage.progress_records import DigestRecord
from ..storage.progress_store import ProgressStore
from .digest import DigestData, build_digest
from .nudges import Rendered, Sender
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
        claimer: str = "digest",
    ) -> None:
        self.store, self.claims, self.framework = store, claims, framework
        self.sender, self.config = sender, config
        self.render, self.chart, self.claimer = render, chart, claimer

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
        channel = self.config.channel
        start = slot - timedelta(days=7)
        claim = self.claims.claim(
            "digest",
            channel,
            period,
            claimed_by=self.claimer,
            lease_until=now + LEASE,
            now=now,
            detail={"wall": wall_clock.time()},
        )
        if claim is None:
            existing = self.claims.claims("digest", period=period, subject=channel)
            claim = existing[0] if existing else None
            if claim is None or claim.state != "claimed" or now < claim.lease_until:
                return f"digest for {period} is being posted by another pass"
            claim = self.claims.take_over(
                claim, claimed_by=self.claimer, lease_until=now + LEASE, now=now
            )
            if claim is None:
                return f"digest for {period} is being posted by another pass"
            found = self.sender.find_delivered(
                channel,
                event_type=DIGEST_EVENT,
                match={"period": period},
                since=claimed_at(claim),
                channel_id=channel,
            )
            if found is not None:
                return self._recorded(claim.id, period, start, slot, found[1], None, now)
        data = self.data(start, slot, now)
        text, blocks = self.render(data, None)
        result = self.sender.post(
            channel,
            text=text,
            blocks=blocks,
            metadata={"event_type": DIGEST_EVENT, "event_payload": {"period": period}},
        )
        if getattr(result, "outcome", "") != "sent":
            error = f"{getattr(result, 'outcome', '?')}: {getattr(result, 'error', '')}"
            if getattr(result, "outcome", "") == "permanent":
                self.claims.finish(
                    claim.id, claimed_by=self.claimer, state="failed", error=error[:100], now=now
                )
            else:
                self.claims.release(claim.id, claimed_by=self.claimer, error=error[:100], now=now)
            log.error("posting the digest for %s to %s failed: %s", period, channel, error)
            return f"digest for {period} NOT posted ({error})"
        file_id = self._upload_chart(data, result.ts)
        return self._recorded(claim.id, period, start, slot, result.ts, file_id, now)

    def _recorded(
        self,
        claim_id: int,
        period: str,
        start: datetime,
        slot: datetime,
        ts: str,
        file_id: str | None,
        now: datetime,
    ) -> str:
        channel = self.config.channel
        self.claims.finish(
            claim_id,
            claimed_by=self.claimer,
            state="sent",
            channel_id=channel,
            message_ts=ts,
            now=now,
        )
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
        return f"posted the digest for {period} to {channel}"

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
