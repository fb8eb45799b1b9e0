"""Long proposals carry several aims (issue 22): each paragraph of a long proposal is also read
as a proposal of its own, and its aim becomes a tag when that paragraph alone makes it likely
and the whole text ranks it close; every tag of a long proposal says where its evidence is.
Short proposals are read as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval import multiaim_eval as mev
from retrieval.align import Aligner
from retrieval.align_parts import where_in
from retrieval.text import split_parts

FIXTURES = Path(__file__).parent / "fixtures"
# Written for this test: five paragraphs (a title, joint operations, a course, an intelligence
# assessment, a network connection) and a budget line.
PROGRAMME = (FIXTURES / "wildlife_programme.txt").read_text(encoding="utf-8")
PARAGRAPHS = [p for p in PROGRAMME.split("\n\n") if p.strip()]


def test_a_long_programme_is_tagged_with_several_aims_each_from_its_paragraph(assistant) -> None:
    alignment = assistant.align(PROGRAMME)
    whole_only = Aligner(assistant.searcher, read_parts=False).align(PROGRAMME)
    assert len(alignment.tags) > len(whole_only.tags) >= 1
    assert [t.id for t in alignment.tags][: len(whole_only.tags)] == [t.id for t in whole_only.tags]
    places = [t.part for t in alignment.tags]
    assert len(set(places)) == len(places), places  # each aim from its own paragraph
    for tag in alignment.tags:
        number = int(tag.part.removeprefix("paragraph "))
        assert tag.evidence.removesuffix("…")[:60] in " ".join(PARAGRAPHS[number - 1].split())
    assert "5.1" not in {t.id for t in alignment.tags}  # the budget line is no aim


def test_short_proposals_are_read_as_before(assistant) -> None:
    rows = FIXTURES / "eval" / "dev" / "proposals_dev.jsonl"
    texts = [json.loads(line)["text"] for line in rows.read_text().splitlines() if line.strip()]
    texts.append(PARAGRAPHS[3])  # one paragraph of the programme, 36 words
    now = assistant.aligner.align_many(texts)
    before = Aligner(assistant.searcher, read_parts=False).align_many(texts)
    assert now == before
    assert all(t.part is None for a in now if not isinstance(a, Exception) for t in a.tags)


def test_a_paragraph_piece_never_speaks_for_its_paragraph(assistant) -> None:
    """A part is a whole paragraph: in a paragraph too long for one passage, a passing
    sentence about something else does not add its own aim."""
    long_paragraph = " ".join([PARAGRAPHS[4]] * 3)
    assert len(split_parts(long_paragraph)) > 1
    text = f"{PARAGRAPHS[0]}\n\n{long_paragraph}\n\n{PARAGRAPHS[5]}"
    prepared = assistant.aligner.candidates_many([text])[0]
    assert len(prepared.parts) == 2  # the title joins the paragraph after it


def test_passages_of_parts_keep_within_their_paragraph() -> None:
    text = (
        "Budget\n\n"
        + "We train officers. " * 40
        + "\n\nWe connect the border posts to the network."
    )
    parts = split_parts(text, max_words=60)
    numbers = [n for n, _ in parts]
    assert numbers[0] == 2 and numbers[-1] == 3  # the heading joins paragraph 2
    assert parts[0][1].startswith("Budget")
    assert all("border" not in p for n, p in parts if n == 2)


@pytest.mark.parametrize(
    ("text", "sentence", "where"),
    [
        ("Short text. " * 3, "Short text.", None),
        (
            "One two three four five six. " * 20 + "\n\nThe last words are here.",
            "The last words are here.",
            "paragraph 2",
        ),
        (
            "Alpha beta gamma delta epsilon zeta. " * 20 + "The odd one out is here.",
            "The odd one out is here.",
            "sentence 21",
        ),
    ],
)
def test_a_tag_says_where_its_evidence_is(text: str, sentence: str, where: str | None) -> None:
    assert where_in(text, sentence) == where


@pytest.mark.slow  # aligns a whole labelled set twice
def test_parts_add_aims_without_adding_wrong_tags(assistant) -> None:
    now, whole = mev.evaluate_multi_aim(
        assistant.aligner, FIXTURES / "eval" / "multiaim_interpol.jsonl"
    )
    assert now.aims_recalled > whole.aims_recalled
    assert now.wrong_tag_rate <= whole.wrong_tag_rate + 0.01
    assert now.top1_acceptable >= whole.top1_acceptable


def test_eval_prints_aim_recall_beside_the_whole_texts_tags(tmp_path, fwbot_env) -> None:
    from tests.conftest import run_fwbot

    case = {
        "id": "m1",
        "text": PROGRAMME,
        "aims": [
            {"primary": "2.2", "acceptable": ["2.2", "2.4"]},
            {"primary": "1.5", "acceptable": ["1.5"]},
            {"primary": "9.9", "acceptable": ["9.9"]},
        ],
        "acceptable": ["2.2", "2.4", "1.5", "9.9"],
    }
    path = tmp_path / "multi.jsonl"
    path.write_text(json.dumps(case) + "\n", encoding="utf-8")
    run = run_fwbot("eval", "--multi-aim", path, env=fwbot_env)
    out = run.stdout.decode()
    assert run.returncode == 0, run.stderr.decode()
    assert "multi-aim: aim recall (tags shown)  0.667           0.333" in out
    assert "m1: aims ['2.2', '1.5', '9.9'], tagged ['2.4', '1.5']" in out
