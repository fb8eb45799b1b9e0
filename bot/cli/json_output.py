"""The CLI's JSON contracts (README, "JSON contracts") and its batch runs: one JSON object
per input line, in order, with an error object in place of a line that cannot be read (empty,
not JSON, no text field, or a text field with nothing in it). A batch prints JSON whether or
not ``--json`` is given: it is for programs (``--help`` and the README say so)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

EXIT_OK, EXIT_ERROR = 0, 1


def _batch_lines(path: Path, field: str) -> Iterator[tuple[Any, str | None, str | None]]:
    """(id, text, error) for every line of a JSONL file, in order: one output per input line
    (an empty line is an error too). Ids used twice get one warning on stderr, at the end."""
    raw = path.read_bytes().decode("utf-8-sig", errors="replace")
    # Split on newlines only: JSON strings may hold U+2028 and friends, which splitlines() cuts.
    lines = raw.split("\n")
    if lines and not lines[-1].strip():
        lines.pop()  # after the last newline: not a line
    seen: dict[str, int] = {}
    repeats: list[tuple[str, int, int]] = []
    for n, line in enumerate(lines, start=1):
        item = _batch_line(n, line, field)
        if item[0] is not None:
            key = json.dumps(item[0], sort_keys=True, ensure_ascii=False)
            if key in seen:
                repeats.append((key, seen[key], n))
            seen.setdefault(key, n)
        yield item
    if repeats:
        key, first, again = repeats[0]
        more = f" and {len(repeats) - 1} more repeat(s)" if len(repeats) > 1 else ""
        print(
            f"fwbot: {path}: warning: id {key} is on line {first} and line {again}{more}; "
            "the output still has one line per input line, in order: match them by line",
            file=sys.stderr,
        )


def _batch_line(n: int, line: str, field: str) -> tuple[Any, str | None, str | None]:
    if not line.strip():
        return None, None, f"line {n} is empty"
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, None, f"line {n} is not valid JSON ({exc.msg})"
    if not isinstance(obj, dict):
        return None, None, f"line {n} is not a JSON object"
    text = obj.get(field)
    if not isinstance(text, str):
        return obj.get("id"), None, f"line {n} has no text field {field!r}"
    if not text.strip():
        return obj.get("id"), text, f"line {n} has an empty {field!r}"
    return obj.get("id"), text, None


_LINE_BREAKERS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\u0085": "\\u0085"}


def emit(out: TextIO, obj: dict[str, Any]) -> None:
    """One JSON object per line; characters some readers treat as line breaks are escaped."""
    line = json.dumps(obj, ensure_ascii=False)
    for char, escaped in _LINE_BREAKERS.items():
        line = line.replace(char, escaped)
    out.write(line + "\n")
    out.flush()


def ask_json(qid: Any, question: str, answer) -> dict[str, Any]:
    return {
        "id": qid,
        "question": question,
        "answered": answer.answered,
        "text": answer.text,
        "citations": [c.model_dump(exclude_none=True) for c in answer.citations],
        # who wrote the text, and (model mode) why a model's answer was not used
        "composer": answer.composer,
        **({"fallback": answer.fallback} if answer.fallback else {}),
    }


def ask_batch(ask: Callable[[str], Any], path: Path) -> int:
    """``fwbot ask --batch`` (``ask``: a question to its Answer); exit 1 when some line could
    not be read."""
    failed = False
    for qid, question, error in _batch_lines(path, "question"):
        if error:
            failed = True
            print(f"fwbot: {path}: {error}", file=sys.stderr)
            emit(
                sys.stdout,
                {
                    "id": qid,
                    "question": question,
                    "answered": False,
                    "text": error,
                    "citations": [],
                    "composer": "offline",
                    "error": error,
                },
            )
            continue
        emit(sys.stdout, ask_json(qid, question or "", ask(question or "")))
    return EXIT_ERROR if failed else EXIT_OK


def align_json(pid: Any, alignment) -> dict[str, Any]:
    return {
        "id": pid,
        "tags": [
            t.model_dump(
                include={"id", "goal", "score", "confidence", "why", "evidence", "part", "note"},
                exclude_none=True,
            )
            for t in alignment.tags
        ],
        "no_fit": alignment.no_fit,
        # whose tags, and (model mode) why a model's review was not used
        "reviewer": alignment.reviewer,
        **({"fallback": alignment.fallback} if alignment.fallback else {}),
    }


ALIGN_BATCH_CHUNK = 64  # proposals whose passages go through the model together


def align_batch(assistant, path: Path) -> int:
    """``fwbot align --batch``: exit 1 when some line could not be read or aligned."""
    from itertools import islice

    lines = _batch_lines(path, "text")
    failed = False
    while chunk := list(islice(lines, ALIGN_BATCH_CHUNK)):
        texts = [text or "" for _, text, error in chunk if error is None]
        results = iter(assistant.align_many(texts))
        for pid, _, error in chunk:
            result = next(results) if error is None else None
            if result is not None and not isinstance(result, Exception):
                emit(sys.stdout, align_json(pid, result))
                continue
            message = error or str(result)
            failed = True
            where = f"id {pid}: " if pid is not None else ""
            print(f"fwbot: {path}: {where}{message}", file=sys.stderr)
            emit(
                sys.stdout,
                {"id": pid, "tags": [], "no_fit": True, "reviewer": "engine", "error": message},
            )
    return EXIT_ERROR if failed else EXIT_OK
