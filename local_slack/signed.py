"""Signed HTTP requests exactly as Slack sends them to an app (events, commands, interactions).

``sign`` computes Slack's v0 signature; :class:`SlackRequests` builds :class:`SignedRequest`
values; :func:`to_bolt_request` dispatches one in process (``app.dispatch``) and :func:`post`
sends one over HTTP with urllib.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from local_slack.payloads import PayloadShapes, new_trigger_id

if TYPE_CHECKING:
    from slack_bolt import BoltRequest

JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


def sign(body: str | bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` (``v0=`` + hex
    HMAC-SHA256 of ``v0:{timestamp}:{body}``) for ``body`` (text is signed as its UTF-8
    bytes; bytes as they are, even when they are not UTF-8); timestamp defaults to now."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    raw = body if isinstance(body, bytes) else body.encode()
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + raw, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


@dataclass(frozen=True)
class SignedRequest:
    """A request body with the headers Slack sends along, and the app path it targets."""

    body: str
    headers: dict[str, str]
    path: str = "/slack/events"

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` header."""
        return self.headers.get("Content-Type", "")

    def parsed(self) -> dict[str, Any]:
        """The body as data: the JSON document, the form fields, or an interaction's payload."""
        if self.content_type.startswith(JSON_TYPE):
            return json.loads(self.body)
        form = dict(parse_qsl(self.body, keep_blank_values=True))
        return json.loads(form["payload"]) if set(form) == {"payload"} else form


def _compact(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


class SlackRequests(PayloadShapes):
    """Builds signed Slack → app requests for one app in one workspace. ``clock`` (default
    ``time.time``) stamps the signatures; pass an old clock to build stale requests."""

    def __init__(
        self,
        secret: str,
        team_id: str = "T0001",
        api_app_id: str = "A0001",
        *,
        team_domain: str = "testteam",
        verification_token: str = "fake-verification-token",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.secret = secret
        self.team_id = team_id
        self.api_app_id = api_app_id
        self.team_domain = team_domain
        self.verification_token = verification_token
        self.clock = clock

    def _signed(
        self, body: str, content_type: str, extra: dict[str, str] | None = None
    ) -> SignedRequest:
        headers = {
            "Content-Type": content_type,
            "User-Agent": SLACK_USER_AGENT,
            "Accept": "application/json,*/*",
            "Accept-Encoding": "gzip,deflate",
            **sign(body, self.secret, int(self.clock())),
            **(extra or {}),
        }
        return SignedRequest(body=body, headers=headers)

    def resign(
        self, req: SignedRequest, *, timestamp: int | None = None, secret: str | None = None
    ) -> SignedRequest:
        """The same request signed again (another timestamp or secret: stale / forged)."""
        headers = {**req.headers, **sign(req.body, secret or self.secret, timestamp)}
        return dataclasses.replace(req, headers=headers)

    def slash_command(
        self,
        command: str,
        text: str,
        *,
        user_id: str,
        channel_id: str,
        response_url: str,
        trigger_id: str | None = None,
        user_name: str | None = None,
        channel_name: str | None = None,
    ) -> SignedRequest:
        """A slash command invocation, form-encoded with every field Slack sends."""
        if channel_name is None:
            channel_name = "directmessage" if channel_id.startswith("D") else "general"
        fields = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name or user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id or new_trigger_id(),
        }
        return self._signed(urlencode(fields), FORM_TYPE)

    def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        authorizations_user: str = "UBOT",
    ) -> SignedRequest:
        """An Events API ``event_callback`` envelope around ``event``; ``retry_num`` adds the
        ``X-Slack-Retry-Num`` / ``X-Slack-Retry-Reason`` headers of a redelivery."""
        context = _compact({"is_bot": True, "app_id": self.api_app_id, "team_id": self.team_id})
        envelope = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or "Ev" + secrets.token_hex(5).upper(),
            "event_time": int(self.clock()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": authorizations_user,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + base64.urlsafe_b64encode(context.encode()).decode(),
        }
        extra = {}
        if retry_num is not None:
            extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return self._signed(_compact(envelope), JSON_TYPE, extra)

    def url_verification(self, challenge: str) -> SignedRequest:
        """The ``url_verification`` handshake Slack sends when the request URL is set."""
        body = {
            "token": self.verification_token,
            "challenge": challenge,
            "type": "url_verification",
        }
        return self._signed(_compact(body), JSON_TYPE)

    def interaction(self, payload: dict[str, Any]) -> SignedRequest:
        """An interactivity request: form body ``payload=<json>``."""
        return self._signed(urlencode({"payload": _compact(payload)}), FORM_TYPE)


def to_bolt_request(req: SignedRequest) -> BoltRequest:
    """A BoltRequest for ``app.dispatch(...)``, carrying the raw body and headers."""
    from slack_bolt import BoltRequest

    return BoltRequest(body=req.body, headers=dict(req.headers))


def post(url: str, req: SignedRequest, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """POSTs ``req`` to ``url`` (the full endpoint URL); returns (status, headers, body)."""
    request = urllib.request.Request(
        url, data=req.body.encode("utf-8"), headers=dict(req.headers), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers.items()), err.read()
