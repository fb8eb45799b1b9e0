"""Fit the calibration (``calibration.json``) on labelled working sets.

    python -m retrieval.calibration_fit [--check]

Reads the working sets named in :data:`FIT_SETS` (each a framework with its questions and
proposals), collects the engine's evidence features for every question and proposal, and fits
three logistic models (covered, citation, tag) and two thresholds. ``--check`` prints what the
fitted models do on each set without writing the file. The sealed sets are never read here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from framework_data.loader import load_framework

from .assistant import FrameworkAssistant
from .calibration import CALIBRATION_PATH, Calibration, LogisticModel, fit_logistic
from .evaluation import ProposalCase, QuestionCase, read_jsonl
from .search import MAX_QUERY_CHARS
from .structure import find_structural
from .text import clean_text

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "tests" / "fixtures" / "eval"
SDG = ROOT / "tests" / "fixtures" / "frameworks" / "sdg.yaml"
# (name, framework file or None for the packaged one, questions, proposals)
FIT_SETS: tuple[tuple[str, Path | None, Path, Path], ...] = (
    (
        "working/interpol",
        None,
        EVAL / "working/interpol_questions.jsonl",
        EVAL / "working/interpol_proposals.jsonl",
    ),
    (
        "working/sdg",
        SDG,
        EVAL / "working/sdg_questions.jsonl",
        EVAL / "working/sdg_proposals.jsonl",
    ),
    (
        "interpol_holdout",
        None,
        EVAL / "interpol_holdout_questions.jsonl",
        EVAL / "interpol_holdout_proposals.jsonl",
    ),
    ("sdg", SDG, EVAL / "sdg_questions.jsonl", EVAL / "sdg_proposals.jsonl"),
)
COVERED_FEATURES = (
    "dense",
    "lexical",
    "explained",
    "worst",
    "unexplained",
    "lead",
    "factual",
    "framed_dense",
    "framed_explained",
)
CITATION_FEATURES = (
    "dense",
    "lexical",
    "explained",
    "worst",
    "lead",
    "factual",
    "framed_dense",
    "framed_explained",
    "top",
)
TAG_FEATURES = ("raw", "dense", "lexical", "lead", "top", "support")
CANDIDATES = 3  # question candidates per question that the citation model learns from


@dataclass
class Collected:
    covered: list[tuple[dict[str, float], bool]] = field(default_factory=list)
    citation: list[tuple[dict[str, float], bool]] = field(default_factory=list)
    # per proposal: its candidates' features and whether each is acceptable; fits at all
    proposals: list[tuple[list[tuple[dict[str, float], bool]], bool]] = field(default_factory=list)


def collect(assistant: FrameworkAssistant, questions: Path, proposals: Path) -> Collected:
    out = Collected()
    searcher = assistant.searcher
    for case in read_jsonl(questions, QuestionCase):
        query = clean_text(case.question, max_chars=MAX_QUERY_CHARS)
        if find_structural(searcher.framework, query) is not None:
            continue  # lookups are certain and never calibrated
        evidence = searcher.question_evidence(query, CANDIDATES)
        if evidence:
            out.covered.append((evidence[0][1], bool(case.expected)))
        out.citation += [(f, s.id in case.expected) for s, f in evidence]
    cases = read_jsonl(proposals, ProposalCase)
    for case, item in zip(
        cases, assistant.aligner.candidates_many([c.text for c in cases]), strict=True
    ):
        if isinstance(item, Exception):
            continue
        cands = [(c.features, c.id in case.acceptable) for c in item.whole]
        out.proposals.append((cands, case.primary is not None))
    return out


def _best_threshold(
    scores: Sequence[float], positive: Sequence[bool], *, balanced: bool = True
) -> float:
    """The threshold (midway between observed scores) with the best accuracy, balanced
    between the two classes or not."""
    pos = [s for s, p in zip(scores, positive, strict=True) if p]
    neg = [s for s, p in zip(scores, positive, strict=True) if not p]
    wp = 1 / max(1, len(pos)) if balanced else 1.0
    wn = 1 / max(1, len(neg)) if balanced else 1.0
    cuts = sorted(set(scores))
    best, best_t = -1.0, 0.5
    for lo, hi in zip([0.0, *cuts], [*cuts, 1.0], strict=True):
        t = (lo + hi) / 2
        acc = wp * sum(s >= t for s in pos) + wn * sum(s < t for s in neg)
        if acc > best:
            best, best_t = acc, t
    return best_t


def fit(collected: Sequence[Collected], names: Sequence[str]) -> Calibration:
    covered_rows = [r for c in collected for r in c.covered]
    citation_rows = [r for c in collected for r in c.citation]
    tag_rows = [r for c in collected for cands, _ in c.proposals for r in cands[:CANDIDATES]]
    covered = _fit(covered_rows, COVERED_FEATURES)
    citation = _fit(citation_rows, CITATION_FEATURES)
    tag = _fit(tag_rows, TAG_FEATURES)
    answer_t = _best_threshold(
        [covered.probability(f) for f, _ in covered_rows], [ok for _, ok in covered_rows]
    )
    # A proposal fits when its best candidate is likely enough: the threshold that makes the
    # fewest mistakes between proposals whose best candidate is acceptable and those that fit
    # nothing (not balanced: a proposal with a clear objective must not be called a no-fit).
    top = [
        (tag.probability(cands[0][0]), cands[0][1], fits)
        for c in collected
        for cands, fits in c.proposals
        if cands
    ]
    usable = [(p, ok) for p, ok, fits in top if ok or not fits]
    fit_t = _best_threshold([p for p, _ in usable], [ok for _, ok in usable], balanced=False)
    return Calibration(covered, citation, tag, answer_t, fit_t, tuple(names))


def _fit(rows: Sequence[tuple[dict[str, float], bool]], features: Sequence[str]) -> LogisticModel:
    return fit_logistic([f for f, _ in rows], [ok for _, ok in rows], features)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m retrieval.calibration_fit")
    parser.add_argument("--check", action="store_true", help="fit and report; write nothing")
    parser.add_argument("-o", "--output", type=Path, default=CALIBRATION_PATH)
    args = parser.parse_args(argv)
    from .embeddings import MiniLMEmbedder
    from .search import FrameworkSearcher

    embedder = MiniLMEmbedder()
    collected, names = [], []
    for name, fw_path, questions, proposals in FIT_SETS:
        if not questions.exists() or not proposals.exists():
            print(f"skipped {name}: {questions} or {proposals} not found", file=sys.stderr)
            continue
        searcher = FrameworkSearcher(load_framework(fw_path), embedder)
        collected.append(collect(FrameworkAssistant(searcher), questions, proposals))
        names.append(name)
    cal = fit(collected, names)
    for label, model in (("covered", cal.covered), ("citation", cal.citation), ("tag", cal.tag)):
        weights = ", ".join(
            f"{f} {w:+.2f}" for f, w in zip(model.features, model.weights, strict=True)
        )
        print(f"{label}: bias {model.bias:+.2f}; {weights}")
    print(f"answer threshold {cal.answer_threshold:.3f}; fit threshold {cal.fit_threshold:.3f}")
    if not args.check:
        cal.save(args.output)
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
