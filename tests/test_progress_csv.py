"""CSV import/export of initiatives: good files, every kind of bad row reported with its
physical line and column, whole-file problems, export -> import round trips, and importing
again (by id, or title and owner) on SQLite and PostgreSQL: updated, not duplicated."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from pathlib import Path

import pytest

from bot.progress.csv_io import (
    ALL_COLUMNS,
    COLUMNS,
    MAX_ROWS,
    REQUIRED,
    CsvImportError,
    RowError,
    format_initiatives_csv,
    parse_initiatives_csv,
    read_initiatives_csv,
)
from bot.progress.csv_plan import ImportPlan, PlannedRow, changes, describe, plan_import
from bot.progress.schedule import plan_nudges
from bot.storage.progress_records import AuditEntry, InitiativeRecord, NewInitiative
from bot.storage.progress_store import ProgressStore
from framework_data.loader import load_framework
from framework_data.schema import Framework
from tests.progress_fixtures import initiative_record

FIXTURES = Path(__file__).parent / "fixtures" / "frameworks"
INTERPOL = load_framework()
MINIMAL = load_framework(FIXTURES / "ok_minimal.yaml")
LETTERS = Framework.model_validate(
    {
        "id": "letters",
        "title": "Letter ids",
        "goals": [
            {
                "id": "14",
                "title": "Oceans",
                "objectives": [
                    {"id": "14.a", "text": "Increase knowledge"},
                    {"id": "14.C", "text": "Enhance conservation"},
                ],
            }
        ],
    }
)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HEADER = ",".join(COLUMNS)


def parse(data: bytes | str, fw: Framework = INTERPOL, **kw: object) -> list[NewInitiative]:
    return parse_initiatives_csv(data, fw, now=kw.pop("now", NOW), **kw)  # type: ignore[arg-type]


def errors_of(data: bytes | str, fw: Framework = INTERPOL, **kw: object) -> tuple[RowError, ...]:
    with pytest.raises(CsvImportError) as info:
        parse(data, fw, **kw)
    assert info.value.errors, "a CsvImportError must carry at least one error"
    return info.value.errors


def only_error(data: bytes | str, fw: Framework = INTERPOL, **kw: object) -> RowError:
    errors = errors_of(data, fw, **kw)
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def rows(*lines: str, header: str = HEADER) -> str:
    return "\n".join([header, *lines]) + "\n"


# created by an admin 30 days ago, for an owner with a Slack-like id, without updates
record = partial(
    initiative_record,
    now=NOW,
    owner_id="U012AB3CD",
    created_by="UADMIN",
    updated_at=NOW - timedelta(days=30),
)


# ---- a good file ------------------------------------------------------------------------------


def test_good_file_with_bom_crlf_multiline_and_mentions() -> None:
    data = (
        "\ufeff Title ,OWNER,Objectives, cadence ,Last Update,description\r\n"
        'Modernise I-24/7,U012AB3CD,1.1; 2.3;,Weekly,2026-11-20,"First line,\r\n'
        'second line with ""quotes"""\r\n'
        "\r\n"
        ",,,,,\r\n"
        "  Train   analysts ,<@W0123ABCD|alice>,5.5;1.1;5.5,MONTHLY,2026-11-20T14:05:00+02:00,\r\n"
        "=Budget review,<@U012AB3CD>,4.2,fortnightly,2026-11-30 08:00,\r\n"
    ).encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")
    assert parse(data) == [
        NewInitiative(
            title="Modernise I-24/7",
            owner_id="U012AB3CD",
            objective_ids=("1.1", "2.3"),
            cadence="weekly",
            description='First line,\nsecond line with "quotes"',
            last_update_at=datetime(2026, 11, 20, tzinfo=UTC),
        ),
        NewInitiative(
            title="Train analysts",
            owner_id="W0123ABCD",
            objective_ids=("5.5", "1.1"),
            cadence="monthly",
            last_update_at=datetime(2026, 11, 20, 12, 5, tzinfo=UTC),
        ),
        NewInitiative(
            title="=Budget review",
            owner_id="U012AB3CD",
            objective_ids=("4.2",),
            cadence="fortnightly",
            last_update_at=datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
        ),
    ]


def test_optional_columns_may_be_left_out_and_ids_take_the_frameworks_spelling() -> None:
    # columns in any order, optional ones left out
    data = 'objectives,title,owner,cadence\n"14.A;14.c; 14.a ",Reef survey,U1,weekly\n'
    [item] = parse(data, LETTERS)
    assert item.objective_ids == ("14.a", "14.C")
    assert (item.title, item.owner_id, item.cadence) == ("Reef survey", "U1", "weekly")
    assert item.description == "" and item.last_update_at is None


def test_values_starting_with_formula_characters_are_fine_on_import() -> None:
    data = rows(*(f"{t},U1,1.1,weekly,,{t} more" for t in ("=SUM(A1)", "+1 idea", "-cut", "@x")))
    assert [(i.title, i.description) for i in parse(data)] == [
        ("=SUM(A1)", "=SUM(A1) more"),
        ("+1 idea", "+1 idea more"),
        ("-cut", "-cut more"),
        ("@x", "@x more"),
    ]


def test_a_single_quote_before_a_formula_character_is_removed() -> None:
    data = rows("'=A1,U1,1.1,weekly,,'-note", "''@x,U1,1.1,weekly,,", "'plain,U1,1.1,weekly,,")
    assert [(i.title, i.description) for i in parse(data)] == [
        ("=A1", "-note"),
        ("'@x", ""),
        ("'plain", ""),
    ]


def test_dates_naive_offset_zulu_and_tolerance() -> None:
    data = rows(
        "a,U1,1.1,weekly,2026-11-20T14:05,",
        "b,U1,1.1,weekly,2026-11-20T14:05Z,",
        "c,U1,1.1,weekly,2026-11-20T14:05:00-05:00,",
        "d,U1,1.1,weekly,2026-12-02T11:00:00+00:00,",  # within a day of NOW: time zones
    )
    assert [i.last_update_at for i in parse(data)] == [
        datetime(2026, 11, 20, 14, 5, tzinfo=UTC),
        datetime(2026, 11, 20, 14, 5, tzinfo=UTC),
        datetime(2026, 11, 20, 19, 5, tzinfo=UTC),
        datetime(2026, 12, 2, 11, 0, tzinfo=UTC),
    ]
    assert all(i.last_update_at and i.last_update_at.tzinfo == UTC for i in parse(data))
    # a naive ``now`` is taken as UTC
    assert len(parse(data, now=NOW.replace(tzinfo=None))) == 4


def test_trailing_nameless_column_is_ignored() -> None:
    data = "title,owner,objectives,cadence,\nA,U1,1.1,weekly,\n"
    assert [i.title for i in parse(data)] == ["A"]
    error = only_error("title,owner,objectives,cadence,\nA,U1,1.1,weekly,oops\n")
    assert (error.line, error.column) == (2, None)
    assert "column 5" in error.message and "no name" in error.message


# ---- bad rows -----------------------------------------------------------------------------------


def test_every_bad_row_reported_with_its_physical_line_and_column() -> None:
    data = (
        "\r\n".join(
            [
                HEADER,  # 1
                'Fine one,U1,1.1,weekly,,"a description',  # 2 (spans 2-4)
                "over three",
                'lines"',
                ",U1,1.1,weekly,,",  # 5 title empty
                "Owner by name,@bob,1.1,weekly,,",  # 6
                "Email owner,bob@example.org,1.1,weekly,,",  # 7
                "",  # 8 blank
                "Unknown objectives,U1,9.9;1.1;7.1,weekly,,",  # 9
                'Commas,U1,"1.1, 2.3",weekly,,',  # 10
                "Daily,U1,1.1,daily,,",  # 11
                "Bi,U1,1.1,Bi-weekly,,",  # 12
                "Bad date,U1,1.1,weekly,20/11/2026,",  # 13
                "Future,U1,1.1,weekly,2027-01-01,",  # 14
                "Too few,U1,1.1",  # 15
                "Too,many,U1,1.1,weekly,,",  # 16
                f"{'x' * 201},U1,1.1,weekly,,",  # 17
                "Bell\x07,U1,1.1,weekly,,",  # 18
                f"Long description,U1,1.1,weekly,,{'d' * 4001}",  # 19
                "fine ONE,U1,2.1,monthly,,",  # 20 duplicate of 2
                "No objectives,U1, ; ,weekly,,",  # 21
                "Lowercase id,u012ab3cd,1.1,weekly,,",  # 22
                "Several,bob,,soon,never,",  # 23
            ]
        )
        + "\r\n"
    )
    errors = errors_of(data)
    assert [(e.line, e.column) for e in errors] == [
        (5, "title"),
        (6, "owner"),
        (7, "owner"),
        (9, "objectives"),
        (10, "objectives"),
        (11, "cadence"),
        (12, "cadence"),
        (13, "last_update"),
        (14, "last_update"),
        (15, None),
        (16, None),
        (17, "title"),
        (18, "title"),
        (19, "description"),
        (20, "title"),
        (21, "objectives"),
        (22, "owner"),
        (23, "owner"),
        (23, "objectives"),
        (23, "cadence"),
        (23, "last_update"),
    ]
    by = {(e.line, e.column): e.message for e in errors}
    assert "is empty" in by[5, "title"]
    for line in (6, 7, 22):
        assert "is not a Slack user id (like U012AB3CD)" in by[line, "owner"]
        assert "Copy member ID" in by[line, "owner"]
    assert "'@bob'" in by[6, "owner"]
    assert by[9, "objectives"].startswith("unknown objectives 9.9, 7.1; this framework has 1.1–5.5")
    assert (
        "'1.1, 2.3'" in by[10, "objectives"]
        and "separate objective ids with ';'" in by[10, "objectives"]
    )
    assert "weekly, fortnightly" in by[11, "cadence"] and "monthly" in by[11, "cadence"]
    assert "fortnightly" in by[12, "cadence"] and "twice a week" in by[12, "cadence"]
    assert "2026-11-20" in by[13, "last_update"] and "'20/11/2026'" in by[13, "last_update"]
    assert "in the future" in by[14, "last_update"]
    assert "has 3 values but the header has 6 columns" in by[15, None]
    assert "has 7 values" in by[16, None]
    assert "201 characters" in by[17, "title"] and "200" in by[17, "title"]
    assert "U+0007" in by[18, "title"]
    assert "4001 characters" in by[19, "description"]
    assert "already on line 2" in by[20, "title"]
    assert "at least one objective" in by[21, "objectives"]
    assert str(errors[1]).startswith("line 6, owner: '@bob' is not a Slack user id")


def test_error_summary_lists_every_error() -> None:
    with pytest.raises(CsvImportError) as info:
        parse(rows("A,bob,1.1,weekly,,", "B,U1,1.1,often,,"))
    err = info.value
    assert isinstance(err, ValueError)
    lines = str(err).splitlines()
    assert len(lines) == 3
    assert "2 problems" in lines[0] and "nothing was imported" in lines[0]
    assert lines[1].startswith("line 2, owner: 'bob' is not a Slack user id (like U012AB3CD)")
    assert lines[2].startswith("line 3, cadence: 'often' is not a cadence")
    assert str(RowError(0, None, "empty")) == "file: empty"
    assert str(RowError(4, None, "bad")) == "line 4: bad"


def test_field_count_error_mentions_a_row_spanning_lines() -> None:
    error = only_error(rows('A,U1,1.1,weekly,"note', 'more",B,U1,1.1,weekly,x'))
    assert (error.line, error.column) == (2, None)
    assert "from line 2 to 3" in error.message


def test_unclosed_and_stray_quotes() -> None:
    error = only_error(rows("A,U1,1.1,weekly,,", '"B,U1,1.1,weekly,,', "C,U1,1.1,weekly,,"))
    assert error.line == 3 and "never closed" in error.message
    error = only_error(rows("A,U1,1.1,weekly,,", '"B"x,U1,1.1,weekly,,'))
    assert error.line == 3 and 'write it twice ("")' in error.message


def test_duplicate_title_and_owner_is_reported_on_the_later_line() -> None:
    data = rows(
        "Same,U1,1.1,weekly,,",
        "Same,U2,1.1,weekly,,",
        "Other,U1,1.1,weekly,,",
        "  SAME ,<@U1>,2.1,monthly,,",
    )
    error = only_error(data)
    assert (error.line, error.column) == (5, "title")
    assert "already on line 2" in error.message and "U1" in error.message


def test_unknown_objective_hint_for_a_small_framework() -> None:
    error = only_error(rows("A,U1,1.2,weekly,,"), MINIMAL)
    assert error.column == "objectives"
    assert error.message == "unknown objective 1.2; this framework has one objective: 1.1"
    error = only_error(rows("A,U1,14.b,weekly,,"), LETTERS)
    assert "this framework's objectives are 14.a, 14.C" in error.message


def test_future_dates_are_refused_beyond_a_day() -> None:
    error = only_error(rows("A,U1,1.1,weekly,2026-12-02T12:00:01+00:00,"))
    assert (error.line, error.column) == (2, "last_update") and "future" in error.message
    error = only_error(rows("A,U1,1.1,weekly,0001-01-01T00:00:00+01:00,"))
    assert error.column == "last_update" and "expected form" in error.message


def test_too_many_rows_is_one_error_and_stops_early() -> None:
    error = only_error(rows(*(f"T{i},bad owner,1.1,weekly,," for i in range(5))), max_rows=3)
    assert error.line == 5 and "more than 3 initiatives" in error.message
    assert len(parse(rows(*(f"T{i},U1,1.1,weekly,," for i in range(3))), max_rows=3)) == 3

    big = rows(*(f"T{i},U1,1.1,weekly,," for i in range(20_001))) + "x\n" * 2_000_000
    started = time.perf_counter()
    error = only_error(big)
    assert error.line == 20_002 and "more than 20,000" in error.message
    assert time.perf_counter() - started < 10
    # the README states the same limit
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    assert MAX_ROWS == 20_000 and "at most 20,000 initiatives a file" in readme


# ---- whole-file problems -----------------------------------------------------------------------


def test_binary_input() -> None:
    error = only_error(b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 20)
    assert error.line == 1 and "binary" in error.message and ".xlsx" in error.message
    error = only_error(HEADER + "\nA,U1,1.1,weekly,,\x00\n")
    assert error.line == 2 and "NUL" in error.message
    error = only_error(b"\xff\xfet\x00i\x00")
    assert "UTF-16" in error.message


def test_non_utf8_input_says_where() -> None:
    data = (HEADER + "\nCafé plans,U1,1.1,weekly,,\n").encode("cp1252")
    error = only_error(data)
    assert error.line == 2 and error.column is None
    assert "not UTF-8" in error.message and "0xE9" in error.message
    assert "after 'Caf'" in error.message
    assert f"byte {len(HEADER) + 1 + 4}" in error.message
    # with a BOM the byte position still counts from the start of the file
    error = only_error(b"\xef\xbb\xbf" + data)
    assert f"byte {len(HEADER) + 1 + 4 + 3}" in error.message


@pytest.mark.parametrize("data", [b"", "", "\ufeff", "\n\n  \n", b"\xef\xbb\xbf\r\n"])
def test_empty_file(data: bytes | str) -> None:
    error = only_error(data)
    assert error.line == 0 and "empty" in error.message and HEADER in error.message


def test_header_only() -> None:
    error = only_error("\n" + HEADER + "\n\n,,,,,\n")
    assert error.line == 2 and "no initiatives" in error.message


def test_missing_columns() -> None:
    error = only_error("title,objectives\nA,1.1\n")
    assert error.line == 1 and error.column is None
    assert "missing required columns: owner, cadence" in error.message
    # a file without a header: its first row is taken as the header
    errors = errors_of("A,U1,1.1,weekly\n")
    assert any("The first line must be the header" in e.message for e in errors)


def test_unknown_columns_are_named_with_the_allowed_ones() -> None:
    error = only_error("title,owner,objectives,cadence,Status,descripton\nA,U1,1.1,weekly,x,y\n")
    assert error.line == 1
    assert "unknown columns 'status', 'descripton' (did you mean 'description'?)" in error.message
    assert "the allowed columns are: " + ", ".join(ALL_COLUMNS) in error.message
    assert "id, title" in error.message


def test_duplicate_columns() -> None:
    error = only_error("title,owner,Owner,objectives,cadence\nA,U1,U1,1.1,weekly\n")
    assert error.line == 1 and "'owner' is column 2 and 3" in error.message


def test_header_spelling_is_forgiving() -> None:
    data = " TITLE , owner,OBJECTIVES,Cadence,last-update, Description \nA,U1,1.1,weekly,,d\n"
    assert [i.description for i in parse(data)] == ["d"]


@pytest.mark.parametrize(("sep", "word"), [(";", "semicolons"), ("\t", "tabs")])
def test_other_separators_get_a_hint(sep: str, word: str) -> None:
    data = sep.join(REQUIRED) + "\n" + sep.join(["A", "U1", "1.1", "weekly"]) + "\n"
    error = only_error(data)
    assert error.line == 1 and word in error.message and "commas" in error.message


# ---- export and round trips --------------------------------------------------------------------


AWKWARD = [
    "Plain title",
    "Commas, and more, commas",
    'She said "hello", then left',
    "Line one\nline two",
    '=HYPERLINK("http://x")',
    "-10% travel costs",
    "+1 for training",
    "@channel announcement",
    "'=already quoted",
    "''-two quotes",
    "'quoted but harmless",
    "Ünïcödé — 東京 🚓",
]


def awkward_records() -> list[InitiativeRecord]:
    out = []
    for n, title in enumerate(AWKWARD, 1):
        out.append(
            record(
                n,
                title=title,
                owner_id=f"U0{n:02d}AB3CD",
                objective_ids=("1.1", "2.3") if n % 2 else ("5.5",),
                cadence=("weekly", "fortnightly", "monthly")[n % 3],
                last_update_at=None if n % 4 == 0 else NOW - timedelta(days=n, seconds=n * 61),
                description="" if n % 3 == 0 else f"=cmd|' /C calc'!A0\r\n{title}, \"ok\"\n-end",
            )
        )
    return out


def test_export_format() -> None:
    when = datetime(2026, 11, 20, 15, 5, tzinfo=timezone(timedelta(hours=1)))
    text = format_initiatives_csv(
        [
            record(
                1,
                title="A, b",
                objective_ids=("1.1", "2.3"),
                last_update_at=when,
                description="two\nlines",
            ),
            record(2, title="=1+1", cadence="monthly", owner_id="W0123ABCD"),
            record(3, title="naive", last_update_at=datetime(2026, 11, 20, 14, 5)),
        ]
    )
    assert text == (
        "id,title,owner,objectives,cadence,last_update,description\r\n"
        '1,"A, b",U012AB3CD,1.1;2.3,weekly,2026-11-20T14:05:00+00:00,"two\nlines"\r\n'
        "2,'=1+1,W0123ABCD,1.1,monthly,,\r\n"
        "3,naive,U012AB3CD,1.1,weekly,2026-11-20T14:05:00+00:00,\r\n"
    )
    assert format_initiatives_csv([]) == "id," + HEADER + "\r\n"


def test_export_neutralises_formulas_in_every_cell() -> None:
    text = format_initiatives_csv([record(1, title="-x", description="@SUM(1)")])
    assert text.splitlines()[1] == "1,'-x,U012AB3CD,1.1,weekly,,'@SUM(1)"
    text = format_initiatives_csv([record(1, title="\tx")])
    assert text.splitlines()[1].startswith("1,'\tx,")


def test_round_trip_export_then_import() -> None:
    originals = awkward_records()
    text = format_initiatives_csv(originals)
    imported = parse(text)
    assert len(imported) == len(originals)
    for orig, new in zip(originals, imported, strict=True):
        expected_title = " ".join(orig.title.split())  # titles are one line on import
        assert new.title == expected_title
        assert new.owner_id == orig.owner_id
        assert new.objective_ids == orig.objective_ids
        assert new.cadence == orig.cadence
        assert new.last_update_at == orig.last_update_at
        assert new.description == orig.description.replace("\r\n", "\n")
    # and from bytes, as a file would arrive, with or without a BOM
    assert parse(text.encode("utf-8")) == imported
    assert parse(text.encode("utf-8-sig")) == imported


def test_round_trip_is_exact_for_imported_values() -> None:
    first = parse(format_initiatives_csv(awkward_records()))
    again = [
        record(
            n,
            title=i.title,
            owner_id=i.owner_id,
            objective_ids=i.objective_ids,
            cadence=i.cadence,
            last_update_at=i.last_update_at,
            description=i.description,
        )
        for n, i in enumerate(first, 1)
    ]
    assert parse(format_initiatives_csv(again)) == first


def test_round_trip_keeps_microseconds_and_letter_ids() -> None:
    when = datetime(2026, 11, 20, 14, 5, 7, 123456, tzinfo=UTC)
    text = format_initiatives_csv([record(1, objective_ids=("14.C", "14.a"), last_update_at=when)])
    [item] = parse(text, LETTERS)
    assert item.last_update_at == when and item.objective_ids == ("14.C", "14.a")


# ---- ids: importing again updates instead of duplicating -------------------------------------

ID_HEADER = ",".join(ALL_COLUMNS)
FIRST = rows(
    'Train border officers,U0AAA1,1.1;2.3,weekly,2026-11-02,"Two sessions,\nthen review"',
    "Cyber lab,U0AAA2,4.1,monthly,,",
    "Data quality,U0AAA1,1.4,fortnightly,2026-11-10,",
)
LATER = NOW + timedelta(hours=1)


def sync(
    store: ProgressStore,
    data: str,
    *,
    now: datetime = NOW,
    dry_run: bool = False,
) -> tuple[ImportPlan, list[InitiativeRecord]]:
    """What ``fwbot progress import`` does: read the file, then plan and apply it in one go."""
    found = read_initiatives_csv(data, INTERPOL, now=now)
    return store.sync_initiatives(
        lambda existing: plan_import(found, existing), actor="cli:test", now=now, dry_run=dry_run
    )


def sync_errors(store: ProgressStore, data: str, **kw: object) -> list[tuple[int, str | None]]:
    with pytest.raises(CsvImportError) as info:
        sync(store, data, **kw)  # type: ignore[arg-type]
    return [(e.line, e.column) for e in info.value.errors]


def export(store: ProgressStore) -> str:
    return format_initiatives_csv(store.initiatives(kind="initiative"))


def snapshot(store: ProgressStore) -> tuple[list[InitiativeRecord], list[AuditEntry]]:
    return store.initiatives(status=None), store.audit_entries(limit=1000)


def test_the_id_column_is_read_and_the_same_id_twice_is_refused() -> None:
    found = read_initiatives_csv(
        rows(
            "12,A,U1,1.1,weekly,,", " #7 ,B,U1,1.1,weekly,,", ",C,U1,1.1,weekly,,", header=ID_HEADER
        ),
        INTERPOL,
        now=NOW,
    )
    assert [(r.line, r.id, r.item.title) for r in found.rows] == [
        (2, 12, "A"),
        (3, 7, "B"),
        (4, None, "C"),
    ]
    assert found.errors == () and "id" in found.columns
    errors = errors_of(
        rows(
            "12,A,U1,1.1,weekly,,",
            "x1,B,U1,1.1,weekly,,",
            "#12,C,U1,1.1,weekly,,",
            header=ID_HEADER,
        )
    )
    assert [(e.line, e.column) for e in errors] == [(3, "id"), (4, "id")]
    assert "'x1' is not an initiative id" in errors[0].message
    assert "#12 is already on line 2" in errors[1].message


def test_the_same_title_and_owner_twice_is_refused_unless_both_rows_have_ids() -> None:
    # two stored initiatives may share a title (made twice in Slack): their ids tell them apart
    assert (
        len(parse(rows("3,Same,U1,1.1,weekly,,", "9,same,U1,2.1,weekly,,", header=ID_HEADER))) == 2
    )
    for first, second in (("", "9"), ("3", ""), ("", "")):
        error = only_error(
            rows(
                f"{first},Same,U1,1.1,weekly,,", f"{second},same,U1,2.1,weekly,,", header=ID_HEADER
            )
        )
        assert (error.line, error.column) == (3, "title") and "already on line 2" in error.message


def test_matching_errors_name_their_line_with_the_files_own_errors() -> None:
    existing = [
        record(1, title="Same"),
        record(2, title="same "),
        record(3, title="Other"),
        record(4, kind="objective", objective_ids=("2.3",)),
        record(5, title="Gone"),
    ]
    found = read_initiatives_csv(
        rows(
            "999,Ghost,U012AB3CD,1.1,weekly,,",  # 2: no such initiative
            "4,Lead,U012AB3CD,2.3,weekly,,",  # 3: an objective's lead
            ",Same,U012AB3CD,1.1,weekly,,",  # 4: two initiatives match
            "3,Renamed,U012AB3CD,1.1,weekly,,",  # 5
            ",Other,U012AB3CD,1.1,weekly,,",  # 6: #3 again, by title and owner
            ",Bad cadence,U012AB3CD,1.1,daily,,",  # 7: the file's own error
            header=ID_HEADER,
        ),
        INTERPOL,
        now=NOW,
    )
    with pytest.raises(CsvImportError) as info:
        plan_import(found, existing)
    by = {(e.line, e.column): e.message for e in info.value.errors}
    assert list(by) == [(2, "id"), (3, "id"), (4, "title"), (6, "title"), (7, "cadence")]
    assert by[2, "id"].startswith("there is no initiative #999;")
    assert "lead of objective 2.3" in by[3, "id"]
    assert (
        "matches initiatives #1 and #2" in by[4, "title"] and "add an id column" in by[4, "title"]
    )
    assert "is initiative #3, which line 5 imports too" in by[6, "title"]
    assert str(info.value.errors[0]).startswith("line 2, id: there is no initiative #999")


def test_what_counts_as_a_change() -> None:
    stored = record(
        1,
        title="Cyber  lab",
        description="Notes\r\n",
        cadence="monthly",
        last_update_at=NOW - timedelta(days=3),
        status="closed",
    )
    same = NewInitiative(
        title="Cyber lab",
        owner_id="U012AB3CD",
        objective_ids=("1.1",),
        cadence="monthly",
        description="Notes",
        last_update_at=NOW - timedelta(days=5),
    )  # older: kept
    assert changes(stored, same, frozenset(ALL_COLUMNS)) == {}
    other = replace(
        same, description="", objective_ids=("2.3", "1.1"), last_update_at=NOW - timedelta(days=1)
    )
    assert changes(stored, other, frozenset(COLUMNS)) == {
        "objective_ids": (("1.1",), ("2.3", "1.1")),
        "description": ("Notes\r\n", ""),
        "last_update_at": (NOW - timedelta(days=3), NOW - timedelta(days=1)),
    }
    # without a description column the stored description stays
    assert "description" not in changes(stored, other, frozenset(REQUIRED))
    # a closed initiative is updated by its id and stays closed; by title it is not matched
    found = read_initiatives_csv(
        rows(
            "1,Cyber lab,U012AB3CD,1.1,weekly,,",
            ",Cyber lab,U012AB3CD,1.1,weekly,,",
            header=ID_HEADER,
        ),
        INTERPOL,
        now=NOW,
    )
    with pytest.raises(CsvImportError):  # the same title and owner twice, one without id
        found.check()
    found = read_initiatives_csv(rows("Cyber lab,U012AB3CD,1.1,monthly,,"), INTERPOL, now=NOW)
    assert [r.action for r in plan_import(found, [stored]).rows] == ["create"]
    found = read_initiatives_csv(
        rows("1,Cyber lab,U012AB3CD,1.1,weekly,,Notes", header=ID_HEADER), INTERPOL, now=NOW
    )
    [step] = plan_import(found, [stored]).rows
    assert describe(step) == "line 2: update #1 'Cyber  lab' (closed): cadence monthly → weekly"


def test_reimporting_the_export_changes_nothing_and_nudges_no_one_twice(
    progress_store: ProgressStore,
) -> None:
    plan, created = sync(progress_store, FIRST)
    assert plan.summary() == "created 3, updated 0, unchanged 0"
    assert [r.title for r in created] == ["Train border officers", "Cyber lab", "Data quality"]
    before = snapshot(progress_store)
    text = export(progress_store)
    assert text.startswith(f"{ID_HEADER}\r\n{created[0].id},Train border officers,")

    plan, again = sync(progress_store, text, now=LATER)
    assert plan.summary() == "created 0, updated 0, unchanged 3" and again == []
    assert [(r.line, r.action, r.initiative and r.initiative.id) for r in plan.rows] == [
        (2, "unchanged", created[0].id),
        (4, "unchanged", created[1].id),
        (5, "unchanged", created[2].id),
    ]
    assert snapshot(progress_store) == before  # nothing duplicated, touched or audited
    # The same file without its id column matches on title and owner: still nothing to do.
    assert sync(progress_store, FIRST, now=LATER)[0].summary() == (
        "created 0, updated 0, unchanged 3"
    )
    assert snapshot(progress_store) == before
    # One nudge for U0AAA1, naming each overdue initiative once; U0AAA2's is not due yet.
    plans, _ = plan_nudges(progress_store.initiatives(), {}, LATER)
    assert [(p.owner_id, [i.id for i in p.items]) for p in plans] == [
        ("U0AAA1", [created[0].id, created[2].id])
    ]


def test_a_changed_row_is_updated_in_place_and_audited(progress_store: ProgressStore) -> None:
    _, created = sync(progress_store, FIRST)
    cyber = created[1]
    text = export(progress_store).replace(
        "Cyber lab,U0AAA2,4.1,monthly,", "Cyber lab,U0AAA3,4.1;1.1,weekly,"
    )
    plan, new = sync(progress_store, text, now=LATER)
    assert plan.summary() == "created 0, updated 1, unchanged 2" and new == []
    [step] = [r for r in plan.rows if r.action == "update"]
    assert step.changes == {
        "owner_id": ("U0AAA2", "U0AAA3"),
        "objective_ids": (("4.1",), ("4.1", "1.1")),
        "cadence": ("monthly", "weekly"),
    }
    assert describe(step) == (
        f"line 4: update #{cyber.id} 'Cyber lab': owner U0AAA2 → U0AAA3;"
        " objectives 4.1 → 4.1;1.1; cadence monthly → weekly"
    )
    stored = progress_store.initiative(cyber.id)
    assert stored is not None
    assert (stored.owner_id, stored.objective_ids, stored.cadence) == (
        "U0AAA3",
        ("4.1", "1.1"),
        "weekly",
    )
    assert (stored.created_at, stored.updated_at) == (cyber.created_at, LATER)
    assert len(progress_store.initiatives(status=None)) == 3
    [entry, _created] = progress_store.audit_entries(subject=f"initiative:{cyber.id}")
    assert (entry.actor, entry.action, entry.at) == ("cli:test", "import_update", LATER)
    assert entry.detail == {
        "before": {"owner_id": "U0AAA2", "objective_ids": ["4.1"], "cadence": "monthly"},
        "after": {"owner_id": "U0AAA3", "objective_ids": ["4.1", "1.1"], "cadence": "weekly"},
    }
    # the other two have no new audit entry
    assert len(progress_store.audit_entries()) == 4


def test_a_bad_id_refuses_the_whole_file(progress_store: ProgressStore) -> None:
    _, created = sync(progress_store, FIRST)
    before = snapshot(progress_store)
    text = rows(
        f"{created[0].id},Renamed,U0AAA1,1.1,weekly,,",
        "999,Ghost,U0AAA1,1.1,weekly,,",
        ",Brand new,U0AAA9,1.1,weekly,,",
        header=ID_HEADER,
    )
    assert sync_errors(progress_store, text, now=LATER) == [(3, "id")]
    assert sync_errors(progress_store, text, now=LATER, dry_run=True) == [(3, "id")]
    dup = rows(
        f"{created[0].id},Renamed,U0AAA1,1.1,weekly,,",
        ",Brand new,U0AAA9,1.1,weekly,,",
        f"{created[0].id},Again,U0AAA1,1.1,weekly,,",
        header=ID_HEADER,
    )
    assert sync_errors(progress_store, dup, now=LATER) == [(4, "id")]
    assert snapshot(progress_store) == before  # neither the rename nor the new row


def test_a_failure_while_applying_undoes_the_rows_already_applied(
    progress_store: ProgressStore,
) -> None:
    sync(progress_store, FIRST)
    before = snapshot(progress_store)
    text = export(progress_store).replace(",monthly,", ",weekly,")
    plan, _ = sync(progress_store, text, now=LATER, dry_run=True)
    broken = NewInitiative(title="No objectives", owner_id="U1", objective_ids=())
    rows_then_bad = ImportPlan((*plan.rows, PlannedRow(9, "create", broken)))
    with pytest.raises(ValueError, match="at least one objective"):
        progress_store.sync_initiatives(lambda existing: rows_then_bad, actor="cli:test", now=LATER)
    assert [r.action for r in plan.rows] == ["unchanged", "update", "unchanged"]
    assert snapshot(progress_store) == before  # the update to #2 was rolled back too


def test_dry_run_plans_and_changes_nothing(progress_store: ProgressStore) -> None:
    _, created = sync(progress_store, FIRST)
    before = snapshot(progress_store)
    text = export(progress_store).replace(",monthly,", ",fortnightly,") + (
        ",Brand new,U0AAA9,5.5,weekly,,\r\n"
    )
    plan, new = sync(progress_store, text, now=LATER, dry_run=True)
    assert plan.summary() == "created 1, updated 1, unchanged 2" and new == []
    assert [describe(r) for r in plan.rows] == [
        f"line 2: unchanged #{created[0].id} 'Train border officers'",
        f"line 4: update #{created[1].id} 'Cyber lab': cadence monthly → fortnightly",
        f"line 5: unchanged #{created[2].id} 'Data quality'",
        "line 6: create 'Brand new' (owner U0AAA9)",
    ]
    assert snapshot(progress_store) == before
    # and the same file for real
    assert sync(progress_store, text, now=LATER)[0].summary() == plan.summary()
    assert len(progress_store.initiatives(status=None)) == 4


def test_rows_without_an_id_match_on_title_and_owner(progress_store: ProgressStore) -> None:
    _, created = sync(progress_store, FIRST)
    text = rows(
        "  Train   border officers ,<@U0AAA1>,1.1;2.3,weekly",  # same: spacing only
        "cyber LAB,U0AAA2,4.1,monthly",  # new spelling
        "Data quality,U0AAA2,1.4,fortnightly",  # another owner: new
        header="title,owner,objectives,cadence",
    )
    plan, new = sync(progress_store, text, now=LATER)
    assert [(r.action, r.initiative and r.initiative.id) for r in plan.rows] == [
        ("unchanged", created[0].id),
        ("update", created[1].id),
        ("create", None),
    ]
    assert plan.rows[1].changes == {"title": ("Cyber lab", "cyber LAB")}
    assert [r.owner_id for r in new] == ["U0AAA2"]
    train = progress_store.initiative(created[0].id)
    assert train is not None and train.description == "Two sessions,\nthen review"  # no column
    assert len(progress_store.initiatives(status=None)) == 4


def test_an_update_posted_since_the_export_is_not_undone(progress_store: ProgressStore) -> None:
    _, created = sync(progress_store, FIRST)
    text = export(progress_store)
    progress_store.add_update(
        created[0].id, status="at_risk", percent=30, note="", author_id="U0AAA1", now=LATER
    )
    plan, _ = sync(progress_store, text, now=LATER + timedelta(hours=1))
    assert plan.summary() == "created 0, updated 0, unchanged 3"
    train = progress_store.initiative(created[0].id)
    assert train is not None and (train.last_update_at, train.last_status) == (LATER, "at_risk")
    # a later date in the file does move it forward
    newer = text.replace("2026-11-02T00:00:00+00:00", "2026-12-01T18:00:00+00:00")
    plan, _ = sync(progress_store, newer, now=LATER + timedelta(hours=6))
    assert [r.changes for r in plan.rows if r.action == "update"] == [
        {"last_update_at": (LATER, datetime(2026, 12, 1, 18, tzinfo=UTC))}
    ]
