"""Block Kit builders (bot.slack.blocks): escaping, Slack's size limits, layout and ids."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import SDG_PATH
from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from bot.slack import ids
from bot.slack.blocks import (
    Message,
    RecentAlignment,
    alignment_message,
    answer_messages,
    edit_tags_modal,
    error_message,
    escape,
    feedback_ack_context,
    home_view,
    replace_feedback_buttons,
    selected_ids_from_state,
    shared_alignment_message,
    split_text,
    to_dicts,
    usage_message,
)
from bot.slack.blocks import limits as L
from bot.slack.blocks.progress_modals import initiative_option
from bot.slack.blocks.text import clip, pack_lines, shorten
from bot.storage.progress_records import InitiativeRecord
from framework_data.loader import load_framework
from retrieval.align import Alignment, Tag
from retrieval.answer import Answer, Citation

INTERPOL = load_framework(None)
SDG = load_framework(SDG_PATH)

MENTIONS = ("<!channel>", "<!here>", "<!everyone>", "<@U123>")
DANGER = "Ping <!channel> <!here> <!everyone> <@U123> & friends > all"
ENTITY_OR_MARKUP = re.compile(r"&(?!amp;|lt;|gt;)")

# ---- helpers ------------------------------------------------------------------------------


def walk(obj: Any) -> Iterator[dict[str, Any]]:
    """Every dict inside a payload."""
    if isinstance(obj, dict):
        yield obj
        for v in obj.values():
            yield from walk(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from walk(v)


def mrkdwn_texts(payload: Any) -> list[str]:
    return [d["text"] for d in walk(payload) if d.get("type") == "mrkdwn"]


def all_text(payload: Any) -> str:
    return "\n".join(d["text"] for d in walk(payload) if isinstance(d.get("text"), str))


def check_limits(blocks: list[dict[str, Any]], max_blocks: int) -> None:
    """Slack's limits, checked independently of slack_sdk's own validation."""
    assert 0 < len(blocks) <= max_blocks
    for b in blocks:
        if b["type"] == "section":
            assert 0 < len(b["text"]["text"]) <= L.MAX_SECTION_TEXT
        elif b["type"] == "context":
            assert len(b["elements"]) <= L.MAX_CONTEXT_ELEMENTS
            assert all(0 < len(e["text"]) <= L.MAX_CONTEXT_ELEMENT_TEXT for e in b["elements"])
        elif b["type"] == "header":
            assert 0 < len(b["text"]["text"]) <= L.MAX_HEADER_TEXT
        elif b["type"] == "actions":
            assert len(b["elements"]) <= L.MAX_ACTIONS_ELEMENTS
            for e in b["elements"]:
                assert len(e["text"]["text"]) <= L.MAX_BUTTON_TEXT
                assert len(e.get("value", "")) <= L.MAX_BUTTON_VALUE
    for d in walk(blocks):
        if d.get("type") == "mrkdwn":
            assert d.get("verbatim") is True  # no auto-parsing of bare @here etc.


def check_message(m: Message) -> list[dict[str, Any]]:
    blocks = to_dicts(m.blocks)  # slack_sdk's validation
    check_limits(blocks, L.MAX_MESSAGE_BLOCKS)
    assert 0 < len(m.text) <= L.MAX_MESSAGE_TEXT
    assert m.payload()["blocks"] == blocks
    return blocks


def assert_no_live_mentions(text: str) -> None:
    for raw in MENTIONS:
        assert raw not in text
    assert not ENTITY_OR_MARKUP.search(text), text


def assert_escaped_danger(text: str) -> None:
    """The DANGER string shows escaped and nothing in the text pings."""
    assert escape(DANGER) in text
    assert_no_live_mentions(text)


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def section_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def tag(oid: str, why: str = "“data” ↔ “data”", confidence: str = "high") -> Tag:
    return Tag(id=oid, goal=None, score=0.9, confidence=confidence, why=why)


# ---- escape / split_text ------------------------------------------------------------------


def test_escape_ampersand_first_and_mentions() -> None:
    assert escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert escape("&lt;") == "&amp;lt;"
    for raw in MENTIONS:
        assert escape(raw) == raw.replace("<", "&lt;").replace(">", "&gt;")


# Bidi embeddings, overrides and isolates: each reorders the text after it when displayed.
BIDI_CONTROLS = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
# "Fund the ‮gnp.exe‬ project": shown right to left, the override makes the file look harmless.
SPOOF = "Fund the \u202egnp.exe\u202c project \u2067<!channel>\u2069 \u2066x\u2069"


def assert_no_bidi_controls(text: str) -> None:
    assert not [f"U+{ord(c):04X}" for c in text if c in BIDI_CONTROLS], text


def test_escape_makes_bidi_controls_visible_and_keeps_direction_marks() -> None:
    assert len(BIDI_CONTROLS) == 9
    for control in BIDI_CONTROLS:
        shown = escape(f"a{control}b")
        assert shown == f"a[U+{ord(control):04X}]b"
    assert escape(SPOOF) == (
        "Fund the [U+202E]gnp.exe[U+202C] project "
        "[U+2067]&lt;!channel&gt;[U+2069] [U+2066]x[U+2069]"
    )
    # The left-to-right / right-to-left marks (and the Arabic letter mark) stay: they only set
    # the direction of their neighbours, which right-to-left writers need.
    marks = "\u05e9\u05dc\u05d5\u05dd\u200f (v2)\u200e \u061c"
    assert escape(marks) == marks
    # Plain-text fields are cut to size by shorten, which neutralises them the same way.
    assert shorten(SPOOF, 200) == (
        "Fund the [U+202E]gnp.exe[U+202C] project [U+2067]<!channel>[U+2069] [U+2066]x[U+2069]"
    )
    assert_no_bidi_controls(shorten("\u202e" * 500, 20))


def test_echoed_proposals_and_questions_carry_no_bidi_controls() -> None:
    alignment = Alignment(tags=[tag("1.3", why=f"“{SPOOF}” ↔ “systems”")], no_fit=False)
    for msg in (
        alignment_message(alignment, INTERPOL, alignment_id=3, proposal=SPOOF),
        shared_alignment_message(alignment, INTERPOL, user_id="U0ABC", proposal=SPOOF),
        *answer_messages(
            Answer(answered=False, text=f"Nothing about “{SPOOF}”.", citations=[]),
            INTERPOL,
            exchange_id=4,
        ),
    ):
        blocks = check_message(msg)
        for text in (all_text(blocks), msg.text):
            assert_no_bidi_controls(text)
            assert "Fund the [U+202E]gnp.exe[U+202C] project" in text
            assert_no_live_mentions(text)
    home = home_view(
        INTERPOL,
        user_id="U0HOME",
        recent=[
            RecentAlignment(
                text=SPOOF,
                ids=["1.3"],
                status="confirmed",
                created_at=datetime(2026, 1, 5, tzinfo=UTC),
            )
        ],
    )
    shown = all_text(home.to_dict())
    assert_no_bidi_controls(shown)
    assert "[U+202E]gnp.exe" in shown
    # A plain-text field: an initiative's title in the update form's menu.
    option = initiative_option(_initiative(title=SPOOF)).to_dict()
    assert_no_bidi_controls(option["text"]["text"])
    assert option["text"]["text"].startswith("#7 Fund the [U+202E]gnp.exe[U+202C] project")


def _initiative(**kw: Any) -> InitiativeRecord:
    now = datetime(2026, 1, 5, tzinfo=UTC)
    values: dict[str, Any] = dict(
        id=7,
        kind="initiative",
        title="Initiative",
        description="",
        owner_id="U1",
        objective_ids=("1.1",),
        cadence="weekly",
        status="active",
        created_by="U1",
        created_at=now,
        updated_at=now,
        last_update_at=None,
        last_status=None,
        last_percent=None,
    )
    return InitiativeRecord(**{**values, **kw})


def test_split_text_short_text_is_one_piece() -> None:
    assert split_text("hello", 10) == ["hello"]
    assert split_text("", 10) == [""]


def test_split_text_prefers_paragraphs_then_lines_then_sentences_then_spaces() -> None:
    para = "First paragraph here.\n\nSecond one, a bit longer than the first."
    assert split_text(para, 40) == [
        "First paragraph here.",
        "Second one, a bit longer than the first.",
    ]
    lines = "one line of text\nanother line of text here"
    assert split_text(lines, 30) == ["one line of text", "another line of text here"]
    sentences = "A first sentence. A second sentence that runs on."
    assert split_text(sentences, 32) == ["A first sentence.", "A second sentence that runs on."]
    words = "alpha beta gamma delta epsilon zeta"
    assert split_text(words, 20) == ["alpha beta gamma", "delta epsilon zeta"]
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_split_text_hard_cut_never_splits_an_entity() -> None:
    text = "a" * 10 + "&amp;" + "b" * 10
    pieces = split_text(text, 12)
    assert "".join(pieces) == text
    assert pieces[0] == "a" * 10 and pieces[1].startswith("&amp;")
    assert all(len(p) <= 12 for p in pieces)


def _check_split(text: str, limit: int) -> None:
    pieces = split_text(text, limit)
    assert all(len(p) <= limit for p in pieces)
    assert len(pieces) <= 2 * len(text) / limit + 2
    # Pieces appear in order; only whitespace lies between them.
    pos = 0
    for piece in pieces:
        idx = text.find(piece, pos)
        assert idx >= pos and text[pos:idx].strip() == "", (text, pieces)
        pos = idx + len(piece)
    assert text[pos:].strip() == ""
    # Whole entities only: every '&' in a piece starts a complete entity.
    for piece in pieces:
        assert not re.search(r"&(?!amp;|lt;|gt;)", piece), piece
    assert sum(p.count("&amp;") for p in pieces) == text.count("&amp;")


def test_split_text_properties_on_random_texts() -> None:
    rng = random.Random(20240611)
    tokens = [
        "word",
        "longerword",
        "x" * 30,
        "&amp;",
        "&lt;",
        "&gt;",
        ".",
        "!",
        " ",
        " ",
        " ",
        "\n",
        "\n\n",
        "  \n  ",
        "“quote”",
        "é",
        "🙂",
    ]
    for _ in range(400):
        text = "".join(rng.choice(tokens) for _ in range(rng.randint(0, 300)))
        _check_split(text, rng.randint(12, 120))
    for _ in range(20):  # unbroken runs force hard cuts next to entities
        text = "".join(rng.choice(["a", "&amp;", "&lt;"]) for _ in range(rng.randint(50, 400)))
        _check_split(text, rng.randint(12, 40))


def test_clip_shorten_and_pack() -> None:
    assert clip("abc &amp; def", 9) == "abc…"
    assert clip("short", 10) == "short"
    s = shorten("one two three four five six", 15)
    assert s.endswith("…") and len(s) <= 15 and "three" in s
    chunks = pack_lines(["a" * 5, "b" * 5, "c" * 12], 11)
    assert chunks == ["aaaaa\nbbbbb", "c" * 11, "c"]


# ---- answers ------------------------------------------------------------------------------


def test_answer_layout_sources_and_feedback_buttons() -> None:
    answer = Answer(
        answered=True,
        text="*Objective 1.3* (Goal 1): “Improve connectivity.”",
        citations=[
            Citation(id="1.3", kind="objective", score=0.9),
            Citation(id="G2", kind="goal", score=0.8),
            Citation(id="vision", kind="statement", score=0.5),
            Citation(id="values", kind="statement", score=0.5),
        ],
    )
    [msg] = answer_messages(answer, INTERPOL, exchange_id=42)
    blocks = check_message(msg)
    assert blocks[0]["type"] == "section"
    assert blocks[0]["text"]["text"].startswith("*Objective 1.3*")
    text = all_text(blocks)
    o13 = INTERPOL.objective("1.3")
    assert "*Sources*" in text
    assert f"Goal 1 › 1.3 — “{escape(o13.text)}”" in text
    assert f"Goal 2 — {escape(INTERPOL.goal('2').title)}" in text
    assert f"Vision — “{INTERPOL.statements.vision}”" in text
    assert "Values — Respect, Integrity" in text
    assert blocks[-1]["type"] == "actions"
    assert [(b["action_id"], b["value"], b["text"]["text"]) for b in buttons(blocks)] == [
        (ids.ACTION_FEEDBACK_HELPFUL, "42", "Helpful"),
        (ids.ACTION_FEEDBACK_NOT_HELPFUL, "42", "Not helpful"),
    ]
    assert "Improve connectivity" in msg.text


def test_answer_without_exchange_id_has_no_buttons() -> None:
    answer = Answer(
        answered=True, text="Hi", citations=[Citation(id="1.1", kind="objective", score=1.0)]
    )
    [msg] = answer_messages(answer, INTERPOL, exchange_id=None)
    assert buttons(check_message(msg)) == []


def test_answer_text_and_framework_text_are_escaped() -> None:
    answer = Answer(answered=True, text=f"You said {DANGER}.", citations=[])
    [msg] = answer_messages(answer, INTERPOL, exchange_id=1)
    blocks = check_message(msg)
    assert_escaped_danger(all_text(blocks))
    assert_escaped_danger(msg.text)


def test_declined_answer_lists_possibly_related() -> None:
    answer = Answer(
        answered=False,
        text="INTERPOL Strategic Framework 2017-2020 doesn't cover that, as far as I can tell.",
        related=[
            Citation(id="2.3", kind="objective", score=0.3),
            Citation(id="G4", kind="goal", score=0.25),
        ],
    )
    [msg] = answer_messages(answer, INTERPOL, exchange_id=5)
    blocks = check_message(msg)
    text = all_text(blocks)
    assert "doesn't cover that" in text
    assert "*Possibly related:*" in text
    assert f"Goal 2 › 2.3 — {escape(INTERPOL.objective('2.3').text)}" in text
    assert f"Goal 4 — {escape(INTERPOL.goal('4').title)}" in text
    assert "*Sources*" not in text
    assert {b["value"] for b in buttons(blocks)} == {"5"}


def test_sdg_goal_answer_with_all_its_targets_fits_one_message() -> None:
    goal = max(SDG.goals, key=lambda g: len(g.objectives))
    assert len(goal.objectives) >= 19
    text = "\n".join(
        [f"*Goal {goal.id} — {goal.title}*. Its objectives:"]
        + [f"• {o.id} {o.text}" for o in goal.objectives]
    )
    cites = [Citation(id=goal.citation_id, kind="goal", score=1.0)] + [
        Citation(id=o.id, kind="objective", score=1.0) for o in goal.objectives
    ]
    msgs = answer_messages(Answer(answered=True, text=text, citations=cites), SDG, exchange_id=9)
    assert len(msgs) == 1
    blocks = check_message(msgs[0])
    contexts = "\n".join(
        t for b in blocks if b["type"] == "context" for t in (e["text"] for e in b["elements"])
    )
    for o in goal.objectives:
        assert f"Goal {goal.id} › {o.id} — “{escape(o.text)}”" in contexts


def _huge_answer(chars: int) -> Answer:
    rng = random.Random(7)
    words = [
        "policing",
        "data",
        "&",
        "<!channel>",
        "cooperation",
        "training.",
        "borders",
        "\n\n",
        "\n",
        "security,",
        "x" * 40,
    ]
    parts: list[str] = []
    size = 0
    while size < chars:
        parts.append(rng.choice(words))
        size += len(parts[-1]) + 1
    text = " ".join(parts)[:chars]
    cites = [Citation(id=o.id, kind="objective", score=0.5) for _, o in SDG.objectives()]
    cites += [Citation(id=g.citation_id, kind="goal", score=0.5) for g in SDG.goals]
    return Answer(answered=True, text=text, citations=cites)


@pytest.mark.parametrize("chars", [30_000, 200_000])
def test_huge_answer_is_split_within_limits_and_loses_nothing(chars: int) -> None:
    answer = _huge_answer(chars)
    msgs = answer_messages(answer, SDG, exchange_id=77)
    if chars == 200_000:
        assert len(msgs) > 1
    all_blocks = [check_message(m) for m in msgs]
    flat = [b for blocks in all_blocks for b in blocks]
    # The answer text, in order, across the sections of all messages.
    sections = "".join(section_texts(flat))
    assert squash(sections) == squash(escape(answer.text))
    for m in msgs:
        assert_no_live_mentions(m.text)
        assert_no_live_mentions(all_text(to_dicts(m.blocks)))
    # Every citation is listed; buttons appear once, at the end of the last message.
    contexts = all_text([b for b in flat if b["type"] == "context"])
    for _, o in SDG.objectives():
        assert f"Goal {SDG.goal_of(o.id).id} › {o.id} — “{escape(o.text)}”" in contexts
    assert all(buttons(blocks) == [] for blocks in all_blocks[:-1])
    assert all_blocks[-1][-1]["type"] == "actions"
    assert {b["value"] for b in buttons(all_blocks[-1])} == {"77"}


def test_feedback_ack_replaces_only_the_buttons() -> None:
    answer = Answer(
        answered=True, text="Answer", citations=[Citation(id="1.1", kind="objective", score=1.0)]
    )
    [msg] = answer_messages(answer, INTERPOL, exchange_id=3)
    original = to_dicts(msg.blocks)
    snapshot = [dict(b) for b in original]
    replaced = replace_feedback_buttons(original, helpful=False)
    assert original == snapshot  # input not modified
    assert len(replaced) == len(original)
    assert replaced[:-1] == original[:-1]
    assert replaced[-1] == feedback_ack_context(False).to_dict()
    assert "Thanks — noted as not helpful." in all_text(replaced[-1])
    assert "noted as helpful." in all_text(feedback_ack_context(True).to_dict())
    assert buttons(replaced) == []
    assert replace_feedback_buttons(replaced, helpful=True) == replaced


# ---- alignments ---------------------------------------------------------------------------


def test_alignment_message_suggested_layout_and_buttons() -> None:
    alignment = Alignment(
        tags=[tag("1.3", why=f"“{DANGER}” ↔ “systems”"), tag("2.1", confidence="medium")],
        no_fit=False,
    )
    msg = alignment_message(alignment, INTERPOL, alignment_id=42, proposal=DANGER)
    blocks = check_message(msg)
    text = all_text(blocks)
    assert f"“{escape(DANGER)}”" in section_texts(blocks)[0]
    assert text.count(escape(DANGER)) == 2  # quote and why
    assert_no_live_mentions(text)
    assert_no_live_mentions(msg.text)
    o13 = INTERPOL.objective("1.3")
    assert f"*1.3* (Goal 1 › 1.3) {escape(o13.text)} — confidence: high" in text
    assert "— confidence: medium" in text
    got = [(b["action_id"], b["value"], b.get("style")) for b in buttons(blocks)]
    assert got == [
        (ids.ACTION_ALIGN_SHARE, "42", None),
        (ids.ACTION_ALIGN_CONFIRM, "42", "primary"),
        (ids.ACTION_ALIGN_EDIT, "42", None),
        (ids.ACTION_ALIGN_TRACK, "42", None),
    ]
    labels = [b["text"]["text"] for b in buttons(blocks)]
    assert labels == ["Share in channel", "Confirm", "Edit tags", "Track as initiative"]


def test_alignment_proposal_quote_is_shortened() -> None:
    proposal = "word " * 20_000
    alignment = Alignment(tags=[tag("1.1")], no_fit=False, words_considered=20_000, words_ignored=0)
    blocks = check_message(
        alignment_message(alignment, INTERPOL, alignment_id=1, proposal=proposal)
    )
    quote = section_texts(blocks)[0]
    assert quote.endswith("…”") and len(quote) < 260


def test_alignment_no_fit_shows_nearest_and_no_confirm() -> None:
    alignment = Alignment(tags=[], no_fit=True, nearest=[tag("3.2", confidence="low")])
    blocks = check_message(alignment_message(alignment, INTERPOL, alignment_id=8, proposal="x"))
    text = all_text(blocks)
    assert "No objective fits this proposal well." in text
    assert "*Nearest:*" in text and "*3.2* (Goal 3 › 3.2)" in text
    assert [b["action_id"] for b in buttons(blocks)] == [
        ids.ACTION_ALIGN_SHARE,
        ids.ACTION_ALIGN_EDIT,
        ids.ACTION_ALIGN_TRACK,
    ]


def test_alignment_notes_for_ignored_words_and_truncation() -> None:
    alignment = Alignment(
        tags=[tag("1.1")], no_fit=False, words_considered=20_000, words_ignored=1_234
    )
    msg = alignment_message(
        alignment,
        INTERPOL,
        alignment_id=1,
        proposal="p",
        truncated_note=f"Only the first part was read {DANGER}",
    )
    text = all_text(check_message(msg))
    assert "I read the first 20,000 words; 1,234 were not considered." in text
    assert_escaped_danger(text)
    plain = alignment_message(
        Alignment(tags=[tag("1.1")], no_fit=False), INTERPOL, alignment_id=1, proposal="p"
    )
    assert "were not considered" not in all_text(to_dicts(plain.blocks))


@pytest.mark.parametrize(
    ("status", "decided", "line"),
    [("confirmed", None, "✓ Confirmed"), ("corrected", ["1.3", "2.1"], "✎ Corrected to 1.3, 2.1")],
)
def test_alignment_decided_state(status: str, decided: list[str] | None, line: str) -> None:
    alignment = Alignment(tags=[tag("1.3")], no_fit=False)
    msg = alignment_message(
        alignment, INTERPOL, alignment_id=11, proposal="p", status=status, decided_ids=decided
    )
    blocks = check_message(msg)
    text = all_text(blocks)
    assert line in text
    for oid in decided or ["1.3"]:
        assert escape(INTERPOL.objective(oid).text) in text
    assert "confidence:" not in text
    assert [(b["action_id"], b["value"]) for b in buttons(blocks)] == [
        (ids.ACTION_ALIGN_SHARE, "11"),
        (ids.ACTION_ALIGN_TRACK, "11"),
    ]


def test_alignment_without_id_has_no_buttons() -> None:
    alignment = Alignment(tags=[tag("1.3")], no_fit=False)
    msg = alignment_message(alignment, INTERPOL, alignment_id=None, proposal="p")
    assert buttons(check_message(msg)) == []


def test_shared_alignment_message_mentions_user_and_escapes_proposal() -> None:
    alignment = Alignment(tags=[tag("1.3", why=DANGER)], no_fit=False)
    msg = shared_alignment_message(alignment, INTERPOL, user_id="U0ABC", proposal=DANGER)
    blocks = check_message(msg)
    first = section_texts(blocks)[0]
    assert first.startswith("<@U0ABC> aligned a proposal")
    assert_escaped_danger(first.removeprefix("<@U0ABC>"))
    assert "*1.3* (Goal 1 › 1.3)" in all_text(blocks)
    assert buttons(blocks) == []
    odd = shared_alignment_message(alignment, INTERPOL, user_id="<!here>", proposal="p")
    assert_no_live_mentions(all_text(to_dicts(odd.blocks)))


def test_usage_and_error_messages() -> None:
    usage = all_text(check_message(usage_message(SDG)))
    assert ids.COMMAND_ALIGN in usage and "Example" in usage
    assert escape(SDG.title) in usage and "20,000 words" in usage
    err = error_message(f"the database said {DANGER}", reference="req-7f3a")
    text = all_text(check_message(err))
    assert text.startswith("Sorry — something went wrong")
    assert "(ref `req-7f3a`)" in text
    assert_escaped_danger(text)
    assert "(ref" not in all_text(to_dicts(error_message("x").blocks))


# ---- modal --------------------------------------------------------------------------------


@pytest.mark.parametrize("fw", [INTERPOL, SDG], ids=["interpol", "sdg"])
def test_edit_tags_modal_covers_every_objective_once(fw) -> None:
    view = edit_tags_modal(
        fw, selected_ids=["1.3", "1.1", "nope", "1.3"], private_metadata='{"alignment_id": 4}'
    )
    d = view.to_dict()
    assert d["type"] == "modal" and d["callback_id"] == ids.VIEW_EDIT_TAGS
    assert d["title"]["text"] == "Edit tags" and len(d["title"]["text"]) <= L.MAX_VIEW_TITLE
    assert d["submit"]["text"] == "Save" and d["close"]["text"] == "Cancel"
    assert d["private_metadata"] == '{"alignment_id": 4}'
    [block] = d["blocks"]
    assert block["type"] == "input" and block["block_id"] == ids.BLOCK_EDIT_TAGS
    select = block["element"]
    assert select["type"] == "multi_static_select"
    assert select["action_id"] == ids.ACTION_EDIT_TAGS
    assert select["max_selected_items"] == 5
    groups = select["option_groups"]
    assert len(groups) == len(fw.goals) <= L.MAX_OPTION_GROUPS
    values = [o["value"] for g in groups for o in g["options"]]
    assert values == [o.id for _, o in fw.objectives()]  # each exactly once, in order
    for g, goal in zip(groups, fw.goals, strict=True):
        assert g["label"]["text"].startswith(f"Goal {goal.id} — ")
        assert len(g["label"]["text"]) <= L.MAX_OPTION_GROUP_LABEL
        assert len(g["options"]) <= L.MAX_GROUP_OPTIONS
        for o, obj in zip(g["options"], goal.objectives, strict=True):
            assert o["text"]["text"].startswith(f"{obj.id} ")
            assert len(o["text"]["text"]) <= L.MAX_OPTION_TEXT
            if len(f"{obj.id} {obj.text}") > L.MAX_OPTION_TEXT:
                assert o["text"]["text"].endswith("…")
    options = {o["value"]: o for g in groups for o in g["options"]}
    assert [o["value"] for o in select["initial_options"]] == ["1.3", "1.1"]
    assert all(o == options[o["value"]] for o in select["initial_options"])


def test_edit_tags_modal_limits() -> None:
    many = [o.id for _, o in SDG.objectives()][:9]
    d = edit_tags_modal(SDG, selected_ids=many, private_metadata="").to_dict()
    assert len(d["blocks"][0]["element"]["initial_options"]) == 5
    assert "private_metadata" not in d
    with pytest.raises(ValueError):
        edit_tags_modal(SDG, selected_ids=[], private_metadata="x" * 3001)


def test_selected_ids_from_state() -> None:
    values = {
        ids.BLOCK_EDIT_TAGS: {
            ids.ACTION_EDIT_TAGS: {
                "type": "multi_static_select",
                "selected_options": [
                    {"text": {"type": "plain_text", "text": "1.3 …"}, "value": "1.3"},
                    {"text": {"type": "plain_text", "text": "2.1 …"}, "value": "2.1"},
                    {"value": "1.3"},
                ],
            }
        }
    }
    assert selected_ids_from_state(values) == ["1.3", "2.1"]
    empty = {ids.BLOCK_EDIT_TAGS: {ids.ACTION_EDIT_TAGS: {"selected_options": []}}}
    assert selected_ids_from_state(empty) == []
    assert selected_ids_from_state({}) == []


# ---- home ---------------------------------------------------------------------------------


def _extras(n_blocks: int, per_section: int = 5) -> list[list[Any]]:
    out: list[list[Any]] = []
    made = 0
    while made < n_blocks:
        k = min(per_section, n_blocks - made)
        out.append(
            [
                SectionBlock(text=MarkdownTextObject(text=f"extra {made + i}", verbatim=True))
                for i in range(k)
            ]
        )
        made += k
    return out


def _recent(n: int) -> list[RecentAlignment]:
    when = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
    return [
        RecentAlignment(
            text=f"{DANGER} proposal {i}", ids=["1.3", "2.1"], status="confirmed", created_at=when
        )
        for i in range(n)
    ]


def _home_dicts(fw, **kw) -> list[dict[str, Any]]:
    d = home_view(fw, user_id="U0HOME", **kw).to_dict()
    assert d["type"] == "home"
    check_limits(d["blocks"], L.MAX_VIEW_BLOCKS)
    return d["blocks"]


def test_home_interpol_shows_every_goal_and_objective_in_full() -> None:
    blocks = _home_dicts(INTERPOL, recent=[])
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "emoji": True, "text": INTERPOL.title},
    }
    text = all_text(blocks)
    assert "Hi <@U0HOME>!" in text
    assert INTERPOL.statements.vision in text and "*Mission:*" in text
    assert "The framework at a glance" in text
    for g in INTERPOL.goals:
        assert f"*Goal {g.id} — {escape(g.title)}*" in text
        for o in g.objectives:
            assert f"{o.id} {escape(o.text)}" in text
    assert "shortened" not in text
    assert "You haven't aligned anything yet — try /align &lt;your proposal&gt;." in text


def test_home_recent_alignments_escaped_and_capped() -> None:
    blocks = _home_dicts(INTERPOL, recent=_recent(15))
    text = all_text(blocks)
    assert "Your recent alignments" in text
    assert len(re.findall(r"proposal \d", text)) == 10
    assert "1.3, 2.1 · confirmed · <!date^" in text
    for raw in MENTIONS:
        assert raw not in text
    assert escape("Ping <!channel> <!here> <!everyone> <@U123> & friends") in text


@pytest.mark.parametrize("extra_blocks", [0, 20, 73, 80, 90, 97, 150])
def test_home_sdg_fits_100_blocks_with_extras(extra_blocks: int) -> None:
    blocks = _home_dicts(SDG, recent=_recent(10), extra_sections=_extras(extra_blocks))
    text = all_text(blocks)
    assert "Your recent alignments" in text and "The framework at a glance" in text
    extras = re.findall(r"extra \d+", text)
    assert extras == [f"extra {i}" for i in range(len(extras))]  # in order, from the start
    fixed = 4 + 1 + 3 + 1  # title/intro/vision/divider, glance header, recent, extras divider
    if extra_blocks <= 100 - fixed - 1:
        assert len(extras) == extra_blocks  # extras are kept whenever the framework fits in 1
    else:
        assert len(blocks) >= 95  # trailing extra sections dropped, the rest kept
    if extra_blocks <= 73:  # room for every goal with all its objectives in full
        for _, o in SDG.objectives():
            assert f"{o.id} {escape(o.text)}" in text
        assert "shortened" not in text
    elif extra_blocks == 80:  # shortened objective lines, every one still listed
        assert "Objective texts are shortened here" in text
        assert all(f"{o.id} " in text for _, o in SDG.objectives())
        assert "…" in text
    if extra_blocks <= 80:
        for g in SDG.goals:
            assert f"*Goal {g.id} — {escape(g.title)}*" in text
    else:
        assert "has 17 goals and 169 objectives" in text


def test_home_extras_come_last_after_the_recent_section() -> None:
    blocks = _home_dicts(INTERPOL, recent=[], extra_sections=_extras(3, per_section=3))
    assert [b["text"]["text"] for b in blocks[-3:]] == ["extra 0", "extra 1", "extra 2"]
    assert blocks[-4]["type"] == "divider"
    assert "Your recent alignments" in all_text(blocks[-6:-4])


# ---- framework text with special characters, pagination -----------------------------------


def test_framework_text_is_escaped_in_mrkdwn_and_plain_in_options() -> None:
    from framework_data.schema import Framework

    fw = Framework.model_validate(
        {
            "id": "odd",
            "title": "R&D <plan>",
            "statements": {"vision": "Us & them <!here>"},
            "goals": [
                {
                    "id": "1",
                    "title": "Grow & <b>",
                    "objectives": [{"id": "1.1", "text": "A & B <!channel> for <@U123>"}],
                }
            ],
        }
    )
    answer = Answer(
        answered=True,
        text="See 1.1",
        citations=[
            Citation(id="1.1", kind="objective", score=1.0),
            Citation(id="G1", kind="goal", score=1.0),
        ],
    )
    texts = [all_text(check_message(m)) for m in answer_messages(answer, fw, exchange_id=1)]
    alignment = Alignment(tags=[tag("1.1")], no_fit=False)
    texts.append(
        all_text(check_message(alignment_message(alignment, fw, alignment_id=1, proposal="p")))
    )
    home = _home_dicts(fw, recent=[])
    assert home[0]["text"]["text"] == "R&D <plan>"  # header: plain text, not parsed
    texts.append("\n".join(mrkdwn_texts(home)))
    for text in texts:
        assert_no_live_mentions(text)
        assert "A &amp; B &lt;!channel&gt; for &lt;@U123&gt;" in text
    assert "Grow &amp; &lt;b&gt;" in texts[0] and "Us &amp; them" in texts[-1]
    modal = edit_tags_modal(fw, selected_ids=["1.1"], private_metadata="").to_dict()
    group = modal["blocks"][0]["element"]["option_groups"][0]
    assert group["label"]["text"] == "Goal 1 — Grow & <b>"  # plain text: shown as is
    assert group["options"][0]["text"]["text"] == "1.1 A & B <!channel> for <@U123>"


def test_paginate_keeps_trailing_blocks_with_content() -> None:
    from bot.slack.blocks import paginate
    from bot.slack.blocks.base import context

    content = [context(f"line {i}") for i in range(50)]
    msgs = paginate(content, [feedback_ack_context(True)])
    assert [len(m.blocks) for m in msgs] == [49, 2]
    msgs = paginate(content[:49], [feedback_ack_context(True)])
    assert [len(m.blocks) for m in msgs] == [50]
    msgs = paginate(content * 3)
    assert [len(m.blocks) for m in msgs] == [50, 50, 50]
    assert msgs[1].text.startswith("line 0")


def test_declined_answer_lists_related_once():
    from bot.slack.blocks import answer_messages, to_dicts
    from framework_data.loader import load_framework
    from retrieval.answer import RELATED_LEAD, Answer, Citation

    fw = load_framework(None)
    answer = Answer(
        answered=False,
        text=f"It doesn't cover that.{RELATED_LEAD}Objective 1.3: x",
        related=[Citation(id="1.3", kind="objective", score=0.3)],
    )
    (message,) = answer_messages(answer, fw, exchange_id=None)
    dumped = str(to_dicts(message.blocks))
    assert dumped.count("1.3") == 1 and "It doesn't cover that." in dumped
