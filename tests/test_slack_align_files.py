"""The "Align this message" shortcut on a message with documents: the real bolt app downloads
each file from the fake Slack with the bot token, reads it (bot/services/documents.py) and aligns
the message's text with the documents' text; unreadable files are named with their reason."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from document_samples import TRAINING, blank_pdf, make_docx, make_pdf

from bot.services.documents import MAX_BYTES, read_document
from bot.services.proposal_files import (
    FilesRead,
    read_message_files,
)
from bot.slack.ids import SHORTCUT_ALIGN_MESSAGE
from bot.slack_api.files import FetchError, TooLarge, file_fetcher
from bot.slack_api.hosts import local_origin
from local_slack.files import SIGN_IN_PAGE
from tests.slack_fixtures import BOT_TOKEN

DIVERSITY = (
    "Recruit and retain diverse talent across the General Secretariat, and make the "
    "working environment safe and respectful for all staff."
)


def _shortcut(bot, files: list[dict], text: str = "") -> dict:
    """Run the shortcut on a message with ``files``; the one private reply."""
    r = bot.requests
    url = bot.api.response_url()
    message = {"type": "message", "text": text, "ts": "1700000000.000200", "user": "U7"}
    ack = bot.send(
        r.interaction(
            r.message_shortcut_payload(
                SHORTCUT_ALIGN_MESSAGE,
                message,
                user="U1",
                channel="C1",
                response_url=url,
                files=files,
            )
        )
    )
    assert ack.status == 200 and not ack.body  # acked at once; the work comes after
    (reply,) = bot.responses(url)
    return reply


def _contexts(reply: dict) -> list[str]:
    return [
        e["text"] for b in reply.get("blocks", []) if b["type"] == "context" for e in b["elements"]
    ]


def _engine_ids(bot, text: str) -> list[str]:
    return [t.id for t in bot.deps.alignments.align_text(text).tags]


def test_a_pdf_is_downloaded_with_the_bot_token_read_and_aligned(slack_bot) -> None:
    data = make_pdf([TRAINING, "Page two: the course runs twice a year."])
    shared = slack_bot.api.add_file("budget.pdf", data)
    reply = _shortcut(slack_bot, [shared])

    (download,) = slack_bot.api.calls("file_download")
    assert download.status == 200
    assert download.headers.get("Authorization") == f"Bearer {BOT_TOKEN}"
    doc = read_document(data, "budget.pdf")
    assert f"Read budget.pdf: 2 pages, {doc.words} words" in _contexts(reply)
    (record,) = slack_bot.store.recent_alignments("U1")
    assert record.text == doc.text  # what was aligned is the document's text
    assert record.suggested_ids  # the PDF's own tags, shown in the reply
    assert list(record.suggested_ids) == _engine_ids(slack_bot, doc.text)
    assert all(f"*{i}*" in json.dumps(reply["blocks"]) for i in record.suggested_ids)


def test_message_text_and_several_documents_are_aligned_together(slack_bot) -> None:
    api = slack_bot.api
    files = [
        api.add_file("plan.docx", make_docx([DIVERSITY], heading="People plan")),
        api.add_file("notes.md", b"# Notes\n\n- **Mentoring** for new recruits\n"),
    ]
    reply = _shortcut(slack_bot, files, text="Our people plan for next year, attached.")
    assert _contexts(reply)[0].split("\n") == [
        f"Read plan.docx: {len(DIVERSITY.split()) + 2} words",
        "Read notes.md: 5 words",
    ]
    (record,) = slack_bot.store.recent_alignments("U1")
    assert record.text == (
        "Our people plan for next year, attached.\n\nPeople plan\n"
        f"{DIVERSITY}\n\nNotes\n\nMentoring for new recruits"
    )
    assert record.suggested_ids
    assert list(record.suggested_ids) == _engine_ids(slack_bot, record.text)


def test_files_beyond_the_first_three_are_left_out_and_said(slack_bot) -> None:
    files = [
        slack_bot.api.add_file(f"part{i}.txt", f"{TRAINING} Part {i}.".encode()) for i in range(5)
    ]
    reply = _shortcut(slack_bot, files)
    assert len(slack_bot.api.calls("file_download")) == 3
    note = _contexts(reply)[0].split("\n")
    assert [line.split(":")[0] for line in note[:3]] == [f"Read part{i}.txt" for i in range(3)]
    assert note[3] == "I read the first 3 files; 2 more were left out."


def test_a_file_given_only_by_id_is_looked_up_with_files_info(slack_bot) -> None:
    shared = slack_bot.api.add_file("proposal.txt", TRAINING.encode(), filetype="text")
    reply = _shortcut(slack_bot, [{"id": shared["id"], "file_access": "check_file_info"}])
    (info,) = slack_bot.api.calls("files.info")
    assert info.params["file"] == shared["id"] and info.ok
    assert f"Read proposal.txt: {len(TRAINING.split())} words" in _contexts(reply)


def test_a_scan_alone_gets_the_reason_and_no_alignment(slack_bot) -> None:
    reply = _shortcut(slack_bot, [slack_bot.api.add_file("scan.pdf", blank_pdf())])
    assert reply["text"] == (
        "scan.pdf has no text layer (a scan?): paste the text or attach a PDF with text"
    )
    assert slack_bot.store.recent_alignments("U1") == []


def test_an_unreadable_file_next_to_text_becomes_a_note(slack_bot) -> None:
    files = [
        slack_bot.api.add_file("scan.pdf", blank_pdf()),
        slack_bot.api.add_file("photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
    ]
    reply = _shortcut(slack_bot, files, text=TRAINING)
    assert _contexts(reply)[0].split("\n") == [
        "scan.pdf has no text layer (a scan?): paste the text or attach a PDF with text",
        "photo.png is an image: I read PDF, Word (.docx), Markdown (.md) or plain text (.txt) "
        "files",
    ]
    (record,) = slack_bot.store.recent_alignments("U1")
    assert record.text == TRAINING
    assert record.suggested_ids and list(record.suggested_ids) == _engine_ids(slack_bot, TRAINING)


@pytest.mark.parametrize("by_id", [False, True], ids=["sign-in-page", "missing-scope"])
def test_without_files_read_the_reply_says_which_permission_is_missing(
    slack_bot, by_id: bool
) -> None:
    shared = slack_bot.api.add_file("budget.pdf", make_pdf([TRAINING]))
    slack_bot.api.lack_scope(BOT_TOKEN, "files:read")
    reply = _shortcut(slack_bot, [{"id": shared["id"]}] if by_id else [shared])
    name = f"the file {shared['id']}" if by_id else "budget.pdf"  # files.info said nothing
    assert reply["text"] == (
        f"{name} can't be read: the app lacks Slack's files:read "
        "permission (an admin needs to reinstall it with that scope)"
    )
    if by_id:
        assert slack_bot.api.calls("files.info")[0].error == "missing_scope"
    else:
        assert slack_bot.api.calls("file_download")[0].response["error"] == "sign_in_page"


def test_a_file_over_the_limit_is_refused_without_downloading_it(slack_bot) -> None:
    shared = slack_bot.api.add_file("huge.pdf", b"%PDF-1.4 tiny", size=MAX_BYTES * 3)
    reply = _shortcut(slack_bot, [shared])
    assert reply["text"] == (
        "huge.pdf is 30 MB, over the 10 MB limit: attach a smaller file or paste the text"
    )
    assert slack_bot.api.calls("file_download") == []


def test_a_failed_or_deleted_download_is_named(slack_bot) -> None:
    api = slack_bot.api
    broken = api.add_file("broken.txt", TRAINING.encode())
    gone = api.add_file("gone.txt", TRAINING.encode())
    api.fail_next("file_download", status=500, error="internal_error")
    api.workspace.files.pop(gone["id"])
    reply = _shortcut(slack_bot, [broken, gone, {"id": "F9", "mode": "tombstone"}])
    assert reply["text"].split("\n") == [
        "broken.txt can't be downloaded: Slack answered HTTP 500",
        "gone.txt is no longer on Slack (deleted?)",
        "the file F9 was deleted",
    ]


def test_file_names_are_shown_not_acted_on(slack_bot) -> None:
    shared = slack_bot.api.add_file("<!channel> plan.txt", TRAINING.encode())
    reply = _shortcut(slack_bot, [shared])
    raw = json.dumps(reply)
    assert "<!channel>" not in raw and "&lt;!channel&gt; plan.txt" in raw


def test_an_unexpected_failure_while_reading_is_told_with_a_reference(
    slack_bot, monkeypatch
) -> None:
    from bot.slack.listeners import align as listener

    def broken(client):
        raise RuntimeError("boom")

    monkeypatch.setattr(listener, "slack_files_reader", broken)
    reply = _shortcut(slack_bot, [slack_bot.api.add_file("a.txt", TRAINING.encode())])
    assert "couldn't read the files of that message" in reply["text"]
    assert "ref" in reply["text"] and slack_bot.store.recent_alignments("U1") == []


# ---- the fake's files and the fetcher ---------------------------------------------------------


def _get(url: str, token: str | None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


def test_the_fake_serves_file_bytes_only_to_the_right_token(fake_slack) -> None:
    shared = fake_slack.add_file("budget.pdf", b"%PDF-1.4 bytes")
    assert shared["filetype"] == "pdf" and shared["mimetype"] == "application/pdf"
    assert shared["size"] == 14 and shared["url_private"].startswith(fake_slack.root_url)
    url = shared["url_private_download"]
    assert _get(url, BOT_TOKEN) == (200, "application/pdf", b"%PDF-1.4 bytes")
    assert _get(url, None)[0] == 401
    assert _get(url, "xoxb-wrong")[0] == 403
    info = fake_slack.client(BOT_TOKEN).files_info(file=shared["id"])
    assert info["file"] == shared
    fake_slack.lack_scope(BOT_TOKEN)
    assert _get(url, BOT_TOKEN) == (200, "text/html; charset=utf-8", SIGN_IN_PAGE)


# Where the token may go, and redirects: tests/test_slack_inputs.py.


def test_a_download_bigger_than_slack_said_is_refused(fake_slack) -> None:
    shared = fake_slack.add_file("big.txt", b"word " * 400, size=10)  # its size lies
    fetch = file_fetcher(BOT_TOKEN, local=local_origin(fake_slack.base_url), max_bytes=1000)
    with pytest.raises(TooLarge) as caught:
        fetch(shared["url_private"])
    assert (caught.value.size, caught.value.limit) == (2000, 1000)
    problem = read_message_files([shared], fetch=fetch).problems[0]
    assert problem.reason == "is 2 KB, over the 1 KB limit: attach a smaller file or paste the text"


def test_read_message_files_takes_any_fetch() -> None:
    def fetch(url: str) -> bytes:
        if url.endswith("/down"):
            raise FetchError("took more than 20 s to download: try again")
        return TRAINING.encode()

    read = read_message_files(
        [
            {"name": "a.txt", "url_private": "https://files.slack.com/a"},
            {"name": "b.txt", "url_private": "https://files.slack.com/down"},
            {"name": "c.txt", "id": "F3"},
        ],
        fetch=fetch,
        file_info=lambda file_id: {"ok": False, "error": "file_not_found"},
    )
    assert [d.name for d in read.documents] == ["a.txt"]
    assert read.note() == (
        "Read a.txt: 29 words\nb.txt took more than 20 s to download: try again\nc.txt was deleted"
    )
    assert read.proposal("  ") == TRAINING
    assert FilesRead().note() is None and FilesRead().proposal("hi") == "hi"


def test_a_markdown_file_opening_with_an_html_comment_is_not_a_sign_in_page() -> None:
    md = b"<!-- template v2 -->\n# Border training\n\nTrain **officers** on passports.\n"
    read = read_message_files(
        [
            {
                "name": "plan.md",
                "filetype": "markdown",
                "url_private": "https://files.slack.com/plan.md",
            }
        ],
        fetch=lambda url: md,
    )
    assert read.problems == []
    assert read.documents[0].text == "Border training\n\nTrain officers on passports."
    signed_out = read_message_files(
        [
            {
                "name": "plan.md",
                "filetype": "markdown",
                "url_private": "https://files.slack.com/plan.md",
            }
        ],
        fetch=lambda url: SIGN_IN_PAGE,
    )
    assert [p.code for p in signed_out.problems] == ["scope"]
