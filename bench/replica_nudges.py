"""The nudge side of bench_replicas.py: owners whose weekly slot falls during the run, and who
sent each owner's nudge (the claims in the database, the DMs the fake Slack got)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time

from fault_kit import ROOT  # noqa: F401  (first: it puts the repository on sys.path)

from bot.slack_api.events import NUDGE_EVENT
from bot.storage.claims_store import ClaimStore
from bot.storage.db import Database
from bot.storage.progress_records import Cadence, NewInitiative
from bot.storage.progress_store import ProgressStore
from local_slack import FakeSlackAPI
from local_slack.recording import Call

PER_MINUTE = 4  # owners whose slot is at each minute: the one the run starts in, and 4 more


def owner_id(minute: int, k: int) -> str:
    return f"UOWN{minute}{k:02d}"


def seed(url: str, fake: FakeSlackAPI, now: datetime, minutes: int = 5) -> dict[str, datetime]:
    """Migrates the database and gives ``PER_MINUTE`` owners an overdue weekly initiative
    each, their nudge at this minute (already due), the next, …; {owner: slot}."""
    db = Database(url)
    try:
        db.migrate()
        store = ProgressStore(db)
        start = now.replace(second=0, microsecond=0)
        slots = {
            owner_id(m, k): start + timedelta(minutes=m)
            for m in range(minutes)
            for k in range(PER_MINUTE)
        }
        store.import_initiatives(
            [
                NewInitiative(
                    title=f"Initiative of {owner}",
                    owner_id=owner,
                    objective_ids=("1.1",),
                    cadence=Cadence.WEEKLY,
                    last_update_at=now - timedelta(days=30),
                )
                for owner in slots
            ],
            actor="bench",
            now=now - timedelta(days=60),
        )
        for owner, slot in slots.items():
            fake.add_user(owner, real_name=f"Owner {owner}", tz="UTC")
            store.set_prefs(
                owner,
                actor="bench",
                audit=False,
                now=now - timedelta(days=60),
                tz="UTC",
                nudge_weekday=slot.weekday(),
                nudge_time=clock_time(slot.hour, slot.minute),
            )
        return slots
    finally:
        db.dispose()


def dm_calls(fake: FakeSlackAPI) -> dict[str, list[Call]]:
    """Nudge DMs Slack accepted, by owner (the message metadata names the owner)."""
    got: defaultdict[str, list[Call]] = defaultdict(list)
    for call in fake.calls("chat.postMessage"):
        meta = call.params.get("metadata") or {}
        if call.ok and isinstance(meta, dict) and meta.get("event_type") == NUDGE_EVENT:
            got[str((meta.get("event_payload") or {}).get("subject"))].append(call)
    return got


def dms(fake: FakeSlackAPI) -> Counter[str]:
    return Counter({owner: len(calls) for owner, calls in dm_calls(fake).items()})


@dataclass
class Pass:
    """The nudges one pass claimed: who ran it (pid), for whom, and when its DMs reached
    Slack (the fake's clock, ``time.monotonic()``; none sent: nan)."""

    pid: int
    owners: list[str]
    first: float
    last: float


def passes(url: str, fake: FakeSlackAPI) -> list[Pass]:
    """The passes that claimed nudges, from ``send_claims`` (claimer ``host:pid:run``; a
    claim taken over names the pass that took it), by their first DM. A pass that found
    nothing due claims nothing and leaves no row."""
    db = Database(url)
    try:
        claims = ClaimStore(db).claims("nudge")
    finally:
        db.dispose()
    runs: defaultdict[str, list[str]] = defaultdict(list)
    for c in claims:
        runs[c.claimed_by].append(c.subject)
    calls = dm_calls(fake)
    out = []
    for who, owners in runs.items():
        at = [c.at for o in owners for c in calls.get(o, [])]
        nan = float("nan")
        out.append(
            Pass(int(who.split(":")[1]), sorted(owners), min(at, default=nan), max(at, default=nan))
        )
    return sorted(out, key=lambda p: p.first)


def overlapping(found: list[Pass]) -> int:
    """Pairs of passes of different processes whose DMs interleaved in time."""
    return sum(
        a.pid != b.pid and a.first <= b.last and b.first <= a.last
        for i, a in enumerate(found)
        for b in found[i + 1 :]
    )


def due(slots: dict[str, datetime], by: datetime) -> set[str]:
    return {owner for owner, slot in slots.items() if slot <= by}


def now_utc() -> datetime:
    return datetime.now(UTC)
