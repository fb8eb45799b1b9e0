"""Measuring long proposals with several aims: does /align tag each aim, and what else?

A line of the JSONL file: ``{"id": "mai001", "text": "...", "aims": [{"primary": "2.3",
"acceptable": ["2.3"]}, ...], "acceptable": ["2.3", ...]}``: each aim the text clearly serves,
with the ids a careful reviewer would accept for it, and (top level) every id that would not be
a wrong tag. *Aim recall* is the share of labelled aims with one of their ids among the tags
shown; *wrong tags* are shown tags outside the top-level ``acceptable``. Both are reported for
the engine as it is and for the whole text's tags alone (parts not read), in the same run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from .align import Aligner, AlignInputError, Alignment
from .evaluation import read_jsonl


class Aim(BaseModel):
    primary: str
    acceptable: list[str] = Field(min_length=1)


class MultiAimCase(BaseModel):
    id: str
    text: str = Field(min_length=1)
    aims: list[Aim] = Field(min_length=1)
    acceptable: list[str]


class MultiAimMetrics(BaseModel):
    proposals: int
    aims: int
    aims_recalled: int
    tags_shown: int
    tags_wrong: int
    first_tag_right: int  # the first tag serves one of the aims
    misses: list[str]

    @property
    def aim_recall(self) -> float:
        return round(self.aims_recalled / self.aims, 3) if self.aims else 0.0

    @property
    def wrong_tag_rate(self) -> float:
        return round(self.tags_wrong / self.tags_shown, 3) if self.tags_shown else 0.0

    @property
    def top1_acceptable(self) -> float:
        return round(self.first_tag_right / self.proposals, 3) if self.proposals else 0.0


def read_cases(path: Path) -> list[MultiAimCase]:
    return read_jsonl(path, MultiAimCase)


def score(
    cases: Sequence[MultiAimCase], results: Sequence[Alignment | Exception]
) -> MultiAimMetrics:
    aims = recalled = shown = wrong = first = 0
    misses: list[str] = []
    for case, result in zip(cases, results, strict=True):
        tags = [] if isinstance(result, Exception) else [t.id for t in result.tags]
        aims += len(case.aims)
        missed = [a.primary for a in case.aims if not set(a.acceptable) & set(tags)]
        recalled += len(case.aims) - len(missed)
        shown += len(tags)
        extra = [t for t in tags if t not in case.acceptable]
        wrong += len(extra)
        first += bool(tags) and tags[0] in case.acceptable
        if missed or extra:
            misses.append(f"{case.id}: aims {[a.primary for a in case.aims]}, tagged {tags}")
    return MultiAimMetrics(
        proposals=len(cases),
        aims=aims,
        aims_recalled=recalled,
        tags_shown=shown,
        tags_wrong=wrong,
        first_tag_right=first,
        misses=misses,
    )


def evaluate_multi_aim(aligner: Aligner, path: Path) -> tuple[MultiAimMetrics, MultiAimMetrics]:
    """(the engine as it is, the whole text's tags alone) on a labelled file."""
    cases = read_cases(path)
    texts = [c.text for c in cases]
    whole_only = Aligner(aligner.searcher, read_parts=False)
    results: list[list[Alignment | AlignInputError]] = [
        a.align_many(texts) for a in (aligner, whole_only)
    ]
    return score(cases, results[0]), score(cases, results[1])


def multi_aim_table(now: MultiAimMetrics, whole: MultiAimMetrics) -> str:
    rows = [
        ("multi-aim: proposals (aims)", f"{now.proposals} ({now.aims})", ""),
        ("multi-aim: aim recall (tags shown)", f"{now.aim_recall:.3f}", f"{whole.aim_recall:.3f}"),
        (
            "multi-aim: wrong tags (rate)",
            f"{now.tags_wrong}/{now.tags_shown} ({now.wrong_tag_rate:.3f})",
            f"{whole.tags_wrong}/{whole.tags_shown} ({whole.wrong_tag_rate:.3f})",
        ),
        (
            "multi-aim: first tag serves an aim",
            f"{now.top1_acceptable:.3f}",
            f"{whole.top1_acceptable:.3f}",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"{'metric':<{width}}  {'value':<14}  whole text only", f"{'-' * width}  -----"]
    lines += [f"{a:<{width}}  {b:<14}  {c}" for a, b, c in rows]
    if now.misses:
        lines += ["", "misses:"] + [f"  {m}" for m in now.misses]
    return "\n".join(lines)
