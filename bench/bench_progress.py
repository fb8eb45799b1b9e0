"""Benchmark of the progress answers' queries (bot.storage.progress_queries) on PostgreSQL.

    .venv/bin/python bench/bench_progress.py [--database URL] [--rounds N]

Creates a schema of its own in the database (default: the test database at 127.0.0.1:5432),
migrates it, bulk-loads 10,000 initiatives and 50,000 updates, times every query method with
varied arguments (the methods take turns, so background load hits them alike), then the
queries of whole answers, then whole answers through ProgressAnswerer.answer beside the
framework question path (FrameworkAssistant.ask, with the MiniLM embedder), and prints
EXPLAIN ANALYZE of the main queries. The schema is dropped at the end. A report, not a
test: the exit code is always 0. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, event, insert, select, text  # noqa: E402

from bot.storage.db import Database  # noqa: E402
from bot.storage.progress_models import (  # noqa: E402
    Initiative,
    InitiativeObjective,
    ProgressUpdate,
)
from bot.storage.progress_queries import ProgressQueries  # noqa: E402
from bot.storage.progress_store import ProgressStore  # noqa: E402
from bot.storage.vocabulary import Cadence, UpdateStatus  # noqa: E402

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
OBJECTIVES = (
    "1.1 1.2 1.3 1.4 1.5 2.1 2.2 2.3 2.4 3.1 3.2 3.3 3.4 4.1 4.2 4.3 5.1 5.2 5.3 5.4 5.5".split()
)
GOALS = {g: [o for o in OBJECTIVES if o.startswith(f"{g}.")] for g in "12345"}
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
TARGET_MS = 50.0
WORDS = (
    "border biometrics pilot cyber desk training forensic notices firearms analysis network "
    "africa capacity data quality interoperability outreach governance funding innovation lab"
).split()


def schema_url(base: str, schema: str) -> str:
    """As tests/db_fixtures.postgres_url_for_schema: ``search_path`` set in the URL."""
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options={quote(f'-csearch_path={schema}', safe='')}"


def load(database: Database, n_initiatives: int, n_updates: int, seed: int = 1) -> dict[str, Any]:
    """Bulk-insert a realistic spread: objectives skewed (3.4 has none), ~300 owners
    (a few own many), cadences 50/30/20 %, 85 % active, one lead per objective but 3.4;
    updates skewed over initiatives (about 10 % never updated), spread up to now."""
    rng = random.Random(seed)
    weights = [rng.paretovariate(1.2) for _ in OBJECTIVES]
    weights[OBJECTIVES.index("3.4")] = 0.0
    owners = [f"U{n:04d}" for n in range(300)]
    owner_weights = [1 / (i + 1) ** 0.8 for i in range(len(owners))]
    initiatives: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    for i in range(1, n_initiatives + 1):
        lead = i <= len(OBJECTIVES) and OBJECTIVES[i - 1] != "3.4"
        ids = (
            [OBJECTIVES[i - 1]]
            if lead
            else list(
                dict.fromkeys(rng.choices(OBJECTIVES, weights, k=rng.choice((1, 1, 1, 2, 3))))
            )
        )
        created = NOW - timedelta(minutes=rng.randrange(60, 400 * 1440))
        title = " ".join(rng.sample(WORDS, 3)) + f" {i}"
        initiatives.append(
            dict(
                id=i,
                kind="objective" if lead else "initiative",
                title=f"Lead {ids[0]}" if lead else title,
                description="",
                owner_id=rng.choices(owners, owner_weights)[0],
                objective_ids=ids,
                lead_of=ids[0] if lead else None,
                cadence=rng.choices(list(Cadence), (50, 30, 20))[0].value,
                status="active" if lead or rng.random() < 0.85 else "closed",
                created_by="bench",
                created_at=created,
                updated_at=created,
                last_update_at=None,
                last_status=None,
                last_percent=None,
                source_alignment_id=None,
            )
        )
        links += [{"initiative_id": i, "objective_id": oid} for oid in ids]
    activity = [0.0 if rng.random() < 0.1 else rng.expovariate(1.0) for _ in initiatives]
    updates: list[dict[str, Any]] = []
    for row in rng.choices(initiatives, activity, k=n_updates):
        span = (NOW - row["created_at"]).total_seconds()
        at = row["created_at"] + timedelta(seconds=span * rng.random() ** 0.5)
        status = rng.choices(list(UpdateStatus), (60, 20, 10, 10))[0].value
        percent = rng.randrange(0, 101)
        updates.append(
            dict(
                initiative_id=row["id"],
                status=status,
                percent=percent,
                note="progress " + " ".join(rng.sample(WORDS, 4)),
                author_id=row["owner_id"],
                no_change=False,
                created_at=at,
            )
        )
        if row["last_update_at"] is None or at > row["last_update_at"]:
            row["last_update_at"], row["last_status"], row["last_percent"] = at, status, percent
    with database.session() as session:
        for table, rows in ((Initiative, initiatives), (InitiativeObjective, links)):
            for start in range(0, len(rows), 5000):
                session.execute(insert(table), rows[start : start + 5000])
        for start in range(0, len(updates), 5000):
            session.execute(insert(ProgressUpdate), updates[start : start + 5000])
        session.execute(
            text("SELECT setval(pg_get_serial_sequence('initiatives', 'id'), :n)"),
            {"n": n_initiatives},
        )
    with database.engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
    return {
        "owners": owners,
        "owner_weights": owner_weights,
        "links": len(links),
        "titles": {r["id"]: r["title"] for r in initiatives},
    }


def ms(xs: list[float], q: int) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1] * 1e3 if len(xs) > 1 else 0.0


def timed(
    calls: dict[str, Callable[[random.Random], object]], rounds: int
) -> dict[str, list[float]]:
    """Latency of each call, ``rounds`` times with its own random arguments; the calls
    take turns. Warm: each runs twice before timing starts."""
    rng = random.Random(7)
    out: dict[str, list[float]] = {name: [] for name in calls}
    for fn in calls.values():
        fn(rng)
        fn(rng)
    for _ in range(rounds):
        for name, fn in calls.items():
            t = time.perf_counter()
            fn(rng)
            out[name].append(time.perf_counter() - t)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database", default=POSTGRES_URL, help="a PostgreSQL URL (a schema is made)")
    ap.add_argument("--initiatives", type=int, default=10_000)
    ap.add_argument("--updates", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=200)
    args = ap.parse_args()

    schema = f"fwbot_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(args.database.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as connection:
        server = connection.execute(text("SHOW server_version")).scalar()
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    database = Database(schema_url(args.database, schema))
    try:
        print(
            f"machine: {os.cpu_count()} cores, python {platform.python_version()}, "
            f"PostgreSQL {server}, load average {os.getloadavg()[0]:.2f}; schema {schema}"
        )
        database.migrate()
        t = time.perf_counter()
        data = load(database, args.initiatives, args.updates)
        print(
            f"loaded {args.initiatives:,} initiatives ({data['links']:,} objective links) and "
            f"{args.updates:,} updates in {time.perf_counter() - t:.1f} s"
        )
        run(database, data, args.rounds)
    finally:
        database.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
    return 0


def run(database: Database, data: dict[str, Any], rounds: int) -> None:
    q = ProgressQueries(database)
    store = ProgressStore(database)
    owners, owner_weights = data["owners"], data["owner_weights"]
    n = len(data["titles"])

    def some_objectives(rng: random.Random) -> list[str]:
        return rng.choice([[rng.choice(OBJECTIVES)], GOALS[rng.choice("12345")]])

    def owner(rng: random.Random) -> str:
        return rng.choices(owners, owner_weights)[0]

    def select_1(rng: random.Random) -> object:
        with database.session(write=False) as session:
            return session.execute(select(1)).scalar()

    calls: dict[str, Callable[[random.Random], object]] = {
        "baseline: SELECT 1 (session round trip)": select_1,
        "baseline: initiative by primary key": lambda r: store.initiative(r.randrange(1, n + 1)),
        "for_objectives (1 objective or a goal's)": lambda r: q.for_objectives(
            some_objectives(r), now=NOW
        ),
        "overdue (all)": lambda r: q.overdue(NOW - timedelta(hours=r.randrange(0, 240))),
        "overdue (objectives)": lambda r: q.overdue(NOW, objective_ids=some_objectives(r)),
        "overdue (owner)": lambda r: q.overdue(NOW, owner_id=owner(r)),
        "silent_since (a month)": lambda r: q.silent_since(
            NOW - timedelta(days=r.randrange(20, 40))
        ),
        "coverage (21 objectives)": lambda r: q.coverage(OBJECTIVES),
        "activity (21 objectives, 7–90 days)": lambda r: q.activity(
            OBJECTIVES, NOW - timedelta(days=r.randrange(7, 91))
        ),
        "owned_by": lambda r: q.owned_by(owner(r)),
        "lead_of": lambda r: q.lead_of(r.choice(OBJECTIVES)),
        "owners_of (a goal's objectives)": lambda r: q.owners_of(GOALS[r.choice("12345")]),
        "updates_for (initiative, last month)": lambda r: q.updates_for(
            initiative_ids=[r.randrange(1, n + 1)], start=NOW - timedelta(days=60), end=NOW
        ),
        "updates_for (objectives, last month)": lambda r: q.updates_for(
            objective_ids=some_objectives(r), start=NOW - timedelta(days=30), end=NOW
        ),
        "updates_for (all, this week)": lambda r: q.updates_for(
            start=NOW - timedelta(days=r.randrange(7, 10)), end=NOW
        ),
        "titles (10k)": lambda r: q.titles(),
        "titles_version (the titles cache's key)": lambda r: q.titles_version(kind="initiative"),
    }

    def how_is(r: random.Random) -> object:  # "how is 2.3 doing?"
        ids = [r.choice(OBJECTIVES)]
        return q.for_objectives(ids, now=NOW), q.lead_of(ids[0])

    def report(r: random.Random) -> object:  # "what did the biometrics pilot report last month?"
        titles = q.titles()
        wanted = [i for i, t in titles.items() if "biometrics" in t][:5]
        return q.updates_for(initiative_ids=wanted, start=NOW - timedelta(days=60), end=NOW)

    answers: dict[str, Callable[[random.Random], object]] = {
        "how is 2.3 doing (for_objectives + lead_of)": how_is,
        "overdue under goal 1 (overdue)": lambda r: q.overdue(
            NOW, objective_ids=GOALS[r.choice("12345")]
        ),
        "who hasn't updated in a month (silent_since)": lambda r: q.silent_since(
            NOW - timedelta(days=30)
        ),
        "objectives without initiative (coverage)": lambda r: q.coverage(OBJECTIVES),
        "least active goal (activity)": lambda r: q.activity(OBJECTIVES, NOW - timedelta(days=30)),
        "what do I own (owned_by + overdue owner)": lambda r: (
            q.owned_by(o := owner(r)),
            q.overdue(NOW, owner_id=o),
        ),
        "what did X report (titles + updates_for)": report,
        "what changed this week (updates_for)": lambda r: q.updates_for(
            start=NOW - timedelta(days=7), end=NOW
        ),
    }
    t = time.perf_counter()
    single = timed(calls, rounds)
    whole = timed(answers, rounds)
    width = max(len(k) for k in (*calls, *answers))
    print(f"\n{rounds} rounds, the calls taking turns; {time.perf_counter() - t:.1f} s\n")
    print(f"{'query'.ljust(width)} | p50 ms | p95 ms")
    print(f"{'-' * width}-|--------|-------")
    for name, xs in single.items():
        print(f"{name.ljust(width)} | {ms(xs, 50):6.2f} | {ms(xs, 95):6.2f}")
    print(
        f"\n{'answer (its queries combined)'.ljust(width)} | p50 ms | p95 ms | target p95 | verdict"
    )
    print(f"{'-' * width}-|--------|--------|------------|--------")
    for name, xs in whole.items():
        p95 = ms(xs, 95)
        verdict = "ok" if p95 <= TARGET_MS else "FAIL"
        print(
            f"{name.ljust(width)} | {ms(xs, 50):6.2f} | {p95:6.2f} | ≤ {TARGET_MS:.0f} ms"
            f"      | {verdict}"
        )
    answers_end_to_end(database, data, rounds)
    explain(database, q)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


ADMIN = "UADMIN"
FRAMEWORK_QUESTIONS = (
    "What does 2.3 say?",
    "Which objective covers cybercrime?",
    "How do we improve data quality?",
    "What is goal 4?",
)


def answers_end_to_end(database: Database, data: dict[str, Any], rounds: int) -> None:
    """Whole progress answers through ``ProgressAnswerer.answer`` (parse, queries, text),
    beside the framework question path (``FrameworkAssistant.ask``) in the same run."""
    from bot.services.progress_answers import ProgressAnswerer
    from framework_data.loader import load_framework

    fw = load_framework()
    answerer = ProgressAnswerer(fw, ProgressQueries(database), admins={ADMIN}, resolve_topic=None)
    top_owner = data["owners"][0]
    # A real title, told apart from the generated ones (which differ only by a number): the
    # first active initiative with an update in the last month gets it.
    title = "Sahel biometric border pilot"
    with database.session() as session:
        session.execute(
            text(
                "UPDATE initiatives SET title = :title WHERE id = (SELECT min(id) FROM "
                "initiatives WHERE kind = 'initiative' AND status = 'active' "
                "AND last_update_at > :since)"
            ),
            {"title": title, "since": NOW - timedelta(days=30)},
        )
    asks: dict[str, tuple[str, str]] = {
        "how is 2.3 doing?": ("how is 2.3 doing?", "U0100"),
        "what's overdue under goal 1?": ("what's overdue under goal 1?", "U0100"),
        "who hasn't updated in a month? (admin)": ("who hasn't updated in a month?", ADMIN),
        "which objectives have no initiative?": ("which objectives have no initiative?", "U0100"),
        "which goal has the least activity?": ("which goal has the least activity?", "U0100"),
        "what do I own? (top owner)": ("what do I own?", top_owner),
        "what did <title> report last month?": (f"what did {title} report last month?", ADMIN),
        "what changed this week?": ("what changed this week?", "U0100"),
    }
    for name, (question, user) in asks.items():  # each really is a progress answer
        got = answerer.answer(question, user, now=NOW)
        assert got is not None, (name, question)
        first = got.answer.text.splitlines()[0]
        print(f"  {name}: {first[:90]}")

    def asking(question: str, user: str) -> Callable[[random.Random], object]:
        return lambda r: answerer.answer(question, user, now=NOW)

    def uncached(r: random.Random) -> object:  # the titles read afresh, the index rebuilt
        answerer._titles = None
        question, user = asks["what did <title> report last month?"]
        return answerer.answer(question, user, now=NOW)

    calls = {name: asking(*qa) for name, qa in asks.items()}
    calls["what did <title> report… (titles cache cleared)"] = uncached
    framework: dict[str, list[float]] = {}
    try:
        from retrieval.assistant import FrameworkAssistant
        from retrieval.embeddings import MiniLMEmbedder
        from retrieval.search import FrameworkSearcher

        assistant = FrameworkAssistant(FrameworkSearcher(fw, MiniLMEmbedder()))

        def framework_asking(question: str) -> Callable[[random.Random], object]:
            return lambda r: assistant.ask(question)

        for question in FRAMEWORK_QUESTIONS:
            calls[f"baseline framework: {question}"] = framework_asking(question)
    except Exception as exc:  # no model here: the progress part still runs
        print(f"  (framework baseline skipped: {type(exc).__name__}: {exc})")
    t = time.perf_counter()
    whole = timed(calls, rounds)
    framework = {k: v for k, v in whole.items() if k.startswith("baseline framework")}
    width = max(len(k) for k in whole)
    print(
        f"\nwhole answers, ProgressAnswerer.answer (parse + queries + text), {rounds} rounds, "
        f"taking turns; {time.perf_counter() - t:.1f} s\n"
    )
    print(f"{'question'.ljust(width)} | p50 ms | p95 ms | target p95 | verdict")
    print(f"{'-' * width}-|--------|--------|------------|--------")
    for name, xs in whole.items():
        p95 = ms(xs, 95)
        if name in framework:
            target, verdict = "baseline  ", "—"
        elif "cache cleared" in name:
            target, verdict = "comparison", "—"
        else:
            target, verdict = f"≤ {TARGET_MS:.0f} ms   ", "ok" if p95 <= TARGET_MS else "FAIL"
        print(f"{name.ljust(width)} | {ms(xs, 50):6.2f} | {p95:6.2f} | {target} | {verdict}")
    if framework:
        every = [x for xs in framework.values() for x in xs]
        print(
            f"\nframework question path, all {len(framework)} questions: p50 {ms(every, 50):.2f}"
            f" ms, p95 {ms(every, 95):.2f} ms; a progress answer's p95 must stay ≤ "
            f"{TARGET_MS:.0f} ms on top of it"
        )


def explain(database: Database, q: ProgressQueries) -> None:
    """EXPLAIN ANALYZE of the SQL each main method sends (caught as it is executed)."""
    caught: list[tuple[str, Any]] = []

    def catch(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "pg_" not in statement:
            caught.append((statement, parameters))

    mains: dict[str, Callable[[], object]] = {
        "for_objectives(['2.3'])": lambda: q.for_objectives(["2.3"], now=NOW),
        "overdue(now, objective_ids=goal 1)": lambda: q.overdue(NOW, objective_ids=GOALS["1"]),
        "overdue(now)": lambda: q.overdue(NOW),
        "silent_since(now - 30 days)": lambda: q.silent_since(NOW - timedelta(days=30)),
        "coverage(21)": lambda: q.coverage(OBJECTIVES),
        "activity(21, 30 days)": lambda: q.activity(OBJECTIVES, NOW - timedelta(days=30)),
        "owned_by(U0001)": lambda: q.owned_by("U0001"),
        "updates_for(objectives=['2.3'], 30 days)": lambda: q.updates_for(
            objective_ids=["2.3"], start=NOW - timedelta(days=30), end=NOW
        ),
        "updates_for(initiative_ids=[42], 60 days)": lambda: q.updates_for(
            initiative_ids=[42], start=NOW - timedelta(days=60), end=NOW
        ),
    }
    for name, fn in mains.items():
        caught.clear()
        event.listen(database.engine, "before_cursor_execute", catch)
        try:
            fn()
        finally:
            event.remove(database.engine, "before_cursor_execute", catch)
        for statement, parameters in caught:
            with database.engine.connect() as connection:
                plan = connection.exec_driver_sql(
                    f"EXPLAIN (ANALYZE, COSTS OFF, SUMMARY ON) {statement}", parameters
                ).scalars()
                print(f"\n== {name}")
                for line in plan:
                    print(f"  {line}")


if __name__ == "__main__":
    sys.exit(main())
