"""Measuring follow-ups: labelled conversations, each turn with the topic its answer should be
about (``null`` for an off-topic turn the bot should decline).

A line of the JSONL file: ``{"id": "fi001", "turns": [{"question": "...", "expected": "1.4"},
...]}``. Each conversation is played in order through :meth:`FrameworkAssistant.standalone`
and :meth:`FrameworkAssistant.ask`, every turn seeing the earlier turns as the bot stored them
(question, cited ids, answered). *Topic accuracy* is the share of follow-up turns (all but the
first of a conversation) whose answer's first citation is the expected id (or which were
declined, when ``null`` is expected).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from .conversation import Turn

if TYPE_CHECKING:
    from .assistant import FrameworkAssistant


class LabelledTurn(BaseModel):
    question: str = Field(min_length=1)
    expected: str | None


class ConversationCase(BaseModel):
    id: str
    turns: list[LabelledTurn] = Field(min_length=1)


class TurnMiss(BaseModel):
    conversation: str
    turn: int  # 0-based
    question: str
    expected: str | None
    got: str | None


class ConversationMetrics(BaseModel):
    conversations: int
    followup_turns: int
    topic_correct: int
    first_turns_correct: int
    misses: list[TurnMiss]

    @property
    def topic_accuracy(self) -> float:
        return round(self.topic_correct / self.followup_turns, 3) if self.followup_turns else 0.0


def read_conversations(path: Path) -> list[ConversationCase]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [ConversationCase.model_validate_json(line) for line in lines if line.strip()]


def play(assistant: FrameworkAssistant, questions: list[str]) -> list[Turn]:
    """Each question answered in the conversation of the ones before it, as the bot would."""
    turns: list[Turn] = []
    for question in questions:
        resolved = assistant.standalone(question, turns)
        answer = assistant.ask(resolved, asked=question if resolved != question else None)
        cited = tuple(c.id for c in answer.citations)
        turns.append(Turn(question, cited, answer.answered))
    return turns


def evaluate_conversations(assistant: FrameworkAssistant, path: Path) -> ConversationMetrics:
    cases = read_conversations(path)
    followups = correct = first = 0
    misses: list[TurnMiss] = []
    for case in cases:
        turns = play(assistant, [t.question for t in case.turns])
        for i, (labelled, turn) in enumerate(zip(case.turns, turns, strict=True)):
            got = turn.cited_ids[0] if turn.answered and turn.cited_ids else None
            ok = got == labelled.expected
            if i == 0:
                first += ok
                continue
            followups += 1
            correct += ok
            if not ok:
                misses.append(
                    TurnMiss(
                        conversation=case.id,
                        turn=i,
                        question=labelled.question,
                        expected=labelled.expected,
                        got=got,
                    )
                )
    return ConversationMetrics(
        conversations=len(cases),
        followup_turns=followups,
        topic_correct=correct,
        first_turns_correct=first,
        misses=misses,
    )


def conversation_table(m: ConversationMetrics) -> str:
    lines = [
        f"conversations: {m.conversations}, follow-up turns: {m.followup_turns}",
        f"topic accuracy: {m.topic_accuracy:.3f} ({m.topic_correct}/{m.followup_turns})",
        f"first turns right: {m.first_turns_correct}/{m.conversations}",
    ]
    lines += [
        f"  miss {x.conversation} turn {x.turn}: {x.question!r} expected {x.expected}, got {x.got}"
        for x in m.misses
    ]
    return "\n".join(lines)
