"""Streamed model answers (issue 12): the text is handed over as it arrives, but only once the
reply's citations are in and check out; a reply rejected or cut off later is replaced."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from retrieval.llm.stream import read_partial, releasable
from tests.model_replies import as_offline
from tests.test_llm_answers import Recorder as AnswersRecorder
from tests.test_llm_answers import _assistant

QUESTION = "Which objective is about training police officers?"


def _json(text: str, cited: list[str], answered: bool = True, text_first: bool = False) -> str:
    if text_first:
        return json.dumps({"answered": answered, "text": text, "cited_ids": cited})
    return json.dumps({"answered": answered, "cited_ids": cited, "text": text})


# ---- reading a reply while it arrives ---------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Training is objective 2.3.",
        'It says "share expert knowledge"\nand more.',
        "Formation: l’objectif 2.3 — élevé ✓ 👮 done",
        "back\\slash and tab\there",
    ],
)
def test_every_prefix_of_a_reply_reads_as_a_prefix_of_its_text(text: str) -> None:
    reply = json.dumps({"answered": True, "cited_ids": ["2.3"], "text": text})
    seen = ""
    for end in range(len(reply) + 1):
        partial = read_partial(reply[:end])
        assert text.startswith(partial.text)
        assert len(partial.text) >= len(seen)  # never shrinks
        seen = partial.text
    final = read_partial(reply)
    assert final.text == text and final.text_done and final.cited_ids == ["2.3"]
    assert final.answered is True


def test_ascii_escaped_replies_read_the_same() -> None:
    text = "l’objectif 2.3 👮"
    reply = json.dumps({"answered": True, "cited_ids": ["2.3"], "text": text}, ensure_ascii=True)
    assert "\\ud83d" in reply
    assert read_partial(reply).text == text
    cut = reply.index("\\udc") + 2  # in the middle of the surrogate pair's low half
    assert read_partial(reply[:cut]).text == "l’objectif 2.3 "


def test_text_is_released_only_once_the_citations_check_out() -> None:
    allowed = {"2.3", "1.1"}
    text_first = _json("Training is 2.3.", ["2.3"], text_first=True)
    before_ids = text_first[: text_first.index("cited_ids")]
    assert read_partial(before_ids).text == "Training is 2.3."
    assert releasable(read_partial(before_ids), allowed) == ""  # ids not in yet
    assert releasable(read_partial(text_first), allowed) == "Training is 2.3."
    assert releasable(read_partial(_json("x", ["9.9"])), allowed) == ""  # invented id
    assert releasable(read_partial(_json("x", ["2.3", "9.9"])), allowed) == ""
    assert releasable(read_partial(_json("x", [])), allowed) == ""  # cites nothing
    assert releasable(read_partial(_json("x", ["2.3"], answered=False)), allowed) == ""


# ---- the composer, streaming ----------------------------------------------------------------


class Recorder(AnswersRecorder):
    """Fallbacks and usage, and the pieces of text handed over."""

    def __init__(self) -> None:
        super().__init__()
        self.pieces: list[str] = []
        self.lock = threading.Lock()

    def take(self, piece: str) -> None:
        with self.lock:
            self.pieces.append(piece)


def _model(*replies: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(content=r) for r in replies]))


def test_a_streamed_answer_arrives_in_pieces_that_make_up_the_answer(assistant) -> None:
    recorder = Recorder()
    text = "Training police officers is objective 2.3: sharing expert knowledge widely."
    llm = _assistant(assistant, _model(_json(text, ["2.3"])), recorder)
    answer = llm.ask(QUESTION, on_text=recorder.take)
    assert answer.text == text and [c.id for c in answer.citations] == ["2.3"]
    assert len(recorder.pieces) > 3 and "".join(recorder.pieces) == text
    assert recorder.fallbacks == []


def test_text_written_before_its_citations_is_held_until_they_arrive(assistant) -> None:
    recorder = Recorder()
    text = "Training police officers is objective 2.3."
    llm = _assistant(assistant, _model(_json(text, ["2.3"], text_first=True)), recorder)
    answer = llm.ask(QUESTION, on_text=recorder.take)
    assert answer.text == text and recorder.pieces == [text]  # all at once, at the end


def test_an_invented_id_shows_nothing_and_the_repair_is_used(assistant) -> None:
    recorder = Recorder()
    bad, good = _json("Made up.", ["9.9"]), _json("Training is objective 2.3.", ["2.3"])
    llm = _assistant(assistant, _model(bad, good), recorder)
    answer = llm.ask(QUESTION, on_text=recorder.take)
    assert recorder.pieces == [] and answer.text == "Training is objective 2.3."


def test_an_offline_answer_is_never_handed_over_as_streamed_text(assistant) -> None:
    recorder = Recorder()
    llm = _assistant(assistant, _model(), recorder)
    declined = llm.ask("What is the capital of France?", on_text=recorder.take)
    exact = llm.ask("What does objective 1.3 say?", on_text=recorder.take)
    assert not declined.answered and exact.answered and recorder.pieces == []


class StallingModel(BaseChatModel):
    """Streams the first pieces of a good reply, then stalls until ``release`` is set."""

    reply: str = ""
    release: Any = None

    @property
    def _llm_type(self) -> str:
        return "stalling-fake"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:  # type: ignore[override]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.reply))])

    def _stream(  # type: ignore[override]
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        half = len(self.reply) // 2
        yield ChatGenerationChunk(message=AIMessageChunk(content=self.reply[:half]))
        self.release.wait(10)
        yield ChatGenerationChunk(message=AIMessageChunk(content=self.reply[half:]))


def test_a_stream_that_stalls_gives_the_offline_answer_at_the_deadline(assistant) -> None:
    recorder = Recorder()
    release = threading.Event()
    text = "Training police officers is objective 2.3, the one about sharing expert knowledge."
    model = StallingModel(reply=_json(text, ["2.3"]), release=release)
    llm = _assistant(assistant, model, recorder, timeout=0.5)
    started = time.monotonic()
    try:
        answer = llm.ask(QUESTION, on_text=recorder.take)
        took = time.monotonic() - started
        shown = "".join(recorder.pieces)
    finally:
        release.set()
    assert as_offline(answer) == assistant.ask(QUESTION) and recorder.fallbacks == ["timeout"]
    assert took < 0.5 + 0.2
    assert shown and text.startswith(shown) and shown != answer.text  # the caller replaces it
    llm.composer._calls.shutdown(wait=True)  # type: ignore[attr-defined]
    assert "".join(recorder.pieces) == shown  # nothing handed over after the deadline
