"""/align quotes what a reader can check (issue 22): a `why` pairs phrases from within one
sentence, `evidence` is one sentence of prose, and a document's headings and table rows (DOCX,
Markdown, plain text) are read as their own units, never glued to the next sentence."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

from conftest import run_fwbot_here
from document_samples import make_docx

from bot.services.documents import read_document
from retrieval.text import is_prose, split_passages, split_sentences

PROSE = [
    "Prosecutors say the seized phones are not examined in time for the trial.",
    "We will equip a digital forensics laboratory and train examiners to extract evidence "
    "from mobile devices.",
]
TABLE = [
    ["Quarter", "Activity"],
    ["Q1", "Procurement of forensic workstations"],
    ["Q2", "Examiner training and certification"],
]
MARKDOWN = (
    "# Mobile forensics capacity\n\n"
    "## Problem\n"
    f"{PROSE[0]}\n\n"
    "## Plan\n"
    f"{PROSE[1]}\n\n"
    "| Quarter | Activity |\n|---|---|\n"
    "| Q1 | Procurement of forensic workstations |\n"
    "| Q2 | Examiner training and certification |\n"
)


ROWS = ["Quarter | Activity"] + [" | ".join(r) for r in TABLE[1:]]


def check_readable(al, prose: list[str], others: list[str]) -> None:
    """Every tag's evidence is one of the ``prose`` sentences; every proposal phrase of its
    why lies within one of them or of the ``others`` (headings, table rows)."""
    assert al.tags
    for tag in al.tags:
        evidence = tag.evidence.rstrip("…")
        assert any(s.startswith(evidence) for s in prose), (tag.evidence, prose)
        phrases = re.findall(r"“([^”]*)” ↔", tag.why)
        assert phrases, tag.why
        for phrase in phrases:
            assert any(phrase in u for u in prose + others), (phrase, prose + others)


def test_headings_and_table_rows_are_units_of_their_own() -> None:
    text = (
        "Background\n"
        "Registry staff lose case files between hearings.\n"
        "Year 1 | Digitise the archive\n"
        "Year 2 | Train the clerks\n"
        "The system, bought from a local\n"
        "Supplier, replaces the paper ledger."
    )
    assert split_sentences(text) == [
        "Background",
        "Registry staff lose case files between hearings.",
        "Year 1 | Digitise the archive",
        "Year 2 | Train the clerks",
        "The system, bought from a local\nSupplier, replaces the paper ledger.",
    ]
    # A passage keeps them apart, so the sentences of a passage are found again.
    (passage,) = split_passages(text)
    assert split_sentences(passage) == [" ".join(s.split()) for s in split_sentences(text)]
    assert not is_prose("Objectives.") and not is_prose("Year 1 | Digitise the archive")
    assert is_prose("Registry staff lose case files between hearings.")


def test_plain_text_with_headings_on_their_own_lines(assistant) -> None:
    prose = [
        "Customs officers cannot check containers against the stolen vehicle records.",
        "Connect the border posts to the stolen motor vehicle database and train the officers "
        "who query it.",
    ]
    text = f"Summary\n{prose[0]}\nObjectives\n{prose[1]}"
    check_readable(assistant.align(text), prose, ["Summary", "Objectives"])


def test_a_why_phrase_stays_within_its_sentence(assistant) -> None:
    prose = [
        "The evidence lockers at the district courts do not meet court standards.",
        "The judiciary will receive training on handling and preserving digital evidence.",
    ]
    al = assistant.align(f"{prose[0]} Objectives. {prose[1]}")
    check_readable(al, prose, ["Objectives."])
    assert all("Objectives" not in t.evidence for t in al.tags)


def test_a_docx_with_a_heading_and_a_table(assistant) -> None:
    doc = read_document(make_docx(PROSE, table=TABLE, heading="Mobile forensics"), "p.docx")
    check_readable(assistant.align(doc.text), PROSE, ["Mobile forensics", *ROWS])


def test_a_markdown_file_through_the_cli(tmp_path: Path, fwbot_env) -> None:
    path = tmp_path / "proposal.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    proc = run_fwbot_here("align", "--file", path, "--json", env=fwbot_env)
    assert proc.returncode == 0, proc.stderr.decode()
    obj = json.loads(proc.stdout)
    text = read_document(MARKDOWN.encode(), "proposal.md").text
    assert "Q1 | Procurement of forensic workstations" in text.split("\n")

    al = SimpleNamespace(tags=[SimpleNamespace(**t) for t in obj["tags"]])
    check_readable(al, PROSE, ["Mobile forensics capacity", "Problem", "Plan", *ROWS])
