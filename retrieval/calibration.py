"""Scores that are probabilities: logistic models over the evidence, and how to check them.

Every citation and tag carries the probability that it is right, from a logistic model over
a handful of evidence features (how close in meaning, how much of the question's specific
words the element explains, how far it leads the next one…). The weights are fitted on the
working evaluation sets (``python -m retrieval.calibration_fit``) and kept in
``calibration.json``; they are checked on other sets by ``fwbot eval``, which prints a
reliability table (score bins against observed accuracy) and the expected calibration error.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from pydantic import BaseModel

CALIBRATION_PATH = Path(__file__).with_name("calibration.json")

# What a question asks for. A framework of goals and objectives states aims; it gives no
# people, dates, places or how-to steps, and figures only where its text has them (its own
# counts are answered from its structure before search). A question that asks for one of
# those is answered only on strong evidence.
_ASKS_FOR_A_FIGURE = re.compile(
    r"\bhow\s+(?:many|much)\b"
    r"|\b(?:what|which)(?:'s|’s|\s+is|\s+was|\s+are|\s+were)\s+(?:the\s+|our\s+)?"
    r"(?:total|number|rate|percentage|amount|figure|cost|price)\b",
    re.IGNORECASE,
)
_ASKS_FOR_A_FACT = re.compile(
    r"\bhow\s+(?:long|often|old|far)\b"
    r"|(?:^|[.?!,;:]\s*)(?:who|whom|when)\b"
    r"|(?:^|[.?!,;:]\s*)where\s+(?:is|are|was|can|could|do|does|should)\s+(?:i|you|the|my)\b"
    r"|(?:^|[.?!,;:]\s*)how\s+(?:do|can|could|should|would)\s+(?:i|you)\b"
    r"|(?:^|[.?!,;:]\s*)can\s+you\s+(?:recommend|write|suggest|book|send|give\s+me)\b"
    r"|\b(?:what|which)\s+(?:time|year|date|day|hours?)\b"
    # "what is the (guest network) password / the (visa) procedure / the opening hours …":
    # a detail of how an office runs — contacts, access, forms, steps, hours, deadlines —
    # which a framework of aims does not hold, whatever programme or place is named.
    r"|\b(?:what|which)(?:'s|’s|\s+is|\s+was|\s+are|\s+were)\s+(?:the\s+|our\s+|my\s+)?"
    r"(?:[\w'’-]+\s+){0,2}(?:address|phone|e-?mail|name|password|procedure|steps|form"
    r"|deadline|opening\s+hours|contact(?:\s+details)?|statistics)\b",
    re.IGNORECASE,
)
_DIGIT = re.compile(r"\d")


# Words with which people ask about a framework ("which objective covers…", "does the
# strategy mention…"): general language of strategies, in any framework.
_ASKS_ABOUT_THE_FRAMEWORK = re.compile(
    r"\b(?:objectives?|goals?|targets?|framework|strateg(?:y|ic|ies)|plan|priorit(?:y|ies)"
    r"|pillars?|agenda|mission|vision|values?|cite|covers?|covered|mentions?|mentioned"
    r"|says?|talks?|fits?|belongs?|relates?|related|align(?:s|ed)?|link(?:s|ed)?\s+to)\b",
    re.IGNORECASE,
)


def asks_for_a_fact(question: str, element_text: str = "") -> bool:
    """A person, a date or time, a place or how-to steps; or a figure that ``element_text``
    (what would be cited) does not give."""
    q = question.strip()
    if _ASKS_FOR_A_FACT.search(q):
        return True
    return _ASKS_FOR_A_FIGURE.search(q) is not None and not _DIGIT.search(element_text)


def asks_about_the_framework(question: str) -> bool:
    return _ASKS_ABOUT_THE_FRAMEWORK.search(question) is not None


@dataclass(frozen=True)
class LogisticModel:
    """p = σ(bias + Σ wᵢ·xᵢ) over named features."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float

    def probability(self, x: Mapping[str, float]) -> float:
        z = self.bias + sum(
            w * float(x[f]) for f, w in zip(self.features, self.weights, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))

    def to_json(self) -> dict:
        return {
            "features": list(self.features),
            "weights": [round(w, 6) for w in self.weights],
            "bias": round(self.bias, 6),
        }

    @classmethod
    def from_json(cls, data: Mapping) -> LogisticModel:
        return cls(
            tuple(data["features"]), tuple(float(w) for w in data["weights"]), float(data["bias"])
        )


@dataclass(frozen=True)
class Calibration:
    covered: LogisticModel  # P(the framework covers a question), from its best element
    citation: LogisticModel  # P(a cited element is among the right ones)
    tag: LogisticModel  # P(an /align tag is acceptable)
    answer_threshold: float  # answer a question when it is at least this likely covered
    fit_threshold: float  # a proposal fits when its best tag is at least this likely
    fitted_on: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {
            "covered": self.covered.to_json(),
            "citation": self.citation.to_json(),
            "tag": self.tag.to_json(),
            "answer_threshold": round(self.answer_threshold, 4),
            "fit_threshold": round(self.fit_threshold, 4),
            "fitted_on": list(self.fitted_on),
        }

    @classmethod
    def from_json(cls, data: Mapping) -> Calibration:
        return cls(
            LogisticModel.from_json(data["covered"]),
            LogisticModel.from_json(data["citation"]),
            LogisticModel.from_json(data["tag"]),
            float(data["answer_threshold"]),
            float(data["fit_threshold"]),
            tuple(data.get("fitted_on", ())),
        )

    def save(self, path: Path = CALIBRATION_PATH) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")


@cache
def default_calibration() -> Calibration:
    return Calibration.from_json(json.loads(CALIBRATION_PATH.read_text(encoding="utf-8")))


def fit_logistic(
    rows: Sequence[Mapping[str, float]],
    labels: Sequence[bool],
    features: Sequence[str],
    *,
    l2: float = 1.0,
    iterations: int = 50,
) -> LogisticModel:
    """Maximum-likelihood logistic regression (Newton's method, L2 on the weights only)."""
    x = np.array([[float(r[f]) for f in features] for r in rows], dtype=np.float64)
    x = np.hstack([np.ones((len(rows), 1)), x])
    y = np.array(labels, dtype=np.float64)
    w = np.zeros(x.shape[1])
    reg = np.full(x.shape[1], l2)
    reg[0] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -40, 40)))
        grad = x.T @ (p - y) + reg * w
        hess = (x.T * (p * (1 - p))) @ x + np.diag(reg) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return LogisticModel(tuple(features), tuple(float(v) for v in w[1:]), float(w[0]))


class ReliabilityBin(BaseModel):
    low: float
    high: float
    count: int
    mean_score: float
    accuracy: float


def reliability(
    scores: Sequence[float], correct: Sequence[bool], bins: int = 10
) -> list[ReliabilityBin]:
    """Scores in equal-width bins, each with its mean score and observed accuracy."""
    out: list[ReliabilityBin] = []
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        idx = [i for i, s in enumerate(scores) if low <= s < high or (b == bins - 1 and s == 1)]
        if idx:
            out.append(
                ReliabilityBin(
                    low=low,
                    high=high,
                    count=len(idx),
                    mean_score=round(sum(scores[i] for i in idx) / len(idx), 4),
                    accuracy=round(sum(1 for i in idx if correct[i]) / len(idx), 4),
                )
            )
    return out


def expected_calibration_error(
    scores: Sequence[float], correct: Sequence[bool], bins: int = 10
) -> float:
    n = len(scores)
    if not n:
        return 0.0
    return sum(
        b.count / n * abs(b.mean_score - b.accuracy) for b in reliability(scores, correct, bins)
    )
