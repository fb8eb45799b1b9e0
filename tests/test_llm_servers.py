"""The loopback model servers behave as the real ones they stand for (measured against OpenAI,
llama.cpp's server and Ollama): which reply limit each reads and how it cuts a reply there,
which JSON formats each takes, what a stream reports, and how many requests it serves at
once. Through the real clients (``openai``, ``langchain-openai``, ``langchain-ollama``)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest

pytest.importorskip("langchain_openai", reason="the openai extra is part of the dev install")
pytest.importorskip("langchain_ollama", reason="the ollama extra is part of the dev install")

import openai
from langchain_ollama import ChatOllama
from langchain_openai import ChatOpenAI

from tests.model_replies import CHARS_PER_TOKEN, streamed
from tests.ollama_server import FakeOllama
from tests.openai_server import CONTEXT_TOKENS, FakeOpenAI

SCHEMA = {
    "type": "object",
    "properties": {"answered": {"type": "boolean"}, "text": {"type": "string"}},
    "required": ["answered", "text"],
    "additionalProperties": False,
}


@pytest.fixture(params=["openai", "llama.cpp"])
def server(request) -> Iterator[FakeOpenAI]:
    with FakeOpenAI(kind=request.param) as fake:
        yield fake


@pytest.fixture
def llama() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(kind="llama.cpp") as fake:
        yield fake


def _client(server: FakeOpenAI) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="sk-test-not-a-real-key", max_retries=0)


def _chat(server: FakeOpenAI, **kwargs) -> ChatOpenAI:
    return ChatOpenAI(
        model="gpt-test",
        base_url=server.base_url,
        api_key="sk-test-not-a-real-key",  # type: ignore[arg-type]
        max_retries=0,
        **kwargs,
    )


def test_max_tokens_ends_a_long_reply_on_either_server(server) -> None:
    server.mode = ("long", None)
    reply = _client(server).chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "Go on."}], max_tokens=50
    )
    [choice] = reply.choices
    assert choice.finish_reason == "length"
    assert len(choice.message.content or "") == 50 * CHARS_PER_TOKEN
    assert reply.usage is not None and reply.usage.completion_tokens == 50


def test_max_completion_tokens_is_read_by_openai_and_ignored_by_llama_cpp(server) -> None:
    """langchain-openai sends its ``max_tokens`` as ``max_completion_tokens``: llama.cpp's
    server does not read it, so a reply runs to the context length."""
    server.mode = ("long", None)
    message = _chat(server, max_tokens=50).invoke("Go on.")  # type: ignore[call-arg]
    assert server.requests[0]["max_completion_tokens"] == 50
    assert "max_tokens" not in server.requests[0]
    assert message.response_metadata["finish_reason"] == "length"
    expected = 50 if server.kind == "openai" else CONTEXT_TOKENS
    assert len(str(message.content)) == expected * CHARS_PER_TOKEN
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_tokens"] == expected


def test_a_short_reply_stops_where_the_model_ends_it(server) -> None:
    server.mode = ("ok", '{"answered": true}')
    message = _chat(server, max_tokens=50).invoke("Go on.")  # type: ignore[call-arg]
    assert message.content == '{"answered": true}'
    assert message.response_metadata["finish_reason"] == "stop"


def test_json_schema_is_refused_by_llama_cpp_and_held_to_by_openai(server) -> None:
    server.mode = ("ok", json.dumps({"text": "Training.", "extra": 1}))
    schema_format = {"type": "json_schema", "json_schema": {"name": "a", "schema": SCHEMA}}
    call = _client(server).chat.completions.create
    messages = [{"role": "user", "content": "Which?"}]
    if server.kind == "llama.cpp":
        with pytest.raises(openai.InternalServerError, match="'text' or 'json_object'") as exc:
            call(model="gpt-test", messages=messages, response_format=schema_format)  # type: ignore[arg-type]
        assert exc.value.status_code == 500
        return
    reply = call(model="gpt-test", messages=messages, response_format=schema_format)  # type: ignore[arg-type]
    assert json.loads(reply.choices[0].message.content or "") == {
        "text": "Training.",
        "answered": False,
    }


def test_llama_cpp_holds_a_json_object_reply_to_its_schema(llama) -> None:
    llama.mode = ("ok", json.dumps({"text": "Training.", "extra": 1}))
    reply = _client(llama).chat.completions.create(
        model="gpt-test",
        messages=[{"role": "user", "content": "Which?"}],
        response_format={"type": "json_object", "schema": SCHEMA},  # type: ignore[typeddict-unknown-key]
    )
    assert json.loads(reply.choices[0].message.content or "") == {
        "text": "Training.",
        "answered": False,
    }


def test_only_openai_streams_the_usage_it_is_asked_for(server) -> None:
    server.mode = ("ok", "A streamed reply in a few pieces.")
    texts, usage = streamed(_chat(server, stream_usage=True), "Which?")
    assert "".join(texts) == "A streamed reply in a few pieces."
    assert server.requests[0]["stream_options"] == {"include_usage": True}
    if server.kind == "openai":
        assert usage is not None and usage["output_tokens"] == 12
    else:
        assert usage is None


def test_a_streamed_reply_cut_at_the_limit_says_so(server) -> None:
    server.mode = ("long", None)
    chunks = list(
        _client(server).chat.completions.create(
            model="gpt-test",
            messages=[{"role": "user", "content": "Go on."}],
            max_tokens=20,
            stream=True,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(text) == 20 * CHARS_PER_TOKEN
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"


def test_llama_cpp_serves_one_request_at_a_time(server) -> None:
    """Two requests of a model that takes 0.3 s: side by side at OpenAI, one after the other at
    llama.cpp's server."""
    server.mode = ("slow", 0.3)
    client = _client(server)

    def ask() -> None:
        client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "Which?"}]
        )

    started = time.monotonic()
    both = [threading.Thread(target=ask) for _ in range(2)]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join(10)
    took = time.monotonic() - started
    assert len(server.requests) == 2
    if server.kind == "llama.cpp":
        assert took >= 0.6, took
    else:
        assert took < 0.6, took


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama() as fake:
        yield fake


@pytest.mark.parametrize("stream", [False, True])
def test_ollama_reads_num_predict_as_the_limit(ollama, stream) -> None:
    ollama.mode = ("long", None)
    model = ChatOllama(model="llama3.1", base_url=ollama.base_url, num_predict=30)
    if stream:
        texts, usage = streamed(model, "Go on.")
        text = "".join(texts)
    else:
        message = model.invoke("Go on.")
        text, usage = str(message.content), message.usage_metadata
        assert message.response_metadata["done_reason"] == "length"
    assert ollama.requests[0]["options"]["num_predict"] == 30
    assert len(text) == 30 * CHARS_PER_TOKEN
    assert usage is not None and usage["output_tokens"] == 30


def test_ollama_holds_a_reply_to_a_format_schema(ollama) -> None:
    ollama.mode = ("ok", json.dumps({"text": "Training.", "extra": 1}))
    message = ChatOllama(model="llama3.1", base_url=ollama.base_url, format=SCHEMA).invoke("Which?")
    assert json.loads(str(message.content)) == {"text": "Training.", "answered": False}
    assert ollama.requests[0]["format"] == SCHEMA
