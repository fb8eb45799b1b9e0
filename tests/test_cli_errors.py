"""Mistakes in settings and input, through real `fwbot` subprocesses: each is one line on
stderr that names the setting or the cause, with a non-zero exit; `--debug` or FWBOT_DEBUG=1
adds the traceback. A reader that closes the pipe early ends the command quietly. Batch files
get one output line per input line. `fwbot serve` starts without library noise.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.storage.db import Database
from bot.storage.progress_store import ProgressStore
from local_slack.serve_process import start_serve, stop_serve
from tests.conftest import REPO_ROOT, run_fwbot
from tests.progress_fixtures import BOT_TOKEN, seed

PASSWORD = "hunter2-secret"


def one_line(proc: subprocess.CompletedProcess[bytes]) -> str:
    """The single stderr line of a failed run (no traceback), without "fwbot: "."""
    err = proc.stderr.decode("utf-8")
    assert proc.returncode != 0, (proc.returncode, err)
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("fwbot: "), err
    assert PASSWORD not in err
    return lines[0].removeprefix("fwbot: ")


def with_traceback(proc: subprocess.CompletedProcess[bytes], line: str) -> None:
    """A --debug run: the traceback, then the same one line, and the same kind of exit."""
    err = proc.stderr.decode("utf-8")
    assert proc.returncode != 0
    assert err.startswith("Traceback (most recent call last):"), err
    assert err.splitlines()[-1] == f"fwbot: {line}"
    assert PASSWORD not in err


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections (bound, never listening) for the test."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fwbot.db'}"


@pytest.fixture
def migrated_sqlite(sqlite_url: str) -> str:
    db = Database(sqlite_url)
    db.migrate()
    db.dispose()
    return sqlite_url


# ---- settings: named, with what they should be ----------------------------------------------


@pytest.mark.slow  # a fwbot subprocess
@pytest.mark.parametrize("variable", ["FWBOT_DEFAULT_TZ", "FWBOT_DIGEST_TZ"])
def test_an_unknown_time_zone_names_its_variable(fwbot_env, variable: str) -> None:
    env = {**fwbot_env, variable: "Mars/Olympus"}
    line = one_line(run_fwbot("progress", "list", env=env))
    assert line.startswith(variable) and "'Mars/Olympus' is not an IANA time zone" in line
    assert "Europe/Paris" in line  # what a valid one looks like


@pytest.mark.slow  # a fwbot subprocess
@pytest.mark.parametrize("threads", ["0", "-2"])
def test_model_threads_out_of_range_names_the_variable_and_the_range(
    fwbot_env, threads: str
) -> None:
    env = {**fwbot_env, "FWBOT_MODEL_THREADS": threads}
    line = one_line(run_fwbot("ask", "Which objective is about training?", env=env))
    assert line == f"FWBOT_MODEL_THREADS must be a whole number from 1 to 64 (got '{threads}')"


@pytest.mark.slow  # a fwbot subprocess
@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("not a url at all", "not a database URL"),
        (f"mysql://app:{PASSWORD}@db.internal/fwbot", "unsupported database 'mysql'"),
        (
            f"postgresql+nodriver://app:{PASSWORD}@db.internal/fwbot",
            "unknown driver 'postgresql+nodriver'",
        ),
    ],
)
def test_a_bad_database_url_names_the_variable(fwbot_env, url: str, said: str) -> None:
    env = {**fwbot_env, "DATABASE_URL": url}
    line = one_line(run_fwbot("progress", "list", env=env))
    assert line.startswith("DATABASE_URL: ") and said in line
    assert "postgresql://user@host/db" in line  # an example of a good one
    with_traceback(run_fwbot("progress", "list", "--debug", env=env), line)  # no password


@pytest.mark.slow  # a fwbot subprocess
def test_settings_are_checked_before_anything_is_loaded(fwbot_env, tmp_path: Path) -> None:
    """A bad setting fails even a command that would only have read a file."""
    env = {**fwbot_env, "FWBOT_DEFAULT_TZ": "Mars/Olympus", "FWBOT_MODEL_THREADS": "0"}
    line = one_line(run_fwbot("ask", "--batch", tmp_path / "missing.jsonl", env=env))
    assert "FWBOT_DEFAULT_TZ" in line and "FWBOT_MODEL_THREADS" in line  # both, one line


@pytest.mark.slow  # a fwbot subprocess
def test_debug_flag_and_variable_show_the_traceback(fwbot_env) -> None:
    env = {**fwbot_env, "FWBOT_DEFAULT_TZ": "Mars/Olympus"}
    line = one_line(run_fwbot("progress", "list", env=env))
    with_traceback(run_fwbot("--debug", "progress", "list", env=env), line)
    with_traceback(run_fwbot("progress", "list", "--debug", env=env), line)
    with_traceback(run_fwbot("progress", "list", env={**env, "FWBOT_DEBUG": "1"}), line)


# ---- the database cannot be reached ---------------------------------------------------------


@pytest.mark.slow  # a fwbot subprocess
@pytest.mark.parametrize(
    "command", [("progress", "list"), ("db", "upgrade"), ("nudge", "run", "--dry-run")]
)
def test_postgresql_down_says_where_and_what_to_check(
    fwbot_env, closed_port: int, command: tuple[str, ...]
) -> None:
    url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{closed_port}/fwbot"
    proc = run_fwbot(*command, env={**fwbot_env, "DATABASE_URL": url})
    line = one_line(proc)
    assert line.startswith(
        f"cannot connect to the database at postgresql://postgres@127.0.0.1:{closed_port}/fwbot"
        ": Connection refused;"
    )
    assert "PostgreSQL is running" in line and "DATABASE_URL" in line
    with_traceback(run_fwbot(*command, "--debug", env={**fwbot_env, "DATABASE_URL": url}), line)


@pytest.mark.slow  # a fwbot subprocess
def test_serve_with_postgresql_down_fails_in_one_line(
    fwbot_env, fake_slack, closed_port: int
) -> None:
    url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{closed_port}/fwbot"
    env = {
        **fwbot_env,
        "DATABASE_URL": url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": fake_slack.base_url,
    }
    line = one_line(run_fwbot("serve", "--port", "0", env=env))
    assert "cannot connect to the database at postgresql://postgres@127.0.0.1:" in line
    assert "DATABASE_URL" in line


@pytest.mark.slow  # a fwbot subprocess
def test_serve_on_a_port_in_use_says_so(fwbot_env, fake_slack, migrated_sqlite) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    env = {
        **fwbot_env,
        "DATABASE_URL": migrated_sqlite,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": fake_slack.base_url,
    }
    try:
        proc = run_fwbot("serve", "--host", "127.0.0.1", "--port", taken.getsockname()[1], env=env)
    finally:
        taken.close()
    err = proc.stderr.decode()
    assert proc.returncode == 1 and "Traceback" not in err, err
    assert err.splitlines()[-1] == (
        "fwbot: the port is already in use: stop what listens there or give another --port"
    )


# ---- Slack refuses the token, or cannot be reached -------------------------------------------


@pytest.mark.slow  # a fwbot subprocess
@pytest.mark.parametrize(
    "command", [("serve", "--host", "127.0.0.1", "--port", "0"), ("nudge", "run")]
)
def test_a_token_slack_refuses_is_said_so(
    fwbot_env, fake_slack, sqlite_url, command: tuple[str, ...]
) -> None:
    env = {
        **fwbot_env,
        "DATABASE_URL": sqlite_url,
        "SLACK_BOT_TOKEN": "xoxb-revoked",
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": fake_slack.base_url,
    }
    line = one_line(run_fwbot(*command, env=env))
    assert line.startswith("Slack refused SLACK_BOT_TOKEN (invalid_auth)")
    assert "OAuth & Permissions" in line  # where to get the right one
    assert [c.method for c in fake_slack.calls()] == ["auth.test"]  # nothing else was tried


@pytest.mark.slow  # a fwbot subprocess
@pytest.mark.parametrize(
    "command", [("serve", "--host", "127.0.0.1", "--port", "0"), ("nudge", "run")]
)
def test_slack_unreachable_names_slack_api_url(
    fwbot_env, sqlite_url, closed_port: int, command: tuple[str, ...]
) -> None:
    api = f"http://127.0.0.1:{closed_port}/api/"
    env = {
        **fwbot_env,
        "DATABASE_URL": sqlite_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": api,
    }
    proc = run_fwbot(*command, env=env)
    line = one_line(proc)
    assert line.startswith(f"cannot reach Slack at {api} (") and "Connection refused" in line
    assert line.endswith("SLACK_API_URL")
    with_traceback(run_fwbot(*command, "--debug", env=env), line)


# ---- a reader that closes the pipe early ------------------------------------------------------


def run_into_closed_pipe(
    *args: str | os.PathLike[str], env: dict[str, str]
) -> subprocess.CompletedProcess[bytes]:
    """``fwbot args`` with stdout a pipe whose reader has already gone (what `| head -1` is
    once head has read its line): every write fails with EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", *map(str, args)],
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            cwd=REPO_ROOT,
            env=env,
            timeout=180,
            check=False,
        )
    finally:
        os.close(write_end)


def quiet_exit(proc: subprocess.CompletedProcess[bytes]) -> None:
    assert proc.stderr == b"", proc.stderr.decode()  # no BrokenPipeError, no "Exception ignored"
    assert proc.returncode in (0, 141)


@pytest.fixture
def many_initiatives(sqlite_url: str) -> str:
    """A database whose `progress list` is longer than a pipe's buffer (64 KiB)."""
    db = Database(sqlite_url)
    db.migrate()
    seed(ProgressStore(db), ["U0001", "U0002"], per_owner=600)
    db.dispose()
    return sqlite_url


@pytest.mark.slow  # a fwbot subprocess
def test_progress_list_into_a_closed_pipe_exits_quietly(fwbot_env, many_initiatives) -> None:
    env = {**fwbot_env, "DATABASE_URL": many_initiatives}
    quiet_exit(run_into_closed_pipe("progress", "list", env=env))


@pytest.mark.slow  # a fwbot subprocess
def test_progress_list_into_head_through_a_shell(fwbot_env, many_initiatives) -> None:
    env = {**fwbot_env, "DATABASE_URL": many_initiatives}
    proc = subprocess.run(
        f"{sys.executable} -m bot.cli progress list | head -2",  # the header and #1
        shell=True,
        capture_output=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=180,
        check=False,
    )
    header, first = proc.stdout.decode().splitlines()
    assert header.startswith("#id\towner") and first.startswith("#1\t")
    assert proc.stderr == b"", proc.stderr.decode()


@pytest.mark.slow  # a fwbot subprocess
def test_ask_and_eval_into_a_closed_pipe_exit_quietly(fwbot_env, tmp_path: Path) -> None:
    quiet_exit(run_into_closed_pipe("ask", "What does 1.3 say?", env=fwbot_env))
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        '{"id": "q1", "question": "What does 2.3 say?", "expected": ["2.3"]}\n', encoding="utf-8"
    )
    quiet_exit(run_into_closed_pipe("eval", "--json", "--questions", questions, env=fwbot_env))


# ---- batch files: one output line per input line ---------------------------------------------


def write_lines(path: Path, lines: list[object]) -> Path:
    raw = [x if isinstance(x, str) else json.dumps(x) for x in lines]
    path.write_text("\n".join(raw) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow  # a fwbot subprocess
def test_ask_batch_answers_empty_lines_with_an_error_and_warns_once_about_repeated_ids(
    fwbot_env, tmp_path: Path
) -> None:
    batch = write_lines(
        tmp_path / "q.jsonl",
        [
            {"id": "a", "question": "What does 2.3 say?"},
            "",
            {"id": "a", "question": "goal 3"},
            "   ",
            {"id": "a", "question": "What is our mission?"},
            {"id": "b", "question": "What does 1.1 say?"},
        ],
    )
    proc = run_fwbot("ask", "--batch", batch, "--json", env=fwbot_env)
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    out = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert len(out) == 6  # one per input line, in order
    assert [o["id"] for o in out] == ["a", None, "a", None, "a", "b"]
    for n in (2, 4):  # the ask contract's error shape
        assert out[n - 1] == {
            "id": None,
            "question": None,
            "answered": False,
            "text": f"line {n} is empty",
            "citations": [],
            "composer": "offline",
            "error": f"line {n} is empty",
        }
    assert [c["id"] for c in out[0]["citations"]] == ["2.3"]
    assert [c["id"] for c in out[4]["citations"]] == ["mission"]
    assert err.count("warning:") == 1, err
    assert 'id "a" is on line 1 and line 3 and 1 more repeat(s)' in err
    assert f"fwbot: {batch}: line 2 is empty" in err and f"fwbot: {batch}: line 4 is empty" in err
    assert "Traceback" not in err


@pytest.mark.slow  # a fwbot subprocess
def test_align_batch_answers_empty_lines_with_an_error(fwbot_env, tmp_path: Path) -> None:
    batch = write_lines(
        tmp_path / "p.jsonl",
        [
            {"id": 1, "text": "Train police officers in digital forensics through workshops."},
            "",
            {"id": 1, "text": "Design a sustainable funding model for the Organization."},
        ],
    )
    proc = run_fwbot("align", "--batch", batch, "--json", env=fwbot_env)
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    out = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [o["id"] for o in out] == [1, None, 1]
    assert out[1] == {
        "id": None,
        "tags": [],
        "no_fit": True,
        "reviewer": "engine",
        "error": "line 2 is empty",
    }
    assert out[0]["tags"] and out[2]["tags"]
    assert err.count("warning:") == 1 and "id 1 is on line 1 and line 3;" in err


@pytest.mark.slow  # a fwbot subprocess
def test_a_batch_file_without_a_final_newline_or_with_one_has_the_same_lines(
    fwbot_env, tmp_path: Path
) -> None:
    batch = tmp_path / "q.jsonl"
    batch.write_text(
        '{"id": "x", "question": "goal 1"}\n\n{"id": "y", "question": "goal 2"}', encoding="utf-8"
    )
    proc = run_fwbot("ask", "--batch", batch, "--json", env=fwbot_env)
    assert [json.loads(x)["id"] for x in proc.stdout.decode().splitlines()] == ["x", None, "y"]


# ---- framework validate: limits ---------------------------------------------------------------


@pytest.mark.slow  # a fwbot subprocess
def test_framework_validate_refuses_an_oversized_file_in_one_line(
    fwbot_env, tmp_path: Path
) -> None:
    big = tmp_path / "huge.yaml"
    with big.open("wb") as f:
        f.truncate(50_000_000)  # sparse: 50 MB that take no disk
    proc = run_fwbot("framework", "validate", big, env=fwbot_env)
    err = proc.stderr.decode()
    assert proc.returncode == 1
    assert err.splitlines() == [
        f"{big}: the file is 50.0 MB; a framework file may be at most 5 MB: shorten its notes "
        "or split it",
        f"{big}: 1 problem(s)",
    ]


# ---- start-up noise ----------------------------------------------------------------------------


@pytest.mark.slow  # a fwbot subprocess
def test_serve_starts_without_library_noise(
    fwbot_env, fake_slack, sqlite_url, tmp_path: Path
) -> None:
    env = {
        **fwbot_env,
        "DATABASE_URL": sqlite_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": fake_slack.base_url,
        "FWBOT_SCHEDULER": "false",
    }
    log = tmp_path / "serve.log"
    with log.open("w") as err:
        proc, _ = start_serve(env, err, timeout=120, cwd=REPO_ROOT)
        stop_serve(proc)
    lines = log.read_text(encoding="utf-8").splitlines()
    assert not [ln for ln in lines if "alembic" in ln or "will be unused" in ln], lines
    assert any("database schema upgraded from empty to" in ln for ln in lines)  # one line
    assert all(" INFO fwbot: " in ln for ln in lines), lines


def test_migrating_keeps_alembic_quiet_but_its_warnings_show(
    tmp_path: Path, caplog, monkeypatch
) -> None:
    import logging

    from alembic import command

    from bot.storage.db import migrate

    real_upgrade = command.upgrade

    def upgrade_with_a_warning(config, revision):
        logging.getLogger("alembic.runtime.migration").warning("a real warning")
        return real_upgrade(config, revision)

    monkeypatch.setattr(command, "upgrade", upgrade_with_a_warning)
    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        with caplog.at_level(logging.INFO):
            migrate(db.engine)
    finally:
        db.dispose()
    alembic = [
        (r.levelname, r.getMessage()) for r in caplog.records if r.name.startswith("alembic")
    ]
    assert alembic == [("WARNING", "a real warning")]
    assert any(
        r.name == "fwbot" and "schema upgraded from empty to" in r.getMessage()
        for r in caplog.records
    )
    assert logging.getLogger("alembic").level == logging.NOTSET  # as it was


def test_the_bolt_app_does_not_warn_about_the_token_it_reads_itself(caplog, monkeypatch) -> None:
    import logging
    from unittest.mock import MagicMock

    from slack_sdk import WebClient

    from bot.slack.app import build_app

    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)  # as under `fwbot serve`
    with caplog.at_level(logging.INFO):
        build_app(
            MagicMock(name="deps"),
            client=WebClient(token=BOT_TOKEN),
            signing_secret="s",
            bot_user_id="UBOT",
        )
        logging.getLogger("fwbot.slack.bolt").warning("a later warning")
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == ["a later warning"]
