"""Quality metrics on labelled sets (format: tests/fixtures/eval/README.md).

Questions: hit@1 and recall@3 on in-scope questions (a hit is any expected id cited first),
off-topic questions correctly declined, in-scope questions wrongly declined.
Proposals: top-1 tag acceptable, primary id within the first three tags, share of emitted tags
outside the acceptable list, no-fit proposals detected.
Scores: every citation and tag shown carries a probability; a reliability table (score bins
against observed accuracy) and the expected calibration error (ECE) say whether they are
honest, and how often "high" and "medium" tags are right.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from .calibration import ReliabilityBin, expected_calibration_error, reliability


class QuestionCase(BaseModel):
    id: str
    question: str
    expected: list[str]


class ProposalCase(BaseModel):
    id: str
    text: str
    primary: str | None
    acceptable: list[str]


class Scored(BaseModel):
    """A citation or tag as shown: its probability, its label, and whether it was right."""

    score: float
    correct: bool
    confidence: str | None = None
    first: bool = True


class ScoreMetrics(BaseModel):
    shown: int = 0
    ece: float = 0.0
    bins: list[ReliabilityBin] = Field(default_factory=list)
    high: tuple[int, int] = (0, 0)  # (right, shown) for tags labelled "high"
    medium: tuple[int, int] = (0, 0)
    later: tuple[int, int] = (0, 0)  # tags after the first

    @classmethod
    def of(cls, items: list[Scored]) -> ScoreMetrics:
        scores = [i.score for i in items]
        correct = [i.correct for i in items]

        def tally(sel: list[Scored]) -> tuple[int, int]:
            return sum(1 for i in sel if i.correct), len(sel)

        return cls(
            shown=len(items),
            ece=round(expected_calibration_error(scores, correct), 4),
            bins=reliability(scores, correct),
            high=tally([i for i in items if i.confidence == "high"]),
            medium=tally([i for i in items if i.confidence == "medium"]),
            later=tally([i for i in items if not i.first]),
        )


class ModelShare(BaseModel):
    """In model mode: how many answers (or reviews) the model gave, and why the others fell
    back to the engine's (reason -> count)."""

    by_model: int = 0
    fallbacks: dict[str, int] = Field(default_factory=dict)

    def add(self, by_model: bool, fallback: str | None) -> None:
        self.by_model += by_model
        if fallback:
            self.fallbacks[fallback] = self.fallbacks.get(fallback, 0) + 1

    def line(self, total: int) -> str:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.fallbacks.items()))
        return f"{self.by_model}/{total}" + (f"  (fell back: {reasons})" if reasons else "")


class QuestionMetrics(BaseModel):
    in_scope: int
    off_topic: int
    hit_at_1: float
    recall_at_3: float
    off_topic_declined: float
    in_scope_declined: float
    misses: list[str]
    scores: ScoreMetrics = Field(default_factory=ScoreMetrics)
    model: ModelShare = Field(default_factory=ModelShare)


class ProposalMetrics(BaseModel):
    fitting: int
    no_fit_cases: int
    top1_acceptable: float
    primary_at_3: float
    wrong_tag_rate: float
    no_fit_detected: float
    misses: list[str]
    scores: ScoreMetrics = Field(default_factory=ScoreMetrics)
    model: ModelShare = Field(default_factory=ModelShare)


def read_jsonl(path: Path, model: type[BaseModel]) -> list:
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                out.append(model.model_validate_json(line))
            except ValueError as exc:
                raise ValueError(f"{path}:{n}: not a valid {model.__name__}: {exc}") from exc
    return out


def _ratio(n: int, d: int) -> float:
    return round(n / d, 4) if d else 1.0


Cited = list[str] | list[tuple[str, float]]


def _ids_and_scores(cited: Cited) -> tuple[list[str], list[float | None]]:
    ids = [c if isinstance(c, str) else c[0] for c in cited]
    scores = [None if isinstance(c, str) else c[1] for c in cited]
    return ids, scores


def question_metrics(
    cases: Iterable[QuestionCase], ask: Callable[[str], tuple[bool, Cited]]
) -> QuestionMetrics:
    """``ask`` returns (answered, cited ids best first, or (id, score) pairs)."""
    hits = r3 = inscope = off = off_declined = wrongly_declined = 0
    misses: list[str] = []
    shown: list[Scored] = []
    for case in cases:
        answered, cited_scored = ask(case.question)
        cited, scores = _ids_and_scores(cited_scored)
        if answered:
            shown += [
                Scored(score=sc, correct=cid in case.expected, first=i == 0)
                for i, (cid, sc) in enumerate(zip(cited, scores, strict=True))
                if sc is not None
            ]
        if not case.expected:
            off += 1
            if not answered or not cited:
                off_declined += 1
            else:
                misses.append(f"{case.id}: off-topic but answered with {cited[:3]}")
            continue
        inscope += 1
        if not answered:
            wrongly_declined += 1
        if answered and cited and cited[0] in case.expected:
            hits += 1
        else:
            misses.append(f"{case.id}: expected {case.expected[:3]}, cited {cited[:3]}")
        if answered and any(c in case.expected for c in cited[:3]):
            r3 += 1
    return QuestionMetrics(
        in_scope=inscope,
        off_topic=off,
        hit_at_1=_ratio(hits, inscope),
        recall_at_3=_ratio(r3, inscope),
        off_topic_declined=_ratio(off_declined, off),
        in_scope_declined=_ratio(wrongly_declined, inscope),
        misses=misses,
        scores=ScoreMetrics.of(shown),
    )


Tagged = list[str] | list[tuple[str, float, str]]


def proposal_metrics(
    cases: Iterable[ProposalCase], align: Callable[[str], tuple[bool, Tagged]]
) -> ProposalMetrics:
    """``align`` returns (no_fit, tag ids best first, or (id, score, confidence) triples)."""
    fitting = nofit_cases = top1 = p3 = tags_total = tags_wrong = nofit_ok = 0
    misses: list[str] = []
    shown: list[Scored] = []
    for case in cases:
        no_fit, scored_tags = align(case.text)
        tags = [t if isinstance(t, str) else t[0] for t in scored_tags]
        # enumerate() of the union would join its items to Sequence[str | float]
        each: Sequence[str | tuple[str, float, str]] = scored_tags
        shown += [
            Scored(score=t[1], confidence=t[2], correct=t[0] in case.acceptable, first=i == 0)
            for i, t in enumerate(each)
            if not isinstance(t, str)
        ]
        tags_total += len(tags)
        tags_wrong += sum(1 for t in tags if t not in case.acceptable)
        if case.primary is None:
            nofit_cases += 1
            if no_fit:
                nofit_ok += 1
            else:
                misses.append(f"{case.id}: fits nothing but tagged {tags}")
            continue
        fitting += 1
        if tags and tags[0] in case.acceptable:
            top1 += 1
        else:
            misses.append(f"{case.id}: expected {case.primary}, tagged {tags or 'no fit'}")
        if case.primary in tags[:3]:
            p3 += 1
    return ProposalMetrics(
        fitting=fitting,
        no_fit_cases=nofit_cases,
        top1_acceptable=_ratio(top1, fitting),
        primary_at_3=_ratio(p3, fitting),
        wrong_tag_rate=_ratio(tags_wrong, tags_total),
        no_fit_detected=_ratio(nofit_ok, nofit_cases),
        misses=misses,
        scores=ScoreMetrics.of(shown),
    )


def evaluate(
    assistant, questions: Path | None = None, proposals: Path | None = None
) -> tuple[QuestionMetrics | None, ProposalMetrics | None]:
    """Metrics of a ``FrameworkAssistant`` on labelled files (either may be None)."""

    answers, reviews = ModelShare(), ModelShare()

    def ask(text: str) -> tuple[bool, Cited]:
        a = assistant.ask(text)
        answers.add(a.composer == "model", a.fallback)
        return a.answered, [(c.id, c.score) for c in a.citations]

    def align(text: str) -> tuple[bool, Tagged]:
        a = assistant.align(text)
        reviews.add(a.reviewer == "model", a.fallback)
        return a.no_fit, [(t.id, t.score, t.confidence) for t in a.tags]

    q = question_metrics(read_jsonl(questions, QuestionCase), ask) if questions else None
    p = proposal_metrics(read_jsonl(proposals, ProposalCase), align) if proposals else None
    if q is not None:
        q.model = answers
    if p is not None:
        p.model = reviews
    return q, p


def metrics_table(
    q: QuestionMetrics | None, p: ProposalMetrics | None, *, model: bool = False
) -> str:
    """``model``: a chat model is configured; the table says how many answers and reviews
    it actually gave."""
    rows: list[tuple[str, str]] = []
    if model and q is not None:
        rows.append(
            ("questions: answers written by the model", q.model.line(q.in_scope + q.off_topic))
        )
    if model and p is not None:
        rows.append(("proposals: reviews by the model", p.model.line(p.fitting + p.no_fit_cases)))
    if q is not None:
        rows += [
            ("questions: hit@1 (in-scope)", f"{q.hit_at_1:.3f}  ({q.in_scope} questions)"),
            ("questions: recall@3 (in-scope)", f"{q.recall_at_3:.3f}"),
            ("questions: off-topic declined", f"{q.off_topic_declined:.3f}  ({q.off_topic})"),
            ("questions: in-scope wrongly declined", f"{q.in_scope_declined:.3f}"),
        ]
    if p is not None:
        rows += [
            ("proposals: top-1 acceptable", f"{p.top1_acceptable:.3f}  ({p.fitting} proposals)"),
            ("proposals: primary@3", f"{p.primary_at_3:.3f}"),
            ("proposals: wrong-tag rate", f"{p.wrong_tag_rate:.3f}"),
            ("proposals: no-fit detected", f"{p.no_fit_detected:.3f}  ({p.no_fit_cases})"),
        ]
    for label, m in (("questions", q), ("proposals", p)):
        if m is not None and m.scores.shown:
            sm = m.scores
            rows.append((f"{label}: calibration error (ECE)", f"{sm.ece:.3f}  ({sm.shown} shown)"))
            if label == "proposals":
                rows += [
                    ("proposals: 'high' tags right", _share(sm.high)),
                    ("proposals: 'medium' tags right", _share(sm.medium)),
                    ("proposals: tags after the first right", _share(sm.later)),
                ]
    width = max(len(r[0]) for r in rows) if rows else 0
    lines = [f"{'metric':<{width}}  value", f"{'-' * width}  -----"]
    lines += [f"{name:<{width}}  {value}" for name, value in rows]
    for label, m in (("questions", q), ("proposals", p)):
        if m is not None and m.scores.bins:
            lines += [
                "",
                f"reliability of the {label}' scores (shown citations/tags):",
                "  score bin    shown  mean score  right",
            ]
            lines += [
                f"  {b.low:.1f}–{b.high:.1f}  {b.count:>9}  {b.mean_score:>10.2f}"
                f"  {b.accuracy:>5.2f}"
                for b in m.scores.bins
            ]
    misses = (q.misses if q else []) + (p.misses if p else [])
    if misses:
        lines += ["", "misses:"] + [f"  {m}" for m in misses]
    return "\n".join(lines)


def _share(tally: tuple[int, int]) -> str:
    right, shown = tally
    return f"{right / shown:.3f}  ({right}/{shown})" if shown else "–  (none shown)"


def dump(q: QuestionMetrics | None, p: ProposalMetrics | None) -> str:
    return json.dumps(
        {"questions": q.model_dump() if q else None, "proposals": p.model_dump() if p else None},
        indent=2,
    )
