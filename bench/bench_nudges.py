"""Benchmark of the weekly nudges: planning who is due, and the send loop against a fake Slack.

    .venv/bin/python bench/bench_nudges.py [--initiatives 10000] [--owners 5000]
        [--send 2000] [--limited 300] [--cap 20] [--burst 1] [--database URL]

1. **plan**: 10,000 initiatives of 5,000 owners in 40 time zones, in SQLite (or --database):
   loading them with their owners' preferences and computing who is due now
   (`NudgeRunner.plan`). Baseline: loading the same rows with a bare `SELECT` (no records,
   no planning). Target ≤ 1 s.
2. **send, no limit**: one pass (`NudgeRunner.run`) that claims and sends N DMs through the
   fake Slack with no rate limit. Baseline: the same N `chat.postMessage` calls from one
   WebClient in a loop, no database. Target ≥ 200 DMs/s.
3. **send, rate limited**: the fake allows 1 message a second per channel and `--cap` a second
   in the workspace (token buckets of `--burst`), answering 429 + Retry-After beyond that.
   One pass over M owners with a cold pacer (it must find the limit), then one with a warm
   pacer (starting at the rate the first pass learned, as the next pass of `fwbot serve`,
   which keeps its pacer, does). Target: the achieved rate within 10 % of the cap, nothing
   lost. Every DM goes to its own channel, so the per-channel limit never binds here.

Every DM the fake received is counted per owner: "lost" = owners planned without exactly one DM.
A report, not a test: the exit code is always 0.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bot.progress.nudges import NudgeConfig, NudgeRunner  # noqa: E402
from bot.slack.progress_render import renderers  # noqa: E402
from bot.slack_api.calls import sender_client  # noqa: E402
from bot.slack_api.pacing import AdaptivePacer  # noqa: E402
from bot.slack_api.sender import SlackSender  # noqa: E402
from bot.storage.claims_store import ClaimStore  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from bot.storage.progress_records import Cadence, NewInitiative  # noqa: E402
from bot.storage.progress_store import ProgressStore  # noqa: E402
from local_slack import FakeSlackAPI, web_api  # noqa: E402

web_api._Server.request_queue_size = max(web_api._Server.request_queue_size, 1024)

NOW = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)  # Monday night UTC: every zone's slot passed
ZONES = [
    "Europe/Paris",
    "America/New_York",
    "Asia/Tokyo",
    "Africa/Lagos",
    "Europe/London",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Europe/Moscow",
    "America/Los_Angeles",
    "Asia/Singapore",
    "Africa/Johannesburg",
    "Asia/Dubai",
    "America/Mexico_City",
    "Europe/Istanbul",
    "Asia/Manila",
    "Pacific/Auckland",
    "America/Bogota",
    "Europe/Madrid",
    "Asia/Seoul",
] * 2
OBJECTIVES = ["1.1", "1.2", "1.3", "2.1", "2.2", "2.3", "3.1", "3.2", "4.1", "4.2", "5.1"]
BOT_TOKEN = "xoxb-test"


def populate(
    db: Database, initiatives: int, owners: int, *, seed: int = 7, all_overdue: bool = False
) -> list[str]:
    """``initiatives`` spread over ``owners`` (ids U00000001…): most of them overdue, or all
    of them with ``all_overdue``."""
    rng = random.Random(seed)
    store = ProgressStore(db)
    owner_ids = [f"U{n:08d}" for n in range(1, owners + 1)]
    items = []
    for n in range(initiatives):
        owner = owner_ids[n % owners]
        ages = [40, 70] if all_overdue else [2, 5, 9, 12, 20, 40, 70]
        last = NOW - timedelta(days=rng.choice(ages))
        items.append(
            NewInitiative(
                title=f"Initiative {n}",
                owner_id=owner,
                objective_ids=(rng.choice(OBJECTIVES),),
                cadence=rng.choice(
                    [Cadence.WEEKLY, Cadence.WEEKLY, Cadence.FORTNIGHTLY, Cadence.MONTHLY]
                ),
                last_update_at=last,
            )
        )
    for start in range(0, len(items), 2000):
        store.import_initiatives(
            items[start : start + 2000], actor="bench", now=NOW - timedelta(days=90)
        )
    for owner in owner_ids:
        store.set_prefs(
            owner,
            actor="bench",
            audit=False,
            now=NOW - timedelta(days=90),
            tz=rng.choice(ZONES),
            nudge_weekday=0,
            nudge_time=clock_time(9, 0),
        )
    return owner_ids


def runner(
    db: Database,
    api: FakeSlackAPI,
    *,
    max_rate: float,
    workers: int,
    pacer: AdaptivePacer | None = None,
) -> NudgeRunner:
    sender = SlackSender(sender_client(BOT_TOKEN, api.base_url), pacer or AdaptivePacer(max_rate))
    return NudgeRunner(
        ProgressStore(db), ClaimStore(db), sender, renderers(), NudgeConfig(workers=workers)
    )


def delivered(api: FakeSlackAPI) -> dict[str, int]:
    counts: dict[str, int] = {}
    for call in api.calls("chat.postMessage"):
        if call.ok:
            owner = str(call.params.get("channel"))
            counts[owner] = counts.get(owner, 0) + 1
    return counts


def bench_plan(url: str, initiatives: int, owners: int, rounds: int) -> list[tuple]:
    db = Database(url)
    db.migrate()
    populate(db, initiatives, owners)
    nudges = NudgeRunner(ProgressStore(db), ClaimStore(db), None, renderers())
    plan_times, base_times, due = [], [], 0
    for _ in range(rounds):
        t = time.perf_counter()
        with db.engine.connect() as conn:
            conn.execute(text("SELECT * FROM initiatives WHERE status = 'active'")).all()
            conn.execute(text("SELECT * FROM owner_prefs")).all()
        base_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        plans, _ = nudges.plan(NOW)
        plan_times.append(time.perf_counter() - t)
        due = len(plans)
    db.dispose()
    med = sorted(plan_times)[len(plan_times) // 2]
    base = sorted(base_times)[len(base_times) // 2]
    return [
        (
            f"plan: {initiatives:,} initiatives / {owners:,} owners → {due:,} due, s",
            f"{med:.3f}",
            f"{base:.3f}",
            "≤ 1.0",
            "ok" if med <= 1.0 else "FAIL",
        )
    ]


def bench_send(url: str, count: int, *, workers: int) -> list[tuple]:
    db = Database(url)
    db.migrate()
    populate(db, count, count, all_overdue=True)
    with FakeSlackAPI(tokens=(BOT_TOKEN,)) as api:
        client = api.client(BOT_TOKEN)
        t = time.perf_counter()
        for n in range(count):
            client.chat_postMessage(channel=f"UBASE{n:06d}", text="baseline")
        base_rate = count / (time.perf_counter() - t)
        api.reset()
        nudges = runner(db, api, max_rate=10_000, workers=workers)
        t = time.perf_counter()
        report = nudges.run(NOW)
        rate = len(report.sent) / (time.perf_counter() - t)
        got = delivered(api)
    db.dispose()
    lost = sum(1 for p in report.sent if got.get(p) != 1) + len(report.deferred)
    return [
        (
            f"send, no limit: {len(report.sent):,} DMs, DMs/s",
            f"{rate:.0f}",
            f"{base_rate:.0f}",
            "≥ 200",
            "ok" if rate >= 200 and not lost else "FAIL",
        ),
        ("  ↳ lost or duplicated", str(lost), "", "0", "ok" if not lost else "FAIL"),
    ]


def bench_limited(
    url: str, count: int, *, cap: float, burst: float, workers: int, start_rate: float | None = None
) -> tuple[list[tuple], float]:
    """One capped pass; returns its rows and the rate the pacer ended at."""
    db = Database(url)
    db.migrate()
    owners = populate(db, count, count, all_overdue=True)
    pacer = AdaptivePacer(10_000, start_rate=start_rate)
    with FakeSlackAPI(tokens=(BOT_TOKEN,)) as api:
        api.rate_limit(1.0, cap, burst=burst)
        nudges = runner(db, api, max_rate=10_000, workers=workers, pacer=pacer)
        t = time.perf_counter()
        first = nudges.run(NOW)
        elapsed = time.perf_counter() - t
        # Whatever a 429 storm left for later goes out in the next passes, as cron would.
        report, passes = first, 1
        while report.deferred and passes < 20:
            report = nudges.run(NOW + timedelta(minutes=11 * passes))
            passes += 1
        got = delivered(api)
        limited = sum(1 for c in api.calls("chat.postMessage") if c.status == 429)
    db.dispose()
    rate = len(first.sent) / elapsed
    lost = sum(1 for o in owners if got.get(o) != 1)
    share = rate / cap
    start = "cold pacer" if start_rate is None else "warm pacer"
    return [
        (
            f"send, capped at {cap:g}/s (burst {burst:g}), {start}: {count:,} DMs, DMs/s",
            f"{rate:.1f}",
            f"{cap:g}",
            "≥ 90 % of cap",
            "ok" if share >= 0.9 and not lost else "FAIL",
        ),
        ("  ↳ share of the allowed rate", f"{share:.1%}", "", "≥ 90 %", "info"),
        ("  ↳ 429 answers / passes", f"{limited} / {passes}", "", "", "info"),
        ("  ↳ lost or duplicated", str(lost), "", "0", "ok" if not lost else "FAIL"),
    ], pacer.rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--initiatives", type=int, default=10_000)
    parser.add_argument("--owners", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--send", type=int, default=2_000)
    parser.add_argument("--limited", type=int, default=300)
    parser.add_argument("--cap", type=float, default=20.0)
    parser.add_argument("--burst", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--database", help="a PostgreSQL URL (default: SQLite in a temp dir)")
    args = parser.parse_args()
    print(
        f"# bench_nudges · {platform.python_version()} · {platform.machine()} · "
        f"{'PostgreSQL' if args.database else 'SQLite'}"
    )
    rows: list[tuple] = []
    with tempfile.TemporaryDirectory() as tmp:

        def url(name: str) -> str:
            return args.database or f"sqlite:///{Path(tmp) / name}.db"

        rows += bench_plan(url("plan"), args.initiatives, args.owners, args.rounds)
        if args.database:
            print(
                "note: --database is used for the planning row only; the send rows need "
                "empty tables, so they run on SQLite",
                file=sys.stderr,
            )
        rows += bench_send(f"sqlite:///{Path(tmp) / 'send'}.db", args.send, workers=args.workers)
        cold, learned = bench_limited(
            f"sqlite:///{Path(tmp) / 'limited'}.db",
            args.limited,
            cap=args.cap,
            burst=args.burst,
            workers=args.workers,
        )
        # `fwbot serve` keeps one pacer across passes: the next pass starts at the rate the
        # last one learned. A fresh database and fake stand for the next week.
        warm, _ = bench_limited(
            f"sqlite:///{Path(tmp) / 'limited2'}.db",
            args.limited,
            cap=args.cap,
            burst=args.burst,
            workers=args.workers,
            start_rate=learned,
        )
        rows += cold + warm
    width = max(len(r[0]) for r in rows)
    print(f"{'metric'.ljust(width)} | value | baseline | target | verdict")
    print(f"{'-' * width}-|-------|----------|--------|--------")
    for name, value, base, target, verdict in rows:
        print(f"{name.ljust(width)} | {value} | {base} | {target} | {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
