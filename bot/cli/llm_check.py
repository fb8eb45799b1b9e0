"""``fwbot llm check``: one tiny request to the model FWBOT_LLM names, in one line.

It fails (exit 1) when the request fails, naming the URL it tried (FWBOT_LLM_BASE_URL when
set, else the one the client's error names), and when the model answers with nothing at all:
a server that replies empty would give every answer as a fallback.

(It builds on bot/wiring/chat_model.py's ``chat_model`` and ``CheckResult``; its ``check``
gives the same line for a good reply.)"""

from __future__ import annotations

import time

from retrieval.llm.providers import first_line
from retrieval.llm.task import content_text, redact, tried

from ..wiring.chat_model import CheckResult, chat_model
from ..wiring.settings import Settings

PROBE = "Reply with the single word: ok"


def llm_check(settings: Settings) -> CheckResult:
    """The model, its latency and token usage; or why it cannot be used."""
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
