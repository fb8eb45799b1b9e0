"""What every request to the chat model shares: the model, its prompt and deadline
(:class:`ModelTask`), why a reply was not used (:data:`FallbackReason`), user text passed as
data, the JSON found in a reply, and secrets kept out of what is logged."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from langchain_core.messages import BaseMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable

from .limits import CallBudget, OverLimit, current_user

FallbackReason = Literal[
    "timeout",
    "rate_limited",
    "error",
    "malformed",
    "unknown_id",
    "no_citation",
    "declined",
    "over_limit",
]
_JSON = re.compile(r"\{.*\}", re.S)


def find_json(reply: str) -> re.Match[str] | None:
    """The outermost ``{…}`` of a model's reply (models wrap JSON in prose or fences)."""
    return _JSON.search(reply or "")


def as_data(text: str) -> str:
    """User text as data: it cannot close its delimiter."""
    return text.replace("<", "‹").replace(">", "›")


def fallback_reason(exc: BaseException) -> FallbackReason:
    if isinstance(exc, OverLimit):
        return "over_limit"
    status = getattr(exc, "status_code", None) or getattr(
        getattr(exc, "response", None), "status_code", None
    )
    if status == 429 or "RateLimit" in type(exc).__name__:
        return "rate_limited"
    if isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__:
        return "timeout"
    return "error"


def content_text(content: Any) -> str:
    """A streamed chunk's text (a string, or a provider's list of content parts)."""
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else [content]
    return "".join(
        p if isinstance(p, str) else str(p.get("text", "")) if isinstance(p, dict) else ""
        for p in parts
    )


# Things that look like credentials: provider keys, Slack tokens, bearer tokens, URL passwords.
_SECRET = re.compile(
    r"(sk-[A-Za-z0-9_\-*]{4,}|xox[abpre]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|"
    r"(?i:bearer)\s+[A-Za-z0-9._\-]+|(?<=://)[^/\s:@]+:[^/\s@]+(?=@))"
)


def redact(text: str) -> str:
    """``text`` with anything that looks like a key, token or URL password replaced."""
    return _SECRET.sub("[redacted]", text)


class ModelTask:
    """One kind of request to the chat model (rewrite a question, review /align): the model,
    its prompt, a deadline per call, and where fallbacks are reported."""

    def __init__(
        self,
        model: Runnable[Any, Any],
        prompt: ChatPromptTemplate,
        *,
        timeout: float,
        framework_title: str,
        on_fallback: Callable[[FallbackReason], object] = lambda reason: None,
        budget: CallBudget | None = None,
    ) -> None:
        self.model, self.prompt, self.timeout = model, prompt, timeout
        self.framework_title, self.on_fallback = framework_title, on_fallback
        self.budget = budget
        self._calls = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fwbot-model")

    def reply_text(self, messages: Sequence[BaseMessage]) -> str:
        """The model's reply to ``messages``; FutureTimeout after ``timeout`` seconds,
        OverLimit when the caller's call budget is spent."""
        if self.budget is not None and not self.budget.take(current_user.get()):
            raise OverLimit("the model call limit is reached")
        reply = self._calls.submit(self.model.invoke, list(messages)).result(timeout=self.timeout)
        return str(reply.content)
