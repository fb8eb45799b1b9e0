"""Labelled examples voting with the /align engine (retrieval.examples)."""

from __future__ import annotations

from retrieval.align import Alignment, Tag
from retrieval.examples import (
    MIN_SIMILARITY,
    ExampleMemory,
    LabelledExample,
    Neighbour,
    vote,
)

GOAL_OF = {"1.1": "1", "1.2": "1", "2.1": "2", "5.1": "5"}


def _engine(*tags: tuple[str, float]) -> Alignment:
    return Alignment(
        tags=[Tag(id=i, goal=GOAL_OF[i], score=s, confidence="medium", why="w") for i, s in tags],
        no_fit=not tags,
    )


def _n(ids: tuple[str, ...], sim: float, text: str = "an earlier proposal") -> Neighbour:
    return Neighbour(LabelledExample(text, ids), sim)


def test_no_neighbours_changes_nothing():
    engine = _engine(("1.1", 0.9))
    assert vote(engine, [], GOAL_OF) is engine


def test_a_near_duplicate_correction_outranks_the_engine():
    out = vote(_engine(("1.1", 0.95)), [_n(("5.1",), 0.97)], GOAL_OF)
    assert [t.id for t in out.tags] == ["5.1"] and out.tags[0].confidence == "high"


def test_a_confirmation_keeps_the_tag_and_says_why():
    out = vote(_engine(("1.1", 0.8)), [_n(("1.1",), 0.9)], GOAL_OF)
    assert out.tags[0].id == "1.1" and out.tags[0].score > 0.8
    assert "also confirmed for a similar proposal" in out.tags[0].why


def test_neighbours_vote_by_similarity():
    out = vote(_engine(), [_n(("2.1",), 0.92), _n(("1.2",), 0.85), _n(("2.1",), 0.84)], GOAL_OF)
    assert out.tags[0].id == "2.1" and not out.no_fit


def test_unknown_ids_from_an_older_framework_are_ignored():
    out = vote(_engine(("1.1", 0.9)), [_n(("9.9",), 0.95)], GOAL_OF)
    assert all(t.id in GOAL_OF for t in out.tags)


def test_corrected_to_nothing_means_no_fit_with_the_engine_guess_as_nearest():
    out = vote(_engine(("1.1", 0.9)), [_n((), 0.95)], GOAL_OF)
    assert out.no_fit and not out.tags and [t.id for t in out.nearest] == ["1.1"]


def test_memory_finds_paraphrases_and_not_unrelated_text(embedder):
    memory = ExampleMemory(
        embedder,
        [
            LabelledExample(
                "Train border police to check passports against the stolen document database.",
                ("1.1",),
            ),
            LabelledExample("Renovate the cafeteria of the headquarters building.", ("5.1",)),
        ],
    )
    near = memory.nearest(
        "Training for border police on checking passports against the database of stolen documents."
    )
    assert near and near[0].example.ids == ("1.1",) and near[0].similarity >= MIN_SIMILARITY
    assert memory.nearest("Publish the annual financial statements on time.") == []


def test_memory_replace_keeps_known_embeddings_and_newest_decision_wins(embedder):
    memory = ExampleMemory(embedder)
    memory.add(LabelledExample("Train officers on fingerprints.", ("1.1",)))
    memory.add(LabelledExample("Train officers on fingerprints.", ("2.1",)))
    assert len(memory) == 1 and memory.nearest("Train officers on fingerprints.")[
        0
    ].example.ids == ("2.1",)
    memory.replace(
        [
            LabelledExample("Train officers on fingerprints.", ("5.1",)),
            LabelledExample("Train officers on fingerprints.", ("1.2",)),
        ]
    )
    assert memory.nearest("Train officers on fingerprints.")[0].example.ids == ("5.1",)
