"""A reply through an interaction's ``response_url`` (a webhook Slack gives each slash command
and click): sent once, never repeated blindly — nothing can look it up afterwards, so one
that timed out (it may land later) is sent again by no way (:mod:`.posting`'s rule).

Only to Slack's webhook hosts (:func:`.hosts.response_url_allowed`): a URL elsewhere is not
sent to at all ("url_not_allowed"), and the caller replies through the Web API instead."""

from __future__ import annotations

import http.client
import socket
import urllib.error
from typing import Any

from slack_sdk.webhook import WebhookClient

from .calls import retry_handlers
from .history import DeliveryUnknown
from .hosts import Origin, response_url_allowed, shown


def send_to_response_url(
    url: str, payload: dict[str, Any], *, timeout: float = 30, local: Origin | None = None
) -> tuple[bool, str]:
    """(sent, why not). A refused connection is "not sent"; a timeout (``timeout`` seconds:
    the Web API client's) or lost answer may have posted it and nothing can look:
    :class:`DeliveryUnknown`. A URL not on Slack's webhook hosts (nor the trusted ``local``
    origin of the fake) is not sent: ``(False, "url_not_allowed (<scheme://host:port>)")``,
    never its path or query."""
    if not response_url_allowed(url, local=local):
        return False, f"url_not_allowed ({shown(url)})"
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
