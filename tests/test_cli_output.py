"""What the CLI prints where it used to surprise (issue 22): a batch line with an empty text
gets an error, input errors exit 1 (2 is argparse's), `progress list` has a header and shows an
imported `last_update`, the audit trail reads `key: value`, and the README's JSON examples are
what the engine gives. In process (``bot.cli.main``); real processes where the exit code of a
process is the point."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, run_fwbot
from tests.conftest import run_fwbot_here as run_here

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
CSV = (
    "title,owner,objectives,cadence,last_update\n"
    "Train border officers,U0AAA1,1.1;2.3,weekly,2026-11-02\n"
    "Cyber lab,U0AAA2,4.1,monthly,\n"
)


@pytest.fixture
def env(fwbot_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**fwbot_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'fwbot.db'}"}


# ---- batches ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "field"), [("ask", "question"), ("align", "text")], ids=["ask", "align"]
)
def test_a_batch_line_with_an_empty_text_is_an_error(
    fwbot_env, tmp_path: Path, command: str, field: str
) -> None:
    batch = tmp_path / "in.jsonl"
    batch.write_text(
        json.dumps({"id": 1, field: ""}) + "\n" + json.dumps({"id": 2, field: "  "}) + "\n",
        encoding="utf-8",
    )
    proc = run_here(command, "--batch", batch, "--json", env=fwbot_env)
    assert proc.returncode == 1
    out = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [o["id"] for o in out] == [1, 2]
    assert [o["error"] for o in out] == [
        f"line 1 has an empty {field!r}",
        f"line 2 has an empty {field!r}",
    ]
    assert f"line 1 has an empty {field!r}" in proc.stderr.decode()


def test_batch_help_says_it_prints_json_with_or_without_the_flag(fwbot_env) -> None:
    for command in ("ask", "align"):
        text = " ".join(run_here(command, "--help", env=fwbot_env).stdout.decode().split())
        assert "prints one JSON object per line" in text and "with or without --json" in text


# ---- exit codes: 1 for input, 2 for argparse ------------------------------------------------


@pytest.mark.slow  # fwbot subprocesses
def test_input_errors_exit_1_and_usage_errors_exit_2(fwbot_env) -> None:
    for args in (("ask", ""), ("align", ""), ("eval",)):
        proc = run_fwbot(*args, env=fwbot_env)
        assert proc.returncode == 1, (args, proc.stderr.decode())
        assert len(proc.stderr.decode().splitlines()) == 1
    assert run_fwbot("ask", "--no-such-option", env=fwbot_env).returncode == 2  # argparse's


# ---- progress list and audit -----------------------------------------------------------------


def test_progress_list_has_a_header_and_shows_an_imported_last_update(env, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(CSV, encoding="utf-8")
    assert run_here("progress", "import", source, env=env).returncode == 0
    lines = run_here("progress", "list", env=env).stdout.decode().splitlines()
    assert lines[0] == "#id\towner\tstate\tdue\tlast update\tobjectives\ttitle"
    first, second = (line.split("\t") for line in lines[1:])
    assert first[:2] == ["#1", "U0AAA1"] and first[4] == "updated 2026-11-02"
    assert second[:2] == ["#2", "U0AAA2"] and second[4] == "no update yet"


def test_the_audit_trail_reads_key_value(env, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(CSV, encoding="utf-8")
    assert run_here("progress", "import", source, env=env).returncode == 0
    source.write_text(CSV.replace("Cyber lab,U0AAA2,4.1", "Cyber lab,U0AAA2,4.1;4.2"), "utf-8")
    assert run_here("progress", "import", source, env=env).returncode == 0
    out = run_here("progress", "audit", env=env).stdout.decode()
    assert "{" not in out and "'" not in out, out
    assert "title: Train border officers; owner: U0AAA1; objectives: 1.1, 2.3" in out
    assert "objective_ids: 4.1 → 4.1, 4.2" in out


def test_readable_detail() -> None:
    from bot.cli.progress import readable_detail

    assert (
        readable_detail({"status": "on_track", "percent": None}) == "status: on_track; percent: –"
    )
    assert readable_detail({"before": {"cadence": "weekly"}, "after": {"cadence": "monthly"}}) == (
        "cadence: weekly → monthly"
    )


# ---- the README's examples are the engine's answers ------------------------------------------


def _readme_json(start: str) -> dict:
    """The first JSON example in the README that starts with ``start``."""
    blocks = re.findall(r"```json\n(.*?)```", README, re.S)
    return json.loads(next(b for b in blocks if b.startswith(start)))


def _rounded(obj):
    if isinstance(obj, float):
        return round(obj, 2)
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rounded(v) for v in obj]
    return obj


def test_the_readme_json_examples_are_the_engines_answers(fwbot_env) -> None:
    """Exactly, with scores to two places (a refit moves the third)."""
    ask = _readme_json('{"id": null, "question"')
    proc = run_here("ask", ask["question"], "--json", env=fwbot_env)
    assert _rounded(json.loads(proc.stdout)) == _rounded(ask)
    align = _readme_json('{"id": null, "tags"')
    text = "Run workshops teaching investigators to use open-source intelligence tools"
    assert f'fwbot align "{text}"' in README
    proc = run_here("align", text, "--json", env=fwbot_env)
    assert _rounded(json.loads(proc.stdout)) == _rounded(align)


def test_a_csv_without_its_header_says_what_a_row_holds(env, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("Train border officers,Maria,1.1 2.3,weekly\n", encoding="utf-8")
    err = run_here("progress", "import", source, env=env).stderr.decode()
    assert "owner: the Slack member id, not a name" in err, err
    assert "objectives: ids separated by ';'" in err


# ---- make run installs the runtime, make test the dev tools too -----------------------------


@pytest.mark.skipif(shutil.which("make") is None, reason="no make here")
def test_make_run_installs_only_the_runtime_and_make_test_the_dev_tools(tmp_path: Path) -> None:
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(REPO_ROOT / name, tmp_path / name)

    def planned(target: str) -> str:
        done = subprocess.run(
            ["make", "-n", target], cwd=tmp_path, capture_output=True, text=True, check=True
        )
        return done.stdout

    run = planned("run")
    assert "pip install -e .\n" in run and "[dev]" not in run
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").touch()
    (tmp_path / ".venv" / ".installed-run").touch()  # after `make run`
    assert "pip install -e '.[dev]'" in planned("test")
    (tmp_path / ".venv" / ".installed").touch()  # after `make test`: run installs nothing more
    assert "pip install" not in planned("run") and "pip install" not in planned("test")
