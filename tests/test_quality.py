"""Quality regression checks on the labelled sets.

- ``dev``: the dev sets from ``../shared/eval`` (copied into tests/fixtures/eval/dev).
- ``holdout``: INTERPOL questions and proposals written independently of the engine.
- ``sdg``: the UN SDGs (17 goals, 169 targets) with their own held-out sets.

Where the engine meets the issue's target, the test asserts the target. Where it does not
yet, the test asserts the level measured when the check was written (a regression floor), and
a strict xfail states the target, so that reaching it is noticed and the floor raised.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval import evaluation as ev

EVAL = Path(__file__).parent / "fixtures" / "eval"


@pytest.fixture(scope="module")
def dev(assistant):
    return ev.evaluate(
        assistant, EVAL / "dev/questions_dev.jsonl", EVAL / "dev/proposals_dev.jsonl"
    )


@pytest.fixture(scope="module")
def holdout(assistant):
    return ev.evaluate(
        assistant,
        EVAL / "interpol_holdout_questions.jsonl",
        EVAL / "interpol_holdout_proposals.jsonl",
    )


@pytest.fixture(scope="module")
def sdg(sdg_assistant):
    return ev.evaluate(sdg_assistant, EVAL / "sdg_questions.jsonl", EVAL / "sdg_proposals.jsonl")


# ---- targets met ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dev", "holdout"])
def test_questions_meet_the_targets(name: str, request: pytest.FixtureRequest) -> None:
    q, _ = request.getfixturevalue(name)
    assert q.hit_at_1 >= 0.95, q.misses
    assert q.off_topic_declined == 1.0, q.misses
    assert q.in_scope_declined <= 0.05, q.misses


def test_sdg_questions(sdg) -> None:
    q, _ = sdg
    assert q.hit_at_1 >= 0.95, q.misses
    assert q.off_topic_declined == 1.0, q.misses
    assert q.in_scope_declined <= 0.05, q.misses


@pytest.mark.parametrize("name", ["dev", "holdout", "sdg"])
def test_no_fit_proposals_are_detected(name: str, request: pytest.FixtureRequest) -> None:
    _, p = request.getfixturevalue(name)
    assert p.no_fit_detected == 1.0, p.misses


# ---- regression floors (targets not met yet) ---------------------------------------------------

FLOORS = {  # measured when written: top-1 acceptable, primary@3
    "dev": (0.77, 0.86),
    "holdout": (0.77, 0.87),
    "sdg": (0.68, 0.72),
}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_proposal_tagging_does_not_regress(name: str, request: pytest.FixtureRequest) -> None:
    _, p = request.getfixturevalue(name)
    top1, p3 = FLOORS[name]
    assert p.top1_acceptable >= top1, p.misses
    assert p.primary_at_3 >= p3, p.misses
    assert p.wrong_tag_rate <= 0.5, p.misses


@pytest.mark.xfail(strict=True, reason="target not met yet: top-1 0.77 on dev (see FLOORS)")
def test_proposal_targets_on_dev(dev) -> None:
    _, p = dev
    assert p.top1_acceptable >= 0.90
    assert p.primary_at_3 >= 0.97
