"""Files people shared in the fake workspace: ``files.info`` and the bytes at ``url_private``.

A test registers a file with :meth:`HostedFiles.add_file` (name, content, filetype, mimetype)
and gets Slack's file object back, its ``url_private`` / ``url_private_download`` pointing at
the fake itself (``/files-pri/T…-F…/name``). Those URLs serve the bytes only to a request with
``Authorization: Bearer <a valid bot token>``, like files.slack.com: no token → 401, an
unknown token → 403, and a token without the ``files:read`` scope (see
:meth:`HostedFiles.lack_scope`) → 200 with an HTML sign-in page, which is what real Slack
sends. ``files.info`` with such a token answers ``missing_scope``. Uploaded files (files
upload v2) are served the same way.
"""

from __future__ import annotations

import copy
import json
import mimetypes
import time
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from local_slack.messages import Params, Response, error

if TYPE_CHECKING:
    from local_slack.workspace import Workspace

TEAM_ID = "T0001"
SIGN_IN_PAGE = (
    b'<!DOCTYPE html>\n<html lang="en-US"><head><title>Slack</title></head>'
    b'<body><h1>Sign in to Test Team</h1><form action="/signin"></form></body>'
    b"</html>\n"
)
_FILETYPES = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".png": "png",
    ".jpg": "jpg",
    ".csv": "csv",
}
SCOPED_METHODS = {"files.info": "files:read"}

Answer = tuple[int, dict[str, str], bytes]


def file_object(record: Mapping[str, Any], root_url: str) -> dict[str, Any]:
    """Slack's file object for a stored file (as in files.info and in messages' ``files``)."""
    name = str(record["name"])
    suffix = PurePosixPath(name).suffix.lower()
    content = record.get("content") or b""
    base = f"{root_url}/files-pri/{TEAM_ID}-{record['id']}"
    return {
        "id": record["id"],
        "created": int(record.get("created") or time.time()),
        "timestamp": int(record.get("created") or time.time()),
        "name": name,
        "title": record.get("title") or name,
        "mimetype": record.get("mimetype")
        or mimetypes.guess_type(name)[0]
        or "application/octet-stream",
        "filetype": record.get("filetype") or _FILETYPES.get(suffix, suffix[1:] or "binary"),
        "pretty_type": (record.get("filetype") or suffix[1:] or "binary").upper(),
        "user": record.get("user") or "UBOT",
        "mode": "hosted",
        "editable": False,
        "is_external": False,
        "external_type": "",
        "is_public": True,
        "size": len(content) if record.get("size") is None else record["size"],
        "url_private": f"{base}/{quote(name)}",
        "url_private_download": f"{base}/download/{quote(name)}",
        "permalink": f"https://testteam.slack.com/files/{record.get('user') or 'UBOT'}/"
        f"{record['id']}/{quote(name)}",
    }


def files_info(workspace: Workspace, p: Params) -> Response:
    """``files.info``: the file object (``file_not_found`` for an unknown or deleted id)."""
    record = workspace.files.get(str(p.get("file") or ""))
    if record is None or record.get("content") is None:
        return error("file_not_found")
    return {
        "ok": True,
        "file": file_object(record, workspace.root_url),
        "comments": [],
        "response_metadata": {"next_cursor": ""},
    }


def _file_id(path: str) -> str:
    """``T0001-F00000001/download/name`` → ``F00000001``."""
    first = path.split("/", 1)[0]
    return first.split("-", 1)[1] if "-" in first else first


class HostedFiles:
    """Mixed into :class:`~local_slack.web_api.FakeSlackAPI`: shared files and the scope
    a token lacks."""

    workspace: Workspace
    tokens: set[str]
    _lacking: dict[str, set[str]]
    _failure: Callable[[str], Any]  # -> Failure | None
    _record: Callable[..., Answer]

    def add_file(
        self,
        name: str,
        content: bytes,
        *,
        filetype: str | None = None,
        mimetype: str | None = None,
        user: str = "U1",
        title: str | None = None,
        size: int | None = None,
        redirect_to: str | None = None,
    ) -> dict[str, Any]:
        """Stores a file someone shared; returns its Slack file object (``url_private`` on
        this server). ``size`` overrides the reported size (the bytes served stay
        ``content``); ``redirect_to``: a download with the right token is answered
        ``302 Location: <redirect_to>`` instead of the bytes (a redirect off Slack's host)."""
        ws = self.workspace
        file_id = ws.new_id("F")
        record: dict[str, Any] = {
            "id": file_id,
            "name": name,
            "title": title or name,
            "content": bytes(content),
            "filetype": filetype,
            "mimetype": mimetype,
            "user": user,
            "size": size,
            "created": int(time.time()),
            "shares": [],
            "redirect_to": redirect_to,
        }
        with ws.lock:
            ws.files[file_id] = record
            return file_object(record, ws.root_url)

    def lack_scope(self, token: str, scope: str = "files:read") -> None:
        """``token`` stays valid but lacks ``scope``: scoped methods answer ``missing_scope``
        and, for ``files:read``, url_private answers Slack's HTML sign-in page."""
        self._lacking.setdefault(scope, set()).add(token)

    def _missing_scope(self, method: str, token: str | None) -> Response | None:
        scope = SCOPED_METHODS.get(method)
        if scope is None or token not in self._lacking.get(scope, set()):
            return None
        return {
            "ok": False,
            "error": "missing_scope",
            "needed": scope,
            "provided": "chat:write,commands",
        }

    def _download(self, path: str, headers: dict[str, str]) -> tuple[Answer, dict[str, Any]]:
        """GET url_private(_download): (answer, what the call log records)."""
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        file_id = _file_id(path)
        if not token:
            return (401, {"Content-Type": "text/plain"}, b"Unauthorized"), {"error": "not_authed"}
        if token not in self.tokens:
            return (403, {"Content-Type": "text/plain"}, b"Forbidden"), {"error": "invalid_auth"}
        if token in self._lacking.get("files:read", set()):
            page = (200, {"Content-Type": "text/html; charset=utf-8"}, SIGN_IN_PAGE)
            return page, {"error": "sign_in_page"}
        with self.workspace.lock:
            record = copy.copy(self.workspace.files.get(file_id))
        if not record or record.get("content") is None:
            return (404, {"Content-Type": "text/plain"}, b"Not Found"), {"error": "file_not_found"}
        if record.get("redirect_to"):
            moved = (302, {"Location": str(record["redirect_to"])}, b"")
            return moved, {"redirect": record["redirect_to"]}
        mimetype = file_object(record, "")["mimetype"]
        name = quote(str(record["name"]))
        answer = (
            200,
            {"Content-Type": mimetype, "Content-Disposition": f'attachment; filename="{name}"'},
            record["content"],
        )
        return answer, {"ok": True, "size": len(record["content"])}

    def _file(self, path: str, headers: dict[str, str], at: float) -> Answer:
        """GET on a file's url_private, recorded as ``file_download`` (``fail_next`` works)."""
        params = {"path": path}
        failure = self._failure("file_download")
        if failure is not None:
            answer = (
                failure.status,
                {"Content-Type": "application/json", **failure.headers},
                json.dumps(failure.body).encode(),
            )
            return self._record("file_download", params, headers, at, answer, failure.body)
        answer, logged = self._download(path, headers)
        return self._record("file_download", params, headers, at, answer, logged)
