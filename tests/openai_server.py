"""A small OpenAI-compatible chat-completions server on loopback, for wire-level tests of the
model path through the real ``langchain-openai`` client (no provider is ever called).

``FakeOpenAI().mode`` says what the next requests get: ``("ok", content)``, ``("429",
retry_after)``, ``("500", None)``, ``("slow", seconds)`` (that long before any reply),
``("stall", seconds)`` or ``("stall", (seconds, content))`` (a streamed reply stops after half
its pieces for that long, then goes on; unstreamed, it is late by that long) or
``("cite_first", None)`` (an answer citing the first element of the prompt), ``("echo", None)``
(a model that obeys any instruction: its answer repeats everything it was sent). Every request
body is kept, in ``requests``.

A request with ``"stream": true`` is answered as OpenAI streams: ``text/event-stream``, one
``data: {chat.completion.chunk}`` event per piece of the content (8 to 20 characters), a last
chunk with ``finish_reason`` "stop", with ``stream_options.include_usage`` a usage chunk with
no choices, then ``data: [DONE]``. A 429 or 500 is the JSON error, before any stream.

``python tests/openai_server.py MODE [VALUE]`` serves in a process of its own and prints its
base URL (for benchmarks: a remote model server does not share the bot's interpreter)."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

try:
    from tests.model_replies import pieces, reply_for
except ImportError:  # run as a script (python tests/openai_server.py): tests/ is on the path
    from model_replies import pieces, reply_for  # type: ignore[import-not-found,no-redef]

USAGE = {"prompt_tokens": 321, "completion_tokens": 12, "total_tokens": 333}


class FakeOpenAI:
    """The server; ``with FakeOpenAI() as server`` serves on ``server.base_url``."""

    def __init__(self) -> None:
        self.mode: tuple[str, Any] = ("ok", "ok")
        self.requests: list[dict[str, Any]] = []
        self._closing = threading.Event()  # ends the waits of "slow" and "stall" at exit
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                owner.requests.append(body)
                kind, value = owner.mode
                if kind == "429":
                    self._send(
                        429,
                        {"error": {"message": "Rate limit reached", "type": "rate_limit"}},
                        {"Retry-After": str(value)},
                    )
                    return
                if kind == "500":
                    self._send(500, {"error": {"message": "boom", "type": "server_error"}})
                    return
                value, stall = reply_for(kind, value, body, owner._closing)
                model = str(body.get("model", "?"))
                if body.get("stream"):
                    usage = bool((body.get("stream_options") or {}).get("include_usage"))
                    self._stream(model, str(value), usage=usage, stall=stall)
                    return
                owner._closing.wait(stall)
                self._send(200, _completion(model, str(value)))

            def _stream(self, model: str, content: str, *, usage: bool, stall: float) -> None:
                """``content`` as OpenAI streams it, stopping ``stall`` seconds half-way."""
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream; charset=utf-8")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()  # HTTP/1.0: the stream ends when the connection closes
                events = _chunks(model, content, usage=usage)
                half = 1 + max(1, len(pieces(content)) // 2)  # the role, half the pieces
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    for i, event in enumerate(events):
                        if i == half and stall:
                            owner._closing.wait(stall)
                        self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                        self.wfile.flush()
                    self.wfile.write(b"data: [DONE]\n\n")

            def _send(
                self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)  # the client may have given up

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        # shutdown() waits for the serving loop's next poll: 0.05 s, not the default 0.5 s
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()


def _completion(model: str, content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": USAGE,
    }


def _chunks(model: str, content: str, *, usage: bool) -> list[dict[str, Any]]:
    """The chat.completion.chunk events streaming ``content``: the role, the pieces, the
    stop, and with ``usage`` the usage (no choices)."""
    created = int(time.time())

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        event = {
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": None,
            "choices": choices,
        }
        if usage:
            event["usage"] = None  # as OpenAI: null on every chunk but the last
        return {**event, **extra}

    def choice(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}

    events = [chunk([choice({"role": "assistant", "content": ""})])]
    events += [chunk([choice({"content": piece})]) for piece in pieces(content)]
    events.append(chunk([choice({}, "stop")]))
    if usage:
        events.append(chunk([], usage=USAGE))
    return events


if __name__ == "__main__":
    server = FakeOpenAI()
    server.mode = (sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
    with server:
        print(server.base_url, flush=True)
        threading.Event().wait()
