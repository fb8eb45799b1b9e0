"""Chat-model providers: which extra and key each needs, the names its client takes for a
deadline and a reply length, how it is held to replying JSON, and the model built from a
``provider:model`` spec through LangChain's ``init_chat_model``.

To add a provider LangChain supports: one row in :data:`PROVIDERS` (and, if its client names
the deadline or reply length differently, a branch in :func:`client_kwargs`), and an extra in
pyproject.toml."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.runnables import Runnable

# provider -> (the extra to install, the key variable its client reads, if any)
PROVIDERS: dict[str, tuple[str, str | None]] = {
    "openai": ("openai", "OPENAI_API_KEY"),
    "azure_openai": ("openai", "AZURE_OPENAI_API_KEY"),
    "anthropic": ("anthropic", "ANTHROPIC_API_KEY"),
    "ollama": ("ollama", None),
}


# How a reply is held to JSON: by the reply's schema (grammar-constrained decoding on llama.cpp,
# Ollama and vLLM; structured outputs on OpenAI), to any JSON object, or not at all.
JsonMode = Literal["schema", "object", "off"]


class ModelUnavailable(RuntimeError):
    """The model cannot be built: a package, a key or a setting is missing (one line)."""


@dataclass(frozen=True)
class ModelOptions:
    """What every provider's client is given, in fwbot's own names."""

    timeout: float
    max_tokens: int
    temperature: float
    base_url: str | None = None


def provider_and_model(spec: str) -> tuple[str, str]:
    provider, _, model = spec.partition(":")
    return provider, model


def build_chat_model(spec: str, options: ModelOptions) -> BaseChatModel:
    """The model ``spec`` (``provider:model``) names, or ModelUnavailable saying what is
    missing."""
    provider, model = provider_and_model(spec)
    extra, key = PROVIDERS.get(provider, (provider, None))
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:
        raise ModelUnavailable(
            f"FWBOT_LLM={spec} needs LangChain's model support: pip install 'fwbot[{extra}]'"
        ) from None
    kwargs = client_kwargs(provider, options)
    if options.base_url:
        kwargs["base_url"] = options.base_url
    try:
        return init_chat_model(model, model_provider=provider, **kwargs)
    except ImportError as exc:
        package = _package_named(str(exc)) or f"langchain-{provider.replace('_', '-')}"
        raise ModelUnavailable(
            f"FWBOT_LLM={spec} needs the package {package}: pip install 'fwbot[{extra}]'"
        ) from None
    except ValueError as exc:
        raise ModelUnavailable(f"FWBOT_LLM={spec}: {first_line(exc)}") from None
    except Exception as exc:  # the provider's client refused its settings (a missing key)
        hint = f"; set {key}" if key else ""
        raise ModelUnavailable(f"FWBOT_LLM={spec}: {first_line(exc)}{hint}") from None


def client_kwargs(provider: str, options: ModelOptions) -> dict[str, Any]:
    """The deadline, reply length, temperature and retries in the names ``provider``'s chat
    model takes. ChatOllama has no ``timeout``, ``max_tokens`` or ``max_retries`` (it would
    drop them unused): its reply length is ``num_predict``, its deadline is its HTTP
    client's, and that client does not retry."""
    if provider == "ollama":
        return {
            "num_predict": options.max_tokens,
            "temperature": options.temperature,
            "client_kwargs": {"timeout": options.timeout},
        }
    kwargs: dict[str, Any] = {
        "timeout": options.timeout,
        "max_tokens": options.max_tokens,
        "temperature": options.temperature,
        "max_retries": 0,
    }
    if provider in ("openai", "azure_openai"):
        # Streamed answers report their tokens too (ChatOpenAI asks for that by default only
        # without a base URL): the token metrics and the bill must not miss them.
        kwargs["stream_usage"] = True
    if compatible_server(provider, options.base_url):
        # ChatOpenAI sends the limit as ``max_completion_tokens``, which OpenAI reads and
        # llama.cpp's server ignores (replies ran to its context length): a compatible server
        # (llama.cpp, vLLM, Ollama's /v1, LiteLLM) is sent ``max_tokens`` as well.
        kwargs["extra_body"] = {"max_tokens": options.max_tokens}
    return kwargs


def compatible_server(provider: str, base_url: str | None) -> bool:
    """An OpenAI-compatible server that is not OpenAI's own (a base URL elsewhere)."""
    if provider != "openai" or not base_url:
        return False
    return (urlsplit(base_url).hostname or "") != "api.openai.com"


def json_mode(
    model: BaseChatModel,
    provider: str,
    *,
    mode: JsonMode = "schema",
    schema: dict[str, Any] | None = None,
    base_url: str | None = None,
) -> Runnable[Any, Any]:
    """``model`` held to replying JSON by its provider, in the form each server reads:
    with a ``schema`` (``mode="schema"``), OpenAI's ``json_schema`` response format, a
    compatible server's ``json_object`` with ``schema`` (llama.cpp's server answers
    ``json_schema`` with HTTP 500, and decodes ``schema`` by grammar), Ollama's ``format``
    schema; ``mode="object"``: any JSON object; other providers' models as they are (the
    reply is checked either way)."""
    if mode == "off":
        return model
    with_schema = mode == "schema" and schema is not None
    if provider == "ollama":
        return model.bind(format=schema if with_schema else "json")
    if provider not in ("openai", "azure_openai"):
        return model
    if not with_schema:
        return model.bind(response_format={"type": "json_object"})
    if compatible_server(provider, base_url):
        return model.bind(response_format={"type": "json_object", "schema": schema})
    named = {"name": "reply", "schema": schema, "strict": False}
    return model.bind(response_format={"type": "json_schema", "json_schema": named})


def _package_named(message: str) -> str | None:
    found = re.search(r"(langchain[-_][a-z_-]+)", message)
    return found.group(1).replace("_", "-") if found else None


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
