"""`fwbot feedback export`: votes on real answers, written as evaluation-set lines.

A question whose answer got more helpful than not-helpful votes becomes a labelled question
in the format of ``questions_*.jsonl``: ``expected`` is what the answer cited (empty for a
helpful "the framework doesn't cover that"). The others need a person to label them: with
``--unhelpful`` they are written with ``"expected": null`` and the answer's citations beside.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ..storage.store import FeedbackRow


def eval_lines(rows: list[FeedbackRow], *, unhelpful: bool = False) -> Iterator[dict[str, Any]]:
    for row in rows:
        helpful = row.helpful > row.not_helpful
        if helpful == unhelpful:
            continue
        line: dict[str, Any] = {"id": f"fb{row.exchange_id}", "question": row.question}
        if helpful:
            line["expected"] = list(row.cited_ids) if row.answered else []
        else:
            line["expected"] = None
            line["answer_cited"] = list(row.cited_ids)
            line["answer"] = row.answer
        line["votes"] = {"helpful": row.helpful, "not_helpful": row.not_helpful}
        yield line


def export(rows: list[FeedbackRow], out, *, unhelpful: bool = False) -> int:
    n = 0
    for line in eval_lines(rows, unhelpful=unhelpful):
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
        n += 1
    return n
