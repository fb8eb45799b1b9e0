"""Proposals as documents (bot/services/documents.py): PDF, DOCX, Markdown and text, every
refusal with its one-line reason, and `fwbot align --file` on them (subprocesses, like the CLI
contract)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from conftest import run_fwbot
from document_samples import TRAINING, blank_pdf, encrypted_pdf, make_docx, make_pdf

from bot.services import documents
from bot.services.documents import (
    MAX_BYTES,
    DocumentError,
    declared_kind,
    markdown_to_text,
    read_document,
    read_document_file,
)

BUDGET = "Budget: 30,000 euros for trainers, travel and translation of the course material."


def refusal(data: bytes, name: str, **kw) -> DocumentError:
    with pytest.raises(DocumentError) as caught:
        read_document(data, name, **kw)
    exc = caught.value
    assert "\n" not in str(exc) and str(exc) == f"{name} {exc.reason}"
    return exc


# ---- PDF -------------------------------------------------------------------------------------


def test_a_pdf_is_read_page_by_page_with_pages_and_words() -> None:
    doc = read_document(make_pdf([TRAINING, BUDGET + " (see annex)"]), "proposal.pdf")
    assert doc.kind == "pdf" and doc.pages == 2
    assert " ".join(doc.text.split()) == f"{TRAINING} {BUDGET} (see annex)"
    assert doc.words == len(TRAINING.split()) + len(BUDGET.split()) + 2
    assert doc.summary() == f"proposal.pdf: 2 pages, {doc.words} words"


def test_a_scanned_pdf_says_it_has_no_text_layer() -> None:
    exc = refusal(blank_pdf(pages=3), "scan.pdf")
    assert exc.code == "no_text"
    assert exc.reason == ("has no text layer (a scan?): paste the text or attach a PDF with text")


def test_a_password_protected_pdf_is_refused() -> None:
    exc = refusal(encrypted_pdf(TRAINING), "locked.pdf")
    assert exc.code == "encrypted" and "password-protected" in exc.reason


def test_a_pdf_locked_only_against_editing_is_read() -> None:
    doc = read_document(encrypted_pdf(TRAINING, password=""), "owner-only.pdf")
    assert " ".join(doc.text.split()) == TRAINING


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_a_truncated_pdf_is_damaged_not_a_scan(keep: float) -> None:
    data = make_pdf([TRAINING])
    exc = refusal(data[: int(len(data) * keep)], "cut.pdf")
    assert exc.code == "damaged" and "damaged or incomplete" in exc.reason


def test_magic_bytes_win_over_the_name() -> None:
    doc = read_document(make_pdf([TRAINING]), "proposal.txt")  # a PDF with a .txt name
    assert doc.kind == "pdf" and doc.pages == 1
    assert read_document(b"PDFs start with %PDF-1.7.", "notes.txt").kind == "text"
    exc = refusal(b"Just some words, not a PDF at all.", "proposal.pdf")
    assert exc.code == "wrong_type" and "is not a PDF" in exc.reason
    exc = refusal(b"<!DOCTYPE html><html><body>Sign in</body></html>", "budget.pdf")
    assert exc.code == "html" and exc.reason == "is a web page (HTML), not a PDF"


# ---- DOCX ------------------------------------------------------------------------------------


def test_a_docx_is_read_with_its_heading_paragraphs_and_table() -> None:
    data = make_docx(
        [TRAINING, BUDGET],
        table=[["Item", "Cost"], ["Trainers", "20,000"]],
        heading="Border training",
    )
    doc = read_document(data, "proposal.docx")
    assert doc.kind == "docx" and doc.pages is None
    assert doc.text.split("\n") == [
        "Border training",
        TRAINING,
        BUDGET,
        "Item | Cost",
        "Trainers | 20,000",
    ]
    assert doc.words == len(doc.text.replace("|", " ").split()) + 2  # "|" counts as a word
    assert doc.summary() == f"proposal.docx: {doc.words} words"


def test_a_docx_named_txt_is_still_a_docx_and_a_truncated_one_is_damaged() -> None:
    data = make_docx([TRAINING])
    assert read_document(data, "notes.txt").kind == "docx"
    assert refusal(data[: len(data) // 2], "cut.docx").code == "damaged"


def test_other_zip_formats_are_named_and_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("ppt/presentation.xml", "<p/>")
    exc = refusal(out.getvalue(), "deck.docx")
    assert exc.code == "unsupported" and exc.reason.startswith("is a PowerPoint file")
    assert "PDF, Word (.docx), Markdown (.md) or plain text (.txt)" in exc.reason


def test_a_docx_that_unpacks_too_big_is_refused_before_parsing(monkeypatch) -> None:
    monkeypatch.setattr(documents, "MAX_UNPACKED_BYTES", 1000)
    exc = refusal(make_docx([TRAINING * 20]), "bomb.docx")
    assert exc.code == "too_large" and "unpacks to more than" in exc.reason


# ---- Markdown and text -----------------------------------------------------------------------


def test_markdown_keeps_the_words_and_drops_the_markup() -> None:
    md = (
        "---\ntitle: front matter\n---\n"
        "# Regional *training* workshop #\n\n"
        "We will **train** border_police officers on the [stolen passport database]"
        '(https://example.org/sltd "SLTD"), see <https://example.org/x>.\n\n'
        "![flow diagram](img/flow.png)\n\n"
        "- [ ] item with __strong__ text\n1. numbered `I-24/7` item\n> quoted line\n\n"
        "| Item | Cost |\n|------|-----:|\n| Trainers | 20,000 |\n\n"
        "```python\nprint('# not a heading')\n```\n"
        "[ref]: https://example.org/ref\n"
        "Escaped \\*stars\\*, 2*3*4 and snake_case stay. <b>bold</b><!-- hidden -->\n***\n"
    )
    assert markdown_to_text(md).split("\n") == [
        "Regional training workshop",
        "",
        "We will train border_police officers on the stolen passport database, see "
        "https://example.org/x.",
        "",
        "flow diagram",
        "",
        "item with strong text",
        "numbered I-24/7 item",
        "quoted line",
        "",
        "Item | Cost",
        "Trainers | 20,000",
        "",
        "print('# not a heading')",
        "Escaped *stars*, 2*3*4 and snake_case stay. bold",
    ]
    doc = read_document(md.encode(), "proposal.md")
    assert doc.kind == "markdown" and doc.text == markdown_to_text(md)
    assert "example.org/sltd" not in doc.text and "**" not in doc.text


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ("Café crème training".encode(), "Café crème training"),
        ("\ufeffBOM first".encode(), "BOM first"),
        ("Windows “quotes” café".encode("cp1252"), "Windows “quotes” café"),
        ("Latin-1 na\xefve caf\xe9".encode("latin-1"), "Latin-1 naïve café"),
        ("UTF-16 notepad text".encode("utf-16"), "UTF-16 notepad text"),
        (b"line one\r\nline two\r\n", "line one\nline two"),
    ],
    ids=["utf-8", "utf-8-bom", "cp1252", "latin-1", "utf-16", "crlf"],
)
def test_text_encodings(data: bytes, text: str) -> None:
    doc = read_document(data, "proposal.txt")
    assert doc.kind == "text" and doc.text == text and doc.pages is None


def test_a_name_without_extension_is_read_as_text_and_slack_filetype_counts() -> None:
    assert read_document(b"Train officers.", "Proposal v1.2").kind == "text"
    assert read_document(b"# Train *officers*", "Untitled", filetype="markdown").text == (
        "Train officers"
    )
    assert declared_kind("notes", mimetype="application/pdf; charset=binary") == "pdf"
    assert declared_kind("Budget.PDF", filetype="text") == "pdf"  # the name comes first


@pytest.mark.parametrize(
    ("data", "name", "code", "says"),
    [
        (b"", "empty.txt", "empty", "is empty"),
        (b"  \n\t \n", "blank.md", "no_text", "has no text to align"),
        (bytes(range(256)) * 8, "random.txt", "binary", "is a binary file, not text"),
        (b"\x00\x01\x02ELF" + b"\x00" * 50, "program", "binary", "is a binary file, not text"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "photo.txt", "unsupported", "is an image"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 20,
            "old.doc",
            "unsupported",
            "is an old Office file",
        ),
        (b"a,b\n1,2\n", "numbers.csv", "unsupported", "is a .csv file"),
    ],
    ids=["empty", "blank", "binary", "nul-bytes", "image", "ole", "csv"],
)
def test_refusals_have_one_kind_line(data: bytes, name: str, code: str, says: str) -> None:
    exc = refusal(data, name)
    assert exc.code == code and exc.reason.startswith(says), exc.reason
    if code in ("binary", "unsupported"):
        assert "I read PDF, Word (.docx), Markdown (.md) or plain text (.txt) files" in str(exc)


def test_size_limit_is_said_and_a_big_file_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch
) -> None:
    exc = refusal(b"x" * (MAX_BYTES + 1), "big.txt")
    assert exc.code == "too_large"
    assert exc.reason == (
        "is 10.1 MB, over the 10 MB limit: attach a smaller file or paste the text"
    )
    huge = tmp_path / "huge.pdf"
    with huge.open("wb") as f:  # sparse: 50 MB on paper, nothing on disk
        f.truncate(50 * 1024 * 1024)
    opened: list[Path] = []
    real_open = Path.open
    monkeypatch.setattr(
        Path, "open", lambda self, *a, **k: opened.append(self) or real_open(self, *a, **k)
    )
    with pytest.raises(DocumentError) as caught:
        read_document_file(huge)
    assert caught.value.code == "too_large" and "50 MB" in caught.value.reason
    assert opened == []  # refused from its size, never read


def test_extracted_text_is_bounded(monkeypatch) -> None:
    monkeypatch.setattr(documents, "MAX_TEXT_CHARS", 100)
    doc = read_document(("word " * 1000).encode(), "long.txt")
    assert doc.truncated and doc.words == 20 and "(cut short)" in doc.summary()


# ---- fwbot align --file ----------------------------------------------------------------------


@pytest.mark.slow  # a fwbot subprocess
def test_cli_aligns_a_pdf_and_says_what_it_read(tmp_path: Path, fwbot_env) -> None:
    pdf = tmp_path / "proposal.pdf"
    pdf.write_bytes(make_pdf([TRAINING, BUDGET]))
    doc = read_document(pdf.read_bytes(), str(pdf))
    words = len(TRAINING.split()) + len(BUDGET.split())
    proc = run_fwbot("align", "--file", pdf, "--json", env=fwbot_env)
    assert proc.returncode == 0, proc.stderr.decode()
    obj = json.loads(proc.stdout)
    assert obj.pop("source") == {"name": str(pdf), "kind": "pdf", "pages": 2, "words": words}
    assert set(obj) == {"id", "tags", "no_fit", "reviewer"} and obj["tags"]
    # The tags are those of the PDF's text, as if it had been pasted.
    pasted = run_fwbot("align", "-", "--json", input=doc.text.encode(), env=fwbot_env)
    assert json.loads(pasted.stdout) == obj

    proc = run_fwbot("align", "--file", pdf, env=fwbot_env)
    assert proc.returncode == 0, proc.stderr.decode()
    first, *rest = proc.stdout.decode().splitlines()
    assert first == f"Read {pdf}: 2 pages, {words} words."
    assert rest[0].startswith(obj["tags"][0]["id"] + " ")


@pytest.mark.slow  # a fwbot subprocess
def test_cli_aligns_a_docx_with_a_json_source(tmp_path: Path, fwbot_env) -> None:
    docx_file = tmp_path / "proposal.docx"
    docx_file.write_bytes(make_docx([TRAINING]))
    proc = run_fwbot("align", "--file", docx_file, "--json", env=fwbot_env)
    assert proc.returncode == 0, proc.stderr.decode()
    obj = json.loads(proc.stdout)
    assert obj["source"] == {
        "name": str(docx_file),
        "kind": "docx",
        "pages": None,
        "words": len(TRAINING.split()),
    }
    assert obj["tags"] and obj["no_fit"] is False


@pytest.mark.slow  # a fwbot subprocess
@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        (
            "scan.pdf",
            blank_pdf(),
            "has no text layer (a scan?): paste the text or attach a PDF with text",
        ),
        (
            "locked.pdf",
            encrypted_pdf(TRAINING),
            "is password-protected: attach an unprotected copy or paste the text",
        ),
        (
            "fake.pdf",
            b"plain words",
            "is not a PDF (its content says otherwise): attach the real file or paste the text",
        ),
        (
            "tool.exe",
            b"MZ\x90\x00" + bytes(range(256)),
            "is a .exe file: I read PDF, Word (.docx), Markdown (.md) or plain text (.txt) files",
        ),
    ],
    ids=["scan", "encrypted", "not-a-pdf", "unsupported"],
)
def test_cli_reports_an_unreadable_file_on_one_line(
    tmp_path: Path, fwbot_env, name: str, data: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    proc = run_fwbot("align", "--file", path, "--json", env=fwbot_env)
    assert proc.returncode == 1 and proc.stdout == b""
    assert proc.stderr.decode() == f"fwbot: {path}: {reason}\n"
