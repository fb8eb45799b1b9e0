"""The `fwbot` CLI's JSON contract, run in process through ``bot.cli.main`` (what a command
prints and returns; test_cli_errors.py keeps real processes for exit codes, pipes and
environments). Batch files cover many inputs in one run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import FRAMEWORKS, SDG_PATH
from conftest import run_fwbot_here as run_fwbot

from framework_data.loader import load_framework

ASK_KEYS = {"id", "question", "answered", "text", "citations", "composer"}
CITATION_KEYS = {"id", "kind", "score"}
ALIGN_KEYS = {"id", "tags", "no_fit", "reviewer"}
TAG_KEYS = {"id", "goal", "score", "confidence", "why", "evidence"}

INTERPOL = load_framework()
INTERPOL_IDS = INTERPOL.citation_ids()
INTERPOL_OBJECTIVES = {o.id for _, o in INTERPOL.objectives()}


def json_lines(stdout: bytes) -> list[dict[str, Any]]:
    text = stdout.decode("utf-8")
    assert text.endswith("\n") or not text
    lines = text.splitlines()
    assert all(line.strip() for line in lines), "blank line in JSONL output"
    return [json.loads(line) for line in lines]


def write_jsonl(path: Path, lines: list[Any]) -> Path:
    """``lines``: objects (dumped as JSON) or raw strings (written as they are)."""
    raw = [x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines]
    path.write_bytes(("\n".join(raw) + "\n").encode("utf-8"))
    return path


def check_ask_object(obj: dict[str, Any], known_ids: set[str]) -> None:
    # "error": only on a batch line that failed; "fallback": only when a model was not used
    assert set(obj) - {"error", "fallback"} == ASK_KEYS
    assert obj["composer"] in ("offline", "model")
    assert type(obj["answered"]) is bool
    assert isinstance(obj["text"], str) and obj["text"].strip()
    assert isinstance(obj["citations"], list)
    for c in obj["citations"]:
        assert set(c) - {"note"} == CITATION_KEYS  # "note": only when a scope note matched
        assert isinstance(c["id"], str) and c["id"] in known_ids
        assert c["kind"] in ("objective", "goal", "statement")
        assert isinstance(c["score"], float | int) and not isinstance(c["score"], bool)
        assert 0.0 <= c["score"] <= 1.0
    scores = [c["score"] for c in obj["citations"]]
    assert scores == sorted(scores, reverse=True), "citations must be best first"
    if obj["answered"]:
        assert obj["citations"], "an answer cites its sources"


def check_align_object(obj: dict[str, Any], *, error: bool = False) -> None:
    assert set(obj) - {"fallback"} == ALIGN_KEYS | ({"error"} if error else set())
    assert obj["reviewer"] in ("engine", "model")
    assert type(obj["no_fit"]) is bool
    assert isinstance(obj["tags"], list) and len(obj["tags"]) <= 5
    assert obj["no_fit"] == (not obj["tags"])
    for t in obj["tags"]:
        # "note": only when a scope note matched; "part": only in a long proposal
        assert set(t) - {"note", "part"} == TAG_KEYS
        if "note" in t:
            assert t["note"].startswith("matched the ") and f" of {t['id']}: " in t["note"]
        assert t["id"] in INTERPOL_OBJECTIVES
        assert t["goal"] == INTERPOL.goal_of(t["id"]).citation_id
        assert 0.0 <= t["score"] <= 1.0
        assert t["confidence"] in ("high", "medium", "low")
        assert isinstance(t["why"], str) and t["why"].strip()
    if error:
        assert obj["tags"] == [] and obj["no_fit"] is True
        assert isinstance(obj["error"], str) and obj["error"].strip()


# ---- ask --------------------------------------------------------------------------------------


def test_ask_json_has_exactly_the_contract_keys(fwbot_env: dict[str, str]) -> None:
    proc = run_fwbot("ask", "Which objective is about training?", "--json", env=fwbot_env)
    assert proc.returncode == 0, proc.stderr.decode()
    [obj] = json_lines(proc.stdout)
    check_ask_object(obj, INTERPOL_IDS)
    assert obj["id"] is None
    assert obj["question"] == "Which objective is about training?"
    assert obj["answered"] is True
    assert obj["citations"][0] == {
        "id": "2.3",
        "kind": "objective",
        "score": obj["citations"][0]["score"],
    }


def test_ask_batch_one_line_per_input_in_order(tmp_path: Path, fwbot_env: dict[str, str]) -> None:
    batch = write_jsonl(
        tmp_path / "questions.jsonl",
        [
            {"id": "q1", "question": "What does 2.3 say?"},
            "this is {not json",
            {"id": "q3", "text": "a line without a question field"},
            {"id": 4, "question": "goal 3"},
            "",  # an empty line is an error line: one output per input line
            {"id": "q6", "question": "What is our mission?"},
            {"id": "q7", "question": "ما هو الهدف المتعلق بالتدريب؟ מהי המטרה"},
            {"id": "q8", "question": "🚀🔥💯"},
            {
                "id": "q9",
                "question": "<!channel> \u0000\u0007\u001b[31m which objective is about "
                "data protection? 🎉",
            },
            {"id": "q10", "question": "   "},
            ["not", "an", "object"],
            {"id": "q12", "question": "Which objective covers a sustainable funding model?"},
        ],
    )
    proc = run_fwbot("ask", "--batch", batch, "--json", env=fwbot_env)
    stderr = proc.stderr.decode()
    assert proc.returncode == 1, stderr  # some lines could not be read
    out = json_lines(proc.stdout)
    assert [o["id"] for o in out] == [
        "q1",
        None,
        "q3",
        4,
        None,
        "q6",
        "q7",
        "q8",
        "q9",
        "q10",
        None,
        "q12",
    ]
    for obj in out:
        check_ask_object(obj, INTERPOL_IDS)

    (
        q1,
        bad_json,
        no_question,
        goal,
        empty,
        mission,
        rtl,
        emoji,
        noisy,
        blank,
        not_obj,
        funding,
    ) = out
    assert q1["question"] == "What does 2.3 say?"
    assert [c["id"] for c in q1["citations"]] == ["2.3"] and q1["answered"]
    for err in (bad_json, no_question, empty, blank, not_obj):
        assert err["answered"] is False and err["citations"] == []
        assert err["error"] == err["text"]  # the same key as align --batch's errors
    assert all("error" not in o for o in (q1, goal, mission, funding))
    assert "line 2" in bad_json["text"] and "line 3" in no_question["text"]
    assert empty["text"] == "line 5 is empty"
    assert blank["text"] == "line 10 has an empty 'question'" and blank["question"] == "   "
    assert "line 11" in not_obj["text"]
    assert re.search(r"\bline 2\b", stderr) and re.search(r"\bline 3\b", stderr)
    assert re.search(r"\bline 5\b", stderr) and re.search(r"\bline 11\b", stderr)
    assert re.search(r"\bline 10\b", stderr)
    assert not re.search(r"\bline (1|4|6|7|8|9|12)\b", stderr), stderr
    assert "Traceback" not in stderr
    assert [c["id"] for c in goal["citations"]] == ["G3", "3.1", "3.2", "3.3", "3.4"]
    assert [c["id"] for c in mission["citations"]] == ["mission"]
    assert not emoji["answered"] and not blank["answered"]
    assert rtl["question"] == "ما هو الهدف المتعلق بالتدريب؟ מהי המטרה"  # echoed intact
    assert noisy["answered"] and noisy["citations"][0]["id"] == "5.2"
    assert funding["answered"] and funding["citations"][0]["id"] == "5.1"


def test_ask_batch_unicode_line_separators_inside_strings(
    tmp_path: Path, fwbot_env: dict[str, str]
) -> None:
    batch = write_jsonl(
        tmp_path / "separators.jsonl",
        [
            {"id": 1, "question": "Which objective is about training?\u2028Thanks"},
            {"id": 2, "question": "What is the vision\u0085?"},
            {"id": 3, "question": "goal 1\u2029"},
        ],
    )
    proc = run_fwbot("ask", "--batch", batch, "--json", env=fwbot_env)
    out = json_lines(proc.stdout)
    assert [o["id"] for o in out] == [1, 2, 3]
    assert proc.returncode == 0, proc.stderr.decode()
    assert all(o["answered"] for o in out)


def test_ask_with_another_framework_cites_its_ids(fwbot_env: dict[str, str]) -> None:
    sdg = load_framework(SDG_PATH)
    proc = run_fwbot(
        "ask",
        "--framework",
        "tests/fixtures/frameworks/sdg.yaml",
        "--json",
        "What does 14.c say?",
        env=fwbot_env,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    [obj] = json_lines(proc.stdout)
    check_ask_object(obj, sdg.citation_ids())
    assert obj["answered"] is True
    assert [c["id"] for c in obj["citations"]] == ["14.c"]
    assert sdg.objective("14.c").text.rstrip(".")[:40] in obj["text"]


def test_framework_option_before_the_subcommand_is_honoured(fwbot_env: dict[str, str]) -> None:
    proc = run_fwbot("--framework", SDG_PATH, "ask", "goal 17", "--json", env=fwbot_env)
    assert proc.returncode == 0, proc.stderr.decode()
    [obj] = json_lines(proc.stdout)
    assert obj["citations"] and obj["citations"][0]["id"] == "G17"


# ---- align ------------------------------------------------------------------------------------


def test_align_json_has_exactly_the_contract_keys(fwbot_env: dict[str, str]) -> None:
    proc = run_fwbot(
        "align",
        "--json",
        "Run",
        "workshops",
        "for",
        "investigators",
        "on",
        "open-source",
        "intelligence",
        env=fwbot_env,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    [obj] = json_lines(proc.stdout)
    check_align_object(obj)
    assert obj["id"] is None and obj["no_fit"] is False
    assert obj["tags"][0]["id"] == "1.5"


def test_align_batch_in_order_with_errors(tmp_path: Path, fwbot_env: dict[str, str]) -> None:
    batch = write_jsonl(
        tmp_path / "proposals.jsonl",
        [
            {
                "id": "p1",
                "text": "Train police officers from member countries in digital forensics "
                "through regional workshops and exchange of best practices.",
            },
            {"id": "p2", "text": ""},
            {"id": "p3", "text": "🚀🔥💯"},
            "{broken",
            {"id": "p5", "question": "wrong field"},
            {"id": "p6", "text": "Design a sustainable funding model for the Organization."},
            {"id": "p7", "text": "Organise the staff summer picnic with a barbecue and games."},
            {"id": "p8", "text": "مشروع لتدريب الشرطة \u0000 on criminal intelligence analysis"},
        ],
    )
    proc = run_fwbot("align", "--batch", batch, "--json", env=fwbot_env)
    stderr = proc.stderr.decode()
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr
    out = json_lines(proc.stdout)
    assert [o["id"] for o in out] == ["p1", "p2", "p3", None, "p5", "p6", "p7", "p8"]
    p1, p2, p3, broken, p5, p6, p7, p8 = out
    for obj in (p1, p6, p7, p8):
        check_align_object(obj)
    for obj in (p2, p3, broken, p5):
        check_align_object(obj, error=True)
    assert "empty" in p2["error"].lower()
    assert "line 4" in broken["error"] and "line 5" in p5["error"]
    assert re.search(r"\bline 4\b", stderr) and re.search(r"\bline 5\b", stderr)
    assert "p2" in stderr and "p3" in stderr
    assert p1["tags"][0]["id"] == "2.3"
    assert [t["id"] for t in p6["tags"]] == ["5.1"]
    assert p7["no_fit"] is True
    assert p8["tags"] and p8["tags"][0]["id"] == "1.5"


def test_align_reads_stdin_bytes(fwbot_env: dict[str, str]) -> None:
    text = (
        "Build a secure, resilient infrastructure for information exchange between police "
        "forces worldwide. \u202eעברית\u202c ✨"
    ).encode()
    noisy = b"\x00\xff\xfe" + text + b"\x01\x80\x1b[0m"  # NULs, invalid UTF-8, controls
    proc = run_fwbot("align", "-", "--json", input=noisy, env=fwbot_env)
    assert proc.returncode == 0, proc.stderr.decode()
    [obj] = json_lines(proc.stdout)
    check_align_object(obj)
    assert obj["tags"][0]["id"] == "1.1"


def test_align_file_plain_text(tmp_path: Path, fwbot_env: dict[str, str]) -> None:
    proposal = tmp_path / "proposal.txt"
    proposal.write_text(
        "Proposal: diversity and inclusion programme\n\n"
        "- Recruit and retain diverse talent across the General Secretariat.\n"
        "- Make the working environment safe and respectful for all staff.\n",
        encoding="utf-8",
    )
    proc = run_fwbot("align", "--file", proposal, "--json", env=fwbot_env)
    assert proc.returncode == 0, proc.stderr.decode()
    [obj] = json_lines(proc.stdout)
    # A file adds where the text came from; the rest of the contract is unchanged.
    assert obj.pop("source") == {"name": str(proposal), "kind": "text", "pages": None, "words": 26}
    check_align_object(obj)
    assert obj["tags"][0]["id"] == "5.4"


@pytest.mark.parametrize(
    ("args", "stdin"),
    [(("align", "", "--json"), None), (("align", "-", "--json"), b" \t\r\n \x00 \n")],
    ids=["empty-argument", "whitespace-stdin"],
)
def test_align_empty_is_an_input_error(
    args: tuple[str, ...], stdin: bytes | None, fwbot_env: dict[str, str]
) -> None:
    proc = run_fwbot(*args, input=stdin, env=fwbot_env)
    stderr = proc.stderr.decode()
    assert proc.returncode == 1, stderr  # an input error (2 is argparse's)
    assert proc.stdout == b""
    assert "empty" in stderr.lower() and "Traceback" not in stderr


# ---- framework --------------------------------------------------------------------------------


def test_framework_validate_default_is_ok(fwbot_env: dict[str, str]) -> None:
    proc = run_fwbot("framework", "validate", env=fwbot_env)
    assert proc.returncode == 0, proc.stderr.decode()
    assert "OK" in proc.stdout.decode() and "5 goals, 21 objectives" in proc.stdout.decode()


def test_framework_validate_broken_reports_file_and_line(fwbot_env: dict[str, str]) -> None:
    broken = FRAMEWORKS / "bad_several.yaml"
    proc = run_fwbot("framework", "validate", broken, env=fwbot_env)
    stderr = proc.stderr.decode()
    assert proc.returncode == 1
    assert proc.stdout == b""
    located = re.findall(rf"^{re.escape(str(broken))}:(\d+): ", stderr, re.M)
    assert located and all(int(n) > 0 for n in located), stderr
    assert "Traceback" not in stderr


def test_framework_show_prints_the_five_goals(fwbot_env: dict[str, str]) -> None:
    proc = run_fwbot("framework", "show", env=fwbot_env)
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode()
    shown = re.findall(r"^Goal (\S+) — (.+)$", out, re.M)
    assert shown == [(g.id, g.title) for g in INTERPOL.goals]
    assert len(shown) == 5
    for _, o in INTERPOL.objectives():
        assert o.text in out
