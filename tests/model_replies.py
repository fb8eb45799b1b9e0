"""What the loopback model servers (tests/openai_server.py, tests/ollama_server.py) reply in
each mode, whatever their wire format: the content, how long to stall half-way, and how a
model streams it."""

from __future__ import annotations

import json
import re
import threading
from typing import Any

LATE = json.dumps({"answered": True, "text": "late", "cited_ids": []})
CITE_FIRST_TEXT = (
    "See the element: it says what the question asks about, in words the reader can check "
    "against the framework's own text."
)


def reply_for(
    kind: str, value: Any, body: dict[str, Any], closing: threading.Event
) -> tuple[str, float]:
    """(content, seconds to stall half-way) for a chat request ``body`` in mode ``kind``:

    * ``ok``: ``value`` as it is; ``slow``: ``LATE`` after ``value`` seconds (or until the
      server closes); ``stall``: ``value`` seconds half-way through (``(seconds, content)``
      for other content than ``LATE``);
    * ``cite_first``: an answer citing the first element of the prompt; ``echo``: a model that
      obeys any instruction, repeating everything it was sent."""
    if kind == "slow":
        closing.wait(float(value))
        return LATE, 0.0
    if kind == "stall":
        if isinstance(value, tuple | list):
            return str(value[1]), float(value[0])
        return LATE, float(value)
    messages = body.get("messages") or [{}]
    if kind in ("cite_first", "echo"):
        seen = "\n".join(str(m.get("content", "")) for m in messages)
        found = re.search(r'<element id="([^"]+)"', seen)
        cited = [found.group(1)] if found else []
        text = CITE_FIRST_TEXT if kind == "cite_first" else seen
        return json.dumps({"answered": True, "cited_ids": cited, "text": text}), 0.0
    return str(value), 0.0


def pieces(text: str) -> list[str]:
    """``text`` cut into pieces of 8 to 20 characters (the last may be shorter), as a model
    streams it."""
    sizes = (8, 13, 20, 11)
    out: list[str] = []
    at = 0
    while at < len(text):
        size = sizes[len(out) % len(sizes)]
        out.append(text[at : at + size])
        at += size
    return out


def streamed(model: Any, prompt: str) -> tuple[list[str], dict[str, Any] | None]:
    """What a chat model streams for ``prompt``: its non-empty text pieces, and the usage of
    the whole reply (the chunks added up)."""
    chunks = list(model.stream(prompt))
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    return [str(c.content) for c in chunks if c.content], total.usage_metadata
