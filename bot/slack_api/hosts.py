"""Where URLs from Slack's payloads may take the bot: pure checks, no I/O.

A slash command's or click's ``response_url`` and a shared file's ``url_private(_download)``
come inside the request, so a forged or replayed request chooses them. The bot POSTs a reply
(another user's proposal) to the one and sends its bot token to the other, so each goes only
to the hosts Slack really uses for it, over https on the default port:

- response URLs: ``hooks.slack.com``, and ``hooks.slack-gov.com`` (GovSlack, Slack's own
  separate instance for the US public sector: the same webhooks on Slack's own domain; a
  workspace there gets every response URL from it);
- file downloads: ``files.slack.com`` (every ``url_private`` / ``url_private_download``), and
  ``files.slack-gov.com`` (GovSlack's). Not ``*.slack-edge.com`` (public avatars and emoji,
  never private files) nor ``slack-files.com`` (public links, which need no token).

Exact host names, not their subdomains. A URL with user info (``https://hooks.slack.com@x/``),
another port, plain http, a trailing dot, non-ASCII (IDN look-alikes) or a backslash is refused:
Slack never sends one.

The local fake (:mod:`local_slack`) serves both over plain http on loopback. It is allowed
only when the operator says so (``FWBOT_TRUST_LOCAL_SLACK``, which also requires
``SLACK_API_URL`` on loopback): then exactly the fake's origin (scheme, host, port of the Web
API client's base URL) is allowed as well - :func:`trust_local_slack` marks the client.
"""

from __future__ import annotations

import ipaddress
import weakref
from typing import Any, NamedTuple
from urllib.parse import urlsplit

RESPONSE_URL_HOSTS = ("hooks.slack.com", "hooks.slack-gov.com")
FILE_HOSTS = ("files.slack.com", "files.slack-gov.com")


class Origin(NamedTuple):
    scheme: str
    host: str
    port: int


def origin(url: str) -> Origin | None:
    """``url``'s (scheme, host, port), or None for anything that is not a plain http(s) URL
    with an ASCII host name and no user info. The host is lower-cased; the port defaults."""
    if not isinstance(url, str) or not url.isascii() or not url.isprintable():
        return None
    if "\\" in url or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port out of range or not a number, a bad IPv6 literal
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or "@" in parts.netloc:
        return None
    host = (parts.hostname or "").lower()
    if not host:
        return None
    return Origin(scheme, host, port if port is not None else (443 if scheme == "https" else 80))


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or ``localhost``."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower() == "localhost"


def local_origin(api_url: str) -> Origin | None:
    """The origin of ``api_url`` (``SLACK_API_URL``) if it is on loopback (the local fake),
    else None."""
    found = origin(api_url)
    return found if found is not None and is_loopback(found.host) else None


def _allowed(url: str, hosts: tuple[str, ...], local: Origin | None) -> bool:
    found = origin(url)
    if found is None:
        return False
    if local is not None and found == local:
        return True
    return found.scheme == "https" and found.port == 443 and found.host in hosts


def response_url_allowed(url: str, *, local: Origin | None = None) -> bool:
    """Whether a reply may be POSTed to ``url``: Slack's webhook hosts over https, or exactly
    the trusted ``local`` origin."""
    return _allowed(url, RESPONSE_URL_HOSTS, local)


def file_url_allowed(url: str, *, local: Origin | None = None) -> bool:
    """Whether the bot token may be sent to ``url``: Slack's file hosts over https, or exactly
    the trusted ``local`` origin."""
    return _allowed(url, FILE_HOSTS, local)


def shown(url: str) -> str:
    """``url`` as a log line may show it: scheme, host and port only (a response URL's path
    is its secret), at most 80 characters."""
    found = origin(url)
    if found is None:
        return "a URL that is not plain http(s)"
    return f"{found.scheme}://{found.host}:{found.port}"[:80]


# ---- the local fake, trusted per Web API client ----------------------------------------------

_TRUSTED: weakref.WeakKeyDictionary[Any, Origin] = weakref.WeakKeyDictionary()


def trust_local_slack(client: Any) -> None:
    """Allow the origin of ``client.base_url`` (a slack_sdk ``WebClient``) for that client's
    response URLs and downloads: for the local fake only (``FWBOT_TRUST_LOCAL_SLACK``, tests).
    ValueError if the base URL is not on loopback."""
    found = local_origin(str(client.base_url))
    if found is None:
        raise ValueError("only a Slack on loopback (the local fake) can be trusted this way")
    _TRUSTED[client] = found


def trusted_local(client: Any) -> Origin | None:
    """The local origin :func:`trust_local_slack` allowed for ``client``, if any."""
    try:
        return _TRUSTED.get(client)
    except TypeError:  # not weakly referenceable: never marked
        return None
