"""Proposals that arrive as documents: PDF, Word (.docx), Markdown and plain text, read to text.

:func:`read_document` takes the bytes and the file's name (and, from Slack, its ``filetype``
and ``mimetype``) and returns a :class:`Document`; every failure raises :class:`DocumentError`
whose ``reason`` is one kind line that completes "<name> …" ("has no text layer (a scan?):
…"). The type is decided by the content's magic bytes first (a ``.txt`` that is a PDF is read
as a PDF; a ``.pdf`` that is not one is refused), then by the name, Slack's filetype and the
mimetype. Memory stays bounded: files over :data:`MAX_BYTES` are refused before they are read,
a DOCX that would unpack to more than :data:`MAX_UNPACKED_BYTES` is refused, and text beyond
:data:`MAX_TEXT_CHARS` is not extracted. Nothing here knows about Slack.
"""

from __future__ import annotations

import io
import logging
import math
import re
import warnings
import zipfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

MAX_BYTES = 10 * 1024 * 1024  # the largest document read (10 MB)
MAX_UNPACKED_BYTES = 64 * 1024 * 1024  # a DOCX's parts, unpacked
MAX_TEXT_CHARS = 1_000_000  # text extracted beyond this is dropped (align reads 20,000 words)
SUPPORTED = "PDF, Word (.docx), Markdown (.md) or plain text (.txt)"

Kind = Literal["pdf", "docx", "markdown", "text"]

# pypdf logs recoverable oddities of real-world files as warnings; they are not the user's
# business (an unreadable file raises instead) and would otherwise reach the CLI's stderr.
if logging.getLogger("pypdf").level == logging.NOTSET:
    logging.getLogger("pypdf").setLevel(logging.ERROR)


class DocumentError(ValueError):
    """A document that can't be read. ``reason`` completes "<name> …"; ``code`` is one of
    ``too_large``, ``empty``, ``no_text``, ``encrypted``, ``damaged``, ``unsupported``,
    ``binary``, ``html`` (a web page where a PDF or DOCX was expected), ``wrong_type`` (a
    ``.pdf`` or ``.docx`` whose content is something else); :mod:`bot.services.proposal_files` adds
    ``download``, ``gone`` and ``scope`` for files it could not fetch from Slack."""

    def __init__(self, name: str, reason: str, code: str) -> None:
        super().__init__(f"{name} {reason}")
        self.name, self.reason, self.code = name, reason, code


class Document(BaseModel):
    """What was read: the text, the kind, pages (PDF only) and words."""

    name: str
    kind: Kind
    text: str
    pages: int | None = None
    words: int
    truncated: bool = False  # text beyond MAX_TEXT_CHARS was left out

    def summary(self) -> str:
        """``"budget.pdf: 3 pages, 1,204 words"``."""
        parts = [_count(self.pages, "page")] if self.pages is not None else []
        parts.append(_count(self.words, "word") + (" (cut short)" if self.truncated else ""))
        return f"{self.name}: {', '.join(parts)}"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def size_text(n: int) -> str:
    """``10 MB``, ``12.4 MB`` (rounded up, so a file just over a limit reads as over it),
    ``900 KB``."""
    if n < 1024 * 1024:
        return f"{max(1, math.ceil(n / 1024))} KB"
    mb = math.ceil(n * 10 / 1024 / 1024) / 10
    return f"{mb:g} MB"


def too_large(name: str, size: int, limit: int = MAX_BYTES) -> DocumentError:
    return DocumentError(
        name,
        f"is {size_text(size)}, over the {size_text(limit)} limit: attach a smaller "
        "file or paste the text",
        "too_large",
    )


# ---- deciding the kind -------------------------------------------------------------------

_EXTENSIONS: dict[str, Kind] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdown": "markdown",
    ".mkd": "markdown",
    ".txt": "text",
    ".text": "text",
}
_FILETYPES: dict[str, Kind] = {  # Slack's file.filetype
    "pdf": "pdf",
    "docx": "docx",
    "markdown": "markdown",
    "text": "text",
}
_MIMETYPES: dict[str, Kind] = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/plain": "text",
}
# Formats recognised by their first bytes that are not read: what to call them.
_OTHER_MAGIC = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office file (.doc, .xls or .ppt)"),
    (b"{\\rtf", "an RTF file"),
    (b"\x89PNG", "an image"),
    (b"\xff\xd8\xff", "an image"),
    (b"GIF8", "an image"),
    (b"RIFF", "an image or media file"),
    (b"\x1f\x8b", "a compressed (gzip) file"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
)
_ZIP_KINDS = (
    ("ppt/", "a PowerPoint file"),
    ("xl/", "an Excel file"),
    ("content.xml", "an OpenDocument file"),
)
_EXTENSION = re.compile(r"^\.[a-z][a-z0-9]{0,7}$")
_HTML = re.compile(rb"^\s*(?:<!doctype\s+html|<html[\s>]|<head[\s>])", re.IGNORECASE)


def looks_like_html(data: bytes) -> bool:
    """True when ``data`` starts like a web page (e.g. a sign-in page instead of a file)."""
    return bool(_HTML.match(data[:512].lstrip(b"\xef\xbb\xbf")))


def declared_kind(
    name: str, filetype: str | None = None, mimetype: str | None = None
) -> Kind | None:
    """The kind the name's extension, else Slack's filetype, else the mimetype, says."""
    by_name = _EXTENSIONS.get(extension(name) or "")
    by_type = _FILETYPES.get((filetype or "").lower())
    by_mime = _MIMETYPES.get((mimetype or "").split(";")[0].strip().lower())
    return by_name or by_type or by_mime


def extension(name: str) -> str | None:
    """``".pdf"`` for ``"Budget.PDF"``; None when the name has none ("Proposal v1.2")."""
    suffix = Path(name).suffix.lower()
    return suffix if _EXTENSION.match(suffix) else None


def _unsupported(name: str, what: str) -> DocumentError:
    return DocumentError(name, f"is {what}: I read {SUPPORTED} files", "unsupported")


def read_document(
    data: bytes, name: str, *, filetype: str | None = None, mimetype: str | None = None
) -> Document:
    """The text of the document ``data`` called ``name``; :class:`DocumentError` if it can't
    be read. ``filetype`` / ``mimetype`` are Slack's, used when the name has no extension."""
    if len(data) > MAX_BYTES:
        raise too_large(name, len(data))
    if not data:
        raise DocumentError(name, "is empty", "empty")
    declared = declared_kind(name, filetype, mimetype)
    pdf_at = data[:1024].find(b"%PDF-")  # readers allow junk before the header
    if pdf_at == 0 or (pdf_at > 0 and declared not in ("text", "markdown")):
        return _read_pdf(data, name)
    if data.startswith(b"PK\x03\x04"):
        return _read_zip(data, name, declared)
    for magic, what in _OTHER_MAGIC:
        if data.startswith(magic):
            raise _unsupported(name, what)
    if declared in ("pdf", "docx"):
        label = "a PDF" if declared == "pdf" else "a Word document"
        if looks_like_html(data):
            raise DocumentError(name, f"is a web page (HTML), not {label}", "html")
        raise DocumentError(
            name,
            f"is not {label} (its content says otherwise): attach the real file or paste the text",
            "wrong_type",
        )
    if declared is None and extension(name):
        raise _unsupported(name, f"a {extension(name)} file")
    text = decode_text(data, name)
    if declared == "markdown":
        return _finish(name, "markdown", markdown_to_text(text))
    return _finish(name, "text", text)


def read_document_file(path: str | Path, name: str | None = None) -> Document:
    """:func:`read_document` on a file, refusing one over :data:`MAX_BYTES` before reading it.
    OSErrors (not found, a folder, no permission) propagate."""
    path = Path(path)
    name = name or str(path)
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise too_large(name, size)
    with path.open("rb") as f:
        data = f.read(MAX_BYTES + 1)  # it may have grown, or be a pipe
    return read_document(data, name)


def _finish(name: str, kind: Kind, text: str, pages: int | None = None) -> Document:
    truncated = len(text) > MAX_TEXT_CHARS
    text = text[:MAX_TEXT_CHARS].strip()
    words = len(text.split())
    if words == 0:
        if kind == "pdf":
            raise DocumentError(
                name,
                "has no text layer (a scan?): paste the text or attach a PDF with text",
                "no_text",
            )
        raise DocumentError(name, "has no text to align", "no_text")
    return Document(name=name, kind=kind, text=text, pages=pages, words=words, truncated=truncated)


def _damaged(name: str, what: str) -> DocumentError:
    return DocumentError(
        name,
        f"is damaged or incomplete: it can't be read as {what} (attach "
        "it again, or paste the text)",
        "damaged",
    )


# ---- PDF ---------------------------------------------------------------------------------


def _read_pdf(data: bytes, name: str) -> Document:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    complete = b"%%EOF" in data[-2048:]
    locked = DocumentError(
        name, "is password-protected: attach an unprotected copy or paste the text", "encrypted"
    )
    pieces: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):  # an owner password only: fine
                raise locked
            pages = len(reader.pages)
            size = 0
            for page in reader.pages:
                piece = page.extract_text() or ""
                pieces.append(piece)
                size += len(piece)
                if size > MAX_TEXT_CHARS:
                    break
    except DocumentError:
        raise
    except (FileNotDecryptedError, DependencyError, NotImplementedError) as exc:
        raise locked from exc
    except Exception as exc:  # pypdf raises many kinds (PdfReadError, ...) on broken files
        raise _damaged(name, "a PDF") from exc
    text = "\n\n".join(p.strip() for p in pieces if p.strip())
    if not complete and not text.strip():
        raise _damaged(name, "a PDF")  # cut short, not a scan
    return _finish(name, "pdf", text, pages=pages)


# ---- DOCX --------------------------------------------------------------------------------


def _read_zip(data: bytes, name: str, declared: Kind | None) -> Document:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise _damaged(name, "a Word document" if declared == "docx" else "a ZIP file") from exc
    names = {e.filename for e in entries}
    if "word/document.xml" not in names:
        what = next(
            (w for prefix, w in _ZIP_KINDS if any(n.startswith(prefix) for n in names)),
            "a ZIP archive",
        )
        raise _unsupported(name, what)
    if sum(e.file_size for e in entries) > MAX_UNPACKED_BYTES:
        raise DocumentError(
            name,
            f"unpacks to more than {size_text(MAX_UNPACKED_BYTES)}: "
            "attach a smaller file or paste the text",
            "too_large",
        )
    return _read_docx(data, name)


def _read_docx(data: bytes, name: str) -> Document:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        lines: list[str] = []
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                for row in block.rows:
                    cells: list[str] = []
                    for cell in row.cells:  # a merged cell repeats: keep it once
                        text = cell.text.strip()
                        if text and (not cells or cells[-1] != text):
                            cells.append(text)
                    lines.append(" | ".join(cells))
            else:
                lines.append(block.text)
    except Exception as exc:  # python-docx and lxml raise many kinds on broken files
        raise _damaged(name, "a Word document") from exc
    return _finish(name, "docx", "\n".join(lines))


# ---- plain text --------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def decode_text(data: bytes, name: str) -> str:
    """Text from bytes: UTF-8 (with or without BOM), UTF-16 with a BOM; Windows-1252 /
    Latin-1 only when the bytes are clearly text. Binary content raises ``binary``."""
    binary = DocumentError(name, f"is a binary file, not text: I read {SUPPORTED} files", "binary")
    text: str
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise binary from exc
    elif b"\x00" in data[:65536]:
        raise binary
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            # Not UTF-8: an old Windows or Latin-1 file has a few accented letters, compressed
            # or encrypted data has high bytes everywhere.
            head = data[:65536]
            if sum(1 for b in head if b >= 0x80) > len(head) * 0.3:
                raise binary from None
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
    sample = text[:65536]
    if sample and len(_CONTROL.findall(sample)) > len(sample) / 100:
        raise binary
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ---- Markdown ----------------------------------------------------------------------------

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_FRONT_MATTER = re.compile(r"\A---\n.*?\n(?:---|\.\.\.)\n", re.DOTALL)
_DROPPED_LINES = re.compile(
    r"^\s{0,3}(?:[-*_]\s*){3,}$"  # thematic break
    r"|^\s{0,3}(?:=+|-+)\s*$"  # setext underline
    r"|^\s{0,3}\[[^\]]+\]:\s*\S+.*$"  # link reference definition
    r"|^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$"  # a table's rule
)
_LINE_RULES = (
    (re.compile(r"^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$"), r"\1"),  # ATX heading
    (re.compile(r"^\s{0,3}(?:>\s?)+"), ""),  # block quote
    (re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s+(?:\[[ xX]\]\s+)?"), ""),  # list item, task
)
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~<])")
_HELD = re.compile("[\ue000-\ue07f]")  # escaped characters, held out of the rules
_INLINE_RULES = (
    (re.compile(r"<!--.*?-->", re.DOTALL), ""),  # HTML comment
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # image: its alt text
    (re.compile(r"\[([^\]]+)\]\((?:[^()]|\([^)]*\))*\)"), r"\1"),  # link: its text
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # reference link
    (re.compile(r"\[\^[^\]]+\]"), ""),  # footnote reference
    (re.compile(r"<((?:https?|mailto):[^>\s]+)>"), r"\1"),  # autolink
    (re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>"), ""),  # HTML tag
    (re.compile(r"(`+)(.+?)\1"), r"\2"),  # inline code
    (re.compile(r"(?<![\w*])(\*{1,3}|_{1,3})(?=\S)(.+?)(?<=\S)\1(?![\w*])"), r"\2"),  # emphasis
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),  # strikethrough
)


def markdown_to_text(markdown: str) -> str:
    """Markdown's words without its markup: headings, emphasis, list and quote markers, code
    fences, tables' rules, HTML tags and links' URLs go; their text stays (a table row's
    cells between "|", as a DOCX table's, so that the row is read as its own unit)."""
    markdown = _FRONT_MATTER.sub("", markdown.replace("\r\n", "\n"))
    markdown = _ESCAPED.sub(lambda m: chr(0xE000 + ord(m.group(1))), markdown)
    out: list[str] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        opener = _FENCE.match(line)
        if fence is not None:  # inside a code block: keep the text as it is
            if opener and opener.group(1)[0] == fence[0] and len(opener.group(1)) >= len(fence):
                fence = None
            else:
                out.append(line)
            continue
        if opener:
            fence = opener.group(1)
            continue
        if _DROPPED_LINES.match(line):
            continue
        for pattern, repl in _LINE_RULES:
            line = pattern.sub(repl, line)
        if "|" in line and line.strip().startswith("|"):
            # a row stays a row, cells between "|" as a DOCX table's: read as its own unit
            line = " | ".join(c.strip() for c in line.strip().strip("|").split("|"))
        out.append(line)
    text = "\n".join(out)
    for pattern, repl in _INLINE_RULES:
        text = pattern.sub(repl, text)
    text = _HELD.sub(lambda m: chr(ord(m.group()) - 0xE000), text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
