"""One Web API call, classified: what Slack's answer (or its absence) says about delivery.

Every way out to Slack (answers and /align through :class:`bot.slack.delivery.Delivery`,
nudges and the digest through :class:`bot.slack_api.sender.SlackSender`, both posting with
:func:`bot.slack_api.posting.post_message`) classifies calls here, so "safe to send again",
"look in the history first" and "never again" mean the same everywhere. The clients never
retry a post by themselves (:func:`retry_handlers`, :func:`sender_client`): a retried
timeout can post twice.
"""

from __future__ import annotations

import http.client
import logging
import socket
import urllib.error
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from .plain import TEXT_FALLBACK_ERRORS

Outcome = Literal["sent", "permanent", "retry", "uncertain"]

# Errors that will fail again for this recipient (or for everyone: see FATAL_ERRORS).
PERMANENT_ERRORS = frozenset(
    {
        "user_not_found",
        "account_inactive",
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "cannot_dm_bot",
        "user_disabled",
        "restricted_action",
        "no_permission",
        "missing_scope",
        "invalid_auth",
        "token_revoked",
        "token_expired",
        "not_authed",
        "team_access_not_granted",
        "not_allowed_token_type",
        "ekm_access_denied",
        "invalid_arguments",
        "no_text",
        "too_many_attachments",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "metadata_must_be_sent_from_app",
        "thread_not_found",
    }
)
# Errors about the token, scopes or workspace: every further send fails the same way.
# ``account_inactive`` is left out: for a DM it names the recipient.
FATAL_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "team_access_not_granted",
        "missing_scope",
        "no_permission",
        "not_allowed_token_type",
        "ekm_access_denied",
    }
)
# Slack answered without doing anything: safe to send again after a pause.
TRANSIENT_ERRORS = frozenset(
    {
        "service_unavailable",
        "request_timeout",
        "ratelimited",
        "rate_limited",
    }
)
# Slack documents these as "it's possible some aspect of the operation succeeded": check
# the history before sending again.
MAYBE_APPLIED_ERRORS = frozenset({"internal_error", "fatal_error"})
_NON_JSON = "Received a response in a non-JSON format"

log = logging.getLogger(__name__)

Kind = Literal["ok", "limited", "transient", "maybe", "fallback", "permanent", "uncertain"]


@dataclass(frozen=True)
class ApiAnswer:
    """One Web API call, classified."""

    kind: Kind
    data: Mapping[str, Any]
    error: str | None = None
    retry_after: float = 0.0


class _SafeConnectionErrorRetryHandler(ConnectionErrorRetryHandler):
    """slack_sdk's connection-error retry, except for posts and ``response_url`` (webhook)
    calls: a reset after Slack ran them would post twice. The caller decides those."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        path = urlsplit(request.url).path
        if not path.startswith("/api/") or path.rsplit("/", 1)[-1] in _NOT_BLINDLY_REPEATED:
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)


# A dropped connection on these may mean "done": the client must not repeat them blindly.
_NOT_BLINDLY_REPEATED = frozenset(
    {"chat.postMessage", "chat.postEphemeral", "chat.scheduleMessage", "chat.meMessage"}
)


def retry_handlers() -> list:
    """For the interactive client: rate limits honoured, connection errors retried except on
    posts."""
    return [
        RateLimitErrorRetryHandler(max_retry_count=3),
        _SafeConnectionErrorRetryHandler(max_retry_count=2),
    ]


def sender_client(token: str, base_url: str, *, timeout: float = 15) -> WebClient:
    """A WebClient that never retries by itself (no rate-limit or connection retry handlers):
    the sender and its pacer decide what is safe to send again."""
    client = WebClient(token=token, base_url=base_url, retry_handlers=[])
    client.timeout = timeout  # type: ignore[assignment]  # urllib takes float seconds
    return client


def _retry_after(headers: Mapping[str, Any]) -> float:
    """Retry-After in seconds (1 if missing or unreadable)."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) and value else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                break
    return 1.0


def _classify_api_error(exc: SlackApiError) -> ApiAnswer:
    response = exc.response
    status = int(getattr(response, "status_code", 0) or 0)
    data = response.data if isinstance(getattr(response, "data", None), dict) else {}
    error = str(data.get("error") or "unknown")
    if status == 429:
        return ApiAnswer("limited", data, "ratelimited", _retry_after(response.headers or {}))
    if not data or error.startswith(_NON_JSON):  # no Slack answer in the body
        if 400 <= status < 500:
            return ApiAnswer("transient", data, f"http_{status}")  # refused before processing
        return ApiAnswer("uncertain", data, f"http_{status}")
    if error in TEXT_FALLBACK_ERRORS:
        return ApiAnswer("fallback", data, error)
    if error in MAYBE_APPLIED_ERRORS:
        return ApiAnswer("maybe", data, error)
    if error in TRANSIENT_ERRORS:
        return ApiAnswer("transient", data, error)
    if error in PERMANENT_ERRORS:
        return ApiAnswer("permanent", data, error)
    if status >= 500:  # a Slack error body on a 5xx: answered before processing
        return ApiAnswer("transient", data, error)
    log.warning("Slack error %r (HTTP %s) not known; treating it as permanent", error, status)
    return ApiAnswer("permanent", data, error)


def call_once(method: Callable[..., Any], **kwargs: Any) -> ApiAnswer:
    """Calls a WebClient method once and classifies the outcome."""
    try:
        response = method(**kwargs)
    except SlackApiError as exc:
        return _classify_api_error(exc)
    except urllib.error.URLError as exc:
        # urllib raises URLError only while connecting and sending; a refused connection or
        # an unknown host never reached Slack, anything else may have.
        if isinstance(exc.reason, ConnectionRefusedError | socket.gaierror):
            return ApiAnswer("transient", {}, "connection_refused")
        return ApiAnswer("uncertain", {}, "connection_error")
    except TimeoutError:
        return ApiAnswer("uncertain", {}, "timeout")
    except (http.client.HTTPException, OSError):  # RemoteDisconnected, resets, bad answers
        return ApiAnswer("uncertain", {}, "connection_lost")
    return ApiAnswer("ok", response.data if isinstance(response.data, dict) else {})
