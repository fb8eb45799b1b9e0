"""Files shared in Slack: downloads with the bot token and ``files.info``.

The bot token goes only to Slack's own hosts (or the configured API host, e.g. the local
fake), never along a redirect; downloads are bounded in size and time. What the bytes hold is
read elsewhere (:mod:`bot.services.documents`)."""

from __future__ import annotations

import ipaddress
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from slack_sdk.errors import SlackApiError

DOWNLOAD_TIMEOUT = 20.0  # seconds per file
SLACK_HOSTS = ("slack.com", "slack-edge.com", "slack-files.com")

Fetch = Callable[[str], bytes]  # url -> bytes; raises FetchError
FileInfo = Callable[[str], Mapping[str, Any]]  # file id -> files.info's answer (ok, file|error)


class FetchError(Exception):
    """A download that failed; ``reason`` completes "<name> …"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TooLarge(FetchError):
    """A download over its ``limit``: ``size`` bytes (declared, or at least read)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"is {size:,} bytes, over the {limit:,}-byte limit")
        self.size, self.limit = size, limit


def _host_allowed(host: str, allowed: Sequence[str]) -> bool:
    host = host.lower().rstrip(".")
    return any(host == a or host.endswith("." + a) for a in allowed)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def file_fetcher(
    token: str,
    *,
    api_url: str | None = None,
    timeout: float = DOWNLOAD_TIMEOUT,
    max_bytes: int,
) -> Fetch:
    """A :data:`Fetch` that downloads with ``Authorization: Bearer <token>``, only from Slack's
    hosts or ``api_url``'s host, reading at most ``max_bytes``. The token is not sent again
    after a redirect."""
    api_host = (urlsplit(api_url).hostname or "") if api_url else ""
    allowed = (*SLACK_HOSTS, *([api_host] if api_host else []))

    def fetch(url: str) -> bytes:
        parts = urlsplit(url)
        host = parts.hostname or ""
        secure = parts.scheme == "https" or (parts.scheme == "http" and host == api_host)
        if not secure or not _host_allowed(host, allowed):
            raise FetchError("is not stored on Slack, so I won't send it the app's token")
        request = urllib.request.Request(url, method="GET")
        request.add_unredirected_header("Authorization", f"Bearer {token}")
        proxies = urllib.request.ProxyHandler({} if _is_loopback(host) else None)
        opener = urllib.request.build_opener(proxies)
        try:
            with opener.open(request, timeout=timeout) as response:
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise TooLarge(int(declared), max_bytes)
                data = response.read(max_bytes + 1)
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise FetchError(
                    f"can't be downloaded: Slack refused the app's token (HTTP {exc.code})"
                ) from exc
            if exc.code == 404:
                raise FetchError("is no longer on Slack (deleted?)") from exc
            raise FetchError(f"can't be downloaded: Slack answered HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError) as exc:
            why = getattr(exc, "reason", None) or exc
            if isinstance(why, TimeoutError):
                raise FetchError(f"took more than {timeout:g} s to download: try again") from exc
            raise FetchError(f"can't be downloaded ({why})") from exc
        if len(data) > max_bytes:
            raise TooLarge(len(data), max_bytes)  # at least this: the rest was not read
        return data

    return fetch


def file_info_reader(client: Any) -> FileInfo:
    """A :data:`FileInfo` calling ``files.info`` with a slack_sdk ``WebClient``; Slack's
    errors come back as its ``{"ok": false, "error": …}`` answer."""

    def info(file_id: str) -> Mapping[str, Any]:
        try:
            return dict(client.files_info(file=file_id).data)
        except SlackApiError as exc:
            data = getattr(exc.response, "data", None)
            return dict(data) if isinstance(data, Mapping) else {"ok": False, "error": str(exc)}

    return info
