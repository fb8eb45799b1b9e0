"""Prometheus metrics of the Slack app, in a registry of its own (one per app instance)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# request received -> reply posted, deferred work (back-pressure) included: up to minutes
_REPLY_BUCKETS = (0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)
# (status, reason) of the HTTP refusals bot/slack/server.py counts
REJECTIONS = (
    ("401", "bad_signature"),
    ("401", "stale"),
    ("413", "too_large"),
    ("400", "malformed"),
    ("500", "error"),
)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self._index_lock = threading.Lock()
        self._on_local_copy = False
        self.requests = Counter(
            "fwbot_slack_requests", "Slack requests received, by kind.", ["kind"], registry=r
        )
        self.duplicates = Counter(
            "fwbot_duplicate_events",
            "Requests dropped as already handled (Slack retries, replayed form submissions).",
            registry=r,
        )
        self.failures = Counter(
            "fwbot_listener_failures",
            "Work after the ack that failed, by listener.",
            ["listener"],
            registry=r,
        )
        self.api_errors = Counter(
            "fwbot_slack_api_errors",
            "Slack Web API errors, by method and error.",
            ["method", "error"],
            registry=r,
        )
        self.work_seconds = Histogram(
            "fwbot_work_seconds",
            "Time to answer or align, by kind.",
            ["kind"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.llm_fallbacks = Counter(
            "fwbot_llm_fallbacks",
            "Model answers replaced by the offline answer, by reason.",
            ["reason"],
            registry=r,
        )
        self.llm_tokens = Counter(
            "fwbot_llm_tokens",
            "Tokens used by the chat model, by provider, model and direction.",
            ["provider", "model", "direction"],
            registry=r,
        )
        self.streamed = Counter(
            "fwbot_streamed_answers",
            "Answers streamed into Slack, by outcome: streamed (as written), replaced (the "
            "stream was updated to the final answer), reposted (it could not be: posted anew).",
            ["outcome"],
            registry=r,
        )
        self.late_copies = Counter(
            "fwbot_late_copies_deleted",
            "Copies of a message that Slack landed after it was sent again, deleted.",
            registry=r,
        )
        self.feedback = Counter(
            "fwbot_feedback_votes", "Helpful / not helpful votes.", ["vote"], registry=r
        )
        self.refused = Counter(
            "fwbot_actions_refused",
            "Buttons and forms refused because they act on someone else's /align run or "
            "answer (the user is neither its owner nor an admin), by action.",
            ["action"],
            registry=r,
        )
        self.rejected = Counter(
            "fwbot_http_rejected",
            "Requests to the Slack endpoint refused before the app "
            "(401 bad_signature / stale, 413 too_large, 400 malformed / bad_http) or failed in "
            "it (500 error), and public /metrics without the admin token (401 bad_token), by "
            "HTTP status and reason.",
            ["status", "reason"],
            registry=r,
        )
        self.index_fallback = Gauge(
            "fwbot_index_local_copy",
            "1 while questions are searched through this replica's local copy of the index "
            "because the Chroma server (CHROMA_HOST) does not answer, else 0.",
            registry=r,
        )
        self.index_fallbacks = Counter(
            "fwbot_index_fallbacks",
            "Times the Chroma server stopped answering and the local copy took over (at start "
            "or while running).",
            registry=r,
        )
        self.progress_passes = Counter(
            "fwbot_progress_passes",
            "Scheduled progress passes (nudges, then the digest), by outcome: ran here, or "
            "skipped because another replica was running one (elsewhere).",
            ["outcome"],
            registry=r,
        )
        for outcome in ("ran", "elsewhere"):
            self.progress_passes.labels(outcome)
        self.work_queued = Gauge(
            "fwbot_work_queued",
            "Acknowledged work queued or running in this replica (bounded by "
            "fwbot_work_limit; past it new work is deferred).",
            registry=r,
        )
        self.work_limit = Gauge(
            "fwbot_work_limit",
            "FWBOT_MAX_QUEUED_WORK: the most acknowledged work queued or running here.",
            registry=r,
        )
        self.work_shed = Counter(
            "fwbot_work_shed",
            "Requests acknowledged while this replica was full, by kind and what the person "
            "was told: busy (answered later: the work was deferred to the next replica with "
            "room), silent (deferred, nowhere to say so), try_again (could not be deferred: "
            "not done).",
            ["kind", "told"],
            registry=r,
        )
        self.reply_seconds = Histogram(
            "fwbot_reply_seconds",
            "Time from a request's receipt to the end of its work (its reply posted), "
            "deferred work included, by kind.",
            ["kind"],
            buckets=_REPLY_BUCKETS,
            registry=r,
        )
        for status, reason in REJECTIONS:  # shown at 0 from the start
            self.rejected.labels(status, reason)

    def count_tokens(self, provider: str, model: str, inputs: int, outputs: int) -> None:
        self.llm_tokens.labels(provider, model, "input").inc(inputs)
        self.llm_tokens.labels(provider, model, "output").inc(outputs)

    @contextmanager
    def timed(self, kind: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.work_seconds.labels(kind).observe(time.perf_counter() - start)

    def index_on_local_copy(self, on: bool) -> None:
        """Record whether the local copy of the index is searched (counted when it starts)."""
        with self._index_lock:
            if on and not self._on_local_copy:
                self.index_fallbacks.inc()
            self._on_local_copy = on
            self.index_fallback.set(1 if on else 0)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
