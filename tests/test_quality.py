"""Quality regression checks on the labelled sets.

- ``working/interpol``, ``working/sdg``: issue 9's working sets, written without the engine
  (the calibration is fitted on them, so they flatter it a little).
- ``holdout`` (INTERPOL), ``sdg`` (UN SDGs, 17 goals / 169 targets) and ``dev``: the earlier
  sets, also written apart from the engine's rules.
- The sealed sets (``tests/fixtures/eval/sealed``) are never scored by the tests: they are
  scored once, at the end of an issue, by hand. The tests only check they have not changed.

Where the engine meets the issue's target, the test asserts the target. Where it does not
yet, the test asserts the level measured when the check was written (a regression floor), and
a strict xfail states the target, so that reaching it is noticed and the floor raised.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from retrieval import evaluation as ev

EVAL = Path(__file__).parent / "fixtures" / "eval"
SEALED_SHA256 = {  # as committed before any engine change (tests/fixtures/eval/README.md)
    "interpol_proposals.jsonl": "fcb938bed686036193d11f02b5dd0cc64153461a4370b5c158be884773d9e36b",
    "interpol_questions.jsonl": "883abfb38c0c17e26e321399c533ca19e9d35b7a34c5c9a28ea80cc0c1565edc",
    "sdg_proposals.jsonl": "838b4f77f71c21ddae68536cdebbc85536ff010d917aeeeeaec5f9fa05ee8cda",
    "sdg_questions.jsonl": "0eefe30f2eb16373042e599aee3303faffe1726046800e0dda237e482ca62d42",
    # issue 22: long proposals with several aims, written from the framework files alone
    "multiaim_interpol.jsonl": "43cca88a9d6703f1e20413ee5e17ed1f4f870a3c384adc40a48f685fa67f3fcf",
    "multiaim_sdg.jsonl": "b8a3add8035856e0ea49e2f805e6e955a58e21c2eb592bd1d9c9c7f54ec13d8d",
    # issue 24: progress questions, written apart from the parser
    "progress_questions.jsonl": "32ea23e2aefa4a6cfe9d0ec2e006dec391db58e35ceea9279612786739f8ad3e",
}


def test_the_sealed_sets_are_unchanged() -> None:
    for name, digest in SEALED_SHA256.items():
        data = (EVAL / "sealed" / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, name


@pytest.fixture(scope="module")
def working_interpol(assistant):
    return ev.evaluate(
        assistant,
        EVAL / "working/interpol_questions.jsonl",
        EVAL / "working/interpol_proposals.jsonl",
    )


@pytest.fixture(scope="module")
def working_sdg(sdg_assistant):
    return ev.evaluate(
        sdg_assistant, EVAL / "working/sdg_questions.jsonl", EVAL / "working/sdg_proposals.jsonl"
    )


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


# Measured when written (issue 9, with the INTERPOL scope notes): questions hit@1, off-topic
# declined, in-scope wrongly declined (at most); proposals top-1, primary@3, wrong tags (at
# most), no-fit detected; ECE of the shown citations and tags (at most).
FLOORS = {
    # raised 2026-12-04 (issue 13: the notes reworded, office details asked for are facts)
    "working_interpol": (0.93, 1.00, 0.03, 0.77, 0.75, 0.23, 0.88, 0.07, 0.12),
    "working_sdg": (0.90, 1.00, 0.00, 0.62, 0.57, 0.32, 0.87, 0.05, 0.11),
    # holdout tags' ECE: 0.165 -> 0.181 when the INTERPOL notes of seven neighbour pairs were
    # reworded (issue 13, 2026-12-04), every other figure unchanged (31 tags shown; a refit of
    # the calibration brought it to 0.141 but declined more in-scope questions: not taken).
    "holdout": (0.96, 1.00, 0.04, 0.87, 0.83, 0.13, 1.00, 0.14, 0.19),
    "sdg": (0.96, 1.00, 0.04, 0.68, 0.63, 0.32, 1.00, 0.13, 0.26),
    "dev": (1.00, 1.00, 0.00, 0.90, 0.90, 0.20, 1.00, 0.02, 0.09),
}


@pytest.mark.slow  # evaluates whole question sets
@pytest.mark.parametrize("name", sorted(FLOORS))
def test_quality_does_not_regress(name: str, request: pytest.FixtureRequest) -> None:
    q, p = request.getfixturevalue(name)
    hit, off, wrongly, top1, p3, wrong, nofit, q_ece, p_ece = FLOORS[name]
    assert q.hit_at_1 >= hit, q.misses
    assert q.off_topic_declined >= off, q.misses
    assert q.in_scope_declined <= wrongly, q.misses
    assert p.top1_acceptable >= top1, p.misses
    assert p.primary_at_3 >= p3, p.misses
    assert p.wrong_tag_rate <= wrong, p.misses
    assert p.no_fit_detected >= nofit, p.misses
    assert q.scores.ece <= q_ece
    assert p.scores.ece <= p_ece


@pytest.mark.slow  # evaluates whole question sets
@pytest.mark.parametrize("name", ["working_interpol", "working_sdg"])
def test_labels_keep_their_promise(name: str, request: pytest.FixtureRequest) -> None:
    """ "high" tags are right at least 9 times in 10, "medium" ones at least 6 in 10."""
    _, p = request.getfixturevalue(name)
    for (right, shown), share in ((p.scores.high, 0.9), (p.scores.medium, 0.6)):
        assert shown == 0 or right / shown >= share, p.scores


@pytest.mark.slow  # evaluates whole question sets
@pytest.mark.xfail(strict=True, reason="issue 9's targets are not met on the working sets")
@pytest.mark.parametrize("name", ["working_interpol", "working_sdg"])
def test_issue_9_targets(name: str, request: pytest.FixtureRequest) -> None:
    q, p = request.getfixturevalue(name)
    assert q.hit_at_1 >= 0.95
    assert q.off_topic_declined >= 0.97
    assert q.in_scope_declined <= 0.05
    assert p.top1_acceptable >= 0.90
    assert p.primary_at_3 >= 0.97
    assert p.wrong_tag_rate <= 0.15
    assert p.scores.ece <= 0.08


def test_make_eval_needs_only_files_in_the_repository() -> None:
    """`make eval` works in a clone anywhere: every set it reads is in the repository."""
    import re

    root = EVAL.parents[2]
    makefile = (root / "Makefile").read_text(encoding="utf-8")
    variables = dict(re.findall(r"^(\w+) \??:?= (.+)$", makefile, re.MULTILINE))
    recipe = makefile.split("\neval:", 1)[1].split("\n\n", 1)[0]
    paths = re.findall(r"--(?:questions|proposals|framework) (\S+)", recipe)
    assert len(paths) >= 10
    for path in paths:
        path = re.sub(r"\$\((\w+)\)", lambda m: variables[m.group(1)], path)
        assert (root / path).is_file(), path
