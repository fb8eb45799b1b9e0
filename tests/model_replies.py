"""What the loopback model servers (tests/openai_server.py, tests/ollama_server.py) reply in
each mode, whatever their wire format: the content, how long to stall half-way, how a model
streams it, and how a server holds a reply to its length limit and to a JSON schema.

Tokens are counted roughly, as a real tokenizer would not: :data:`CHARS_PER_TOKEN` characters
make a token (English text runs at about four). A reply longer than its limit is cut at
``limit * CHARS_PER_TOKEN`` characters, and the server says it stopped for length."""

from __future__ import annotations

import json
import re
import threading
from typing import Any

LATE = json.dumps({"answered": True, "text": "late", "cited_ids": []})
CHARS_PER_TOKEN = 4
LONG_WORDS = 3000  # the "long" mode's answer: more than any reply limit the tests set
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
      obeys any instruction, repeating everything it was sent;
    * ``long``: a model that rambles: an answer citing the first element whose text runs to
      ``value`` words (:data:`LONG_WORDS` by default), so the length limit is what ends it."""
    if kind == "slow":
        closing.wait(float(value))
        return LATE, 0.0
    if kind == "stall":
        if isinstance(value, tuple | list):
            return str(value[1]), float(value[0])
        return LATE, float(value)
    messages = body.get("messages") or [{}]
    if kind in ("cite_first", "echo", "long"):
        seen = "\n".join(str(m.get("content", "")) for m in messages)
        found = re.search(r'<element id="([^"]+)"', seen)
        cited = [found.group(1)] if found else []
        text = CITE_FIRST_TEXT if kind == "cite_first" else seen
        if kind == "long":
            words = int(value or LONG_WORDS)
            text = " ".join(f"word{i}" for i in range(words))
        return json.dumps({"answered": True, "cited_ids": cited, "text": text}), 0.0
    return str(value), 0.0


def limited(content: str, limit: int | None) -> tuple[str, bool]:
    """``content`` held to ``limit`` tokens (None: no limit), and whether it was cut."""
    if limit is None or len(content) <= limit * CHARS_PER_TOKEN:
        return content, False
    return content[: max(0, limit) * CHARS_PER_TOKEN], True


def as_int(value: Any) -> int | None:
    """A limit read from a request body: an int, or None when absent or not a number."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def fitted(content: str, schema: Any) -> str:
    """``content`` held to a JSON ``schema`` as a server's grammar holds a model to it: the
    model cannot write anything else, so an object missing a required key gets it (empty, of
    its type) and keys the schema forbids are left out. Top-level keys only; a reply that is
    not a JSON object is left as it is."""
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return content
    try:
        value = json.loads(content)
    except json.JSONDecodeError:
        return content
    if not isinstance(value, dict):
        return content
    properties = schema.get("properties") or {}
    if schema.get("additionalProperties") is False:
        value = {k: v for k, v in value.items() if k in properties}
    empty = {"string": "", "array": [], "boolean": False, "object": {}, "integer": 0}
    for key in schema.get("required") or []:
        if key not in value:
            value[key] = empty.get(str((properties.get(key) or {}).get("type")))
    return json.dumps(value)


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


def as_offline(reply):  # an Answer or an Alignment
    """A reply the model path gave instead of the model's: it names why (``fallback``), and
    is otherwise the offline answer (or the engine's alignment) exactly."""
    assert reply.fallback, "a fallback says why the model's reply was not used"
    return reply.model_copy(update={"fallback": None})


def assert_held_to_the_elements_shown(schema: dict, prompt: str) -> None:
    """``schema`` is the answer's JSON schema with ``cited_ids`` held to the ids of the
    elements in ``prompt`` (at least one), and nothing else changed."""
    import re

    from retrieval.llm.composer import ModelAnswer

    shown = re.findall(r'<element id="([^"]+)"', prompt)
    cited = schema["properties"]["cited_ids"]
    assert shown and cited["items"] == {"type": "string", "enum": shown}
    assert cited["minItems"] == 1 and schema["required"] == ["answered", "cited_ids", "text"]
    plain = ModelAnswer.model_json_schema()
    assert {k: v for k, v in schema["properties"].items() if k != "cited_ids"} == {
        k: v for k, v in plain["properties"].items() if k != "cited_ids"
    }
