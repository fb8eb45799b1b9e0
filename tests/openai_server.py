"""A small OpenAI-compatible chat-completions server on loopback, for wire-level tests of the
model path through the real ``langchain-openai`` client (no provider is ever called).

``FakeOpenAI().mode`` says what the next requests get: ``("ok", content)``, ``("429",
retry_after)``, ``("500", None)``, ``("slow", seconds)`` (that long before any reply),
``("stall", seconds)`` or ``("stall", (seconds, content))`` (a streamed reply stops after half
its pieces for that long, then goes on; unstreamed, it is late by that long) or
``("cite_first", None)`` (an answer citing the first element of the prompt), ``("echo", None)``
(a model that obeys any instruction: its answer repeats everything it was sent) or ``("long",
words)`` (a model that rambles on: only the length limit ends its reply). Every request body
is kept, in ``requests``.

``FakeOpenAI(kind=...)`` says which server it stands for (tests/model_replies.py counts the
tokens, about four characters each):

* ``"openai"`` (the default), OpenAI itself: the reply is held to ``max_completion_tokens``
  (or, without it, ``max_tokens``), cut there with ``finish_reason`` "length" and that many
  completion tokens; ``response_format`` ``json_schema`` holds it to the schema.
* ``"llama.cpp"``, llama.cpp's server (llama-cpp-python), as measured: it reads
  ``max_tokens`` only and ignores ``max_completion_tokens`` (without ``max_tokens`` a reply
  runs to the context length, :data:`CONTEXT_TOKENS`); ``response_format`` ``json_schema`` is
  an HTTP 500 (a validation error: "Input should be 'text' or 'json_object'") while
  ``{"type": "json_object", "schema": {...}}`` holds the reply to that schema; a stream sends
  no usage chunk, even when asked; and it serves one request at a time (the others queue).

A request with ``"stream": true`` is answered as OpenAI streams: ``text/event-stream``, one
``data: {chat.completion.chunk}`` event per piece of the content (8 to 20 characters), a last
chunk with ``finish_reason`` "stop", with ``stream_options.include_usage`` a usage chunk with
no choices, then ``data: [DONE]``. A 429 or 500 is the JSON error, before any stream.

``python tests/openai_server.py MODE [VALUE]`` (``FAKE_OPENAI_KIND=llama.cpp`` for that kind)
serves in a process of its own and prints its base URL (for benchmarks: a remote model
server does not share the bot's interpreter)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

try:
    from tests.model_replies import as_int, fitted, limited, pieces, reply_for
except ImportError:  # run as a script (python tests/openai_server.py): tests/ is on the path
    from model_replies import (  # type: ignore[import-not-found,no-redef]
        as_int,
        fitted,
        limited,
        pieces,
        reply_for,
    )

USAGE = {"prompt_tokens": 321, "completion_tokens": 12, "total_tokens": 333}
CONTEXT_TOKENS = 2048  # llama.cpp's context: where a reply without max_tokens ends
KINDS = ("openai", "llama.cpp")
LLAMA_CPP_FORMAT_ERROR = (
    "1 validation error for CreateChatCompletionRequest\nresponse_format.type\n  Input should "
    "be 'text' or 'json_object' [type=literal_error, input_value='json_schema', "
    "input_type=str]"
)


class FakeOpenAI:
    """The server; ``with FakeOpenAI() as server`` serves on ``server.base_url``."""

    def __init__(self, kind: str = "openai") -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        self.kind = kind
        self.mode: tuple[str, Any] = ("ok", "ok")
        self.requests: list[dict[str, Any]] = []
        self._one_at_a_time = threading.Lock()  # llama.cpp's server: requests queue
        self._closing = threading.Event()  # ends the waits of "slow" and "stall" at exit
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                owner.requests.append(body)
                if owner.kind == "llama.cpp":
                    with owner._one_at_a_time:
                        self._answer(body)
                else:
                    self._answer(body)

            def _answer(self, body: dict[str, Any]) -> None:
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
                response_format = body.get("response_format") or {}
                if owner.kind == "llama.cpp" and response_format.get("type") not in (
                    None,
                    "text",
                    "json_object",
                ):
                    self._send(
                        500,
                        {"error": {"code": 500, "message": LLAMA_CPP_FORMAT_ERROR}},
                    )
                    return
                value, stall = reply_for(kind, value, body, owner._closing)
                content = fitted(str(value), owner.schema(response_format))
                content, cut = limited(content, owner.limit(body))
                usage = _usage(owner.limit(body) if cut else None)
                finish = "length" if cut else "stop"
                model = str(body.get("model", "?"))
                if body.get("stream"):
                    asked = bool((body.get("stream_options") or {}).get("include_usage"))
                    sent = usage if asked and owner.kind == "openai" else None
                    self._stream(model, content, usage=sent, finish=finish, stall=stall)
                    return
                owner._closing.wait(stall)
                self._send(200, _completion(model, content, usage, finish))

            def _stream(
                self,
                model: str,
                content: str,
                *,
                usage: dict[str, int] | None,
                finish: str,
                stall: float,
            ) -> None:
                """``content`` as OpenAI streams it, stopping ``stall`` seconds half-way."""
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream; charset=utf-8")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()  # HTTP/1.0: the stream ends when the connection closes
                events = _chunks(model, content, usage=usage, finish=finish)
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

    def limit(self, body: dict[str, Any]) -> int | None:
        """The reply length this server reads from ``body``, in tokens."""
        if self.kind == "llama.cpp":
            return as_int(body.get("max_tokens")) or CONTEXT_TOKENS
        return as_int(body.get("max_completion_tokens")) or as_int(body.get("max_tokens"))

    def schema(self, response_format: dict[str, Any]) -> Any:
        """The JSON schema this server holds the reply to, if any."""
        if self.kind == "llama.cpp":
            return response_format.get("schema")
        if response_format.get("type") == "json_schema":
            return (response_format.get("json_schema") or {}).get("schema")
        return None

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


def _usage(cut_at: int | None) -> dict[str, int]:
    """The usage of a reply: :data:`USAGE`, or with ``cut_at`` that many completion tokens."""
    if cut_at is None:
        return USAGE
    prompt = USAGE["prompt_tokens"]
    return {"prompt_tokens": prompt, "completion_tokens": cut_at, "total_tokens": prompt + cut_at}


def _completion(
    model: str, content: str, usage: dict[str, int] = USAGE, finish: str = "stop"
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": finish,
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": usage,
    }


def _chunks(
    model: str, content: str, *, usage: dict[str, int] | None, finish: str = "stop"
) -> list[dict[str, Any]]:
    """The chat.completion.chunk events streaming ``content``: the role, the pieces, the
    stop (``finish``), and with ``usage`` the usage (no choices)."""
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
        if usage is not None:
            event["usage"] = None  # as OpenAI: null on every chunk but the last
        return {**event, **extra}

    def choice(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}

    events = [chunk([choice({"role": "assistant", "content": ""})])]
    events += [chunk([choice({"content": piece})]) for piece in pieces(content)]
    events.append(chunk([choice({}, finish)]))
    if usage is not None:
        events.append(chunk([], usage=usage))
    return events


if __name__ == "__main__":
    server = FakeOpenAI(kind=os.environ.get("FAKE_OPENAI_KIND", "openai"))
    server.mode = (sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
    with server:
        print(server.base_url, flush=True)
        threading.Event().wait()
