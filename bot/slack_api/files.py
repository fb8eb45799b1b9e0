"""Files shared in Slack: downloads with the bot token and ``files.info``.

The bot token goes only to Slack's file hosts over https (:func:`.hosts.file_url_allowed`;
the local fake only when trusted, ``FWBOT_TRUST_LOCAL_SLACK``). A redirect is followed only
to such a host, and without the token (urllib would carry an ``add_header`` header to any
host; the token is an unredirected header); one elsewhere is refused, its page never read.
Downloads are bounded in size and time. What the bytes hold is read elsewhere
(:mod:`bot.services.documents`)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import IO, Any

from slack_sdk.errors import SlackApiError

from .hosts import Origin, file_url_allowed, is_loopback, origin

DOWNLOAD_TIMEOUT = 20.0  # seconds per file
NOT_ON_SLACK = "is not stored on Slack, so I won't send it the app's token"

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


class _SlackRedirectsOnly(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to an allowed file host (the token stays behind: it is an
    unredirected header); any other raises :class:`FetchError` before connecting there."""

    def __init__(self, local: Origin | None) -> None:
        self.local = local

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        if not file_url_allowed(newurl, local=self.local):
            fp.close()
            raise FetchError(
                "can't be downloaded: Slack sent the download elsewhere, and I only read files "
                "from Slack's file hosts"
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def file_fetcher(
    token: str,
    *,
    local: Origin | None = None,
    timeout: float = DOWNLOAD_TIMEOUT,
    max_bytes: int,
) -> Fetch:
    """A :data:`Fetch` that downloads with ``Authorization: Bearer <token>``, only from Slack's
    file hosts over https or exactly the trusted ``local`` origin (the fake's, from
    :func:`.hosts.trusted_local`), reading at most ``max_bytes``. The token is not sent again
    after a redirect, and a redirect off those hosts is refused."""

    def fetch(url: str) -> bytes:
        if not file_url_allowed(url, local=local):
            raise FetchError(NOT_ON_SLACK)
        found = origin(url)
        request = urllib.request.Request(url, method="GET")
        request.add_unredirected_header("Authorization", f"Bearer {token}")
        loopback = found is not None and is_loopback(found.host)
        proxies = urllib.request.ProxyHandler({} if loopback else None)
        opener = urllib.request.build_opener(proxies, _SlackRedirectsOnly(local))
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
