"""fwbot with a Chroma server (CHROMA_HOST/CHROMA_PORT): a real ``chroma run`` on loopback.

The index is built there, answers are the embedded index's answers, a second run reuses the
stored vectors, and a server that is down or does not answer is one line naming CHROMA_HOST.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.chroma_server import ChromaServer, free_port, silent_listener
from tests.conftest import run_fwbot

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


def test_a_chroma_server_that_is_down_is_one_line(fwbot_env: dict[str, str]) -> None:
    port = free_port()
    env = {**fwbot_env, "CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(port)}
    proc = run_fwbot("ask", "Which objective is about training?", env=env)
    assert proc.returncode == 1
    check_one_line_naming_chroma_host(proc.stderr, port)
    debug = run_fwbot("--debug", "ask", "Which objective is about training?", env=env)
    assert debug.returncode == 1 and b"Traceback" in debug.stderr


@pytest.mark.parametrize("command", ["ask", "align"])
def test_a_chroma_server_that_never_answers_does_not_hang(
    fwbot_env: dict[str, str], command: str
) -> None:
    with silent_listener() as port:
        env = {**fwbot_env, "CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(port)}
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


def test_a_chroma_server_lost_after_its_heartbeat_is_one_line(fwbot_env: dict[str, str]) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HeartbeatOnly)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        env = {**fwbot_env, "CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(port)}
        proc = run_fwbot("ask", "Which objective is about training?", env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert proc.returncode == 1
    check_one_line_naming_chroma_host(proc.stderr, int(port))
