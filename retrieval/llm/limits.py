"""What the model may cost: a cache of answers already written, and call limits.

* :class:`AnswerCache` answers a repeat without a model call. Its key is the question as
  asked (normalised: case and spacing), the framework's fingerprint, the model and the
  prompt's version, so a new framework, model or prompt never reuses an old answer.
* :class:`CallBudget` caps model calls per user and in all, per rolling hour, so one user
  cannot run up the bill. Over a limit, the offline answer is given (a fallback, counted).
  Whose question it is comes from :data:`current_user`, set by the caller (the Slack
  service) around ``ask``.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from ..answer import Answer

current_user: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "fwbot_current_user", default=None
)


class OverLimit(Exception):
    """The model call limit is reached (for this user, or in all)."""


def cache_key(question: str, framework_hash: str, model: str, prompt_version: str) -> str:
    return "\x1f".join(
        (" ".join(question.casefold().split()), framework_hash, model, prompt_version)
    )


class AnswerCache:
    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._items: OrderedDict[str, Answer] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Answer | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: str, answer: Answer) -> None:
        with self._lock:
            self._items[key] = answer
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


class CallBudget:
    """At most ``per_user`` calls for one user and ``in_all`` calls altogether in any
    ``window`` seconds (0: no limit)."""

    def __init__(
        self,
        *,
        per_user: int,
        in_all: int,
        window: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_user, self.in_all, self.window, self.clock = per_user, in_all, window, clock
        self._all: deque[float] = deque()
        self._users: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, user: str | None) -> bool:
        """One call for ``user`` if both limits allow it (and count it); False otherwise."""
        return self.refusal(user) is None

    def refusal(self, user: str | None) -> Refusal | None:
        """Take one call for ``user`` (None: taken and counted), or say which limit refuses
        it and how long until a call frees up."""
        now = self.clock()
        with self._lock:
            _forget(self._all, now - self.window)
            mine = self._users.setdefault(user or "", deque())
            _forget(mine, now - self.window)
            if self.in_all and len(self._all) >= self.in_all:
                return Refusal("in_all", self.in_all, self._all[0] + self.window - now)
            if user and self.per_user and len(mine) >= self.per_user:
                return Refusal("per_user", self.per_user, mine[0] + self.window - now)
            self._all.append(now)
            mine.append(now)
            return None


@dataclass(frozen=True)
class Refusal:
    """Which limit refused a model call (``per_user`` or ``in_all``), the limit, and the
    seconds until the oldest counted call leaves the window."""

    limit: str
    calls: int
    wait_seconds: float

    def note(self) -> str:
        """One line for the person asking, added to the offline answer they get instead."""
        minutes = max(1, round(self.wait_seconds / 60))
        when = f"in about {minutes} minute{'s' if minutes != 1 else ''}"
        whose = (
            f"You have used your {self.calls} model-written answers for this hour"
            if self.limit == "per_user"
            else "This workspace has used its model-written answers for this hour"
        )
        return (
            f"_({whose}, so this answer quotes the framework directly; the next model-written "
            f"answer is possible {when}.)_"
        )


def _forget(times: deque[float], before: float) -> None:
    while times and times[0] <= before:
        times.popleft()
