"""`fwbot progress import|export|list|audit` and `fwbot nudge run --dry-run`, run in process
through ``bot.cli.main`` (what they print and return; test_cli_errors.py keeps the real
processes), on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.storage.db import Database
from bot.storage.progress_store import ProgressStore
from tests.conftest import run_fwbot_here as run_fwbot

GOOD = (
    "title,owner,objectives,cadence,last_update,description\r\n"
    'Train border officers,U0AAA1,1.1;2.3,weekly,2026-11-02,"Two sessions,\r\nthen review"\r\n'
    "Cyber lab,<@U0AAA2|ana>,4.1,monthly,,\r\n"
)
BAD = (
    "title,owner,objectives,cadence\n"
    "Fine row,U0AAA1,1.1,weekly\n"
    ",U0AAA1,1.1,weekly\n"
    "Bob's row,@bob,1.1,weekly\n"
    "Unknown objective,U0AAA1,9.9,weekly\n"
    "Odd cadence,U0AAA1,1.1,daily\n"
)


def stored_initiatives(database_url: str):
    db = Database(database_url)
    try:
        db.migrate()
        store = ProgressStore(db)
        return store.initiatives(status=None), store.audit_entries()
    finally:
        db.dispose()


@pytest.fixture
def env(fwbot_env: dict[str, str], database_url: str) -> dict[str, str]:
    return {**fwbot_env, "DATABASE_URL": database_url}


def test_import_then_export_round_trips(env, tmp_path: Path, database_url: str) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    done = run_fwbot("progress", "import", source, "--actor", "cli:test", env=env)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode() == f"created 2, updated 0, unchanged 0 from {source} (new: #1–#2)\n"
    out = tmp_path / "out.csv"
    assert run_fwbot("progress", "export", "-o", out, env=env).returncode == 0
    exported = out.read_text(encoding="utf-8")
    assert exported.splitlines()[0] == "id,title,owner,objectives,cadence,last_update,description"
    assert "1,Train border officers,U0AAA1,1.1;2.3,weekly,2026-11-02T00:00:00+00:00" in exported
    assert "2,Cyber lab,U0AAA2,4.1,monthly,," in exported
    before = stored_initiatives(database_url)
    # The export imports again: nothing changes, nothing is duplicated.
    again = run_fwbot("progress", "import", out, env=env)
    assert again.returncode == 0, again.stderr.decode()
    assert again.stdout.decode() == f"created 0, updated 0, unchanged 2 from {out}\n"
    assert stored_initiatives(database_url) == before
    records, audit = before
    assert [r.title for r in records] == ["Train border officers", "Cyber lab"]
    assert [(e.actor, e.action) for e in audit] == [("cli:test", "import")] * 2
    listing = run_fwbot("progress", "list", env=env)
    assert b"#1\tU0AAA1\tactive" in listing.stdout


def test_a_file_with_bad_rows_imports_nothing_and_names_every_line(
    env, tmp_path: Path, database_url: str
) -> None:
    source = tmp_path / "bad.csv"
    source.write_text(BAD, encoding="utf-8")
    done = run_fwbot("progress", "import", source, env=env)
    err = done.stderr.decode()
    assert done.returncode == 1
    assert "nothing was imported" in err
    for line, column in ((3, "title"), (4, "owner"), (5, "objectives"), (6, "cadence")):
        assert f"line {line}, {column}" in err, err
    assert "line 2" not in err
    assert stored_initiatives(database_url) == ([], [])


def test_binary_and_missing_files_get_a_clear_message(env, tmp_path: Path) -> None:
    blob = tmp_path / "sheet.xlsx"
    blob.write_bytes(b"PK\x03\x04\x00\x00binary")
    done = run_fwbot("progress", "import", blob, env=env)
    assert done.returncode == 1 and b"binary" in done.stderr
    done = run_fwbot("progress", "import", tmp_path / "nope.csv", env=env)
    assert done.returncode == 1 and b"file not found" in done.stderr


def test_dry_run_says_who_would_be_nudged_and_why(env, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(GOOD, encoding="utf-8")
    assert run_fwbot("progress", "import", source, env=env).returncode == 0
    # Monday 7 Dec 2026, 09:30 UTC: the first initiative (last update 2 Nov) is overdue.
    done = run_fwbot("nudge", "run", "--dry-run", "--now", "2026-12-07T09:30:00Z", env=env)
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr.decode()
    assert "1 owner(s) would be nudged" in out
    assert "would nudge U0AAA1 [2026-W50]" in out and "Train border officers" in out
    assert "U0AAA2" not in out  # created today by the import: not due yet
    # Sending for real needs Slack.
    done = run_fwbot("nudge", "run", "--now", "2026-12-07T09:30:00Z", env=env)
    assert done.returncode == 1 and b"SLACK_BOT_TOKEN is not set" in done.stderr
    bad = run_fwbot("nudge", "run", "--dry-run", "--now", "next monday", env=env)
    assert bad.returncode == 2 and b"ISO 8601" in bad.stderr


def test_a_folder_instead_of_a_file_and_an_empty_audit_are_explained(env, tmp_path) -> None:
    done = run_fwbot("progress", "import", tmp_path, env=env)
    assert done.returncode == 1 and b"is a folder" in done.stderr
    done = run_fwbot("progress", "audit", "--initiative", "99", env=env)
    assert done.returncode == 0 and b"no audit entries for initiative #99" in done.stderr


def nudge_dry_run(env: dict[str, str]) -> str:
    done = run_fwbot("nudge", "run", "--dry-run", "--now", "2026-12-07T09:30:00Z", env=env)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def test_importing_again_duplicates_nothing_and_nudges_once(
    env, tmp_path: Path, database_url: str
) -> None:
    source = tmp_path / "in.csv"
    source.write_text(GOOD, encoding="utf-8")
    assert run_fwbot("progress", "import", source, env=env).returncode == 0
    nudges = nudge_dry_run(env)
    assert "would nudge U0AAA1 [2026-W50]: 1 overdue" in nudges
    before = stored_initiatives(database_url)
    out = tmp_path / "out.csv"
    assert run_fwbot("progress", "export", "-o", out, env=env).returncode == 0
    # the exported file (matched by id), then the first file again (no id column: matched by
    # title and owner): both change nothing
    for path in (out, source):
        done = run_fwbot("progress", "import", path, env=env)
        assert done.returncode == 0, done.stderr.decode()
        assert stored_initiatives(database_url) == before
        assert nudge_dry_run(env) == nudges
        assert done.stdout.decode() == f"created 0, updated 0, unchanged 2 from {path}\n"
    # a changed cadence in a file without ids updates the initiative it matches
    source.write_text(GOOD.replace("4.1,monthly", "4.1,weekly"), encoding="utf-8")
    done = run_fwbot("progress", "import", source, env=env)
    assert done.stdout.decode() == f"created 0, updated 1, unchanged 1 from {source}\n"
    records, _ = stored_initiatives(database_url)
    assert [(r.id, r.title, r.cadence) for r in records] == [
        (1, "Train border officers", "weekly"),
        (2, "Cyber lab", "weekly"),
    ]


def test_a_changed_row_is_updated_and_audited(env, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(GOOD, encoding="utf-8")
    assert run_fwbot("progress", "import", source, "--actor", "cli:ana", env=env).returncode == 0
    out = tmp_path / "out.csv"
    assert run_fwbot("progress", "export", "-o", out, env=env).returncode == 0
    text = out.read_text(encoding="utf-8")
    out.write_text(
        text.replace("2,Cyber lab,U0AAA2,4.1,monthly", "2,Cyber lab,U0AAA3,4.1,monthly"),
        encoding="utf-8",
        newline="",
    )
    done = run_fwbot("progress", "import", out, "--actor", "cli:bo", env=env)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode() == f"created 0, updated 1, unchanged 1 from {out}\n"
    audit = run_fwbot("progress", "audit", "--initiative", "2", env=env).stdout.decode()
    newest = audit.splitlines()[-1].split("\t")
    assert newest[1:4] == ["cli:bo", "import_update", "initiative:2"]
    assert newest[4] == "owner_id: U0AAA2 → U0AAA3"  # readable, not a dict repr
    audit = run_fwbot("progress", "audit", "--initiative", "1", env=env).stdout.decode()
    assert "import_update" not in audit


def test_dry_run_prints_the_plan_and_changes_nothing(
    env, tmp_path: Path, database_url: str
) -> None:
    source = tmp_path / "in.csv"
    source.write_text(GOOD, encoding="utf-8")
    assert run_fwbot("progress", "import", source, env=env).returncode == 0
    before = stored_initiatives(database_url)
    out = tmp_path / "out.csv"
    assert run_fwbot("progress", "export", "-o", out, env=env).returncode == 0
    text = out.read_text(encoding="utf-8").replace("4.1,monthly", "4.1;1.1,fortnightly")
    out.write_text(text + ",New desk,U0AAA9,5.5,weekly,,\r\n", encoding="utf-8", newline="")
    done = run_fwbot("progress", "import", out, "--dry-run", env=env)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().splitlines() == [
        f"dry run, nothing was changed; importing {out} would give: created 1, updated 1,"
        " unchanged 1",
        "  line 2: unchanged #1 'Train border officers'",
        "  line 4: update #2 'Cyber lab': objectives 4.1 → 4.1;1.1; cadence monthly → fortnightly",
        "  line 5: create 'New desk' (owner U0AAA9)",
    ]
    assert stored_initiatives(database_url) == before
    done = run_fwbot("progress", "export", "--dry-run", env=env)
    assert done.returncode == 1
    assert done.stderr.decode() == "fwbot: --dry-run is for `fwbot progress import`, not export\n"


def test_unknown_and_repeated_ids_are_refused_with_their_lines(
    env, tmp_path: Path, database_url: str
) -> None:
    source = tmp_path / "in.csv"
    source.write_text(GOOD, encoding="utf-8")
    assert run_fwbot("progress", "import", source, env=env).returncode == 0
    before = stored_initiatives(database_url)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "id,title,owner,objectives,cadence\n"
        "1,Renamed,U0AAA1,1.1,weekly\n"
        "99,Ghost,U0AAA1,1.1,weekly\n"
        ",Brand new,U0AAA9,1.1,weekly\n"
        "1,Again,U0AAA1,1.1,weekly\n",
        encoding="utf-8",
    )
    for extra in ((), ("--dry-run",)):
        done = run_fwbot("progress", "import", bad, *extra, env=env)
        err = done.stderr.decode()
        assert done.returncode == 1 and done.stdout == b""
        assert err.splitlines()[1:] == [
            "line 3, id: there is no initiative #99; copy the id from `fwbot progress export`,"
            " or leave it empty to add a new initiative",
            "line 5, id: #1 is already on line 2; list each initiative only once",
        ], err
        assert "2 problems, so nothing was imported" in err
    assert stored_initiatives(database_url) == before
