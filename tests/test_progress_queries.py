"""The progress answers' queries (bot.storage.progress_queries) on SQLite and PostgreSQL,
the link table initiative_objectives kept in step with objective_ids, and migration 0006's
backfill."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import delete, insert, select, text

from bot.storage.db import Database, alembic_config, make_engine
from bot.storage.progress_models import Initiative, InitiativeObjective
from bot.storage.progress_queries import ProgressQueries, overdue_ranges
from bot.storage.progress_records import (
    GRACE,
    ImportPlan,
    InitiativeRecord,
    NewInitiative,
    PlannedRow,
)
from bot.storage.progress_store import ProgressStore
from bot.storage.vocabulary import Cadence

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def progress(database: Database) -> ProgressStore:
    return ProgressStore(database)


@pytest.fixture
def queries(database: Database) -> ProgressQueries:
    return ProgressQueries(database)


def new(title: str, owner: str = "U1", ids: tuple[str, ...] = ("1.1",), **kw) -> NewInitiative:
    return NewInitiative(title=title, owner_id=owner, objective_ids=ids, **kw)


def links(database: Database) -> set[tuple[int, str]]:
    with database.session(write=False) as session:
        rows = session.execute(
            select(InitiativeObjective.initiative_id, InitiativeObjective.objective_id)
        )
        return {(a, b) for a, b in rows}


def expected_links(progress: ProgressStore) -> set[tuple[int, str]]:
    return {(r.id, oid) for r in progress.initiatives(status=None) for oid in r.objective_ids}


# ---- the link table -------------------------------------------------------------------------


def test_the_link_table_follows_every_write_of_objective_ids(
    database: Database, progress: ProgressStore
) -> None:
    a = progress.create_initiative(new("A", ids=("2.3", "2.3", "1.1")), actor="U9", now=T0)
    b, c = progress.import_initiatives([new("B", ids=("1.1",)), new("C", ids=("4.2",))], actor="U9")
    lead = progress.set_objective_lead(
        "5.1", owner_id="U7", cadence="monthly", title="Lead 5.1", actor="U9"
    )
    progress.set_objective_lead("5.1", owner_id="U8", cadence="weekly", title="x", actor="U9")
    assert links(database) == {
        (a.id, "2.3"),
        (a.id, "1.1"),
        (b.id, "1.1"),
        (c.id, "4.2"),
        (lead.id, "5.1"),
    }
    progress.retag(a.id, ["3.1", "2.3"], actor="U9")
    with pytest.raises(ValueError):
        progress.retag(a.id, [], actor="U9")

    def plan(stored: list[InitiativeRecord]) -> ImportPlan:
        by_title = {r.title: r for r in stored}
        return ImportPlan(
            (
                PlannedRow(
                    1,
                    "update",
                    new("B", ids=("1.2", "1.3")),
                    by_title["B"],
                    {"objective_ids": (("1.1",), ("1.2", "1.3"))},
                ),
                PlannedRow(2, "update", new("C"), by_title["C"], {"title": ("C", "C2")}),
                PlannedRow(3, "create", new("D", ids=("2.1",))),
            )
        )

    _, created = progress.sync_initiatives(plan, actor="U9")
    assert links(database) == expected_links(progress)
    assert {(b.id, "1.2"), (b.id, "1.3"), (created[0].id, "2.1"), (a.id, "3.1")} <= links(database)
    assert (b.id, "1.1") not in links(database)
    # Deleting an initiative deletes its links (ON DELETE CASCADE).
    with database.session() as session:
        session.execute(delete(Initiative).where(Initiative.id == a.id))
    assert not {pair for pair in links(database) if pair[0] == a.id}
    assert links(database) == expected_links(progress)


def test_migration_0006_backfills_the_link_table(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "0005")
            connection.commit()
            for i, ids in enumerate([["1.1", "2.3"], ["2.3"], ["4.2", "4.2"], []], start=1):
                connection.execute(
                    text(
                        "INSERT INTO initiatives (id, kind, title, description, owner_id,"
                        " objective_ids, cadence, status, created_by, created_at, updated_at)"
                        " VALUES (:id, 'initiative', :t, '', 'U1', :ids, 'weekly', 'active',"
                        " 'U1', :at, :at)"
                    ),
                    {"id": i, "t": f"I{i}", "ids": json.dumps(ids), "at": T0},
                )
            connection.commit()
    finally:
        engine.dispose()
    db = Database(database_url)
    try:
        db.migrate()
        assert links(db) == {(1, "1.1"), (1, "2.3"), (2, "2.3"), (3, "4.2")}
        assert ProgressQueries(db).coverage(["2.3", "4.2", "9.9"]) == {"2.3": 2, "4.2": 1, "9.9": 0}
    finally:
        db.dispose()


# ---- the queries ----------------------------------------------------------------------------


def _seed(progress: ProgressStore) -> dict[str, InitiativeRecord]:
    """Five initiatives and a lead, at T0; ``now`` for the checks is T0 + 20 days."""
    made = {}
    for title, owner, ids, cadence in [
        ("border", "U1", ("2.3",), "weekly"),
        ("biometrics pilot", "U2", ("2.3", "1.1"), "monthly"),
        ("cyber desk", "U1", ("1.2",), "fortnightly"),
        ("training", "U3", ("1.1",), "weekly"),
        ("closed one", "U3", ("2.3",), "weekly"),
    ]:
        made[title] = progress.create_initiative(
            new(title, owner, ids, cadence=Cadence(cadence)), actor="U9", now=T0
        )
    made["lead"] = progress.set_objective_lead(
        "2.3", owner_id="U5", cadence="monthly", title="Lead 2.3", actor="U9", now=T0
    )
    progress.close(made["closed one"].id, actor="U9", now=T0)
    update = dict(note="", author_id="U1")
    progress.add_update(
        made["border"].id, status="on_track", percent=10, now=T0 + timedelta(days=15), **update
    )
    progress.add_update(
        made["border"].id, status="at_risk", percent=20, now=T0 + timedelta(days=18), **update
    )
    progress.add_update(
        made["biometrics pilot"].id,
        status="done",
        percent=100,
        now=T0 + timedelta(days=2),
        **update,
    )
    progress.add_update(
        made["cyber desk"].id, status="on_track", percent=5, now=T0 + timedelta(days=1), **update
    )
    progress.add_update(
        made["lead"].id, status="on_track", percent=None, now=T0 + timedelta(days=19), **update
    )
    return made


NOW = T0 + timedelta(days=20)


def titles_of(records: list[InitiativeRecord]) -> list[str]:
    return [r.title for r in records]


def test_for_objectives_overdue_first_then_latest_update(
    progress: ProgressStore, queries: ProgressQueries
) -> None:
    _seed(progress)
    # training (weekly, never updated since T0) is overdue; border updated on day 18.
    records, total = queries.for_objectives(["1.1", "2.3"], now=NOW)
    assert titles_of(records) == ["training", "border", "biometrics pilot"] and total == 3
    assert [r.is_overdue(NOW) for r in records] == [True, False, False]
    records, total = queries.for_objectives(["2.3"], now=NOW, limit=1)
    assert titles_of(records) == ["border"] and total == 2
    records, total = queries.for_objectives(["2.3"], status=None, kind=None, now=NOW)
    assert set(titles_of(records)) == {"border", "biometrics pilot", "closed one", "Lead 2.3"}
    assert total == 4
    assert queries.for_objectives([], now=NOW) == ([], 0)
    assert queries.for_objectives(["9.9"], now=NOW) == ([], 0)
    assert queries.for_objectives(["2.3"], now=NOW, limit=0) == ([], 2)


def test_overdue_silent_owned_and_leads(progress: ProgressStore, queries: ProgressQueries) -> None:
    made = _seed(progress)
    records, total = queries.overdue(NOW)
    # cyber desk: fortnightly from day 1, due day 15, overdue after day 16; training: after
    # day 8. Oldest last update first: training (created T0) before cyber desk (day 1).
    assert titles_of(records) == ["training", "cyber desk"] and total == 2
    assert titles_of(queries.overdue(NOW, owner_id="U1")[0]) == ["cyber desk"]
    assert titles_of(queries.overdue(NOW, objective_ids=["1.1"])[0]) == ["training"]
    assert queries.overdue(NOW, objective_ids=["2.3"]) == ([], 0)
    assert queries.overdue(NOW, limit=1)[1] == 2

    records, total = queries.silent_since(T0 + timedelta(days=10))
    assert titles_of(records) == ["training", "cyber desk", "biometrics pilot"] and total == 3
    assert queries.silent_since(T0 + timedelta(days=10), limit=1)[1] == 3
    assert queries.silent_since(T0) == ([], 0)  # created at T0: not silent "since T0"

    records, total = queries.owned_by("U1")
    assert titles_of(records) == ["border", "cyber desk"] and total == 2
    assert queries.owned_by("U3") == ([progress.initiative(made["training"].id)], 1)
    assert queries.owned_by("U3", status=None)[1] == 2
    lead = queries.lead_of("2.3")
    assert lead is not None and lead.owner_id == "U5" and lead.kind == "objective"
    assert queries.lead_of("1.1") is None


def test_coverage_owners_activity_titles(progress: ProgressStore, queries: ProgressQueries) -> None:
    made = _seed(progress)
    ids = ["1.1", "1.2", "2.3", "3.1"]
    assert queries.coverage(ids) == {"1.1": 2, "1.2": 1, "2.3": 2, "3.1": 0}
    assert queries.coverage(ids, kind=None)["2.3"] == 3  # with the lead
    assert queries.coverage([]) == {}
    assert queries.owners_of(ids) == {
        "1.1": ["U2", "U3"],
        "1.2": ["U1"],
        "2.3": ["U1", "U2"],
        "3.1": [],
    }
    assert queries.activity(ids, T0) == {"1.1": 1, "1.2": 1, "2.3": 4, "3.1": 0}
    assert queries.activity(ids, T0 + timedelta(days=16)) == {
        "1.1": 0,
        "1.2": 0,
        "2.3": 2,
        "3.1": 0,
    }
    titles = queries.titles()
    assert titles[made["biometrics pilot"].id] == "biometrics pilot"
    assert made["closed one"].id not in titles and len(titles) == 5
    assert len(queries.titles(status=None)) == 6


def test_updates_for(progress: ProgressStore, queries: ProgressQueries) -> None:
    made = _seed(progress)
    window = dict(start=T0, end=NOW)
    records, total = queries.updates_for(**window)
    assert [u.created_at for u in records] == sorted((u.created_at for u in records), reverse=True)
    assert total == 5 and len(records) == 5
    records, total = queries.updates_for(initiative_ids=[made["border"].id], **window, limit=1)
    assert [u.percent for u in records] == [20] and total == 2
    records, total = queries.updates_for(objective_ids=["2.3"], **window)
    assert [u.initiative_id for u in records] == [
        made["lead"].id,
        made["border"].id,
        made["border"].id,
        made["biometrics pilot"].id,
    ]
    records, total = queries.updates_for(
        objective_ids=["1.1"], start=T0 + timedelta(days=1), end=T0 + timedelta(days=3)
    )
    assert [u.status for u in records] == ["done"] and total == 1
    assert queries.updates_for(objective_ids=[], **window) == ([], 0)
    both = queries.updates_for(
        initiative_ids=[made["cyber desk"].id], objective_ids=["2.3"], **window
    )
    assert both == ([], 0)
    assert queries.updates_for(**window, limit=0) == ([], 5)


# ---- overdue == is_overdue ------------------------------------------------------------------


def test_overdue_ranges_match_cadence_after_at_month_ends() -> None:
    rng = random.Random(3)
    for _ in range(4000):
        now = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 2 * 366 * 1440))
        if rng.random() < 0.5:  # near a month's end, where months are awkward
            now = now.replace(day=1) - timedelta(
                days=rng.randrange(0, 3), minutes=rng.randrange(0, 1440)
            )
        cadence = rng.choice(list(Cadence))
        ranges = overdue_ranges(cadence, now)
        for _ in range(20):
            base = now - timedelta(minutes=rng.randrange(0, 50 * 1440))
            inside = any((lo is None or lo <= base) and base < hi for lo, hi in ranges)
            assert inside == (cadence.after(base) + GRACE < now), (cadence, now, base, ranges)


def test_overdue_is_is_overdue_on_random_rows(
    database: Database, progress: ProgressStore, queries: ProgressQueries
) -> None:
    rng = random.Random(11)
    start = datetime(2025, 12, 1, tzinfo=UTC)
    rows = []
    for i in range(400):
        created = start + timedelta(minutes=rng.randrange(0, 90 * 1440))
        last = (
            None if rng.random() < 0.3 else created + timedelta(minutes=rng.randrange(0, 60 * 1440))
        )
        rows.append(
            dict(
                kind="initiative",
                title=f"I{i}",
                description="",
                owner_id=f"U{i % 7}",
                objective_ids=["1.1"],
                cadence=rng.choice(list(Cadence)).value,
                status="active" if rng.random() < 0.85 else "closed",
                created_by="U9",
                created_at=created,
                updated_at=created,
                last_update_at=last,
            )
        )
    with database.session() as session:
        session.execute(insert(Initiative), rows)
        ids = session.scalars(select(Initiative.id)).all()
        session.execute(
            insert(InitiativeObjective), [{"initiative_id": i, "objective_id": "1.1"} for i in ids]
        )
    every = progress.initiatives(status=None)
    for now in [
        datetime(2026, 3, 1, 0, 30, tzinfo=UTC),
        datetime(2026, 2, 28, 12, 0, tzinfo=UTC),
        datetime(2026, 3, 31, 23, 0, tzinfo=UTC),
        *(start + timedelta(minutes=rng.randrange(0, 160 * 1440)) for _ in range(25)),
    ]:
        want = {r.id for r in every if r.is_overdue(now)}
        records, total = queries.overdue(now, limit=1000)
        assert {r.id for r in records} == want and total == len(want), now
        bases = [r.last_update_at or r.created_at for r in records]
        assert bases == sorted(bases)
        # for_objectives puts the same rows first.
        listed, _ = queries.for_objectives(["1.1"], now=now, limit=1000)
        assert {r.id for r in listed[: len(want)]} == want
        silent = {r.id for r in queries.silent_since(now, limit=1000)[0]}
        assert silent == {
            r.id for r in every if r.status == "active" and (r.last_update_at or r.created_at) < now
        }
