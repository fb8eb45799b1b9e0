"""`fwbot progress list --objective / --overdue / --silent / --owner` (and export's filters):
the commands the progress answers point to ("…and 290 more: `fwbot progress list
--objective 2.3`"), run in process through ``bot.cli.main``, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli.progress import LIST_HEADER
from bot.storage.db import Database
from bot.storage.progress_queries import ProgressQueries
from bot.storage.progress_records import NewInitiative
from bot.storage.progress_store import ProgressStore
from tests.conftest import run_fwbot_here as run_fwbot

NOW = datetime.now(UTC)


@pytest.fixture
def env(fwbot_env: dict[str, str], database_url: str) -> dict[str, str]:
    return {**fwbot_env, "DATABASE_URL": database_url}


@pytest.fixture
def seeded(database: Database) -> dict[str, int]:
    """Five initiatives, by title: their ids.

    - fresh 2.3: U1, weekly, updated yesterday;
    - stale 2.3+2.4: U2, weekly, last update 40 days ago (overdue, silent);
    - quiet 2.4: U1, monthly, created 50 days ago, never updated (overdue, silent);
    - recent 1.1: U2, monthly, last update 10 days ago;
    - closed 2.3: U1, closed (only with --all)."""
    store = ProgressStore(database)
    ids: dict[str, int] = {}

    def make(title: str, owner: str, objectives: tuple[str, ...], cadence: str, ago: int) -> int:
        item = store.create_initiative(
            NewInitiative(title, owner, objectives, cadence=cadence),  # type: ignore[arg-type]
            actor="test",
            now=NOW - timedelta(days=ago),
        )
        ids[title] = item.id
        return item.id

    make("fresh", "U1", ("2.3",), "weekly", 60)
    store.add_update(
        ids["fresh"], status="on_track", percent=50, note="", author_id="U1",
        now=NOW - timedelta(days=1),
    )  # fmt: skip
    make("stale", "U2", ("2.3", "2.4"), "weekly", 60)
    store.add_update(
        ids["stale"], status="on_track", percent=10, note="", author_id="U2",
        now=NOW - timedelta(days=40),
    )  # fmt: skip
    make("quiet", "U1", ("2.4",), "monthly", 50)
    make("recent", "U2", ("1.1",), "monthly", 60)
    store.add_update(
        ids["recent"], status="at_risk", percent=None, note="", author_id="U2",
        now=NOW - timedelta(days=10),
    )  # fmt: skip
    make("closed", "U1", ("2.3",), "weekly", 60)
    store.close(ids["closed"], actor="test", now=NOW - timedelta(days=5))
    return ids


def listed(env: dict[str, str], *args: str) -> tuple[list[str], str]:
    """The titles `fwbot progress list *args` prints, in order, and the count it ends with
    (on stderr: stdout is the header and one line per initiative)."""
    done = run_fwbot("progress", "list", *args, env=env)
    assert done.returncode == 0, done.stderr.decode()
    lines = done.stdout.decode().splitlines()
    assert lines[0] == LIST_HEADER
    assert all(line.startswith("#") and line.count("\t") == 6 for line in lines[1:]), lines
    return [line.split("\t")[-1] for line in lines[1:]], done.stderr.decode().strip()


def test_the_plain_list_keeps_its_format_and_ends_with_the_count(env, seeded) -> None:
    titles, last = listed(env)
    assert titles == ["fresh", "stale", "quiet", "recent"]
    assert last == "4 initiatives"
    titles, last = listed(env, "--all")
    assert titles == ["fresh", "stale", "quiet", "recent", "closed"] and last == "5 initiatives"
    done = run_fwbot("progress", "list", env=env)
    line = done.stdout.decode().splitlines()[2]
    assert line.startswith(f"#{seeded['stale']}\tU2\tactive\tOVERDUE\tOn track ")
    assert line.endswith("\t2.3,2.4\tstale")


def test_each_filter(env, seeded) -> None:
    assert listed(env, "--objective", "2.3") == (["fresh", "stale"], "2 initiatives")
    assert listed(env, "--objective", " 2.4, 1.1 ")[0] == ["stale", "quiet", "recent"]
    assert listed(env, "--overdue") == (["stale", "quiet"], "2 initiatives")
    assert listed(env, "--silent")[0] == ["stale", "quiet"]  # 30 days
    assert listed(env, "--silent", "45")[0] == ["quiet"]
    assert listed(env, "--silent", "5")[0] == ["stale", "quiet", "recent"]
    assert listed(env, "--owner", "U1") == (["fresh", "quiet"], "2 initiatives")
    assert listed(env, "--owner", "U1", "--all")[0] == ["fresh", "quiet", "closed"]
    assert listed(env, "--owner", "U9") == ([], "0 initiatives")


def test_filters_combine(env, seeded) -> None:
    assert listed(env, "--objective", "2.3,2.4", "--overdue")[0] == ["stale", "quiet"]
    assert listed(env, "--objective", "2.3", "--overdue") == (["stale"], "1 initiative")
    assert listed(env, "--objective", "2.4", "--overdue", "--owner", "U1")[0] == ["quiet"]
    assert listed(env, "--silent", "--owner", "U2")[0] == ["stale"]
    assert listed(env, "--objective", "1.1", "--silent")[0] == []


def test_the_list_agrees_with_the_answers_queries(env, seeded, database: Database) -> None:
    """What an answer counts ("2 more: `fwbot progress list --objective 2.3,2.4 --overdue`")
    is what the command lists."""
    q = ProgressQueries(database)
    overdue, total = q.overdue(objective_ids=["2.3", "2.4"], limit=100)
    titles, last = listed(env, "--objective", "2.3,2.4", "--overdue")
    assert sorted(titles) == sorted(r.title for r in overdue) and last == f"{total} initiatives"
    silent, total = q.silent_since(NOW - timedelta(days=30), limit=100)
    assert sorted(listed(env, "--silent")[0]) == sorted(r.title for r in silent)
    owned, total = q.owned_by("U2", limit=100)
    assert sorted(listed(env, "--owner", "U2")[0]) == sorted(r.title for r in owned)


def test_listing_pages_through_every_row(database: Database, seeded) -> None:
    q = ProgressQueries(database)
    assert [r.title for r in q.listing(page=1)] == ["fresh", "stale", "quiet", "recent"]
    assert [r.title for r in q.listing(page=2, status=None)][-1] == "closed"
    assert [r.title for r in q.listing(page=1, overdue_at=NOW)] == ["stale", "quiet"]


def test_an_unknown_objective_is_one_line_with_the_valid_ones(env, seeded) -> None:
    done = run_fwbot("progress", "list", "--objective", "2.3,9.9", env=env)
    err = done.stderr.decode()
    assert done.returncode == 1 and done.stdout == b""
    assert len(err.splitlines()) == 1 and err.startswith("fwbot: --objective: no objective 9.9")
    assert "1.1–1.5" in err, err
    done = run_fwbot("progress", "list", "--objective", ",", env=env)
    assert done.returncode == 1 and len(done.stderr.decode().splitlines()) == 1


def test_bad_days_and_misplaced_filters(env, seeded) -> None:
    done = run_fwbot("progress", "list", "--silent", "soon", env=env)
    assert done.returncode != 0 and b"number of days" in done.stderr
    done = run_fwbot("progress", "audit", "--overdue", env=env)
    assert done.returncode == 1 and b"--overdue is for `fwbot progress list`" in done.stderr
    done = run_fwbot("progress", "export", "--silent", env=env)
    assert done.returncode == 1 and b"--silent is for `fwbot progress list`, not" in done.stderr


def test_export_takes_the_filters(env, seeded, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    done = run_fwbot("progress", "export", "-o", out, "--objective", "2.4", "--overdue", env=env)
    assert done.returncode == 0, done.stderr.decode()
    rows = out.read_text(encoding="utf-8").splitlines()[1:]
    assert [r.split(",")[1] for r in rows] == ["stale", "quiet"]
    done = run_fwbot("progress", "export", "--owner", "U2", env=env)
    rows = done.stdout.decode().splitlines()[1:]
    assert [r.split(",")[1] for r in rows] == ["stale", "recent"]


def test_the_answerer_keeps_the_titles_until_they_change(database: Database, seeded) -> None:
    from bot.services.progress_answers import ProgressAnswerer
    from framework_data.loader import load_framework

    answerer = ProgressAnswerer(load_framework(), ProgressQueries(database))
    first = answerer.titles()
    assert sorted(first.values()) == ["fresh", "quiet", "recent", "stale"]
    assert answerer.titles() is first  # the same mapping: the parser's index is reused
    store = ProgressStore(database)
    store.create_initiative(NewInitiative("sahel pilot", "U3", ("1.1",)), actor="test")
    assert "sahel pilot" in answerer.titles().values()
    store.close(seeded["fresh"], actor="test")
    assert "fresh" not in answerer.titles().values()
    store.reopen(seeded["fresh"], actor="test")
    assert "fresh" in answerer.titles().values()


def test_an_owners_overdue_answer_points_to_a_list_with_the_owner(database: Database) -> None:
    from bot.services.progress_answers import ProgressAnswerer
    from framework_data.loader import load_framework

    store = ProgressStore(database)
    for n in range(12):
        store.create_initiative(
            NewInitiative(f"task {n}", "U1", ("2.3",)), actor="t", now=NOW - timedelta(days=60)
        )
    store.create_initiative(
        NewInitiative("other", "U2", ("2.3",)), actor="t", now=NOW - timedelta(days=60)
    )
    answerer = ProgressAnswerer(load_framework(), ProgressQueries(database))
    got = answerer.answer("what's overdue under 2.3 that I own?", "U1", now=NOW)
    assert got is not None
    assert "fwbot progress list --objective 2.3 --overdue --owner U1" in got.answer.text, (
        got.answer.text
    )
