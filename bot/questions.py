"""Answering a question asked in Slack: resolve follow-ups, answer, remember the exchange.

Plain Python over the knowledge core and the store; the Slack listeners call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from retrieval.answer import Answer
from retrieval.assistant import FrameworkAssistant
from retrieval.followup import resolve_followup

from .storage.store import Store

HISTORY = 5  # earlier questions of a thread considered for a follow-up
# Top-level DMs have no threads: questions this recent count as the same conversation.
DM_CONVERSATION = timedelta(minutes=15)


@dataclass(frozen=True)
class AnsweredQuestion:
    exchange_id: int
    question: str  # as asked
    resolved: str  # as searched (a follow-up joined to the topic it points back to)
    answer: Answer


class QuestionService:
    def __init__(self, assistant: FrameworkAssistant, store: Store) -> None:
        self.assistant = assistant
        self.store = store
        self.framework_hash = assistant.framework.content_hash()

    def earlier_questions(self, channel_id: str, thread_ts: str | None, *,
                          now: datetime | None = None) -> list[str]:
        if thread_ts:
            exchanges = self.store.thread_exchanges(channel_id, thread_ts)
        elif channel_id.startswith("D"):
            since = (now or datetime.now(UTC)) - DM_CONVERSATION
            exchanges = self.store.recent_exchanges(channel_id, since=since, limit=HISTORY)
        else:
            return []
        return [e.question for e in exchanges][-HISTORY:]

    def is_followup_thread(self, channel_id: str, thread_ts: str | None) -> bool:
        """Whether the bot has answered in this thread before."""
        return bool(thread_ts) and bool(self.store.thread_exchanges(channel_id, thread_ts))

    def answer(
        self, question: str, *, user_id: str, channel_id: str, thread_ts: str | None,
        team_id: str | None = None,
    ) -> AnsweredQuestion:
        earlier = self.earlier_questions(channel_id, thread_ts)
        resolved = resolve_followup(question, earlier, self.assistant.framework)
        answer = self.assistant.ask(resolved or question)
        exchange_id = self.store.record_exchange(
            channel_id=channel_id, thread_ts=thread_ts, user_id=user_id, question=question,
            answer=answer.text, answered=answer.answered,
            cited_ids=[c.id for c in answer.citations], framework_hash=self.framework_hash,
            team_id=team_id,
        )
        return AnsweredQuestion(exchange_id, question, resolved, answer)
