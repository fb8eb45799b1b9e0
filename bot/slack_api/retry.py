"""The one retry policy of every call to Slack that is tried again: how many tries, the
back-off between them, how long 429s are waited out, and whether a post that may have
arrived is looked for and sent again — no sooner than it can have landed. Posts
(:mod:`.posting`) and history reads (:mod:`.history`) take their delays from it."""

from __future__ import annotations

import random
from dataclasses import dataclass

MAX_BACKOFF = 30.0
# Seconds after the client gave up on a post (its timeout, a dropped connection) by which
# what Slack received has landed: only then does the history tell whether it arrived. Slack
# has no idempotency key: a post that timed out may land seconds later.
SETTLE = 5.0
_RNG = random.Random()


@dataclass(frozen=True)
class RetryPolicy:
    """How one post is tried again (see the module docstring).

    ``backoff`` seconds before the 2nd try, doubling up to ``max_backoff``, each delay
    scaled by a random factor in [1 - ``jitter``, 1]. ``max_rate_limited``: seconds of
    Retry-After waited in all before giving up (0: give up at the first 429 — for a client
    whose own retry handlers already waited). ``retry_uncertain``: after a timeout or a lost
    answer, look in the history and send again if it is not there (else: ``uncertain``);
    ``settle``: seconds from giving up on such a post to that look (at least the back-off),
    the time a post Slack received may still take to land."""

    max_attempts: int
    backoff: float
    jitter: float = 0.5
    max_backoff: float = MAX_BACKOFF
    max_rate_limited: float = 600.0
    retry_uncertain: bool = False
    settle: float = SETTLE

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        base = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return base * (rng or _RNG).uniform(1.0 - self.jitter, 1.0)


# A reply someone is waiting for: few tries, no waiting out 429s (the interactive client's
# retry handlers honour Retry-After), a look-up once it can have landed and another try
# after a timeout.
INTERACTIVE = RetryPolicy(
    max_attempts=3, backoff=1.0, jitter=0.25, max_rate_limited=0.0, retry_uncertain=True
)
# Nudges and the digest: more tries, 429s waited out through the pacer, an uncertain post
# left to the claims protocol (which looks before a later pass sends it again).
BACKGROUND = RetryPolicy(max_attempts=6, backoff=0.5, jitter=0.5, max_rate_limited=600.0)
