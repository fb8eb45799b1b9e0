"""Global middleware: count requests, drop Slack's retries of events already handled."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from slack_bolt import BoltRequest, BoltResponse

from ..storage.store import Store
from .metrics import Metrics

log = logging.getLogger("fwbot.slack")


def request_kind(body: dict) -> str:
    kind = body.get("type")
    if kind == "event_callback":
        return f"event:{body.get('event', {}).get('type', '?')}"
    if body.get("command"):
        return f"command:{body['command']}"
    if kind == "block_actions":
        actions = body.get("actions") or [{}]
        return f"action:{actions[0].get('action_id', '?')}"
    if kind in ("view_submission", "view_closed"):
        return f"{kind}:{body.get('view', {}).get('callback_id', '?')}"
    if kind in ("shortcut", "message_action"):
        return f"shortcut:{body.get('callback_id', '?')}"
    return str(kind or "unknown")


def count_requests(metrics: Metrics) -> Callable[..., BoltResponse | None]:
    def middleware(body: dict, next: Callable[[], BoltResponse]) -> BoltResponse | None:
        metrics.requests.labels(request_kind(body)).inc()
        return next()

    return middleware


# Slack retries an event for about an hour at most; claims are kept a day, then pruned.
KEEP_CLAIMS = timedelta(days=1)
PRUNE_EVERY = timedelta(hours=1)


def never_answered(event: dict) -> bool:
    """Messages the bot never replies to (other bots, edits and joins, top-level channel
    chatter): with ``message.channels`` they are most events, and need no claim."""
    if event.get("type") != "message":
        return False
    return bool(event.get("bot_id") or event.get("subtype")
                or (event.get("channel_type") != "im" and not event.get("thread_ts")))


def drop_duplicate_events(store: Store, metrics: Metrics, *,
                          clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                          ) -> Callable[..., BoltResponse | None]:
    """Each ``event_id`` is handled once, across retries and replicas (a database claim).
    A retry of an event already claimed is acknowledged and goes no further. Claims older
    than ``KEEP_CLAIMS`` are pruned about once every ``PRUNE_EVERY``."""
    next_prune = [clock()]
    lock = threading.Lock()

    def prune_if_due(now: datetime) -> None:
        with lock:
            if now < next_prune[0]:
                return
            next_prune[0] = now + PRUNE_EVERY
        try:
            removed = store.prune_events(now - KEEP_CLAIMS)
            if removed:
                log.info("pruned %d event claims older than %s", removed, KEEP_CLAIMS)
        except Exception:  # pruning is housekeeping: never fail a request over it
            log.exception("pruning event claims failed")

    def middleware(req: BoltRequest, body: dict, next: Callable[[], BoltResponse]
                   ) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and never_answered(body.get("event") or {}):
            return next()  # the listeners ignore it anyway: no claim to write
        if event_id:
            prune_if_due(clock())
        if event_id and not store.claim_event(event_id):
            retry = req.headers.get("x-slack-retry-num", ["-"])[0]
            log.info("event %s already handled (retry %s): dropped", event_id, retry)
            metrics.duplicates.inc()
            return BoltResponse(status=200, body="")
        return next()

    return middleware
