"""The storage layer on SQLite and PostgreSQL: migrations, schema, and every Store method."""

from __future__ import annotations

import threading
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from bot.storage import progress_models  # noqa: F401  (the progress tables, in Base.metadata)
from bot.storage.db import Database, alembic_config, make_engine, migrate, normalize_url
from bot.storage.models import Base
from bot.storage.store import Store, UnknownRecord
from bot.storage.work_store import WorkStore
from tests.db_fixtures import claim_only, postgres_unavailable

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TABLES = {
    "seen_events",
    "exchanges",
    "feedback",
    "alignments",
    "initiatives",
    "initiative_objectives",
    "progress_updates",
    "owner_prefs",
    "send_claims",
    "digests",
    "audit_log",
    "app_state",
}
SUGGESTED = [
    {"id": "G1", "score": 0.82, "confidence": "high"},
    {"id": "G2", "score": 0.55, "confidence": "medium"},
]


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _exchange(
    store: Store,
    *,
    thread_ts: str | None = "100.1",
    question: str = "Q?",
    now: datetime = T0,
    channel_id: str = "C1",
) -> int:
    return store.record_exchange(
        channel_id=channel_id,
        thread_ts=thread_ts,
        user_id="U1",
        question=question,
        answer="A.",
        answered=True,
        cited_ids=["G1", "G1.2"],
        framework_hash="h1",
        now=now,
    )


def _alignment(
    store: Store,
    text: str = "Train officers",
    *,
    user_id: str = "U1",
    framework_hash: str = "h1",
    now: datetime = T0,
) -> int:
    return store.record_alignment(
        user_id=user_id,
        channel_id="C1",
        text=text,
        suggested=SUGGESTED,
        framework_hash=framework_hash,
        now=now,
    )


# ---- engine and migrations -------------------------------------------------------------------


def test_migrations_apply_and_reapplying_is_a_no_op(database: Database) -> None:
    with database.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == _head()
        before = set(inspect(connection).get_table_names())
    assert before >= TABLES | {"alembic_version"}
    database.migrate()
    with database.engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) == before
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    assert versions == [(_head(),)]


def test_migrated_schema_matches_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diffs == []


def test_postgres_tables_go_to_the_schema_in_the_url(pg_schema_url: str) -> None:
    db = Database(pg_schema_url)
    try:
        db.migrate()
        schema = pg_schema_url.rsplit("%3D", 1)[1]
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT current_schema()")).scalar() == schema
            tables = connection.execute(
                text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                {"s": schema},
            ).scalars()
            assert set(tables) == TABLES | {"alembic_version"}
    finally:
        db.dispose()


def test_env_py_migrates_from_a_url_without_a_connection(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    config = alembic_config()
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "head")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == _head()
            assert set(inspect(connection).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_sqlite_uses_wal_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
    finally:
        engine.dispose()


def test_sqlite_file_in_a_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / "not" / "yet" / "there" / "fwbot.db"
    db = Database(f"sqlite:///{path}")
    try:
        db.migrate()
        store = Store(db)
        assert _claim(store, "Ev1")
        assert path.is_file()
    finally:
        db.dispose()


def test_sqlite_in_memory_keeps_one_database(tmp_path: Path) -> None:
    db = Database("sqlite://")
    try:
        db.migrate()
        store = Store(db)
        exchange_id = _exchange(store)
        assert store.exchange(exchange_id) is not None
    finally:
        db.dispose()


def test_postgresql_urls_use_psycopg_3() -> None:
    url = "postgresql://u:secret@db.example:5432/fwbot?options=-csearch_path%3Dapp"
    assert normalize_url(url).drivername == "postgresql+psycopg"
    assert normalize_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    engine = make_engine(url)  # no connection is made
    assert engine.url.drivername == "postgresql+psycopg"
    assert engine.url.query["options"] == "-csearch_path=app"
    assert engine.pool._pre_ping  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="unsupported database"):
        normalize_url("mysql://u@h/db")


def test_migrate_function_accepts_an_engine(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fn.db'}")
    try:
        migrate(engine)
        migrate(engine)
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_session_rolls_back_on_error(database: Database) -> None:
    with pytest.raises(RuntimeError), database.session() as session:
        session.execute(
            text("INSERT INTO seen_events (event_id, seen_at) VALUES ('x', :t)"), {"t": T0}
        )
        raise RuntimeError("boom")
    with database.session() as session:
        assert session.execute(text("SELECT count(*) FROM seen_events")).scalar() == 0


def test_unreachable_postgres_skips_unless_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FWBOT_REQUIRE_POSTGRES", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"127\.0\.0\.1:5432 is unreachable: down"):
        postgres_unavailable("down")
    monkeypatch.setenv("FWBOT_REQUIRE_POSTGRES", "1")
    with pytest.raises(pytest.fail.Exception, match=r"127\.0\.0\.1:5432 is unreachable: down"):
        postgres_unavailable("down")


# ---- events ----------------------------------------------------------------------------------


def _claim(store: Store, key: str, now: datetime | None = None) -> bool:
    """A duplicate check only (no work kept): True the first time ``key`` is seen."""
    return claim_only(store.database, key, now) == "new"


def _prune(store: Store, older_than: datetime) -> int:
    return WorkStore(store.database).prune(older_than)[0]


def test_claim_event_once(store: Store) -> None:
    assert _claim(store, "Ev1") is True
    assert _claim(store, "Ev1") is False
    assert _claim(store, "Ev2") is True


def test_concurrent_claims_have_one_winner(store: Store) -> None:
    workers = 8
    barrier = threading.Barrier(workers)
    results: list[bool] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def claim() -> None:
        try:
            barrier.wait(timeout=10)
            won = _claim(store, "EvRace")
            with lock:
                results.append(won)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=claim) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(results) == [False] * (workers - 1) + [True]


def test_prune_events(store: Store) -> None:
    _claim(store, "old1", now=T0 - timedelta(days=3))
    _claim(store, "old2", now=T0 - timedelta(days=2))
    _claim(store, "new", now=T0)
    assert _prune(store, T0 - timedelta(days=1)) == 2
    assert _prune(store, T0 - timedelta(days=1)) == 0
    assert _claim(store, "old1", now=T0) is True  # forgotten
    assert _claim(store, "new", now=T0) is False


# ---- exchanges and votes ---------------------------------------------------------------------


def test_record_and_read_an_exchange(store: Store) -> None:
    cest = timezone(timedelta(hours=2))
    exchange_id = store.record_exchange(
        channel_id="C1",
        thread_ts=None,
        user_id="U1",
        question="What is G1?",
        answer="G1 is…",
        answered=False,
        cited_ids=[],
        framework_hash="h" * 64,
        team_id="T1",
        now=datetime(2025, 3, 1, 14, 0, tzinfo=cest),
    )
    record = store.exchange(exchange_id)
    assert record is not None
    assert (record.team_id, record.thread_ts, record.reply_ts) == ("T1", None, None)
    assert (record.answered, record.cited_ids, record.framework_hash) == (False, (), "h" * 64)
    assert record.created_at == T0 and record.created_at.tzinfo == UTC
    with pytest.raises(FrozenInstanceError):
        record.answer = "changed"  # type: ignore[misc]
    store.set_reply_ts(exchange_id, "200.5")
    assert store.exchange(exchange_id).reply_ts == "200.5"  # type: ignore[union-attr]
    assert store.exchange(exchange_id + 1000) is None
    with pytest.raises(UnknownRecord):
        store.set_reply_ts(exchange_id + 1000, "1.0")


def test_naive_timestamps_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        _claim(store, "Ev", now=datetime(2025, 1, 1))


def test_thread_exchanges_oldest_first(store: Store) -> None:
    second = _exchange(store, question="second", now=T0 + timedelta(minutes=5))
    first = _exchange(store, question="first", now=T0)
    third = _exchange(store, question="third", now=T0 + timedelta(minutes=5))
    _exchange(store, question="other thread", thread_ts="999.9")
    _exchange(store, question="other channel", channel_id="C2")
    records = store.thread_exchanges("C1", "100.1")
    assert [r.id for r in records] == [first, second, third]
    assert [r.question for r in records] == ["first", "second", "third"]
    assert records[0].cited_ids == ("G1", "G1.2")
    assert store.thread_exchanges("C1", "nope") == []


def test_a_second_vote_replaces_the_first(store: Store) -> None:
    exchange_id = _exchange(store)
    store.record_vote(exchange_id, "U2", True, now=T0)
    store.record_vote(exchange_id, "U2", False, now=T0 + timedelta(minutes=1))
    [row] = store.feedback_rows()
    assert (row.helpful, row.not_helpful) == (0, 1)
    with store.database.session() as session:
        created, updated = session.execute(
            text("SELECT created_at, updated_at FROM feedback")
        ).one()
    assert created != updated


def test_vote_on_an_unknown_exchange(store: Store) -> None:
    with pytest.raises(UnknownRecord, match="no exchange with id 424242"):
        store.record_vote(424242, "U2", True)
    assert issubclass(UnknownRecord, LookupError)
    assert store.feedback_rows() == []


def test_feedback_rows_count_votes_per_exchange(store: Store) -> None:
    a = _exchange(store, question="qa", now=T0)
    _exchange(store, question="no votes")
    b = _exchange(store, question="qb", now=T0 + timedelta(hours=1))
    for user, helpful in [("U1", True), ("U2", True), ("U3", False)]:
        store.record_vote(a, user, helpful)
    store.record_vote(b, "U1", False)
    store.record_vote(b, "U2", False)
    rows = store.feedback_rows()
    assert [(r.exchange_id, r.question, r.helpful, r.not_helpful) for r in rows] == [
        (a, "qa", 2, 1),
        (b, "qb", 0, 2),
    ]
    assert rows[0].cited_ids == ("G1", "G1.2") and rows[0].answered is True
    assert rows[1].created_at == T0 + timedelta(hours=1)


# ---- alignments ------------------------------------------------------------------------------


def test_record_and_read_an_alignment(store: Store) -> None:
    alignment_id = _alignment(store)
    record = store.alignment(alignment_id)
    assert record is not None
    assert record.status == "suggested" and record.final_ids is None
    assert record.decided_by is None
    assert record.suggested_ids == ("G1", "G2")
    assert record.suggested[0]["score"] == pytest.approx(0.82)
    assert record.suggested[0]["confidence"] == "high"
    assert record.suggested[1].get("why") is None
    with pytest.raises(TypeError):
        record.suggested[0]["id"] = "G9"  # type: ignore[index]
    assert record.created_at == record.updated_at == T0
    assert store.alignment(alignment_id + 1000) is None
    with_extras = store.record_alignment(
        user_id="U1",
        channel_id=None,
        text="x",
        framework_hash="h1",
        suggested=[{"id": 7, "score": "0.5", "confidence": "low", "why": "Mentions training"}],
    )
    [kept] = store.alignment(with_extras).suggested  # type: ignore[union-attr]
    assert dict(kept) == {"id": "7", "score": 0.5, "confidence": "low", "why": "Mentions training"}
    with pytest.raises(ValueError, match="suggestion needs"):
        store.record_alignment(
            user_id="U1", channel_id=None, text="x", suggested=[{"id": "G1"}], framework_hash="h1"
        )


def test_decide_confirmed_vs_corrected(store: Store) -> None:
    later = T0 + timedelta(minutes=3)
    confirmed = store.decide_alignment(
        _alignment(store), user_id="U9", ids=["G2", "G1", "G2"], now=later
    )
    assert confirmed.status == "confirmed"
    assert confirmed.final_ids == ("G2", "G1")
    assert (confirmed.decided_by, confirmed.updated_at, confirmed.created_at) == ("U9", later, T0)

    corrected = store.decide_alignment(_alignment(store), user_id="U9", ids=["G1", "G3"])
    assert corrected.status == "corrected" and corrected.final_ids == ("G1", "G3")
    subset = store.decide_alignment(_alignment(store), user_id="U9", ids=["G1"])
    assert subset.status == "corrected"
    assert store.alignment(corrected.id) == corrected  # persisted

    with pytest.raises(UnknownRecord, match="no alignment"):
        store.decide_alignment(424242, user_id="U9", ids=["G1"])


def test_recent_alignments_newest_first_with_limit(store: Store) -> None:
    ids = [_alignment(store, f"text {i}", now=T0 + timedelta(minutes=i)) for i in range(7)]
    _alignment(store, "someone else", user_id="U2", now=T0 + timedelta(hours=1))
    recent = store.recent_alignments("U1")
    assert [r.id for r in recent] == ids[::-1][:5]
    assert [r.id for r in store.recent_alignments("U1", limit=2)] == [ids[6], ids[5]]
    assert store.recent_alignments("U3") == []


def test_labelled_examples(store: Store) -> None:
    def decided(text: str, ids: list[str], minute: int, framework_hash: str = "h1") -> None:
        at = T0 + timedelta(minutes=minute)
        alignment_id = _alignment(store, text, framework_hash=framework_hash, now=at)
        store.decide_alignment(alignment_id, user_id="U1", ids=ids, now=at)

    decided("alpha", ["G1", "G2"], 1)  # confirmed
    decided("beta", ["G3"], 2)  # corrected
    decided("alpha", ["G2"], 3)  # a newer decision on the same text wins
    decided("gamma", ["G1"], 4, "h2")  # other framework version
    _alignment(store, "undecided", now=T0 + timedelta(minutes=5))
    examples = store.labelled_examples("h1")
    assert [(e.text, e.ids) for e in examples] == [("alpha", ("G2",)), ("beta", ("G3",))]
    assert [e.text for e in store.labelled_examples("h2")] == ["gamma"]
    assert store.labelled_examples("h3") == []


def test_an_example_knows_whose_words_it_is_and_whether_they_were_shared(store: Store) -> None:
    """Who ran the /align (not who decided it) owns the text; a text is shared once any
    decided alignment of it was."""
    private = _alignment(store, "private plan", user_id="U1", now=T0)
    store.decide_alignment(private, user_id="UADMIN", ids=["G1"], now=T0)
    public = _alignment(store, "public plan", user_id="U2", now=T0)
    store.decide_alignment(public, user_id="U2", ids=["G2"], now=T0)
    assert store.alignment(public).shared_at is None
    shared = store.mark_shared(public, now=T0 + timedelta(minutes=1))
    assert shared.shared_at == T0 + timedelta(minutes=1)
    assert store.mark_shared(public, now=T0 + timedelta(hours=1)).shared_at == shared.shared_at
    again = _alignment(store, "public plan", user_id="U3", now=T0 + timedelta(minutes=2))
    store.decide_alignment(again, user_id="U3", ids=["G3"], now=T0 + timedelta(minutes=2))
    examples = {e.text: e for e in store.labelled_examples("h1")}
    assert (examples["private plan"].owner_id, examples["private plan"].shared) == ("U1", False)
    assert (examples["public plan"].owner_id, examples["public plan"].shared) == ("U3", True)
    with pytest.raises(UnknownRecord):
        store.mark_shared(424242)


def test_recent_exchanges_are_top_level_recent_and_oldest_first(store):
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2026, 11, 2, 9, tzinfo=UTC)

    def ask(question: str, minutes: int, thread_ts: str | None = None) -> None:
        store.record_exchange(
            channel_id="D1",
            thread_ts=thread_ts,
            user_id="U1",
            question=question,
            answer="a",
            answered=True,
            cited_ids=[],
            framework_hash="h",
            now=t0 + timedelta(minutes=minutes),
        )

    ask("too old", 0)
    ask("first", 20)
    ask("in a thread", 21, thread_ts="1.1")
    ask("second", 22)
    since = t0 + timedelta(minutes=10)
    assert [e.question for e in store.recent_exchanges("D1", since=since)] == ["first", "second"]
    assert [e.question for e in store.recent_exchanges("D1", since=since, limit=1)] == ["second"]
    assert store.recent_exchanges("D9", since=since) == []
