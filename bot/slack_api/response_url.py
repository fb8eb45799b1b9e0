"""A reply through an interaction's ``response_url`` (a webhook Slack gives each slash command
and click): sent once, never repeated blindly — nothing can look it up afterwards, so one
that timed out (it may land later) is sent again by no way (:mod:`.posting`'s rule)."""

from __future__ import annotations

import http.client
import socket
import urllib.error
from typing import Any

from slack_sdk.webhook import WebhookClient

from .calls import retry_handlers
from .history import DeliveryUnknown


def send_to_response_url(
    url: str, payload: dict[str, Any], *, timeout: float = 30
) -> tuple[bool, str]:
    """(sent, why not). A refused connection is "not sent"; a timeout (``timeout`` seconds:
    the Web API client's) or lost answer may have posted it and nothing can look:
    :class:`DeliveryUnknown`."""
    hook = WebhookClient(url, retry_handlers=retry_handlers())
    hook.timeout = timeout  # type: ignore[assignment]  # urllib takes float seconds
    try:
        resp = hook.send_dict(payload)
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ConnectionRefusedError | socket.gaierror):
            return False, "connection_refused"
        raise DeliveryUnknown("response_url: no answer") from exc
    except (TimeoutError, http.client.HTTPException, OSError) as exc:
        raise DeliveryUnknown("response_url: no answer") from exc
    if resp.status_code == 200:
        return True, ""
    return False, (resp.body or str(resp.status_code))[:200]
