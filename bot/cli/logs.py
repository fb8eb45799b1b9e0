"""fwbot's logging (`fwbot serve`): one line per record on stderr, INFO and up, and no user
text at any level.

Slack's libraries echo payloads into their logs: slack_sdk's block models log a block they do
not know whole at WARNING (``Unknown block detected and skipped ({... 'text': ...})``, when
the bot parses a message's blocks), bolt logs an unhandled request's body at WARNING and each
response body at DEBUG, and slack_sdk's Web API client every request and response body at
DEBUG. So, by default:

* the libraries' loggers say INFO and up (``slack_sdk``, bolt's own ``slack_bolt`` WARNING,
  and the app's bolt logger ``fwbot.slack.bolt``), whatever the root level, so a DEBUG root
  (or a DEBUG capture) never gets their request and response bodies;
* every record of those loggers, at any level, loses what follows the first ``{`` of its
  message (a payload's dict or JSON) before any handler sees it: ``Unknown block detected
  and skipped (payload not logged)``. It is done where records are made (the record
  factory), so loggers those libraries create later are covered too.

``FWBOT_LOG_FORMAT=json`` makes each record one JSON object on one line (:class:`JSONFormatter`):
``ts`` (ISO 8601, UTC), ``level``, ``logger``, ``msg``, the request's fields while a request is
handled (``request_id``, ``key``: bot/slack/request_log.py), the record's structured fields (the
access line's), and an exception's traceback as one string field ``exc``. It also lets the
access lines (``fwbot.access``, one per HTTP request) through; the text format leaves them out
and is otherwise what it always was.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

from ..slack.request_log import FIELDS, context_fields

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The loggers whose records may carry Slack payloads, and the level each says from.
LIBRARY_LEVELS = {
    "slack_sdk": logging.INFO,
    "slack_bolt": logging.WARNING,
    "fwbot.slack.bolt": logging.INFO,  # bot/slack/app.py gives it to bolt's App
}
REDACTED = "(payload not logged)"


ACCESS_LOGGER = "fwbot.access"


def configure_logging(
    level: int = logging.INFO, log_format: Literal["text", "json"] = "text"
) -> None:
    """fwbot's logging: ``level`` and up to stderr, Slack's libraries held to the levels of
    :data:`LIBRARY_LEVELS` and their payloads cut out of every record; ``log_format`` json:
    one JSON object per line, and the access lines. Idempotent."""
    if log_format == "json":
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JSONFormatter())
        logging.basicConfig(level=level, handlers=[handler], force=True)
        logging.captureWarnings(True)  # a library's warning is a JSON line too
    else:
        logging.basicConfig(level=level, format=FORMAT)
    logging.getLogger(ACCESS_LOGGER).setLevel(
        logging.INFO if log_format == "json" else logging.WARNING
    )
    for name, floor in LIBRARY_LEVELS.items():
        logging.getLogger(name).setLevel(floor)
    install_payload_redaction()


class JSONFormatter(logging.Formatter):
    """A record as one line of JSON (see the module's docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "thread": record.threadName,
        }
        entry.update(context_fields())
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def install_payload_redaction() -> None:
    """Records of :data:`LIBRARY_LEVELS`' loggers (and their children) are made without
    payloads (:func:`redact`). Installing it again changes nothing."""
    current = logging.getLogRecordFactory()
    if getattr(current, "fwbot_redacts", False):
        return

    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        if record.name.startswith(_PREFIXES):
            redact(record)
        return record

    make.fwbot_redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make)


_PREFIXES = tuple(p for name in LIBRARY_LEVELS for p in (name, name + "."))


def redact(record: logging.LogRecord) -> None:
    """Cut ``record``'s message at its first ``{`` (a payload's repr or JSON)."""
    try:
        message = record.getMessage()
    except Exception:  # a library's bad format string: say nothing of its arguments
        message = str(record.msg)
    cut = message.find("{")
    if cut < 0:
        return
    kept = message[:cut].rstrip(" ([:=")
    record.msg = f"{kept} {REDACTED}" if kept else REDACTED
    record.args = None
