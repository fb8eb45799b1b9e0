"""What real model servers were found to do, and how the model path copes: a reply cut off at
its length limit ("truncated"), a stream without usage (its tokens estimated), a review that
drops every tag of a confident engine, repairs that name the field at fault, prompts whose
examples cannot be taken for an answer, and ``fwbot llm check`` on an empty reply or a server
that is not there. Over the real clients against the loopback fakes (tests/openai_server.py
kind "llama.cpp", tests/ollama_server.py), or LangChain's scripted fakes."""

from __future__ import annotations

import json
import logging
import math
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.model_replies import as_offline

pytest.importorskip("langchain_openai", reason="the openai extra is part of the dev install")

from langchain_core.messages import AIMessage

from bot.cli.main import main
from bot.wiring.chat_model import check as llm_check
from bot.wiring.composition import Services
from bot.wiring.settings import Settings
from framework_data import __file__ as framework_package
from retrieval.llm.composer import FORMAT_INSTRUCTIONS
from retrieval.llm.prompts import chat_prompt, prompt_text
from retrieval.llm.review import REVIEW_FORMAT
from tests.ollama_server import FakeOllama
from tests.openai_server import FakeOpenAI
from tests.test_llm_align import PROPOSAL, _review, _with_reviewer
from tests.test_llm_answers import Recorder, _assistant, _reply, _scripted

QUESTION = "Which objective is about training police officers?"
GOOD = json.dumps({"answered": True, "cited_ids": ["2.3"], "text": "Training is 2.3."})


@pytest.fixture
def llama() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(kind="llama.cpp") as fake:
        yield fake


def _services(assistant, base_url: str, monkeypatch, spec: str = "openai:gpt-test") -> Services:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    settings = Settings(_env_file=None, fwbot_llm=spec, fwbot_llm_base_url=base_url)
    services = Services(settings)
    services.searcher = assistant.searcher  # type: ignore[misc]  # the session's index
    return services


def _fallbacks(services: Services, reason: str) -> float:
    return services.metrics.llm_fallbacks.labels(reason)._value.get()


def _dead_url() -> str:
    """A loopback URL nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


# ---- a reply cut off at its length limit -------------------------------------------------------


@pytest.mark.parametrize("json_mode", ["true", "false"])
@pytest.mark.parametrize("streamed", [False, True])
def test_a_reply_cut_off_at_the_limit_is_truncated_not_repaired(
    assistant, llama, monkeypatch, json_mode, streamed
) -> None:
    """A rambling model on llama.cpp's server: the limit ends its reply mid-JSON. The offline
    answer is given, once, with the one reason "truncated" (a repair would be cut off too)."""
    monkeypatch.setenv("FWBOT_LLM_JSON_MODE", json_mode)
    llama.mode = ("long", None)
    services = _services(assistant, llama.base_url, monkeypatch)
    pieces: list[str] = []
    on_text = pieces.append if streamed else None
    answer = services.assistant.ask(QUESTION, on_text=on_text)
    assert as_offline(answer) == assistant.ask(QUESTION)
    assert _fallbacks(services, "truncated") == 1 and _fallbacks(services, "malformed") == 0
    assert len(llama.requests) == 1
    assert ("response_format" in llama.requests[0]) is (json_mode == "true")


def test_an_ollama_reply_cut_off_at_num_predict_is_truncated(assistant, monkeypatch) -> None:
    with FakeOllama() as ollama:
        ollama.mode = ("long", None)
        services = _services(assistant, ollama.base_url, monkeypatch, "ollama:llama3.1")
        assert as_offline(services.assistant.ask(QUESTION)) == assistant.ask(QUESTION)
        assert _fallbacks(services, "truncated") == 1
        assert ollama.requests[0]["options"]["num_predict"] == services.settings.llm.max_tokens


def test_a_review_cut_off_at_the_limit_keeps_the_engine_s_tags(
    assistant, llama, monkeypatch
) -> None:
    llama.mode = ("long", None)
    services = _services(assistant, llama.base_url, monkeypatch)
    assert as_offline(services.assistant.align(PROPOSAL)) == assistant.align(PROPOSAL)
    assert _fallbacks(services, "truncated") == 1 and len(llama.requests) == 1


# ---- a stream without usage --------------------------------------------------------------------


def test_a_stream_without_usage_counts_its_tokens_from_the_text(
    assistant, llama, monkeypatch
) -> None:
    llama.mode = ("ok", GOOD)
    services = _services(assistant, llama.base_url, monkeypatch)
    pieces: list[str] = []
    answer = services.assistant.ask(QUESTION, on_text=pieces.append)
    assert answer.text == "Training is 2.3." and "".join(pieces) == answer.text
    [request] = llama.requests
    assert request["stream"] is True  # asked for usage; llama.cpp's server sends none
    sent = sum(len(m["content"]) for m in request["messages"])
    tokens = services.metrics.llm_tokens
    assert tokens.labels("openai", "gpt-test", "output")._value.get() == math.ceil(len(GOOD) / 4)
    assert tokens.labels("openai", "gpt-test", "input")._value.get() == math.ceil(sent / 4)


# ---- repairs name the field at fault ------------------------------------------------------------


def test_an_answer_s_repair_names_the_missing_field(assistant) -> None:
    recorder = Recorder()
    half = AIMessage(content=json.dumps({"answered": True, "cited_ids": ["2.3"]}))
    model, seen = _scripted(half, _reply(text="Training is 2.3."))
    answer = _assistant(assistant, model, recorder).ask(QUESTION)
    assert answer.text == "Training is 2.3." and recorder.fallbacks == []
    repair = str(seen[1][-1].content)
    assert "its JSON does not fit: `text` is missing." in repair
    assert "Field required" not in repair


def test_a_review_s_repair_names_each_field_and_its_problem(assistant) -> None:
    bad = AIMessage(content=json.dumps({"tags": [{"id": 23, "why": ""}]}))
    llm, seen, fallbacks = _with_reviewer(assistant, bad, bad)
    assert as_offline(llm.align(PROPOSAL)) == assistant.align(PROPOSAL)
    assert fallbacks == ["malformed"]
    repair = str(seen[1][-1].content)
    assert (
        "its JSON does not fit: `tags[0].id` should be a string; "
        "`tags[0].why` should have at least 1 character."
    ) in repair


# ---- a review that drops a confident engine's tags ---------------------------------------------


def test_a_review_dropping_every_confident_tag_without_a_reason_is_not_used(
    assistant, llama, monkeypatch
) -> None:
    offline = assistant.align(PROPOSAL)
    assert any(t.confidence in ("high", "medium") for t in offline.tags)
    llama.mode = ("ok", json.dumps({"tags": []}))
    services = _services(assistant, llama.base_url, monkeypatch)
    assert as_offline(services.assistant.align(PROPOSAL)) == offline  # not "no fit"
    assert _fallbacks(services, "declined") == 1
    _, repair = llama.requests  # asked once more, with the problem named
    assert "keeps no candidate" in repair["messages"][-1]["content"]
    assert "no_fit_reason" in repair["messages"][-1]["content"]


def test_a_review_saying_why_nothing_fits_is_used(assistant, llama, monkeypatch) -> None:
    llama.mode = ("ok", json.dumps({"tags": [], "no_fit_reason": "It is about training only."}))
    services = _services(assistant, llama.base_url, monkeypatch)
    result = services.assistant.align(PROPOSAL)
    assert result.no_fit and result.tags == [] and result.nearest
    assert len(llama.requests) == 1 and _fallbacks(services, "declined") == 0


def test_a_repaired_review_keeps_its_tags(assistant) -> None:
    offline = assistant.align(PROPOSAL)
    first = offline.tags[0].id
    llm, seen, fallbacks = _with_reviewer(
        assistant, _review(), _review((first, "It trains officers."))
    )
    result = llm.align(PROPOSAL)
    assert [t.id for t in result.tags] == [first] and not result.no_fit
    assert fallbacks == [] and len(seen) == 2


# ---- prompts ------------------------------------------------------------------------------------


def test_no_example_in_the_prompts_names_an_id_of_the_framework() -> None:
    """The format examples use placeholders: a model copying an example cites nothing real."""
    packaged = (Path(framework_package).parent / "interpol_2017_2020.yaml").read_text("utf-8")
    ids = set(re.findall(r'^\s*-?\s*id:\s*"([^"]+)"', packaged, re.M))
    assert {"1", "1.3", "2.3"} <= ids
    texts = [FORMAT_INSTRUCTIONS, REVIEW_FORMAT]
    for name in ("answer", "align", "rewrite"):
        prompt = chat_prompt(prompt_text(name))
        blank = {variable: "" for variable in prompt.input_variables}
        texts += [str(m.content) for m in prompt.format_messages(**blank)]
    for text in texts:
        for found in re.findall(r"(?<![\w.])\d+(?:\.\d+)*(?![\w]|\.\d)", text):
            assert found not in ids, f"{found!r} in {text!r}"


# ---- fwbot llm check ----------------------------------------------------------------------------


def _check_env(monkeypatch, base_url: str) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.setenv("FWBOT_LLM", "openai:gpt-test")
    monkeypatch.setenv("FWBOT_LLM_BASE_URL", base_url)


def test_llm_check_fails_on_an_empty_reply(llama, monkeypatch, capsys) -> None:
    llama.mode = ("ok", "")
    _check_env(monkeypatch, llama.base_url)
    assert main(["llm", "check"]) == 1
    out = capsys.readouterr()
    assert out.out == "" and len(out.err.strip().splitlines()) == 1
    assert "openai:gpt-test: the model answered an empty reply" in out.err
    llama.mode = ("ok", "ok")
    assert main(["llm", "check"]) == 0
    assert "answered 'ok'" in capsys.readouterr().out


def test_llm_check_names_the_url_it_could_not_reach(monkeypatch, capsys) -> None:
    dead = _dead_url()
    _check_env(monkeypatch, dead)
    assert main(["llm", "check"]) == 1
    line = capsys.readouterr().err.strip()
    assert f"the request to {dead} failed" in line and "Connection" in line
    assert len(line.splitlines()) == 1
    assert dead in llm_check(Settings(_env_file=None)).line


def test_the_fallback_warning_names_the_url_it_could_not_reach(
    assistant, monkeypatch, caplog
) -> None:
    dead = _dead_url()
    services = _services(assistant, dead, monkeypatch)
    caplog.set_level(logging.WARNING, logger="retrieval.llm")
    assert as_offline(services.assistant.ask(QUESTION)) == assistant.ask(QUESTION)
    [warning] = [r.getMessage() for r in caplog.records if "not used" in r.getMessage()]
    assert "(error)" in warning and f"tried {dead}/chat/completions" in warning
