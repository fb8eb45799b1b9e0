"""A small Ollama-compatible server on loopback, for wire-level tests of the model path through
the real ``langchain-ollama`` client (``ChatOllama`` and the ``ollama`` package under it); no
model is ever run.

It serves what ChatOllama uses:

* ``POST /api/chat``: with ``"stream": true`` (ChatOllama always asks for it; Ollama's default
  too) ``application/x-ndjson``, one JSON object a line, each with a piece of the content (8 to
  20 characters) in ``message.content`` and ``"done": false``, then a last line with an empty
  message, ``"done": true``, ``"done_reason": "stop"``, the durations and the token counts
  (``prompt_eval_count`` in, ``eval_count`` out: ChatOllama's ``usage_metadata``). With
  ``"stream": false``, that last object with the whole content.
* ``GET /api/tags`` (the pulled models: ChatOllama's ``validate_model_on_init``),
  ``POST /api/show`` (one model's details), ``GET /api/version`` and ``GET /``.

An error is Ollama's: the HTTP status with ``{"error": "..."}``. ``FakeOllama().mode`` says
what the next requests get: ``("ok", content)``, ``("500", None)``, ``("404", None)`` (no
model is pulled: ``/api/chat`` and ``/api/show`` answer 404 "model 'x' not found" and
``/api/tags`` lists nothing), ``("slow", seconds)`` (that long before any reply),
``("stall", seconds)`` or ``("stall", (seconds, content))`` (a streamed reply stops after half
its pieces for that long, then goes on) or ``("cite_first", None)`` (an answer citing the
first element of the prompt) or ``("long", words)`` (a model that rambles on: only the
length limit ends its reply). As the real Ollama, it holds a reply to ``options.num_predict``
tokens (about four characters each, tests/model_replies.py): a longer one is cut there, with
``done_reason`` "length" and ``eval_count`` the limit; and ``format`` is "json" or a JSON
schema, which holds the reply to that schema. A model not in ``models`` is not found either
(``llama3.1`` names ``llama3.1:latest``). The body of every ``/api/chat`` request is kept
in ``requests``, and every request's method and path in ``calls``.

``python tests/ollama_server.py MODE [VALUE]`` serves in a process of its own and prints its
base URL (for FWBOT_LLM_BASE_URL)."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

try:
    from tests.model_replies import as_int, fitted, limited, pieces, reply_for
except ImportError:  # run as a script (python tests/ollama_server.py): tests/ is on the path
    from model_replies import (  # type: ignore[import-not-found,no-redef]
        as_int,
        fitted,
        limited,
        pieces,
        reply_for,
    )

PROMPT_TOKENS = 287  # prompt_eval_count of every answer
OUTPUT_TOKENS = 14  # eval_count


class FakeOllama:
    """The server; ``with FakeOllama() as server`` serves on ``server.base_url``."""

    def __init__(self) -> None:
        self.mode: tuple[str, Any] = ("ok", "ok")
        self.models: list[str] = ["llama3.1:latest"]
        self.requests: list[dict[str, Any]] = []
        self.calls: list[str] = []
        self._closing = threading.Event()  # ends the waits of "slow" and "stall" at exit
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_HEAD(self) -> None:
                owner.calls.append(f"HEAD {self.path}")
                self._send(200, b"", "text/plain; charset=utf-8")

            def do_GET(self) -> None:
                owner.calls.append(f"GET {self.path}")
                if self.path == "/":
                    self._send(200, b"Ollama is running", "text/plain; charset=utf-8")
                elif self.path == "/api/version":
                    self._json(200, {"version": "0.12.0"})
                elif self.path == "/api/tags":
                    pulled = [] if owner.mode[0] == "404" else owner.models
                    self._json(200, {"models": [_listed(name) for name in pulled]})
                else:
                    self._send(404, b"404 page not found", "text/plain")

            def do_POST(self) -> None:
                owner.calls.append(f"POST {self.path}")
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                name = str(body.get("model") or body.get("name") or "")
                if self.path == "/api/show":
                    if owner.known(name):
                        self._json(200, _shown(name))
                    else:
                        self._json(404, {"error": f"model '{name}' not found"})
                elif self.path == "/api/chat":
                    owner.requests.append(body)
                    self._chat(name, body)
                else:
                    self._send(404, b"404 page not found", "text/plain")

            def _chat(self, model: str, body: dict[str, Any]) -> None:
                kind, value = owner.mode
                if kind == "500":
                    self._json(500, {"error": "llama runner process has terminated"})
                    return
                if not owner.known(model):
                    self._json(404, {"error": f"model '{model}' not found"})
                    return
                value, stall = reply_for(kind, value, body, owner._closing)
                limit = as_int((body.get("options") or {}).get("num_predict"))
                content, cut = limited(fitted(str(value), body.get("format")), limit)
                ending = {"done_reason": "length", "eval_count": limit} if cut else {}
                if body.get("stream", True) is False:
                    owner._closing.wait(stall)
                    self._json(200, {**_done(model, content), **ending})
                    return
                self._stream(model, content, stall, ending)

            def _stream(
                self, model: str, content: str, stall: float, ending: dict[str, Any]
            ) -> None:
                """``content`` as Ollama streams it, stopping ``stall`` seconds half-way."""
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.end_headers()  # HTTP/1.0: the stream ends when the connection closes
                parts = pieces(content)
                lines = [_part(model, piece) for piece in parts] + [{**_done(model, ""), **ending}]
                half = max(1, len(parts) // 2)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    for i, line in enumerate(lines):
                        if i == half and stall:
                            owner._closing.wait(stall)
                        self.wfile.write(json.dumps(line).encode() + b"\n")
                        self.wfile.flush()

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                self._send(status, json.dumps(payload).encode(), "application/json; charset=utf-8")

            def _send(self, status: int, data: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    if self.command != "HEAD":
                        self.wfile.write(data)  # the client may have given up

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def known(self, model: str) -> bool:
        """Whether ``model`` is pulled (by its full name or as ``model:latest``)."""
        if self.mode[0] == "404" or not model:
            return False
        return model in self.models or f"{model}:latest" in self.models

    def __enter__(self) -> FakeOllama:
        # shutdown() waits for the serving loop's next poll: 0.05 s, not the default 0.5 s
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _part(model: str, piece: str) -> dict[str, Any]:
    """One streamed line with a piece of the reply."""
    return {
        "model": model,
        "created_at": _now(),
        "message": {"role": "assistant", "content": piece},
        "done": False,
    }


def _done(model: str, content: str) -> dict[str, Any]:
    """The last line of a stream (``content`` empty), or the whole unstreamed reply."""
    return {
        "model": model,
        "created_at": _now(),
        "message": {"role": "assistant", "content": content},
        "done": True,
        "done_reason": "stop",
        "total_duration": 412_000_000,
        "load_duration": 2_000_000,
        "prompt_eval_count": PROMPT_TOKENS,
        "prompt_eval_duration": 98_000_000,
        "eval_count": OUTPUT_TOKENS,
        "eval_duration": 301_000_000,
    }


_DETAILS = {
    "parent_model": "",
    "format": "gguf",
    "family": "llama",
    "families": ["llama"],
    "parameter_size": "8.0B",
    "quantization_level": "Q4_K_M",
}


def _listed(name: str) -> dict[str, Any]:
    """A model as ``/api/tags`` lists it."""
    return {
        "name": name,
        "model": name,
        "modified_at": "2025-01-01T00:00:00Z",
        "size": 4_920_753_328,
        "digest": "46e0c10c039e019119339687c3c1757cc81b9da49709a3b3924863ba87ca666e",
        "details": _DETAILS,
    }


def _shown(name: str) -> dict[str, Any]:
    """A model as ``/api/show`` describes it."""
    return {
        "modelfile": f"FROM {name}\n",
        "parameters": 'stop "<|eot_id|>"',
        "template": "{{ .Prompt }}",
        "details": _DETAILS,
        "model_info": {"general.architecture": "llama", "llama.context_length": 131072},
        "capabilities": ["completion", "tools"],
        "modified_at": "2025-01-01T00:00:00Z",
    }


if __name__ == "__main__":
    server = FakeOllama()
    server.mode = (sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
    with server:
        print(server.base_url, flush=True)
        threading.Event().wait()
