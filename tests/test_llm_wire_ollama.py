"""The model path over the wire with Ollama: the real ``langchain-ollama`` client (built by
LangChain's init_chat_model from FWBOT_LLM=ollama:...) against an Ollama-compatible server on
loopback (tests/ollama_server.py). Good answers, a server error, a model not pulled, a slow
model and ``fwbot llm check``; no model is run."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

pytest.importorskip("langchain_ollama", reason="the ollama extra is part of the dev install")

from langchain_ollama import ChatOllama

from bot.wiring.chat_model import chat_model, check
from bot.wiring.composition import Services
from bot.wiring.settings import Settings
from tests.model_replies import as_offline, assert_held_to_the_elements_shown, streamed
from tests.ollama_server import OUTPUT_TOKENS, PROMPT_TOKENS, FakeOllama

QUESTION = "Which objective is about training police officers?"
GOOD = json.dumps({"answered": True, "text": "Training is 2.3.", "cited_ids": ["2.3"]})


@pytest.fixture
def server() -> Iterator[FakeOllama]:
    with FakeOllama() as fake:
        yield fake


def _settings(server: FakeOllama, timeout: float = 5.0) -> Settings:
    return Settings(
        _env_file=None,
        fwbot_llm="ollama:llama3.1",
        fwbot_llm_base_url=server.base_url,
        fwbot_llm_timeout=str(timeout),
    )


def _services(assistant, server: FakeOllama, timeout: float = 5.0) -> Services:
    services = Services(_settings(server, timeout))
    services.searcher = assistant.searcher  # the session's index
    return services


def test_an_answer_from_the_wire(assistant, server) -> None:
    server.mode = ("ok", GOOD)
    services = _services(assistant, server)
    answer = services.assistant.ask(QUESTION)
    assert answer.text == "Training is 2.3." and [c.id for c in answer.citations] == ["2.3"]
    assert server.calls == ["POST /api/chat"]  # nothing else, not even at start
    [request] = server.requests
    assert request["model"] == "llama3.1" and request["stream"] is True
    # FWBOT_LLM_MAX_TOKENS and FWBOT_LLM_TEMPERATURE, in Ollama's names
    assert request["options"] == {"num_predict": 600, "temperature": 0.0}
    # held to the answer's schema, its citations to the elements shown
    assert_held_to_the_elements_shown(request["format"], request["messages"][-1]["content"])
    assert QUESTION in request["messages"][-1]["content"]
    tokens = services.metrics.llm_tokens
    assert tokens.labels("ollama", "llama3.1", "input")._value.get() == PROMPT_TOKENS
    assert tokens.labels("ollama", "llama3.1", "output")._value.get() == OUTPUT_TOKENS


def test_a_streamed_reply_comes_in_pieces_with_its_usage(server) -> None:
    server.mode = ("ok", GOOD)
    texts, usage = streamed(chat_model(_settings(server)), "Which objective?")
    assert len(texts) >= 4 and "".join(texts) == GOOD
    assert usage is not None
    assert (usage["input_tokens"], usage["output_tokens"]) == (PROMPT_TOKENS, OUTPUT_TOKENS)


@pytest.mark.parametrize("mode", [("500", None), ("404", None)], ids=["500", "not-pulled"])
def test_server_errors_give_the_offline_answer(assistant, server, mode) -> None:
    server.mode = mode
    services = _services(assistant, server)
    answer = services.assistant.ask(QUESTION)
    assert as_offline(answer) == assistant.ask(QUESTION)
    assert services.metrics.llm_fallbacks.labels("error")._value.get() == 1
    assert len(server.requests) == 1  # the client does not retry by itself


@pytest.mark.slow  # waits out a model timeout
def test_a_slow_model_is_cut_off_at_the_timeout(assistant, server) -> None:
    server.mode = ("slow", 3.0)
    services = _services(assistant, server, timeout=1.0)
    started = time.monotonic()
    answer = services.assistant.ask(QUESTION)
    took = time.monotonic() - started
    assert as_offline(answer) == assistant.ask(QUESTION)
    assert took < 1.0 + 0.2 + 0.5, took  # the timeout, and the engine's own time
    assert services.metrics.llm_fallbacks.labels("timeout")._value.get() == 1


def test_llm_check_over_the_wire(server) -> None:
    server.mode = ("ok", "ok")
    settings = _settings(server)
    result = check(settings)
    assert result.ok and "'ok'" in result.line
    assert f"{PROMPT_TOKENS} in, {OUTPUT_TOKENS} out" in result.line
    server.mode = ("500", None)
    failed = check(settings)
    assert not failed.ok and f"the request to {server.base_url} failed" in failed.line
    assert "500" in failed.line
    server.mode = ("404", None)
    missing = check(settings)
    assert not missing.ok and "model 'llama3.1' not found" in missing.line


@pytest.mark.slow  # waits out a model timeout
def test_llm_check_gives_up_at_the_timeout(server) -> None:
    """``check`` has no deadline of its own: FWBOT_LLM_TIMEOUT must reach Ollama's client."""
    server.mode = ("slow", 3.0)
    started = time.monotonic()
    result = check(_settings(server, timeout=1.0))
    assert time.monotonic() - started < 1.0 + 0.5
    assert not result.ok and "Timeout" in result.line


def test_the_fake_lists_and_shows_its_models(server) -> None:
    """What ChatOllama asks with validate_model_on_init (``/api/tags``), and ``/api/show``."""
    model = ChatOllama(model="llama3.1", base_url=server.base_url, validate_model_on_init=True)
    assert server.calls == ["GET /api/tags"]
    assert model._client.show("llama3.1").details.family == "llama"  # type: ignore[union-attr]
    server.mode = ("404", None)
    with pytest.raises(ValueError, match="not found in Ollama"):
        ChatOllama(model="llama3.1", base_url=server.base_url, validate_model_on_init=True)
