"""The lock replicas take to build the search index once (bot/storage/build_lock.py)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from bot.storage.build_lock import index_build_lock


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_schema_url"))
    return f"sqlite:///{tmp_path / 'db.sqlite'}"


def test_one_holder_at_a_time_and_a_waiter_that_gives_up_builds_anyway(
    engine_url: str, tmp_path: Path
) -> None:
    engines = [create_engine(engine_url), create_engine(engine_url)]  # two "replicas"
    first = index_build_lock(lambda: engines[0], tmp_path / "locks", wait=5)
    second = index_build_lock(lambda: engines[1], tmp_path / "locks", wait=0.3)
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
