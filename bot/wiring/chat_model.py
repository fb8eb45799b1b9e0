"""The optional chat model: built from FWBOT_LLM through LangChain's ``init_chat_model``,
checked with one tiny request (``fwbot llm check``), and turned into the answer composer.

Without FWBOT_LLM nothing here is imported and the offline composer answers. A missing
provider package or key is one line naming the package or variable (UnusableSetting)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from retrieval.llm.providers import (
    ModelOptions,
    ModelUnavailable,
    build_chat_model,
    first_line,
    json_mode,
    provider_and_model,
)
from retrieval.llm.task import content_text, redact, tried

from .settings import Settings, UnusableSetting

PROBE = "Reply with the single word: ok"
T = TypeVar("T", bound="ModelTask")  # what `fwbot llm check` sends

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel

    from retrieval.llm.composer import LLMComposer
    from retrieval.llm.progress_phrase import ProgressPhraser
    from retrieval.llm.review import ModelReviewer
    from retrieval.llm.rewrite import ModelRewriter
    from retrieval.llm.task import ModelTask


def chat_model(settings: Settings) -> BaseChatModel:
    """The model FWBOT_LLM names, or UnusableSetting saying what is missing."""
    assert settings.llm.model is not None
    options = ModelOptions(
        timeout=settings.llm.timeout,
        max_tokens=settings.llm.max_tokens,
        temperature=settings.llm.temperature,
        base_url=settings.llm.base_url,
    )
    try:
        return build_chat_model(settings.llm.model, options)
    except ModelUnavailable as exc:
        raise UnusableSetting(str(exc)) from None


@dataclass(frozen=True)
class ModelParts:
    composer: LLMComposer
    rewriter: ModelRewriter
    reviewer: ModelReviewer
    phraser: ProgressPhraser


def model_parts(
    settings: Settings, framework_title: str, *, on_fallback: Any, on_usage: Any
) -> ModelParts:
    """The answer composer, the question rewriter, the /align reviewer and the progress
    answers' phraser, sharing one model."""
    from retrieval.llm.composer import LLMComposer
    from retrieval.llm.limits import CallBudget
    from retrieval.llm.progress_phrase import ProgressPhraser
    from retrieval.llm.prompts import chat_prompt, prompt_text, prompt_version
    from retrieval.llm.review import ModelReviewer
    from retrieval.llm.rewrite import ModelRewriter

    provider, name = provider_and_model(settings.llm.model or "")
    model = chat_model(settings)
    # Answers and reviews are JSON: where the provider can hold the model to their schema
    # (or to JSON at all), it does.
    from retrieval.llm.composer import ModelAnswer
    from retrieval.llm.review import Review

    def held_to(schema: dict[str, Any]) -> Any:
        return json_mode(
            model,
            provider,
            mode=settings.llm.json_mode,
            schema=schema,
            base_url=settings.llm.base_url,
        )

    answer_model, review_model = (
        held_to(ModelAnswer.model_json_schema()),
        held_to(Review.model_json_schema()),
    )
    folder = settings.llm.prompts_dir
    # One budget for every kind of call: answers, rewrites and /align reviews.
    budget = CallBudget(
        per_user=settings.llm.calls_per_user_hour, in_all=settings.llm.calls_per_hour
    )
    answer_text = prompt_text("answer", folder)
    composer = LLMComposer(
        answer_model,
        chat_prompt(answer_text),
        timeout=settings.llm.timeout,
        provider=provider,
        model_name=name,
        on_fallback=on_fallback,
        on_usage=on_usage,
        prompt_version=prompt_version(answer_text),
        budget=budget,
        held_to=held_to,
    )

    def task(kind: type[T], prompt: str, with_model: Any = model) -> T:
        """A model task with its packaged (or FWBOT_PROMPTS_DIR) prompt, sharing the
        deadline, the fallback counter, the call budget and the schema binding."""
        return kind(
            with_model,
            chat_prompt(prompt_text(prompt, folder)),
            timeout=settings.llm.timeout,
            framework_title=framework_title,
            on_fallback=on_fallback,
            budget=budget,
            held_to=held_to,
        )

    return ModelParts(
        composer,
        task(ModelRewriter, "rewrite"),
        task(ModelReviewer, "align", review_model),
        task(ProgressPhraser, "progress"),
    )


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    line: str


def check(settings: Settings) -> CheckResult:
    """One tiny request: the model, its latency and token usage; or why it cannot be used —
    a failed request (naming the URL it tried: FWBOT_LLM_BASE_URL when set, else the one the
    client's error names), or an empty reply (a server that replies empty would give every
    answer as a fallback)."""
    if not settings.llm.model:
        return CheckResult(
            False,
            "no model configured (FWBOT_LLM is unset): answers come from the offline composer",
        )
    spec = settings.llm.model
    model = chat_model(settings)
    started = time.perf_counter()
    try:
        reply = model.invoke(PROBE)
    except Exception as exc:
        url = settings.llm.base_url or tried(exc) or "the provider's default URL"
        return CheckResult(
            False,
            redact(f"{spec}: the request to {url} failed: {type(exc).__name__}: {first_line(exc)}"),
        )
    ms = (time.perf_counter() - started) * 1000
    usage = getattr(reply, "usage_metadata", None) or {}
    tokens = (
        f"{usage.get('input_tokens', '?')} in, {usage.get('output_tokens', '?')} out"
        if usage
        else "usage not reported"
    )
    text = content_text(reply.content).strip()
    if not text:
        return CheckResult(
            False, f"{spec}: the model answered an empty reply in {ms:.0f} ms ({tokens})"
        )
    return CheckResult(True, f"{spec}: answered {text[:40].strip()!r} in {ms:.0f} ms ({tokens})")
