"""The /align engine, in process: tags and their explanations, no-fit, long proposals,
confidence, another framework, determinism and input errors."""

from __future__ import annotations

import re

import pytest

from framework_data.schema import Framework
from retrieval.align import AlignInputError, Alignment, Tag
from retrieval.assistant import FrameworkAssistant
from retrieval.text import STOPWORDS

TRAINING = "Run a training course for border police officers on document fraud"
CAR_PARK = "Repaint the lines in the staff car park"
WATER = "Drill wells and build latrines so villages have safe drinking water and sanitation"

_SENTENCES = [
    "We will secure multi-year funding from donors so that the programme can continue after "
    "its pilot phase.",
    "Border police officers will attend a training course on detecting forged travel documents "
    "and stolen passports.",
    "Analysts will clean, validate and deduplicate the records held in the national databases "
    "to raise data quality.",
    "A regional workshop will let investigators share best practices on cross-border cases.",
    "The project will set up a secure connection between the national bureaus and the central "
    "information systems.",
    "Trainers will prepare e-learning modules on cybercrime investigation techniques for "
    "frontline staff.",
    "Staff will review the data protection rules and update the compliance checklist every year.",
    "The team will measure results each quarter and report them to the steering committee.",
    "Partners from universities and private companies will help evaluate new forensic tools.",
    "Mentors will coach newly appointed officers during their first months in the unit.",
    "A budget line will cover travel, interpretation and equipment for the participants.",
    "Quality checks will flag incomplete notices before they are shared with member countries.",
]


def long_proposal(target_words: int = 800) -> str:
    """Paragraphs of three varied sentences, about ``target_words`` words in all."""
    paragraphs: list[str] = []
    n = i = 0
    while n < target_words:
        paragraph = " ".join(_SENTENCES[(i + j) % len(_SENTENCES)] for j in range(3))
        paragraphs.append(paragraph)
        n += len(paragraph.split())
        i += 5  # vary which sentences meet in a paragraph
    return "\n\n".join(paragraphs)


def content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 2 and w not in STOPWORDS}


def check_tag(tag: Tag, fw: Framework) -> None:
    objective = fw.objective(tag.id)
    assert objective is not None and objective.id == tag.id, f"{tag.id} is not an objective"
    goal = fw.goal_of(tag.id)
    assert goal is not None and tag.goal == goal.citation_id
    assert 0.0 <= tag.score <= 1.0
    assert tag.confidence in ("high", "medium", "low")
    if tag.confidence == "high":
        assert tag.score >= 0.9
    assert tag.why.strip()


def check_alignment(al: Alignment, fw: Framework, proposal: str) -> None:
    assert al.no_fit == (not al.tags)
    assert len(al.tags) <= 5
    scores = [t.score for t in al.tags]
    assert scores == sorted(scores, reverse=True), "tags are best first"
    assert len({t.id for t in al.tags}) == len(al.tags), "an objective is tagged once"
    ours = content_words(proposal)
    for tag in [*al.tags, *al.nearest]:
        check_tag(tag, fw)
        assert content_words(tag.why) & ours, f"why does not quote the proposal: {tag.why}"
    if al.tags:
        assert al.nearest == []


# ---- a clear fit, and no fit ------------------------------------------------------------------


def test_a_clear_proposal_is_tagged(assistant: FrameworkAssistant) -> None:
    al = assistant.align(TRAINING)
    check_alignment(al, assistant.framework, TRAINING)
    assert al.no_fit is False
    assert 1 <= len(al.tags) <= 5
    assert "2.3" in {t.id for t in al.tags}  # the only objective about training
    assert al.words_considered == len(TRAINING.split())
    assert al.words_ignored == 0


def test_why_quotes_the_proposal(assistant: FrameworkAssistant) -> None:
    al = assistant.align(TRAINING)
    for tag in al.tags:
        quoted = re.findall(r"“([^”]*)”", tag.why)
        assert quoted, f"no quoted phrase in {tag.why!r}"
        proposal_words = set(TRAINING.lower().split())
        assert any(set(q.lower().split()) <= proposal_words and q for q in quoted), tag.why


def test_an_unrelated_proposal_fits_nothing(assistant: FrameworkAssistant) -> None:
    al = assistant.align(CAR_PARK)
    check_alignment(al, assistant.framework, CAR_PARK)
    assert al.no_fit is True
    assert al.tags == []
    assert 1 <= len(al.nearest) <= 5
    nearest = [t.score for t in al.nearest]
    assert nearest == sorted(nearest, reverse=True)
    assert all(t.confidence != "high" for t in al.nearest)


# ---- long proposals ---------------------------------------------------------------------------


def test_a_multi_paragraph_proposal_is_read_whole(assistant: FrameworkAssistant) -> None:
    text = long_proposal(800)
    n_words = len(text.split())
    assert 750 <= n_words <= 900 and text.count("\n\n") >= 10
    al = assistant.align(text)
    check_alignment(al, assistant.framework, text)
    assert al.no_fit is False and al.tags
    assert abs(al.words_considered - n_words) <= max(5, n_words // 50)
    assert al.words_ignored == 0


# ---- confidence -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "proposal",
    [
        TRAINING,
        CAR_PARK,
        "Build a secure, resilient network so police can exchange information worldwide",
        "Introduce a sustainable funding model with new donors for the organization",
        "Clean up duplicate and incomplete records to improve the quality of our data",
        "Bring academia and private companies together with police on cybersecurity",
        "Organise the annual staff picnic and order the cake",
    ],
)
def test_confidence_levels_and_scores_agree(assistant: FrameworkAssistant, proposal: str) -> None:
    al = assistant.align(proposal)
    check_alignment(al, assistant.framework, proposal)
    for tag in [*al.tags, *al.nearest]:
        assert tag.confidence in {"high", "medium", "low"}
        if tag.confidence == "high":
            assert tag.score >= 0.9
    assert sum(t.confidence == "high" for t in al.tags) <= 1, "high means clear of the rest"


# ---- another framework ------------------------------------------------------------------------


def test_sdg_water_proposal_gets_a_goal_6_target(sdg_assistant: FrameworkAssistant) -> None:
    fw = sdg_assistant.framework
    al = sdg_assistant.align(WATER)
    check_alignment(al, fw, WATER)
    assert al.no_fit is False
    goal_6 = [t for t in al.tags if t.id.startswith("6.")]
    assert goal_6, [t.id for t in al.tags]
    assert all(t.goal == "G6" for t in goal_6)


# ---- determinism and input errors -------------------------------------------------------------


@pytest.mark.parametrize("which", ["short", "long"])
def test_align_is_deterministic(assistant: FrameworkAssistant, which: str) -> None:
    text = TRAINING if which == "short" else long_proposal(800)
    first = assistant.align(text)
    second = assistant.align(text)
    assert first.model_dump() == second.model_dump()
    assert first.model_dump_json() == second.model_dump_json()


def test_bytes_and_str_align_the_same(assistant: FrameworkAssistant) -> None:
    assert assistant.align(TRAINING.encode()).model_dump() == assistant.align(TRAINING).model_dump()


@pytest.mark.parametrize("text", ["", "   \n\t ", "12345 !!! 678", b"\x00\x01"])
def test_text_without_words_is_an_input_error(
    assistant: FrameworkAssistant, text: str | bytes
) -> None:
    with pytest.raises(AlignInputError) as info:
        assistant.align(text)
    assert str(info.value).strip()


# ---- the why says when a scope note or keyword matched ------------------------------------------

# Each names tools that are in an objective's keywords or scope note, not in its own text.
THROUGH_NOTES = [
    "Connect two more national bureaus to the I-24/7 network and extend it to border posts.",
    "Lend livescan devices so that fingerprint submissions to AFIS are no longer rejected.",
    "Pilot a cryptocurrency tracing tool with investigators before offering it more widely.",
]


@pytest.mark.parametrize("proposal", THROUGH_NOTES)
def test_the_why_never_passes_a_note_off_as_the_framework(
    assistant: FrameworkAssistant, proposal: str
) -> None:
    """The objective's side of every match is a clause of its own text, or is said to be one
    of its keywords or its scope note (and then it is really there)."""
    al = assistant.align(proposal)
    fw = assistant.framework
    for tag in [*al.tags, *al.nearest]:
        objective = fw.objective(tag.id)
        assert objective is not None
        for part in tag.why.split("; "):
            if " ↔ " not in part:
                continue  # "… is close in meaning to …"
            theirs = part.split(" ↔ ", 1)[1]
            # A concept neighbour's match says so after the objective's side.
            theirs = re.sub(r" \(a related term, not “[^”]*”\)$", "", theirs)
            if theirs.startswith("its keyword “"):
                assert theirs[len("its keyword “") : -1] in objective.keywords, tag.why
            elif theirs.startswith("its scope note: “"):
                clause = theirs[len("its scope note: “") : -1].rstrip("…")
                assert clause in (objective.scope or ""), tag.why
            else:
                assert theirs[1:-1].lower() in objective.text.lower(), tag.why


def test_a_tag_found_through_a_note_says_which(assistant: FrameworkAssistant) -> None:
    """Extending I-24/7 beyond the bureaus is in 1.3's keywords and scope, not in its text: the
    tag's why and its note say that it was the note that matched."""
    al = assistant.align(THROUGH_NOTES[0])
    tag = al.tags[0]
    assert tag.id == "1.3"
    assert "I-24/7" not in (assistant.framework.objective("1.3").text or "")
    assert tag.note is not None and tag.note.startswith("matched the ")
    assert "I-24/7" in tag.note
    assert "its keyword “" in tag.why or "its scope note: “" in tag.why


def test_without_notes_a_tag_has_no_note(assistant: FrameworkAssistant) -> None:
    from retrieval.search import FrameworkSearcher

    bare = FrameworkAssistant(
        FrameworkSearcher(assistant.framework.without_notes(), assistant.searcher.embedder)
    )
    for tag in bare.align(THROUGH_NOTES[1]).tags:
        assert tag.note is None
        assert "its keyword" not in tag.why and "its scope note" not in tag.why
