"""Plain-text rendering of answers and alignments for the terminal (CLI and console)."""

from __future__ import annotations

import textwrap

from framework_data.schema import Framework
from retrieval.align import Alignment
from retrieval.answer import Answer


def _wrap(text: str, indent: str = "") -> str:
    return "\n".join(
        textwrap.fill(line, width=96, initial_indent=indent, subsequent_indent=indent + "  ")
        if line.strip()
        else ""
        for line in text.replace("*", "").splitlines()
    )


def render_answer(answer: Answer, fw: Framework) -> str:
    lines = [_wrap(answer.text)]
    if answer.citations:
        cited = ", ".join(f"{c.id} ({c.score:.2f})" for c in answer.citations)
        lines.append(f"\nSources: {cited}")
        lines += [_wrap(f"({c.note})", "  ") for c in answer.citations if c.note]
    return "\n".join(lines)


def render_alignment(alignment: Alignment, fw: Framework) -> str:
    lines: list[str] = []
    if alignment.no_fit:
        lines.append("No objective fits this proposal well.")
        if alignment.nearest:
            lines.append("Nearest, for what it's worth:")
            for t in alignment.nearest:
                obj = fw.objective(t.id)
                lines.append(_wrap(f"{t.id}  {obj.text if obj else ''} ({t.score:.2f})", "  "))
    for t in alignment.tags:
        obj = fw.objective(t.id)
        lines.append(_wrap(f"{t.id}  [{t.confidence}, {t.score:.2f}]  {obj.text if obj else ''}"))
        lines.append(_wrap(f"why: {t.why}", "      "))
        if t.evidence:
            where = f" ({t.part})" if t.part else ""
            lines.append(_wrap(f"says{where}: “{t.evidence}”", "      "))
    if alignment.words_ignored:
        lines.append(
            f"(Only the first {alignment.words_considered:,} words were considered; "
            f"{alignment.words_ignored:,} more were not.)"
        )
    return "\n".join(lines)
