"""Answering a question asked in Slack: resolve follow-ups, answer, remember the exchange.

Plain Python over the knowledge core and the store; the Slack listeners call it.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from retrieval.answer import Answer
from retrieval.assistant import FrameworkAssistant
from retrieval.conversation import Turn
from retrieval.llm.limits import current_user
from retrieval.text import clean_text

from ..storage.records import ExchangeRecord
from ..storage.store import Store, UnknownRecord
from .ownership import NOT_YOUR_QUESTION, require_owner_or_admin
from .progress_answers import ProgressAnswerer, combined

HISTORY = 5  # earlier exchanges of a thread considered for a follow-up
# Top-level DMs have no threads: questions this recent count as the same conversation.
DM_CONVERSATION = timedelta(minutes=15)


@dataclass(frozen=True)
class Conversation:
    """The earlier turns of a thread (or recent DM), oldest first — each question with the
    ids its answer cited and whether it was answered — and whether the bot has answered in
    that thread."""

    turns: list[Turn]
    bot_answered_in_thread: bool

    @property
    def earlier(self) -> list[str]:
        """The earlier questions, oldest first."""
        return [t.question for t in self.turns]


@dataclass(frozen=True)
class AnsweredQuestion:
    exchange_id: int
    question: str  # as asked
    resolved: str  # as searched (a follow-up joined to the topic it points back to)
    answer: Answer
    private: bool = False  # shows what only the asker may see: in a channel, to them alone


class QuestionService:
    def __init__(
        self,
        assistant: FrameworkAssistant,
        store: Store,
        *,
        admins: Container[str] = frozenset(),
        progress: ProgressAnswerer | None = None,
    ) -> None:
        self.assistant = assistant
        self.store = store
        self.admins = admins  # who may act on anyone's exchange (see .ownership)
        self.progress = progress  # questions about the initiatives' progress (None: none)
        self.framework_hash = assistant.framework.content_hash()

    @property
    def streams(self) -> bool:
        """Whether answers can be handed over as they are written (a chat model writes
        them)."""
        return bool(getattr(self.assistant.composer, "streams", False))

    def conversation(
        self, channel_id: str, thread_ts: str | None, *, now: datetime | None = None
    ) -> Conversation:
        """What the bot said before in this thread (or recent DM): read once per message."""
        if thread_ts:
            exchanges = self.store.thread_exchanges(channel_id, thread_ts)
            return Conversation(_turns(exchanges)[-HISTORY:], bool(exchanges))
        if channel_id.startswith("D"):
            since = (now or datetime.now(UTC)) - DM_CONVERSATION
            exchanges = self.store.recent_exchanges(channel_id, since=since, limit=HISTORY)
            return Conversation(_turns(exchanges)[-HISTORY:], False)
        return Conversation([], False)

    def earlier_questions(
        self, channel_id: str, thread_ts: str | None, *, now: datetime | None = None
    ) -> list[str]:
        return self.conversation(channel_id, thread_ts, now=now).earlier

    def answer(
        self,
        question: str,
        *,
        user_id: str,
        channel_id: str,
        thread_ts: str | None,
        team_id: str | None = None,
        conversation: Conversation | None = None,
        on_text: Callable[[str], object] | None = None,
    ) -> AnsweredQuestion:
        """Answer ``question`` in its conversation (read here unless the caller already did)
        and remember the exchange. ``on_text``: a model-written answer's text as it is
        written (see :meth:`FrameworkAssistant.ask`)."""
        q = clean_text(question)
        if conversation is None:
            conversation = self.conversation(channel_id, thread_ts)
        token = current_user.set(user_id)  # whose budget a model call counts against
        private = False
        try:
            progress = self.progress.answer(q, user_id) if self.progress is not None else None
            if progress is not None:
                resolved: str = q
                answer, private = progress.answer, progress.private
                if progress.framework_question:  # "what does 1.3 say and how is it doing?"
                    answer = combined(self.assistant.ask(progress.framework_question), answer)
            else:
                resolved = self.assistant.standalone(q, conversation.turns)
                answer = self.assistant.ask(
                    resolved or q, asked=q if resolved != q else None, on_text=on_text
                )
        finally:
            current_user.reset(token)
        exchange_id = self.store.record_exchange(
            channel_id=channel_id,
            thread_ts=thread_ts,
            user_id=user_id,
            question=question,
            answer=answer.text,
            answered=answer.answered,
            cited_ids=[c.id for c in answer.citations],
            framework_hash=self.framework_hash,
            team_id=team_id,
        )
        return AnsweredQuestion(exchange_id, question, resolved, answer, private)

    def vote(self, exchange_id: int, user_id: str, helpful: bool) -> None:
        """A Helpful / Not helpful vote on an answer (a later vote of the same user replaces
        theirs); UnknownRecord if the exchange is gone, NotYours (and nothing stored) when
        ``user_id`` did not ask the question and is not an admin: an answer in a channel
        thread carries buttons anyone there can press."""
        exchange = self.store.exchange(exchange_id)
        if exchange is None:
            raise UnknownRecord(f"no exchange with id {exchange_id}")
        require_owner_or_admin(exchange.user_id, user_id, self.admins, NOT_YOUR_QUESTION)
        self.store.record_vote(exchange_id, user_id, helpful)

    def replied(self, exchange_id: int, reply_ts: str) -> None:
        """The answer was posted as ``reply_ts`` (its votes and threads find it by that)."""
        self.store.set_reply_ts(exchange_id, reply_ts)


def _turns(exchanges: Sequence[ExchangeRecord]) -> list[Turn]:
    return [Turn(e.question, tuple(e.cited_ids), e.answered) for e in exchanges]
