"""Answers written by a chat model, exactly as grounded as the offline ones.

:class:`LLMComposer` is an :class:`~retrieval.answer.AnswerComposer`: retrieval stays the
engine's, and the model sees only the retrieved framework elements, delimited as data, with
the question delimited as data too. Its reply must be the JSON of :class:`ModelAnswer`; it is
checked before anyone sees it:

* every cited id must be among the retrieved elements, and an answer must cite something;
* an answer that breaks either rule, or is not that JSON, is sent back once with the problem
  named (a repair); a second failure gives the offline answer;
* the engine's decisions stand: a question the engine declines stays declined (the model is
  not asked), lookups by id, counts and overviews are quoted as the offline composer quotes
  them, and a model that declines what the engine answered gets the offline answer.

A timeout, a provider error, a 429, malformed output, or a reply cut off at its length limit
("truncated": not repaired, a repair would be cut off too) falls back to the offline answer,
and each fallback is reported (``on_fallback(reason)``) for the metrics, as is token usage
(``on_usage``; estimated from the text for a stream that reports none). Nothing here imports
Slack.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable
from pydantic import BaseModel, Field, ValidationError

from framework_data.schema import Framework

from ..answer import Answer, AnswerComposer, OfflineComposer, cite
from ..search import ScoredElement, SearchResult
from .limits import AnswerCache, CallBudget, cache_key, current_user
from .stream import read_partial, releasable
from .task import (
    FallbackReason,
    Truncated,
    as_data,
    content_text,
    cut_off,
    failure,
    fallback_reason,
    find_json,
    misfit,
    redact,
)

log = logging.getLogger(__name__)

MAX_ELEMENTS = 5  # retrieved elements shown to the model


class ModelAnswer(BaseModel):
    """What the model must reply, as JSON."""

    answered: bool = Field(description="false when the elements do not answer the question")
    cited_ids: list[str] = Field(
        default_factory=list, description="ids of the elements the answer relies on"
    )
    text: str = Field(description="the answer for the reader, in plain sentences")


def answer_schema(ids: Sequence[str]) -> dict[str, Any]:
    """The answer's JSON schema with its citations held to ``ids`` (the elements shown, at
    least one): a server that decodes by the schema (llama.cpp, vLLM, Ollama, OpenAI's
    structured outputs) cannot cite anything else, or nothing."""
    schema = ModelAnswer.model_json_schema()
    cited = schema["properties"]["cited_ids"]
    schema["properties"]["cited_ids"] = {
        **cited,
        "items": {"type": "string", "enum": list(ids)},
        "minItems": 1,
        "maxItems": MAX_ELEMENTS,
    }
    # every key, in the order the stream is read in (the ids before the text)
    schema["required"] = ["answered", "cited_ids", "text"]
    return schema


# The ids come before the text: a streamed answer's citations are checked before any of its
# text is shown (retrieval/llm/stream.py).
FORMAT_INSTRUCTIONS = (
    'Reply with JSON only, no other text, with the keys in this order: {"answered": true or '
    'false, "cited_ids": ["<id from the list>", ...], "text": "..."}'
)
CHARS_PER_TOKEN = 4  # a rough count of tokens, for a stream that reports none
TextSink = Callable[[str], object]


@dataclass(frozen=True)
class Usage:
    provider: str
    model: str
    input_tokens: int
    output_tokens: int


class _Rejected(Exception):
    def __init__(self, reason: FallbackReason, problem: str) -> None:
        super().__init__(problem)
        self.reason = reason


class LLMComposer:
    """See the module docstring. ``provider`` and ``model_name`` label the usage reports."""

    streams = True  # compose() takes on_text

    def __init__(
        self,
        model: Runnable[Any, Any],
        prompt: ChatPromptTemplate,
        *,
        timeout: float,
        provider: str = "?",
        model_name: str = "?",
        offline: AnswerComposer | None = None,
        on_fallback: Callable[[FallbackReason], object] = lambda reason: None,
        on_usage: Callable[[Usage], object] = lambda usage: None,
        prompt_version: str = "0",
        cache: AnswerCache | None = None,
        budget: CallBudget | None = None,
        held_to: Callable[[dict[str, Any]], Runnable[Any, Any]] | None = None,
    ) -> None:
        """``cache``: answers repeats without a model call; ``budget``: call limits (over
        them, the offline answer); ``held_to``: the model held to a JSON schema (each
        request's answer_schema), where the provider can hold it."""
        self.model, self.prompt, self.timeout = model, prompt, timeout
        self.held_to = held_to
        self.provider, self.model_name = provider, model_name
        self.offline = offline or OfflineComposer()
        self.on_fallback, self.on_usage = on_fallback, on_usage
        self.prompt_version = prompt_version
        self.cache = cache if cache is not None else AnswerCache()
        self.budget = budget
        self._calls = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fwbot-llm")

    def compose(
        self, result: SearchResult, framework: Framework, on_text: TextSink | None = None
    ) -> Answer:
        """The answer; with ``on_text``, the model's reply is streamed and its text handed to
        ``on_text`` piece by piece as it arrives, once its citations check out. The answer
        returned is the one to show in the end: when it is not the text handed over (a reply
        rejected half-way, a timeout), the caller replaces what it showed."""
        offline = self.offline.compose(result, framework)
        if not offline.answered or result.structural is not None:
            return offline  # the engine's declines and exact lookups stand
        shown = result.results[:MAX_ELEMENTS]
        key = cache_key(
            result.asked or result.query,
            framework.content_hash(),
            f"{self.provider}:{self.model_name}",
            self.prompt_version,
        )
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        refused = self.budget.refusal(current_user.get()) if self.budget is not None else None
        if refused is not None:
            held = self._fall_back("over_limit", offline, f"the {refused.limit} model call limit")
            return held.model_copy(update={"text": f"{offline.text}\n\n{refused.note()}"})
        answer = self._written(result, framework, shown, offline, on_text)
        if answer.composer == "model":
            self.cache.put(key, answer)
        return answer

    def _written(
        self,
        result: SearchResult,
        framework: Framework,
        shown: Sequence[ScoredElement],
        offline: Answer,
        on_text: TextSink | None = None,
    ) -> Answer:
        messages = self.prompt.format_messages(
            framework_title=framework.title,
            elements=_elements(shown),
            question=as_data(result.asked or result.query),
            format_instructions=FORMAT_INSTRUCTIONS,
        )
        ids = [s.element.id for s in shown]
        model = self.held_to(answer_schema(ids)) if self.held_to is not None else self.model
        try:
            if on_text is None:
                reply = self._ask(messages, model)
            else:
                reply = self._ask_streaming(messages, set(ids), on_text, model)
            try:
                return self._checked(reply, shown)
            except _Rejected as first:
                log.info("model answer rejected (%s); asking once more", first)
                repair = [
                    *messages,
                    AIMessage(content=reply),
                    HumanMessage(
                        content=f"That reply cannot be used: {first}. {FORMAT_INSTRUCTIONS}"
                    ),
                ]
                return self._checked(self._ask(repair, model), shown)
        except _Rejected as exc:
            return self._fall_back(exc.reason, offline, str(exc))
        except FutureTimeout:
            return self._fall_back("timeout", offline, f"no answer within {self.timeout:.0f} s")
        except Exception as exc:  # the provider's own errors: never shown to the user
            return self._fall_back(fallback_reason(exc), offline, failure(exc))

    # ---- the call --------------------------------------------------------------------------

    def _ask(self, messages: Sequence[BaseMessage], model: Runnable[Any, Any]) -> str:
        future = self._calls.submit(model.invoke, list(messages))
        reply = future.result(timeout=self.timeout)
        self._report_usage(reply)
        if cut_off(reply):
            raise Truncated("the reply was cut off at its length limit")
        content = reply.content
        return content if isinstance(content, str) else json.dumps(content)

    def _ask_streaming(
        self,
        messages: Sequence[BaseMessage],
        allowed: set[str],
        on_text: TextSink,
        model: Runnable[Any, Any],
    ) -> str:
        """The model's reply, streamed: its text goes to ``on_text`` as it arrives, once the
        reply says it answers and cites only ``allowed`` ids (:mod:`.stream`). Nothing is
        handed over after the deadline: the caller is giving the fallback by then."""
        late = threading.Event()

        def run() -> tuple[str, Any]:
            reply, total, shown = "", None, 0
            for chunk in model.stream(list(messages)):
                if late.is_set():
                    break
                total = chunk if total is None else total + chunk
                reply += content_text(chunk.content)
                ready = releasable(read_partial(reply), allowed)
                if len(ready) > shown and not late.is_set():
                    on_text(ready[shown:])
                    shown = len(ready)
            return reply, total

        future = self._calls.submit(run)
        try:
            reply, total = future.result(timeout=self.timeout)
        except FutureTimeout:
            late.set()
            raise
        self._report_usage(total, estimate=(messages, reply))
        if cut_off(total):
            raise Truncated("the streamed reply was cut off at its length limit")
        return reply

    def _report_usage(
        self, reply: Any, estimate: tuple[Sequence[BaseMessage], str] | None = None
    ) -> None:
        """The tokens ``reply`` used, as the server reports them; with ``estimate`` (the
        messages sent, the text streamed back), counted from the text when it reports none
        (llama.cpp's server streams no usage)."""
        usage = getattr(reply, "usage_metadata", None) or {}
        if not usage and estimate is not None:
            messages, text = estimate
            # estimated, not counted: about CHARS_PER_TOKEN characters a token
            sent = sum(len(content_text(m.content)) for m in messages)
            usage = {
                "input_tokens": math.ceil(sent / CHARS_PER_TOKEN),
                "output_tokens": math.ceil(len(text) / CHARS_PER_TOKEN),
            }
        if usage:
            self.on_usage(
                Usage(
                    self.provider,
                    self.model_name,
                    int(usage.get("input_tokens", 0)),
                    int(usage.get("output_tokens", 0)),
                )
            )

    def _checked(self, reply: str, shown: Sequence[ScoredElement]) -> Answer:
        parsed = _parse(reply)
        by_id = {s.element.id: s for s in shown}
        unknown = [i for i in parsed.cited_ids if i not in by_id]
        if unknown:
            raise _Rejected(
                "unknown_id",
                f"it cites {', '.join(unknown)}, which are not among "
                f"the elements given ({', '.join(by_id)})",
            )
        if not parsed.answered:
            raise _Rejected("declined", "the model declined a question the framework covers")
        if not parsed.cited_ids:
            raise _Rejected("no_citation", "it answers but cites no element")
        if not parsed.text.strip():
            raise _Rejected("malformed", "its text is empty")
        cited = list(dict.fromkeys(parsed.cited_ids))
        # The engine's best element is the answer's first citation (its calibrated
        # probability is what the reader is shown): the model phrases the answer and may
        # cite more, it does not overrule the ranking.
        best = shown[0]
        if best.element.id not in cited:
            raise _Rejected(
                "left_out",
                f"it leaves out {best.element.id}, the element most likely to answer the "
                f"question (probability {best.score:.2f})",
            )
        cited.sort(key=lambda i: -by_id[i].score)  # best first, as every answer's citations
        return Answer(
            answered=True,
            text=parsed.text.strip(),
            citations=[cite(by_id[i]) for i in cited],
            composer="model",
        )

    def _fall_back(self, reason: FallbackReason, offline: Answer, detail: str) -> Answer:
        detail = redact(detail)
        log.warning(
            "model answer not used (%s): %s; the offline answer is given", reason, detail[:200]
        )
        self.on_fallback(reason)
        return offline.model_copy(update={"fallback": reason})


def _parse(reply: str) -> ModelAnswer:
    found = find_json(reply or "")
    if not found:
        raise _Rejected("malformed", "it is not the JSON asked for")
    try:
        return ModelAnswer.model_validate_json(found.group(0))
    except ValidationError as exc:
        raise _Rejected("malformed", misfit(exc)) from None


def _elements(shown: Sequence[ScoredElement]) -> str:
    return "\n".join(
        f'<element id="{s.element.id}">{as_data(s.element.text)}</element>' for s in shown
    )
