"""FWBOT_LLM: unset is the offline path; a mistake is one line naming what to do; a model
built by LangChain's init_chat_model writes the answers, with fallbacks and tokens counted.
No provider is called: ``langchain.chat_models`` is replaced by a stand-in here (the real
package is an optional extra)."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from bot.wiring.chat_model import chat_model, check
from bot.wiring.composition import Services
from bot.wiring.settings import Settings, UnusableSetting
from retrieval.answer import OfflineComposer
from retrieval.llm.composer import LLMComposer
from tests.conftest import run_fwbot_here

QUESTION = "Which objective is about training police officers?"


def _settings(**env: str) -> Settings:
    return Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})


@pytest.fixture
def init_chat_model(monkeypatch) -> Iterator[list[dict[str, Any]]]:
    """A stand-in ``langchain.chat_models`` whose init_chat_model records its arguments and
    returns a scripted fake model."""
    calls: list[dict[str, Any]] = []
    replies = [
        AIMessage(
            content=json.dumps({"answered": True, "text": "It is 2.3.", "cited_ids": ["2.3"]}),
            usage_metadata={"input_tokens": 120, "output_tokens": 9, "total_tokens": 129},
        )
    ] * 5

    def init(model: str, *, model_provider: str, **kwargs: Any) -> GenericFakeChatModel:
        calls.append({"model": model, "provider": model_provider, **kwargs})
        if model_provider == "missing":
            raise ImportError(
                "Unable to import langchain_missing. Please install with "
                "`pip install -U langchain-missing`"
            )
        return GenericFakeChatModel(messages=iter(replies))

    package = types.ModuleType("langchain")
    module = types.ModuleType("langchain.chat_models")
    module.init_chat_model = init  # type: ignore[attr-defined]
    package.chat_models = module  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "langchain", package)
    monkeypatch.setitem(sys.modules, "langchain.chat_models", module)
    yield calls


def test_without_fwbot_llm_the_offline_composer_answers(assistant) -> None:
    services = Services(_settings())
    services.searcher = assistant.searcher  # type: ignore[misc]  # the session's index
    assert isinstance(services.assistant.composer, OfflineComposer)
    result = check(_settings())
    assert not result.ok and "FWBOT_LLM is unset" in result.line


@pytest.mark.parametrize("spec", ["gpt-4o", "openai:", ":gpt-4o", "openai: gpt 4o"])
def test_a_malformed_fwbot_llm_says_the_form(spec: str) -> None:
    with pytest.raises(ValueError, match="use provider:model"):
        _settings(FWBOT_LLM=spec)


def test_a_missing_langchain_or_provider_package_is_named(monkeypatch, init_chat_model) -> None:
    with pytest.raises(
        UnusableSetting,
        match=r"langchain-missing: pip install "
        r"'fwbot\[missing\]'",
    ):
        chat_model(_settings(FWBOT_LLM="missing:some-model"))
    monkeypatch.setitem(sys.modules, "langchain.chat_models", None)  # not installed
    with pytest.raises(UnusableSetting, match=r"pip install 'fwbot\[openai\]'"):
        chat_model(_settings(FWBOT_LLM="openai:gpt-4o-mini"))


def test_the_settings_reach_init_chat_model(init_chat_model) -> None:
    chat_model(
        _settings(
            FWBOT_LLM="openai:gpt-4o-mini",
            FWBOT_LLM_BASE_URL="http://127.0.0.1:9",
            FWBOT_LLM_TIMEOUT="7",
            FWBOT_LLM_MAX_TOKENS="300",
        )
    )
    assert init_chat_model == [
        {
            "model": "gpt-4o-mini",
            "provider": "openai",
            "base_url": "http://127.0.0.1:9",
            "timeout": 7.0,
            "max_tokens": 300,
            "temperature": 0.0,
            "max_retries": 0,
            "stream_usage": True,
            "extra_body": {"max_tokens": 300},  # what a compatible server reads
        }
    ]


def test_llm_check_reports_the_model_latency_and_tokens(init_chat_model) -> None:
    result = check(_settings(FWBOT_LLM="openai:gpt-4o-mini"))
    assert result.ok
    assert result.line.startswith("openai:gpt-4o-mini: answered")
    assert "120 in, 9 out" in result.line and " ms " in result.line


def test_with_a_model_services_answer_through_it_and_count_tokens(
    assistant, init_chat_model
) -> None:
    services = Services(_settings(FWBOT_LLM="openai:gpt-4o-mini"))
    services.searcher = assistant.searcher  # type: ignore[misc]
    llm_assistant = services.assistant
    assert isinstance(llm_assistant.composer, LLMComposer)
    answer = llm_assistant.ask(QUESTION)
    assert answer.text == "It is 2.3." and [c.id for c in answer.citations] == ["2.3"]
    metrics = services.metrics
    assert metrics.llm_tokens.labels("openai", "gpt-4o-mini", "input")._value.get() == 120
    assert metrics.llm_tokens.labels("openai", "gpt-4o-mini", "output")._value.get() == 9


def test_fwbot_llm_check_on_the_command_line(fwbot_env: dict[str, str]) -> None:
    unset = run_fwbot_here("llm", "check", env=fwbot_env)
    assert unset.returncode == 1 and b"FWBOT_LLM is unset" in unset.stderr
    bad = run_fwbot_here("llm", "check", env={**fwbot_env, "FWBOT_LLM": "nonsense"})
    assert bad.returncode == 1
    assert bad.stderr.decode().strip() == (
        "fwbot: FWBOT_LLM: use provider:model, e.g. openai:gpt-4o-mini or ollama:llama3.1"
    )
