"""The fake Slack server's call log: every request it answered, in order, thread-safe."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Call:
    """One request the fake answered.

    ``method`` is the Web API method (``chat.postMessage``), ``response_url`` for a post to a
    response URL, or ``upload`` for a file upload. ``at`` is ``time.monotonic()`` on arrival;
    ``status`` and ``response`` are what was sent back."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    at: float
    status: int
    response: dict[str, Any]

    @property
    def ok(self) -> bool:
        """Whether the response said ``ok: true``."""
        return bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        """The response's ``error``, if any."""
        return self.response.get("error")


def _summary(call: Call) -> str:
    params = {k: v for k, v in call.params.items() if k not in ("blocks", "view")}
    text = repr(params)
    if len(text) > 160:
        text = text[:157] + "..."
    return f"{call.method} -> {call.status} {call.error or 'ok'} {text}"


class CallLog:
    """An append-only list of :class:`Call` with a condition to wait on."""

    def __init__(self) -> None:
        self._calls: list[Call] = []
        self._cond = threading.Condition()

    def append(self, call: Call) -> None:
        """Records a call and wakes the waiters."""
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()

    def calls(self, method: str | None = None) -> list[Call]:
        """The calls so far, oldest first, optionally only one method's."""
        with self._cond:
            return [c for c in self._calls if method is None or c.method == method]

    def clear(self) -> None:
        """Forgets every call."""
        with self._cond:
            self._calls.clear()

    def wait_for(
        self,
        method: str | None,
        count: int = 1,
        timeout: float = 5.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Blocks until ``count`` calls of ``method`` (any if None) matching ``where`` exist;
        returns all such calls. Raises AssertionError listing the calls seen on timeout."""

        def matching() -> list[Call]:
            return [
                c
                for c in self._calls
                if (method is None or c.method == method) and (where is None or where(c))
            ]

        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = matching()
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = "\n  ".join(_summary(c) for c in self._calls) or "(none)"
                    raise AssertionError(
                        f"timed out after {timeout}s waiting for {count} call(s) of "
                        f"{method or 'any method'}; {len(found)} matched. Calls seen:\n  {seen}"
                    )
                self._cond.wait(remaining)


def block_texts(obj: Any) -> Iterator[str]:
    """Every string under ``text`` keys of a block structure (a recorded call's ``blocks``)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from block_texts(value)
    elif isinstance(obj, list):
        for item in obj:
            yield from block_texts(item)
