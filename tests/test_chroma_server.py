"""fwbot with a Chroma server (CHROMA_HOST/CHROMA_PORT): a real ``chroma run`` on loopback.

The index is built there, answers are the embedded index's answers, a second run reuses the
stored vectors, and a server that is down or does not answer is one line naming CHROMA_HOST.
"""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from retrieval.index import CONNECT_TIMEOUT
from tests.chroma_server import ChromaServer, free_port, silent_listener
from tests.conftest import FWBOT_TIMEOUT, REPO_ROOT, run_fwbot

QUESTIONS = [
    "Which objective is about training?",
    "What does the framework say about cybercrime?",
    "How do we support member countries with forensics?",
]
PROPOSALS = [
    "A workshop training police officers in digital forensics across West Africa.",
    "A database linking stolen vehicle reports between neighbouring countries.",
]
NO_ANSWER_WITHIN = 15.0  # seconds, model load included: the heartbeat waits at most 5


def write_jsonl(path: Path, field: str, texts: list[str]) -> Path:
    lines = [json.dumps({"id": f"q{i}", field: t}) for i, t in enumerate(texts)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ranked(stdout: bytes, key: str) -> list[list[tuple[str, float]]]:
    """Each JSON line's ``key`` list as (id, score) pairs, in order."""
    out = [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]
    return [[(c["id"], round(c["score"], 4)) for c in obj[key]] for obj in out]


def answers(env: dict[str, str], tmp_path: Path) -> tuple[list[Any], list[Any]]:
    questions = write_jsonl(tmp_path / "questions.jsonl", "question", QUESTIONS)
    proposals = write_jsonl(tmp_path / "proposals.jsonl", "text", PROPOSALS)
    ask = run_fwbot("ask", "--batch", questions, "--json", env=env)
    assert ask.returncode == 0, ask.stderr.decode()
    align = run_fwbot("align", "--batch", proposals, "--json", env=env)
    assert align.returncode == 0, align.stderr.decode()
    return ranked(ask.stdout, "citations"), ranked(align.stdout, "tags")


def fwbot_collections(server: ChromaServer) -> list[Any]:
    client = server.client()
    names = [c if isinstance(c, str) else c.name for c in client.list_collections()]
    return [client.get_collection(n) for n in names if n.startswith("fwbot-")]


# chromadb cannot rebuild fwbot's embedding function from the server's record: not needed
@pytest.mark.filterwarnings("ignore:Could not reconstruct embedding function")
def test_index_ask_and_align_on_a_chroma_server(
    chroma_server: ChromaServer, fwbot_env: dict[str, str], tmp_path: Path
) -> None:
    served = {**fwbot_env, **chroma_server.env}
    built = run_fwbot("index", env=served)
    assert built.returncode == 0, built.stderr.decode()
    [collection] = fwbot_collections(chroma_server)
    views = collection.count()
    assert views > 0

    embedded_ask, embedded_align = answers(fwbot_env, tmp_path)
    served_ask, served_align = answers(served, tmp_path)
    assert all(embedded_ask) and all(embedded_align), "the questions must find something"
    assert served_ask == embedded_ask
    assert served_align == embedded_align

    # A second ask reuses the server's vectors: a marked vector is not re-embedded.
    first = collection.get(limit=1, include=["embeddings"])
    marked = [0.0] * len(first["embeddings"][0])
    marked[0] = 1.0
    collection.update(ids=first["ids"], embeddings=[marked])
    again = run_fwbot("ask", QUESTIONS[0], "--json", env=served)
    assert again.returncode == 0, again.stderr.decode()
    [after] = fwbot_collections(chroma_server)
    assert after.name == collection.name and after.count() == views
    kept = after.get(ids=first["ids"], include=["embeddings"])["embeddings"][0]
    assert list(kept) == marked, "fwbot ask rebuilt the index on the server"


def check_one_line_naming_chroma_host(stderr: bytes, port: int) -> None:
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1, stderr.decode()
    assert "CHROMA_HOST" in lines[0] and f"127.0.0.1:{port}" in lines[0]
    assert "Traceback" not in stderr.decode()


def no_copy(fwbot_env: dict[str, str], tmp_path: Path, port: int) -> dict[str, str]:
    """A replica pointed at ``port`` with a data folder of its own: no local copy there."""
    return {
        **fwbot_env,
        "CHROMA_HOST": "127.0.0.1",
        "CHROMA_PORT": str(port),
        "FWBOT_DATA_DIR": str(tmp_path / "data"),
    }


def test_a_chroma_server_that_is_down_is_one_line(
    fwbot_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    env = no_copy(fwbot_env, tmp_path, port)
    proc = run_fwbot("ask", "Which objective is about training?", env=env)
    assert proc.returncode == 1
    check_one_line_naming_chroma_host(proc.stderr, port)
    debug = run_fwbot("--debug", "ask", "Which objective is about training?", env=env)
    assert debug.returncode == 1 and b"Traceback" in debug.stderr


@pytest.mark.parametrize("command", ["ask", "align"])
def test_a_chroma_server_that_never_answers_does_not_hang(
    fwbot_env: dict[str, str], command: str, tmp_path: Path
) -> None:
    with silent_listener() as port:
        env = no_copy(fwbot_env, tmp_path, port)
        started = time.monotonic()
        proc = run_fwbot(command, "training police officers in forensics", env=env)
        elapsed = time.monotonic() - started
    assert proc.returncode == 1
    assert elapsed < NO_ANSWER_WITHIN
    check_one_line_naming_chroma_host(proc.stderr, port)


class HeartbeatOnly(http.server.BaseHTTPRequestHandler):
    """Answers the heartbeat, then drops every other request (a server failing after it)."""

    def do_GET(self) -> None:
        if self.path == "/api/v2/heartbeat":
            body = b'{"nanosecond heartbeat": 1}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.close_connection = True  # no answer at all: the client sees the socket close

    do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_chroma_server_lost_after_its_heartbeat_is_one_line(
    fwbot_env: dict[str, str], tmp_path: Path
) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HeartbeatOnly)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        env = no_copy(fwbot_env, tmp_path, int(port))
        proc = run_fwbot("ask", "Which objective is about training?", env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert proc.returncode == 1
    check_one_line_naming_chroma_host(proc.stderr, int(port))


# ---- the local copy: a replica that has one still answers when the server does not ---------


def check_one_warning_naming_chroma_host(stderr: bytes, port: int) -> None:
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1, stderr.decode()
    assert "CHROMA_HOST" in lines[0] and f"127.0.0.1:{port}" in lines[0]
    assert "local copy" in lines[0]


@pytest.mark.filterwarnings("ignore:Could not reconstruct embedding function")
def test_a_replica_with_a_local_copy_answers_from_it_when_the_server_is_lost(
    chroma_server: ChromaServer, fwbot_env: dict[str, str], tmp_path: Path
) -> None:
    replica = {**fwbot_env, **chroma_server.env, "FWBOT_DATA_DIR": str(tmp_path / "data")}
    first = run_fwbot("ask", QUESTIONS[0], "--json", env=replica)
    assert first.returncode == 0, first.stderr.decode()
    assert first.stderr.decode().strip() == ""  # the server answered: nothing to warn of
    expected = ranked(first.stdout, "citations")

    down = free_port()
    started = time.monotonic()
    lost = run_fwbot("ask", QUESTIONS[0], "--json", env={**replica, "CHROMA_PORT": str(down)})
    refused_took = time.monotonic() - started
    assert lost.returncode == 0, lost.stderr.decode()
    assert ranked(lost.stdout, "citations") == expected
    check_one_warning_naming_chroma_host(lost.stderr, down)

    with silent_listener() as hung:
        started = time.monotonic()
        silent = run_fwbot("ask", QUESTIONS[0], "--json", env={**replica, "CHROMA_PORT": str(hung)})
        elapsed = time.monotonic() - started
    assert silent.returncode == 0, silent.stderr.decode()
    # a hung server costs its heartbeat's bound, not more (a margin for a loaded machine)
    assert elapsed < refused_took + CONNECT_TIMEOUT + 10
    assert ranked(silent.stdout, "citations") == expected
    check_one_warning_naming_chroma_host(silent.stderr, hung)


# ---- replicas build the index once -----------------------------------------------------------

# One replica starting: its searcher over the Chroma server, and whether it built the collection.
REPLICA = """
import json
from bot.wiring.composition import Services
from bot.wiring.settings import Settings
index = Services(Settings(), serving=True).searcher.index
print(json.dumps({"built": index.built, "collection": index.collection}))
"""


def framework_variant(path: Path, words: str) -> Path:
    """The packaged framework with ``words`` added to its vision: a framework of its own (new
    content hash), whose collection the server does not have yet."""
    source = REPO_ROOT / "framework_data" / "interpol_2017_2020.yaml"
    text = source.read_text(encoding="utf-8")
    marker = "  vision: Connecting police for a safer world"
    assert marker in text
    path.write_text(text.replace(marker, f"{marker} ({words})"), encoding="utf-8")
    return path


def start_together(envs: list[dict[str, str]]) -> list[dict[str, Any]]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", REPLICA],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for env in envs
    ]
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=FWBOT_TIMEOUT)
        assert proc.returncode == 0, stderr.decode()
        out.append(json.loads(stdout.decode().strip().splitlines()[-1]))
    return out


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.filterwarnings("ignore:Could not reconstruct embedding function")
def test_replicas_starting_together_build_the_index_once(
    chroma_server: ChromaServer,
    fwbot_env: dict[str, str],
    tmp_path: Path,
    backend: str,
    request: pytest.FixtureRequest,
) -> None:
    database_url = (
        request.getfixturevalue("pg_schema_url")
        if backend == "postgresql"
        else f"sqlite:///{tmp_path / 'shared.db'}"
    )
    before = {c.name for c in fwbot_collections(chroma_server)}

    def replicas(framework: Path) -> list[dict[str, str]]:
        return [
            {
                **fwbot_env,
                **chroma_server.env,
                "DATABASE_URL": database_url,
                "FWBOT_FRAMEWORK": str(framework),
                "FWBOT_DATA_DIR": str(tmp_path / f"replica-{i}"),  # each its own folder
            }
            for i in range(3)
        ]

    first = framework_variant(tmp_path / "first.yaml", f"{backend} {uuid.uuid4().hex}")
    started = start_together(replicas(first))
    assert sorted(r["built"] for r in started) == [False, False, True], started
    [name] = {r["collection"] for r in started}
    assert {c.name for c in fwbot_collections(chroma_server)} - before == {name}

    # The framework changes: the replicas restart with it, and its index is built once more.
    changed = framework_variant(tmp_path / "changed.yaml", f"{backend} {uuid.uuid4().hex}")
    restarted = start_together(replicas(changed))
    assert sorted(r["built"] for r in restarted) == [False, False, True], restarted
    [new_name] = {r["collection"] for r in restarted}
    assert new_name != name
    assert {c.name for c in fwbot_collections(chroma_server)} - before == {name, new_name}
