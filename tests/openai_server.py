"""A small OpenAI-compatible chat-completions server on loopback, for wire-level tests of the
model path through the real ``langchain-openai`` client (no provider is ever called).

``FakeOpenAI().mode`` says what the next requests get: ``("ok", content)``, ``("429",
retry_after)``, ``("500", None)``, ``("slow", seconds)`` or ``("cite_first", None)`` (an
answer citing the first element of the prompt). Every request body is kept.

``python tests/openai_server.py MODE [VALUE]`` serves in a process of its own and prints its
base URL (for benchmarks: a remote model server does not share the bot's interpreter)."""

from __future__ import annotations

import contextlib
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeOpenAI:
    def __init__(self) -> None:
        self.mode: tuple[str, Any] = ("ok", "ok")
        self.requests: list[dict[str, Any]] = []
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
                if kind == "slow":
                    time.sleep(float(value))
                    value = json.dumps({"answered": True, "text": "late", "cited_ids": []})
                if kind == "cite_first":  # an answer citing the first element it was given
                    prompt = str((body.get("messages") or [{}])[-1].get("content", ""))
                    found = re.search(r'<element id="([^"]+)"', prompt)
                    cited = [found.group(1)] if found else []
                    value = json.dumps(
                        {"answered": True, "text": "See the element.", "cited_ids": cited}
                    )
                self._send(200, _completion(body.get("model", "?"), str(value)))

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
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
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
        "usage": {"prompt_tokens": 321, "completion_tokens": 12, "total_tokens": 333},
    }


if __name__ == "__main__":
    server = FakeOpenAI()
    server.mode = (sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
    with server:
        print(server.base_url, flush=True)
        threading.Event().wait()
