"""The lock replicas share (bot/storage/process_lock.py): to build the search index once, to run
the scheduled progress pass on one replica at a time."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from bot.storage.process_lock import named_lock


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_schema_url"))
    return f"sqlite:///{tmp_path / 'db.sqlite'}"


def test_one_holder_at_a_time_and_a_waiter_that_gives_up_builds_anyway(
    engine_url: str, tmp_path: Path
) -> None:
    engines = [create_engine(engine_url), create_engine(engine_url)]  # two "replicas"
    first = named_lock(lambda: engines[0], tmp_path / "locks", wait=5)
    second = named_lock(lambda: engines[1], tmp_path / "locks", wait=0.3)
    held, release = threading.Event(), threading.Event()
    got: list[object] = []

    def hold() -> None:
        with first("fwbot-abc-123") as ok:
            got.append(ok)
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    with second("fwbot-abc-123") as ok:  # held elsewhere: gives up after its wait
        assert ok is False
    with second("fwbot-other-456") as ok:  # another collection: not held
        assert ok is True
    release.set()
    holder.join(10)
    with second("fwbot-abc-123") as ok:  # released
        assert ok is True
    assert got == [True]
    for engine in engines:
        engine.dispose()


def test_the_scheduled_pass_runs_on_one_replica_at_a_time(engine_url: str, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from bot.progress.passes import on_one_replica

    engines = [create_engine(engine_url), create_engine(engine_url)]
    inside, leave = threading.Event(), threading.Event()
    counts: list[tuple[str, str]] = []

    def replica(name: str, engine, slow: bool):  # its scheduler's pass
        lock = named_lock(lambda: engine, tmp_path / "locks", wait=0)

        def run_pass(now: datetime) -> str:
            if slow:
                inside.set()
                leave.wait(10)
            return f"report of {name}"

        return on_one_replica(
            run_pass,  # type: ignore[arg-type]
            lambda: lock("progress-pass"),
            lambda outcome: counts.append((name, outcome)),
        )

    a, b = replica("a", engines[0], slow=True), replica("b", engines[1], slow=False)
    now = datetime.now(UTC)
    got: list[object] = []
    running = threading.Thread(target=lambda: got.append(a(now)))
    running.start()
    assert inside.wait(10)
    assert b(now) is None  # a's pass holds the lock: b skips its own
    leave.set()
    running.join(10)
    assert got == ["report of a"]
    assert b(now) == "report of b"  # the next minute, free again
    assert counts == [("b", "elsewhere"), ("a", "ran"), ("b", "ran")]
    for engine in engines:
        engine.dispose()
