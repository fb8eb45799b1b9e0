"""The optional chat model: built from FWBOT_LLM through LangChain's ``init_chat_model``,
checked with one tiny request (``fwbot llm check``), and turned into the answer composer.

Without FWBOT_LLM nothing here is imported and the offline composer answers. A missing
provider package or key is one line naming the package or variable (UnusableSetting)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .settings import Settings, UnusableSetting

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.runnables import Runnable

    from retrieval.llm_align import ModelReviewer
    from retrieval.llm_composer import LLMComposer
    from retrieval.llm_rewrite import ModelRewriter

# provider -> (the extra to install, the key variable its client reads, if any)
PROVIDERS: dict[str, tuple[str, str | None]] = {
    "openai": ("openai", "OPENAI_API_KEY"),
    "azure_openai": ("openai", "AZURE_OPENAI_API_KEY"),
    "anthropic": ("anthropic", "ANTHROPIC_API_KEY"),
    "ollama": ("ollama", None),
}


def provider_and_model(spec: str) -> tuple[str, str]:
    provider, _, model = spec.partition(":")
    return provider, model


def chat_model(settings: Settings) -> BaseChatModel:
    """The model FWBOT_LLM names, or UnusableSetting saying what is missing."""
    assert settings.llm is not None
    provider, model = provider_and_model(settings.llm)
    extra, key = PROVIDERS.get(provider, (provider, None))
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:
        raise UnusableSetting(
            f"FWBOT_LLM={settings.llm} needs LangChain's model support: "
            f"pip install 'fwbot[{extra}]'"
        ) from None
    kwargs = _client_kwargs(provider, settings)
    if settings.llm_base_url:
        kwargs["base_url"] = settings.llm_base_url
    try:
        return init_chat_model(model, model_provider=provider, **kwargs)
    except ImportError as exc:
        package = _package_named(str(exc)) or f"langchain-{provider.replace('_', '-')}"
        raise UnusableSetting(
            f"FWBOT_LLM={settings.llm} needs the package {package}: pip install 'fwbot[{extra}]'"
        ) from None
    except ValueError as exc:
        raise UnusableSetting(f"FWBOT_LLM={settings.llm}: {_first_line(exc)}") from None
    except Exception as exc:  # the provider's client refused its settings (a missing key)
        hint = f"; set {key}" if key else ""
        raise UnusableSetting(f"FWBOT_LLM={settings.llm}: {_first_line(exc)}{hint}") from None


def _client_kwargs(provider: str, settings: Settings) -> dict[str, Any]:
    """The deadline, reply length, temperature and retries in the names ``provider``'s chat
    model takes. ChatOllama has no ``timeout``, ``max_tokens`` or ``max_retries`` (it would
    drop them unused): its reply length is ``num_predict``, its deadline is its HTTP
    client's, and that client does not retry."""
    if provider == "ollama":
        return {
            "num_predict": settings.llm_max_tokens,
            "temperature": settings.llm_temperature,
            "client_kwargs": {"timeout": settings.llm_timeout},
        }
    kwargs: dict[str, Any] = {
        "timeout": settings.llm_timeout,
        "max_tokens": settings.llm_max_tokens,
        "temperature": settings.llm_temperature,
        "max_retries": 0,
    }
    if provider in ("openai", "azure_openai"):
        # Streamed answers report their tokens too (ChatOpenAI asks for that by default only
        # without a base URL): the token metrics and the bill must not miss them.
        kwargs["stream_usage"] = True
    return kwargs


def model_parts(
    settings: Settings, framework_title: str, *, on_fallback: Any, on_usage: Any
) -> tuple[LLMComposer, ModelRewriter, ModelReviewer]:
    """The answer composer, the question rewriter and the /align reviewer, sharing one
    model."""
    from prompts import prompt_text
    from retrieval.llm_align import ModelReviewer
    from retrieval.llm_composer import LLMComposer, answer_prompt, prompt_version
    from retrieval.llm_limits import CallBudget
    from retrieval.llm_rewrite import ModelRewriter

    provider, name = provider_and_model(settings.llm or "")
    model = chat_model(settings)
    # Answers and reviews are JSON: where the provider can hold the model to that, it does.
    json_model = json_mode(model, provider) if settings.llm_json_mode else model
    folder = settings.prompts_dir
    # One budget for every kind of call: answers, rewrites and /align reviews.
    budget = CallBudget(
        per_user=settings.llm_calls_per_user_hour, in_all=settings.llm_calls_per_hour
    )
    answer_text = prompt_text("answer", folder)
    composer = LLMComposer(
        json_model,
        answer_prompt(answer_text),
        timeout=settings.llm_timeout,
        provider=provider,
        model_name=name,
        on_fallback=on_fallback,
        on_usage=on_usage,
        prompt_version=prompt_version(answer_text),
        budget=budget,
    )
    rewriter = ModelRewriter(
        model,
        answer_prompt(prompt_text("rewrite", folder)),
        timeout=settings.llm_timeout,
        framework_title=framework_title,
        on_fallback=on_fallback,
        budget=budget,
    )
    reviewer = ModelReviewer(
        json_model,
        answer_prompt(prompt_text("align", folder)),
        timeout=settings.llm_timeout,
        framework_title=framework_title,
        on_fallback=on_fallback,
        budget=budget,
    )
    return composer, rewriter, reviewer


def json_mode(model: BaseChatModel, provider: str) -> Runnable[Any, Any]:
    """``model`` held to replying JSON by its provider (OpenAI's ``response_format``
    json_object, Ollama's ``format``); other providers' models as they are (the reply is
    checked either way)."""
    if provider in ("openai", "azure_openai"):
        return model.bind(response_format={"type": "json_object"})
    if provider == "ollama":
        return model.bind(format="json")
    return model


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    line: str


def check(settings: Settings) -> CheckResult:
    """One tiny request: the model, its latency and token usage, or why it failed."""
    if not settings.llm:
        return CheckResult(
            False,
            "no model configured (FWBOT_LLM is unset): answers come from the offline composer",
        )
    model = chat_model(settings)
    started = time.perf_counter()
    try:
        reply = model.invoke("Reply with the single word: ok")
    except Exception as exc:
        return CheckResult(
            False, f"{settings.llm}: the request failed: {type(exc).__name__}: {_first_line(exc)}"
        )
    ms = (time.perf_counter() - started) * 1000
    usage = getattr(reply, "usage_metadata", None) or {}
    tokens = (
        f"{usage.get('input_tokens', '?')} in, {usage.get('output_tokens', '?')} out"
        if usage
        else "usage not reported"
    )
    text = str(reply.content)[:40].strip()
    return CheckResult(True, f"{settings.llm}: answered {text!r} in {ms:.0f} ms ({tokens})")


def _package_named(message: str) -> str | None:
    found = re.search(r"(langchain[-_][a-z_-]+)", message)
    return found.group(1).replace("_", "-") if found else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
