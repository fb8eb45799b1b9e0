"""The documents attached to a Slack message, fetched and read for /align.

:func:`read_message_files` takes the message's ``files`` and two callables — ``fetch`` (URL →
bytes) and ``file_info`` (file id → ``files.info``'s JSON answer) — and returns what was read
and, one line each, what could not be. :func:`slack_files_reader` makes those callables from
the bot's WebClient (:mod:`bot.slack_api.files`: the bot token goes only to Slack's file hosts,
never along a redirect, and downloads are bounded in size and time).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..slack_api.files import Fetch, FetchError, FileInfo, TooLarge, file_fetcher, file_info_reader
from ..slack_api.hosts import trusted_local
from .documents import (
    MAX_BYTES,
    Document,
    DocumentError,
    looks_like_html,
    read_document,
    too_large,
)

MAX_FILES = 3  # files of one message read; the rest are named in the note


NO_SCOPE = (
    "can't be read: the app lacks Slack's files:read permission (an admin needs to "
    "reinstall it with that scope)"
)


@dataclass(frozen=True)
class FilesRead:
    """The documents read from a message's files, the one-line problems, and how many files
    were left out (beyond :data:`MAX_FILES`)."""

    documents: list[Document] = field(default_factory=list)
    problems: list[DocumentError] = field(default_factory=list)
    left_out: int = 0

    def proposal(self, message_text: str) -> str:
        """The message's text followed by each document's text."""
        parts = [message_text.strip(), *(d.text for d in self.documents)]
        return "\n\n".join(p for p in parts if p)

    def note(self) -> str | None:
        """ "Read budget.pdf: 3 pages, 1,204 words", then each problem, one line each."""
        lines = [f"Read {d.summary()}" for d in self.documents]
        lines += [str(p) for p in self.problems]
        if self.left_out:
            more = "1 more was" if self.left_out == 1 else f"{self.left_out} more were"
            lines.append(f"I read the first {MAX_FILES} files; {more} left out.")
        return "\n".join(lines) or None


def read_message_files(
    files: Sequence[Mapping[str, Any]] | None,
    *,
    fetch: Fetch,
    file_info: FileInfo | None = None,
    max_files: int = MAX_FILES,
) -> FilesRead:
    """Fetch and read up to ``max_files`` of a message's ``files``; never raises for a file
    that can't be read (it becomes a problem line)."""
    files = [f for f in files or () if isinstance(f, Mapping)]
    read = FilesRead(left_out=max(0, len(files) - max_files))
    for shared in files[:max_files]:
        try:
            read.documents.append(read_shared_file(shared, fetch=fetch, file_info=file_info))
        except DocumentError as exc:
            read.problems.append(exc)
    return read


def _name(file: Mapping[str, Any]) -> str:
    """The file's name; a message may give only its id ("the file F0123")."""
    name = file.get("name") or file.get("title")
    return str(name) if name else f"the file {file.get('id') or '(no id)'}"


def _complete(file: Mapping[str, Any], file_info: FileInfo | None) -> Mapping[str, Any]:
    """The file object with its download URL: the message's own, else files.info's."""
    if file.get("mode") == "tombstone":
        raise DocumentError(_name(file), "was deleted", "gone")
    if file.get("url_private") and file.get("file_access") != "check_file_info":
        return file
    if file_info is None or not file.get("id"):
        raise DocumentError(_name(file), "can't be looked up on Slack", "download")
    answer = file_info(str(file["id"]))
    if answer.get("ok") and isinstance(answer.get("file"), Mapping):
        return answer["file"]
    problem = str(answer.get("error") or "an unknown error")
    if problem == "missing_scope":
        raise DocumentError(_name(file), NO_SCOPE, "scope")
    if problem in ("file_not_found", "file_deleted"):
        raise DocumentError(_name(file), "was deleted", "gone")
    raise DocumentError(_name(file), f"can't be looked up on Slack ({problem})", "download")


def read_shared_file(
    file: Mapping[str, Any], *, fetch: Fetch, file_info: FileInfo | None = None
) -> Document:
    """Fetch and read one shared file; :class:`DocumentError` says why it can't be read."""
    file = _complete(file, file_info)
    name = _name(file)
    if file.get("is_external"):
        raise DocumentError(
            name,
            "is a link to a file outside Slack: upload the file itself or paste the text",
            "unsupported",
        )
    size = file.get("size")
    if isinstance(size, int) and size > MAX_BYTES:
        raise too_large(name, size)  # refused before downloading it
    url = file.get("url_private_download") or file.get("url_private")
    if not url:
        raise DocumentError(name, "has no download link on Slack", "download")
    try:
        data = fetch(str(url))
    except TooLarge as exc:
        raise too_large(name, exc.size, exc.limit) from exc
    except FetchError as exc:
        raise DocumentError(name, exc.reason, "download") from exc
    filetype, mimetype = file.get("filetype"), file.get("mimetype")
    if looks_like_html(data) and filetype != "html" and "html" not in str(mimetype or ""):
        # Slack answers a token without files:read with its sign-in page, not an error.
        raise DocumentError(name, NO_SCOPE, "scope")
    return read_document(data, name, filetype=filetype, mimetype=mimetype)


def slack_files_reader(client: Any) -> Callable[[Sequence[Mapping[str, Any]] | None], FilesRead]:
    """:func:`read_message_files` bound to a WebClient's token (sent only to Slack's file
    hosts, or to the local fake if that client trusts it: :func:`trusted_local`)."""
    fetch = file_fetcher(client.token, local=trusted_local(client), max_bytes=MAX_BYTES)
    info = file_info_reader(client)
    return lambda files: read_message_files(files, fetch=fetch, file_info=info)
