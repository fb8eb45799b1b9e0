"""Work after the ack never fails silently: the user hears about it, the log has the detail.

In slack-bolt 1.30 an exception escaping a listener right after ``ack()`` makes bolt drop the
ack (Slack sees a 404 after 3 s), so every listener wraps its post-ack work in
:func:`reporting_failures`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from slack_sdk.errors import SlackApiError

from .blocks import Message, error_message
from .delivery import DeliveryUnknown
from .metrics import Metrics

log = logging.getLogger("fwbot.slack")


@contextmanager
def reporting_failures(
    listener: str,
    metrics: Metrics,
    notify: Callable[[Message], object] | None,
    *,
    summary: str = "I couldn't finish that.",
) -> Iterator[None]:
    """Run the block; on any exception log it with a short reference, count it, and send the
    user ``summary`` with that reference through ``notify`` (whose own failure is logged).

    A :class:`~bot.slack.delivery.DeliveryUnknown` (a reply that may have arrived, which
    Slack could not confirm) is logged and counted but not apologised for: the user may
    well have the answer."""
    try:
        yield
    except DeliveryUnknown as exc:
        ref = uuid.uuid4().hex[:8]
        log.warning(
            "%s: the reply may not have arrived (ref %s): %s; not apologising",
            listener,
            ref,
            exc,
            exc_info=exc.__cause__ or exc,
        )
        metrics.failures.labels(listener).inc()
    except Exception as exc:
        ref = uuid.uuid4().hex[:8]
        detail = exc.response.get("error") if isinstance(exc, SlackApiError) else None
        log.exception(
            "%s failed (ref %s%s)", listener, ref, f", Slack said {detail}" if detail else ""
        )
        metrics.failures.labels(listener).inc()
        if notify is None:
            return
        try:
            notify(error_message(summary, ref))
        except Exception:
            log.exception("could not tell the user about failure %s", ref)


def refuse(action: str, metrics: Metrics, tell: Callable[[Message], object], refusal: str) -> None:
    """A button or form that acts on someone else's /align run or answer: the user is told
    ``refusal`` (one line that names nothing of the other person's), the refusal counted."""
    log.info("%s refused: the user is neither the owner nor an admin", action)
    metrics.refused.labels(action).inc()
    tell(Message(text=refusal, blocks=[]))
