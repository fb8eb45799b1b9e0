"""Where fwbot keeps things (FWBOT_DATA_DIR, DATABASE_URL): a file where a folder should be, a
folder that cannot be made, a file that is not a SQLite database, a URL naming a folder that
does not exist: each is one line naming the variable, exit code 1, and nothing created
(bot/wiring/places.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.wiring.places import check_database_folder, open_database, usable_data_dir
from bot.wiring.settings import StorageSettings, UnusableSetting
from tests.conftest import run_fwbot


def one_line(proc) -> str:
    err = proc.stderr.decode("utf-8")
    assert proc.returncode == 1, (proc.returncode, err)
    assert "Traceback" not in err, err
    assert len(err.splitlines()) == 1, err
    return err.strip().removeprefix("fwbot: ")


@pytest.fixture
def not_a_database(tmp_path: Path) -> Path:
    path = tmp_path / "passwd"
    path.write_text("root:x:0:0:root:/root:/bin/bash\n" * 50, encoding="utf-8")
    return path


# ---- through the command, as a user sees it --------------------------------------------------


@pytest.mark.slow  # fwbot subprocesses
def test_a_file_that_is_not_a_database_names_database_url(fwbot_env, not_a_database) -> None:
    env = {**fwbot_env, "DATABASE_URL": f"sqlite:///{not_a_database}"}
    line = one_line(run_fwbot("progress", "list", env=env))
    assert line.startswith("DATABASE_URL: ") and str(not_a_database) in line
    assert "not a usable SQLite database (file is not a database)" in line


@pytest.mark.slow  # fwbot subprocesses
def test_a_damaged_default_database_names_the_data_folder(fwbot_env, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "fwbot.db").write_bytes(bytes(range(256)) * 40)  # what a disk fault might leave
    line = one_line(run_fwbot("progress", "list", env={**fwbot_env, "FWBOT_DATA_DIR": str(data)}))
    assert line.startswith("FWBOT_DATA_DIR: ") and str(data / "fwbot.db") in line
    assert "move it aside" in line


@pytest.mark.slow  # fwbot subprocesses
@pytest.mark.parametrize("command", [("ask", "x"), ("progress", "list")])
def test_a_data_dir_that_is_a_file_names_fwbot_data_dir(
    fwbot_env, not_a_database, command: tuple[str, ...]
) -> None:
    line = one_line(run_fwbot(*command, env={**fwbot_env, "FWBOT_DATA_DIR": str(not_a_database)}))
    assert line == (
        f"FWBOT_DATA_DIR={not_a_database} is a file, not a folder: point FWBOT_DATA_DIR at a "
        "folder (fwbot creates it if it does not exist)"
    )


@pytest.mark.slow  # fwbot subprocesses
def test_a_data_dir_that_cannot_be_created_names_fwbot_data_dir(fwbot_env) -> None:
    line = one_line(run_fwbot("ask", "x", env={**fwbot_env, "FWBOT_DATA_DIR": "/proc/nope"}))
    assert line.startswith("FWBOT_DATA_DIR=/proc/nope: cannot create that folder")


@pytest.mark.slow  # fwbot subprocesses
def test_a_database_url_in_a_missing_folder_is_refused_and_nothing_created(
    fwbot_env, tmp_path: Path
) -> None:
    folder = tmp_path / "nonexistent" / "dir"
    env = {**fwbot_env, "DATABASE_URL": f"sqlite:///{folder / 'x.db'}"}
    line = one_line(run_fwbot("progress", "list", env=env))
    assert line.startswith(f"DATABASE_URL: the folder of the SQLite file, {folder}, does not exist")
    assert not (tmp_path / "nonexistent").exists()


# ---- the checks themselves (fast) ------------------------------------------------------------


def test_the_default_data_dir_is_created(tmp_path: Path) -> None:
    assert usable_data_dir(tmp_path / "a" / "b").is_dir()


def test_checks_refuse_what_cannot_hold_the_data(tmp_path: Path, not_a_database: Path) -> None:
    with pytest.raises(UnusableSetting, match=r"^FWBOT_DATA_DIR=.* is a file, not a folder"):
        usable_data_dir(not_a_database)
    with pytest.raises(UnusableSetting, match=r"^DATABASE_URL: the folder .* does not exist"):
        check_database_folder(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    with pytest.raises(UnusableSetting, match=r"^DATABASE_URL: the folder .* is not a folder"):
        check_database_folder(f"sqlite:///{not_a_database / 'x.db'}")
    check_database_folder(f"sqlite:///{tmp_path / 'x.db'}")  # an existing folder is fine
    check_database_folder("sqlite://")  # in memory
    assert not (tmp_path / "missing").exists()


def test_a_file_that_is_not_a_database_is_said_so(not_a_database: Path) -> None:
    storage = StorageSettings(_env_file=None, DATABASE_URL=f"sqlite:///{not_a_database}")
    with pytest.raises(UnusableSetting, match=r"^DATABASE_URL: .* \(file is not a database\)"):
        open_database(storage)


@pytest.mark.slow  # fwbot subprocesses
@pytest.mark.parametrize("slack", [False, True], ids=["console", "console-slack"])
def test_the_console_names_the_setting_too(fwbot_env, not_a_database, slack: bool) -> None:
    args = ("console", "--slack") if slack else ("console",)
    env = {**fwbot_env, "FWBOT_DATA_DIR": str(not_a_database)}
    proc = run_fwbot(*args, input=b"hello\n", env=env)
    assert proc.returncode == 1
    err = proc.stderr.decode().strip()
    assert err.startswith(f"fwbot: FWBOT_DATA_DIR={not_a_database} is a file"), err
    assert "Sorry" not in proc.stdout.decode()


@pytest.mark.slow  # a fwbot subprocess
def test_console_slack_checks_the_database_first(fwbot_env, not_a_database) -> None:
    env = {**fwbot_env, "DATABASE_URL": f"sqlite:///{not_a_database}"}
    proc = run_fwbot("console", "--slack", input=b"/progress list\n", env=env)
    assert proc.returncode == 1
    err = proc.stderr.decode().strip()
    assert err.startswith("fwbot: DATABASE_URL: ") and "file is not a database" in err, err
