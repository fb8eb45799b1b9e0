"""Hostile and odd inputs never crash the knowledge core, and never produce an invented id.

In process, with the shared ``assistant`` (the packaged INTERPOL framework)."""

from __future__ import annotations

import random

import pytest

from retrieval.align import MAX_TAGS, MAX_WORDS, AlignInputError, Alignment
from retrieval.answer import Answer
from retrieval.search import MAX_QUERY_CHARS

PROPOSAL_SENTENCES = (
    "We propose a regional training programme for investigators on cybercrime and digital "
    "forensics, delivered with academic partners and private sector experts.",
    "Officers from National Central Bureaus will exchange best practices on data quality and "
    "the secure exchange of criminal intelligence.",
    "The project strengthens operational support for specialized units fighting trafficking "
    "and organized crime across member countries.",
    "A sustainable funding model and sound risk management will keep the programme running "
    "after the first year.",
)


def real_words(n_chars: int) -> str:
    """Realistic proposal prose, ``n_chars`` characters long."""
    text, i = [], 0
    while sum(len(s) + 1 for s in text) < n_chars:
        text.append(PROPOSAL_SENTENCES[i % len(PROPOSAL_SENTENCES)])
        i += 1
    return " ".join(text)[:n_chars]


def random_bytes(n: int, seed: int = 20240) -> bytes:
    data = random.Random(seed).randbytes(n)
    assert b"\x00" in data
    return data


RANDOM_BYTES = random_bytes(100_000)
BIG_TEXT = real_words(100_000)

# (name, input, what align must do: "tags" an Alignment, "error" AlignInputError)
BAD_INPUTS: list[tuple[str, str | bytes, str]] = [
    ("empty", "", "error"),
    ("empty-bytes", b"", "error"),
    ("spaces", "   \t \n\n  \u00a0 ", "error"),
    ("100k-real-words", BIG_TEXT, "tags"),
    ("100k-random-bytes", RANDOM_BYTES, "tags"),
    (
        "nul-and-invalid-utf8",
        b"\x00\x00\xff\xfe\xc3\x28 training \x80\x00 police \xed\xa0\x80",
        "tags",
    ),
    (
        "control-chars",
        "\x00\x01\x02\x07\x08\x0b\x0c\x1b[31mtraining\x1b[0m for police\x7f\r\n",
        "tags",
    ),
    ("control-chars-only", "\x00\x01\x02\x03\x1b\x7f\x08", "error"),
    ("rtl-arabic-hebrew", "ما هو الهدف المتعلق بتدريب الشرطة؟ מהי המטרה של הארגון?", "tags"),
    ("rtl-overrides", "\u202eniart eciloP\u202c \u200f\u200e", "tags"),
    ("emoji-only", "🚀🔥💯👮‍♀️🇫🇷", "error"),
    ("emoji-and-question", "🚀👮 Which objective is about training police officers? 🎓🙏", "tags"),
    (
        "slack-channel-mention",
        "<!channel> <@U024BE7LH> which objective covers data protection? "
        "<https://example.org|link>",
        "tags",
    ),
    ("zero-width-only", "\u200b\u200c\u200d\ufeff", "error"),
]


@pytest.fixture(scope="module")
def citable(assistant) -> dict[str, str]:
    """citation id -> kind, for the framework the assistant serves."""
    return {el.id: el.kind for el in assistant.framework.elements()}


def has_letters_after_decoding(x: str | bytes) -> bool:
    text = x.decode("utf-8", errors="replace") if isinstance(x, bytes) else x
    return any(ch.isalpha() for ch in text)


def test_the_fixtures_are_what_they_claim() -> None:
    assert len(BIG_TEXT) == 100_000 and len(RANDOM_BYTES) == 100_000
    for name, x, expect in BAD_INPUTS:
        assert (expect == "tags") == has_letters_after_decoding(x), name
    with pytest.raises(UnicodeDecodeError):
        RANDOM_BYTES.decode("utf-8")


@pytest.mark.parametrize(
    ("x", "expect"), [(x, e) for _, x, e in BAD_INPUTS], ids=[n for n, _, _ in BAD_INPUTS]
)
def test_ask_never_crashes_nor_cites_unknown_ids(
    assistant, citable: dict[str, str], x: str | bytes, expect: str
) -> None:
    answer = assistant.ask(x)
    assert isinstance(answer, Answer)
    assert answer.text.strip()
    for c in [*answer.citations, *answer.related]:
        assert c.id in citable and c.kind == citable[c.id]
        assert 0.0 <= c.score <= 1.0
    assert answer.answered == bool(answer.citations)
    if expect == "error":  # nothing to search for: a hint, not an answer
        assert not answer.answered and not answer.citations


@pytest.mark.parametrize(
    ("x", "expect"), [(x, e) for _, x, e in BAD_INPUTS], ids=[n for n, _, _ in BAD_INPUTS]
)
def test_align_never_crashes_nor_tags_unknown_ids(assistant, x: str | bytes, expect: str) -> None:
    if expect == "error":
        with pytest.raises(AlignInputError) as exc:
            assistant.align(x)
        assert str(exc.value).strip()
        return
    alignment = assistant.align(x)
    check_alignment(assistant, alignment)


def check_alignment(assistant, alignment: Alignment) -> None:
    fw = assistant.framework
    objectives = {o.id for _, o in fw.objectives()}
    assert isinstance(alignment, Alignment)
    assert len(alignment.tags) <= MAX_TAGS == 5
    assert alignment.no_fit == (not alignment.tags)
    assert len({t.id for t in alignment.tags}) == len(alignment.tags)
    for t in [*alignment.tags, *alignment.nearest]:
        assert t.id in objectives
        assert t.goal == fw.goal_of(t.id).citation_id
        assert 0.0 <= t.score <= 1.0
        assert t.confidence in ("high", "medium", "low")
        assert t.why.strip()
    scores = [t.score for t in alignment.tags]
    assert scores == sorted(scores, reverse=True)


def test_long_question_is_read_in_part_and_says_so(assistant) -> None:
    # 100,000 random words are no question the framework covers, but the reply still says
    # what was read.
    answer = assistant.ask(BIG_TEXT)
    assert f"{MAX_QUERY_CHARS:,}" in answer.text  # the reply tells the user it was truncated
    question = "Which objective is about training police officers? " + BIG_TEXT
    assert f"{MAX_QUERY_CHARS:,}" in assistant.ask(question).text


def test_question_hidden_in_noise_is_still_answered(assistant) -> None:
    answer = assistant.ask("🚀👮 Which objective is about training police officers? 🎓🙏")
    assert answer.answered and answer.citations[0].id == "2.3"
    answer = assistant.ask(b"\x00\xff which objective is about data \x01 protection?\x7f")
    assert answer.answered and answer.citations[0].id == "5.2"


def test_proposal_over_the_word_limit_is_truncated_and_still_tagged(assistant) -> None:
    # A proposal with a long appendix: prose about training, a table of 20,000 figures, then
    # a paragraph about funding that lies beyond MAX_WORDS and so must not be read.
    training = (
        "Our unit will train investigators in member countries on digital forensics "
        "and share best practices with partner police services."
    )
    funding = "Finally, we will design a sustainable funding model for the Organization."
    figures = [f"{1000 + i % 9000:,}" for i in range(MAX_WORDS)]
    proposal = "\n\n".join([training, " ".join(figures), funding])
    total = len(proposal.split())
    assert total > MAX_WORDS >= 20_000
    alignment = assistant.align(proposal)
    check_alignment(assistant, alignment)
    assert alignment.words_ignored == total - MAX_WORDS > 0
    assert alignment.words_considered == MAX_WORDS
    # Read: the prose and the figures; not read: the funding paragraph past the limit.
    prose_only = assistant.align(training + "\n\n" + " ".join(figures))
    assert [t.id for t in alignment.tags] == [t.id for t in prose_only.tags] != []
    assert "5.1" not in {t.id for t in alignment.tags}
    assert "5.1" in {t.id for t in assistant.align(funding).tags}  # it would have counted
    assert "5.1" not in {t.id for t in alignment.tags}  # beyond the limit: ignored
    assert [t.id for t in assistant.align(funding).tags] == ["5.1"]  # …though it would match


def test_proposal_within_the_limit_ignores_nothing(assistant) -> None:
    alignment = assistant.align(PROPOSAL_SENTENCES[0])
    assert alignment.words_ignored == 0
    assert alignment.words_considered == len(PROPOSAL_SENTENCES[0].split())


# Strings that are not valid Unicode text: lone surrogates. Python produces them when it
# decodes a non-UTF-8 command-line argument (`fwbot ask $'\xff training'`, surrogateescape)
# and json.loads produces them from "\ud800" escapes in a batch file.
SURROGATE_INPUTS = ["\udcff\udcfe which objective is about training?", "\ud800 training police"]


@pytest.mark.parametrize("x", SURROGATE_INPUTS, ids=["surrogateescape-argv", "json-escape"])
def test_ask_with_lone_surrogates_does_not_crash(assistant, citable, x: str) -> None:
    answer = assistant.ask(x)
    assert answer.text.strip()
    assert all(c.id in citable for c in answer.citations)


@pytest.mark.parametrize("x", SURROGATE_INPUTS, ids=["surrogateescape-argv", "json-escape"])
def test_align_with_lone_surrogates_does_not_crash(assistant, x: str) -> None:
    check_alignment(assistant, assistant.align(x))


def test_text_is_cleaned_once_on_its_way_through_the_layers(monkeypatch) -> None:
    """The Slack service, follow-up resolution, the assistant and the search each accept raw
    text; text one of them cleaned is recognised by the next, not cleaned again."""
    import unicodedata

    from retrieval import text as text_module

    raw = "ﬁnancial  crime\x00 objectives?"
    once = text_module.clean_text(raw)
    assert once == "financial crime objectives?"
    calls: list[str] = []
    real = unicodedata.normalize
    monkeypatch.setattr(
        text_module.unicodedata, "normalize", lambda form, s: calls.append(s) or real(form, s)
    )
    assert text_module.clean_text(once) is once
    assert text_module.clean_text(once, max_chars=500) is once
    assert calls == []
    assert text_module.clean_text(once, max_chars=9) == "financial"  # cut: cleaned again
