"""What every request to the chat model shares: the model, its prompt and deadline
(:class:`ModelTask`), why a reply was not used (:data:`FallbackReason`), a reply cut off at
its length limit (:class:`Truncated`), user text passed as data, the JSON found in a reply and
what is wrong with it (:func:`misfit`), the server a failed call tried (:func:`tried`), and
secrets kept out of what is logged."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from langchain_core.messages import BaseMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable
from pydantic import ValidationError

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
    "truncated",
    "left_out",
    "unsupported",
]
_JSON = re.compile(r"\{.*\}", re.S)


def find_json(reply: str) -> re.Match[str] | None:
    """The outermost ``{…}`` of a model's reply (models wrap JSON in prose or fences)."""
    return _JSON.search(reply or "")


def as_data(text: str) -> str:
    """User text as data: it cannot close its delimiter."""
    return text.replace("<", "‹").replace(">", "›")


class Truncated(Exception):
    """The model's reply was cut off at its length limit (``finish_reason`` or Ollama's
    ``done_reason`` "length"): an unfinished JSON reply, not worth a repair that would be cut
    off the same way."""


def cut_off(reply: Any) -> bool:
    """Whether a model's reply (a message, or streamed chunks added up) stopped at its length
    limit rather than where the model ended it."""
    meta = getattr(reply, "response_metadata", None) or {}
    return "length" in (meta.get("finish_reason"), meta.get("done_reason"))


def misfit(exc: ValidationError, limit: int = 4) -> str:
    """What is wrong with a reply's JSON, field by field and short: "its JSON does not fit:
    `answered` is missing; `tags[0].id` should be a string"."""
    problems = [_problem(error["loc"], error["msg"], error["type"]) for error in exc.errors()]
    more = f" (and {len(problems) - limit} more)" if len(problems) > limit else ""
    return f"its JSON does not fit: {'; '.join(problems[:limit])}{more}"


def _problem(loc: Sequence[int | str], msg: str, kind: str) -> str:
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    field = f"`{where.lstrip('.')}`" if where else "the reply"
    if kind == "missing":
        return f"{field} is missing"
    if kind == "extra_forbidden":
        return f"{field} is not a field of the format"
    said = re.sub(r"^(Input|Value|String|List|Object|Dictionary) ", "", msg)
    return f"{field} {said.replace('a valid ', 'a ')}".rstrip(".")


def tried(exc: BaseException) -> str | None:
    """The URL a failed call went to, when the client's error (or its cause) says."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            break
        try:
            url = getattr(getattr(seen, "request", None), "url", None)
        except RuntimeError:  # httpx: an error raised without its request
            url = None
        if url is not None:
            return str(url)
        seen = seen.__cause__ or seen.__context__
    return None


def failure(exc: BaseException) -> str:
    """A failed call in one line: the error, and where the client tried to reach."""
    url = tried(exc)
    return f"{type(exc).__name__}: {exc}" + (f" (tried {url})" if url else "")


def fallback_reason(exc: BaseException) -> FallbackReason:
    if isinstance(exc, OverLimit):
        return "over_limit"
    # openai's LengthFinishReasonError: langchain-openai raises it for a reply cut off at the
    # limit when a response_format is bound (JSON mode)
    if isinstance(exc, Truncated) or "LengthFinishReason" in type(exc).__name__:
        return "truncated"
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
        held_to: Callable[[dict[str, Any]], Runnable[Any, Any]] | None = None,
    ) -> None:
        """``held_to``: the model held to a JSON schema, where the provider can hold it."""
        self.model, self.prompt, self.timeout = model, prompt, timeout
        self.held_to = held_to
        self.framework_title, self.on_fallback = framework_title, on_fallback
        self.budget = budget
        self._calls = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fwbot-model")

    def reply_text(
        self, messages: Sequence[BaseMessage], schema: dict[str, Any] | None = None
    ) -> str:
        """The model's reply to ``messages`` (held to ``schema`` where it can be);
        FutureTimeout after ``timeout`` seconds, OverLimit when the caller's call budget is
        spent, Truncated when the reply was cut off at its length limit."""
        if self.budget is not None and not self.budget.take(current_user.get()):
            raise OverLimit("the model call limit is reached")
        model = self.model
        if schema is not None and self.held_to is not None:
            model = self.held_to(schema)
        reply = self._calls.submit(model.invoke, list(messages)).result(timeout=self.timeout)
        if cut_off(reply):
            raise Truncated("the reply was cut off at its length limit")
        return str(reply.content)
