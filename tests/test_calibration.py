"""Scores as probabilities: the logistic fit, the reliability table and ECE, the fitted file."""

from __future__ import annotations

import json
import random

import pytest

from retrieval.calibration import (
    CALIBRATION_PATH,
    Calibration,
    asks_about_the_framework,
    asks_for_a_fact,
    default_calibration,
    expected_calibration_error,
    fit_logistic,
    reliability,
)
from retrieval.calibration_fit import COVERED_FEATURES, _best_threshold


def test_the_fit_recovers_a_known_model() -> None:
    rng = random.Random(7)
    rows, labels = [], []
    for _ in range(4000):
        x = rng.uniform(-2, 2)
        p = 1 / (1 + pow(2.718281828, -(3 * x - 1)))
        rows.append({"x": x})
        labels.append(rng.random() < p)
    model = fit_logistic(rows, labels, ["x"], l2=0.01)
    assert model.weights[0] == pytest.approx(3, abs=0.4)
    assert model.bias == pytest.approx(-1, abs=0.25)
    # Its probabilities are calibrated on data drawn the same way.
    scores = [model.probability(r) for r in rows]
    assert expected_calibration_error(scores, labels) < 0.03


def test_reliability_bins_and_ece_by_hand() -> None:
    scores = [0.95, 0.95, 0.95, 0.95, 0.15, 0.15]
    correct = [True, True, True, False, False, False]
    bins = reliability(scores, correct, bins=10)
    assert [(b.count, b.accuracy) for b in bins] == [(2, 0.0), (4, 0.75)]
    # |0.95 - 0.75| * 4/6 + |0.15 - 0| * 2/6
    assert expected_calibration_error(scores, correct) == pytest.approx(0.2 * 4 / 6 + 0.05)
    assert expected_calibration_error([], []) == 0.0
    assert reliability([1.0], [True])[0].high == 1.0  # a score of exactly 1 is in the last bin


def test_the_best_threshold_separates_the_classes() -> None:
    assert 0.4 < _best_threshold([0.1, 0.2, 0.3, 0.6, 0.7], [False, False, False, True, True]) < 0.6
    # Unbalanced: two positives below a negative cost more than the one negative above.
    t = _best_threshold([0.2, 0.25, 0.3, 0.8], [True, True, False, True], balanced=False)
    assert t < 0.2


def test_the_fitted_file_loads_and_names_only_working_sets() -> None:
    cal = default_calibration()
    assert cal.covered.features == COVERED_FEATURES
    assert 0 < cal.answer_threshold < 1 and 0 < cal.fit_threshold < 1
    assert cal.fitted_on and not any("sealed" in name for name in cal.fitted_on)
    data = json.loads(CALIBRATION_PATH.read_text(encoding="utf-8"))
    assert Calibration.from_json(data) == cal


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("How many Red Notices were issued last year?", True),
        ("Who is the Secretary General?", True),
        ("when does the canteen open", True),
        ("What time does the office close?", True),
        ("What is the address of the Lyon office?", True),
        ("How do I reset my password?", True),
        ("how do we share good practices between police forces?", False),
        ("Is there a percentage for how much of the sea should be protected?", True),
        ("Which objective covers training for officers who investigate fraud?", False),
        ("Is there anything on data quality?", False),
        # the details of how an office runs (issue 13), with or without a word between
        ("What is the visa application procedure for the annual conference?", True),
        ("What's the guest network password?", True),
        ("What are the opening hours of the Lyon library?", True),
        ("What is the project team's contact?", True),
        ("Which objective covers procedures for exchanging evidence?", False),
        ("What is the framework's view on harmonising procedures?", False),
    ],
)
def test_what_a_question_asks_for(question: str, fact: bool) -> None:
    assert asks_for_a_fact(question) is fact


def test_a_figure_is_no_fact_wanting_when_the_element_gives_one() -> None:
    question = "how much of the sea should be protected areas?"
    assert asks_for_a_fact(question, "conserve coastal and marine areas")
    assert not asks_for_a_fact(question, "By 2020, conserve at least 10 per cent")


@pytest.mark.parametrize(
    ("question", "about"),
    [
        ("Which objective covers horizon scanning?", True),
        ("does the strategy mention diversity", True),
        ("where does our hackathon fit", True),
        ("best recipe for banana bread", False),
    ],
)
def test_whether_a_question_asks_about_the_framework(question: str, about: bool) -> None:
    assert asks_about_the_framework(question) is about
