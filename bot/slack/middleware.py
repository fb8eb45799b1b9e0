"""Global middleware: count requests (recording them is :mod:`bot.slack.durable`'s)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import BoltResponse

from .durable import kind_of
from .metrics import Metrics

log = logging.getLogger("fwbot.slack")


def request_kind(body: dict) -> str:
    kind = body.get("type")
    if kind == "event_callback":
        return kind_of("event", body.get("event", {}).get("type", "?"))
    if body.get("command"):
        return kind_of("command", body["command"])
    if kind == "block_actions":
        actions = body.get("actions") or [{}]
        return kind_of("action", actions[0].get("action_id", "?"))
    if kind in ("view_submission", "view_closed"):
        # Counted apart (a submission is not a closing): not a kind that plans are kept by.
        return f"{kind}:{body.get('view', {}).get('callback_id', '?')}"
    if kind in ("shortcut", "message_action"):
        return kind_of("shortcut", body.get("callback_id", "?"))
    return str(kind or "unknown")


def count_requests(metrics: Metrics) -> Callable[..., BoltResponse | None]:
    def middleware(body: dict, next: Callable[[], BoltResponse]) -> BoltResponse | None:
        metrics.requests.labels(request_kind(body)).inc()
        return next()

    return middleware
