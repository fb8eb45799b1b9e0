"""CSV import and export of tracked initiatives (``fwbot progress import`` / ``export``).

No I/O. :func:`read_initiatives_csv` checks every row (a :class:`CsvFile`: the good rows with
their lines and ids, and every problem with its line and column); :func:`parse_initiatives_csv`
returns the rows as ``NewInitiative`` (file order) or raises :class:`CsvImportError`: an import
is all or nothing. :func:`format_initiatives_csv` writes the same columns back, with ``id``.
What a file changes in the database is :mod:`bot.progress.csv_plan`'s business.

Decisions:

* Lines are physical lines of the file, counting from 1, where a row *starts* (a quoted value
  may span lines). Line 0 means the whole file. Blank rows (also ``,,,,``) are skipped.
* Header names ignore case and surrounding spaces; inner spaces and ``-`` count as ``_``
  (``Last update`` is ``last_update``). A column without a name (a trailing comma in the
  header, as spreadsheets write) is ignored, but a value in it is an error.
* Owners: ``U…``/``W…`` followed by uppercase letters and digits (the same pattern
  :mod:`bot.slack.incoming` uses), or the mention forms ``<@U…>`` / ``<@U…|name>``.
* Titles are stripped and their whitespace (newlines too) collapsed to single spaces.
  Descriptions keep their inner text; line endings become ``\\n`` and the ends are stripped.
* Cadence: a :class:`~bot.storage.vocabulary.Cadence` value in any case; a wrong one is told
  the list (:func:`~bot.progress.csv_values.cadence_hint`). ``biweekly`` /
  ``bi-weekly`` are rejected with a hint: they mean "every two weeks" to some readers and
  "twice a week" to others.
* ``last_update``: anything :meth:`datetime.fromisoformat` reads (``2026-11-20``,
  ``2026-11-20T14:05``, ``…Z``, ``…+02:00``); without an offset it is UTC, a date alone is
  00:00 UTC. More than one day after ``now`` is an error (a day covers time zones).
* ``id`` (optional): the initiative's number as export writes it (``12``; ``#12`` too); empty
  means "not stored yet". The same id twice is an error on the later line.
* The same title (ignoring case) for the same owner twice is an error on the later line,
  unless both rows carry ids (then they are different initiatives that share a title).
  A row with more or fewer values than the header has columns is an error (no padding).
* Spreadsheet formula safety: on export a cell that, after any leading ``'``, starts with
  ``=``, ``+``, ``-``, ``@``, tab or CR gets one more ``'`` in front; on import one leading
  ``'`` is removed from a cell that is ``'`` (one or more) followed by one of those. Other
  values are untouched, so ``parse(format(records))`` gives back the same titles, owners,
  objectives, cadences, ``last_update`` and descriptions (for values in the form import
  produces: collapsed titles, stripped descriptions).
* Export writes RFC 4180 CSV (``\\r\\n`` line ends, values quoted when needed), no BOM;
  encode it as UTF-8 (``utf-8-sig`` if Excel must open it) and write it with ``newline=""``.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from bot.progress import csv_values as check
from bot.progress.csv_values import Bad
from bot.storage.progress_records import Cadence, InitiativeRecord, NewInitiative
from framework_data.schema import Framework

COLUMNS: tuple[str, ...] = ("title", "owner", "objectives", "cadence", "last_update", "description")
ID = "id"
ALL_COLUMNS: tuple[str, ...] = (ID, *COLUMNS)  # what export writes; ``id`` is optional
REQUIRED: tuple[str, ...] = ("title", "owner", "objectives", "cadence")
MAX_ROWS = 20_000  # initiatives in one file

_HEADER_EXAMPLE = ",".join(COLUMNS)
# what a row holds, said where the file's shape is wrong (no header, columns missing)
_ROW_EXAMPLE = (
    "; then one initiative a line, e.g. Train border officers,U012AB3CD,1.1;2.3,weekly,,"
    " (owner: the Slack member id, not a name; objectives: ids separated by ';')"
)
_NEEDS_ESCAPE = re.compile(r"'*[=+\-@\t\r]")  # export: prefix one more "'"
_ESCAPED = re.compile(r"'+[=+\-@\t\r]")  # import: remove one "'"


@dataclass(frozen=True)
class RowError:
    """One problem: the physical line where the row starts (0: the whole file), the column
    (None: the row or the header as a whole) and what to do about it."""

    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        if self.column:
            where = f"{where}, {self.column}"
        return f"{where}: {self.message}"


class CsvImportError(ValueError):
    """Every problem found in a CSV file; nothing from the file may be imported."""

    def __init__(self, errors: Iterable[RowError]) -> None:
        self.errors: tuple[RowError, ...] = tuple(errors)
        n = len(self.errors)
        summary = (
            f"The CSV file has {n} problem{'s' * (n != 1)}, so nothing was imported."
            " Fix the file and import it again:"
        )
        super().__init__("\n".join([summary, *(str(e) for e in self.errors)]))


@dataclass(frozen=True)
class CsvRow:
    """A row without problems: the line where it starts, the ``id`` it names (None: none)."""

    line: int
    id: int | None
    item: NewInitiative


@dataclass(frozen=True)
class CsvFile:
    """A checked file: the columns its header names, its good rows and every problem."""

    columns: frozenset[str]
    rows: tuple[CsvRow, ...]
    errors: tuple[RowError, ...]

    def check(self) -> None:
        """Raise :class:`CsvImportError` if any row has a problem."""
        if self.errors:
            raise CsvImportError(self.errors)


# ---- reading the file -----------------------------------------------------------------------


def _binary(line: int) -> CsvImportError:
    msg = (
        "this looks like a binary file (it contains NUL bytes, the first on line"
        f" {line}), not CSV text; if it is a spreadsheet (.xlsx), save it as"
        " 'CSV UTF-8 (Comma delimited)' first"
    )
    return CsvImportError([RowError(line, None, msg)])


def _decode(data: bytes | str) -> str:
    """The file's text without a BOM; raises CsvImportError for binary or non-UTF-8 data."""
    if isinstance(data, str):
        text = data.removeprefix("\ufeff")
        if (nul := text.find("\x00")) >= 0:
            raise _binary(text.count("\n", 0, nul) + 1)
        return text
    raw = data.removeprefix(codecs.BOM_UTF8)
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        msg = "the file is UTF-16 text, not UTF-8; save it as 'CSV UTF-8 (Comma delimited)'"
        raise CsvImportError([RowError(1, None, msg)])
    if (nul := raw.find(b"\x00")) >= 0:
        raise _binary(raw.count(b"\n", 0, nul) + 1)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        good = raw[: e.start].decode("utf-8")
        line = good.count("\n") + 1
        before = good.rsplit("\n", 1)[-1][-20:]
        at = f"after {before!r}" if before else "at the start of the line"
        msg = (
            f"the file is not UTF-8 text: on line {line}, {at}, byte 0x{raw[e.start]:02X}"
            f" (byte {e.start + len(data) - len(raw) + 1} of the file) is not UTF-8. In"
            " Excel save it as 'CSV UTF-8 (Comma delimited)', or choose the UTF-8"
            " encoding when you export it"
        )
        raise CsvImportError([RowError(line, None, msg)]) from None


_Record = tuple[int, int, list[str]]  # (first line, last line, values)


def _records(text: str) -> Iterator[_Record | RowError]:
    """Non-blank CSV rows with their physical lines; a RowError (then stop) if unreadable."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    last = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield _unreadable(str(e), last + 1, reader.line_num)
            return
        first, last = last + 1, reader.line_num
        if any(f.strip() for f in fields):
            yield first, last, fields


def _unreadable(reason: str, first: int, line: int) -> RowError:
    quote = 'to put a double quote inside a value, write it twice ("") and quote the value'
    if "end of data" in reason:
        return RowError(first, None, f"a double quote opened in this row is never closed; {quote}")
    if "expected after" in reason:
        return RowError(line, None, f"a closing double quote must be followed by a comma; {quote}")
    if "field limit" in reason:
        return RowError(first, None, "a value here is far too long; is a double quote not closed?")
    return RowError(first, None, f"this row cannot be read as CSV ({reason})")


def _header(line: int, fields: list[str]) -> tuple[list[str | None], list[RowError]]:
    """Column names by position (None: a nameless column) and the header's problems."""
    if len(fields) == 1 and (sep := next((s for s in ";\t" if s in fields[0]), None)):
        what = "semicolons (;)" if sep == ";" else "tabs"
        msg = (
            f"the columns are separated by {what}, but fwbot needs commas. In Excel choose"
            f" 'CSV UTF-8 (Comma delimited)'; the header should read: {_HEADER_EXAMPLE}"
        )
        return [], [RowError(line, None, msg)]
    names = [re.sub(r"[\s_-]+", "_", f.strip().casefold()) or None for f in fields]
    errors: list[RowError] = []
    named = [n for n in names if n]
    unknown = [n for n in dict.fromkeys(named) if n not in ALL_COLUMNS]
    if unknown:
        hints = [
            f"{n!r} (did you mean {close[0]!r}?)"
            if (close := difflib.get_close_matches(n, ALL_COLUMNS, n=1))
            else repr(n)
            for n in unknown
        ]
        msg = (
            f"unknown column{'s' * (len(unknown) > 1)} {', '.join(hints)}; the allowed"
            f" columns are: {', '.join(ALL_COLUMNS)}"
        )
        errors.append(RowError(line, None, msg))
    dups = [n for n in dict.fromkeys(named) if named.count(n) > 1]
    if dups:
        where = "; ".join(
            f"{n!r} is column " + " and ".join(str(i + 1) for i, m in enumerate(names) if m == n)
            for n in dups
        )
        errors.append(
            RowError(
                line, None, f"a column appears more than once ({where}); keep only one of each"
            )
        )
    missing = [c for c in REQUIRED if c not in named]
    if missing:
        msg = (
            f"missing required column{'s' * (len(missing) > 1)}: {', '.join(missing)}. The"
            f" first line must be the header, for example: {_HEADER_EXAMPLE}{_ROW_EXAMPLE}"
        )
        errors.append(RowError(line, None, msg))
    return names, errors


def _unescape(value: str) -> str:
    """Remove the ``'`` that export puts before a cell a spreadsheet would run as a formula."""
    return value[1:] if _ESCAPED.match(value) else value


def _escape(value: str) -> str:
    return "'" + value if _NEEDS_ESCAPE.match(value) else value


# ---- the public functions -----------------------------------------------------------------


def parse_initiatives_csv(
    data: bytes | str, framework: Framework, *, now: datetime, max_rows: int = MAX_ROWS
) -> list[NewInitiative]:
    """Check a CSV file of initiatives against ``framework``; all rows, or CsvImportError.
    (Any ``id`` column is checked, then left out: see :func:`read_initiatives_csv`.)"""
    found = read_initiatives_csv(data, framework, now=now, max_rows=max_rows)
    found.check()
    return [row.item for row in found.rows]


def read_initiatives_csv(
    data: bytes | str, framework: Framework, *, now: datetime, max_rows: int = MAX_ROWS
) -> CsvFile:
    """Check every row of a CSV file of initiatives against ``framework``.

    Raises CsvImportError for a problem with the whole file (empty, binary, not UTF-8, a bad
    header, more than ``max_rows`` rows: refused without reading further); the problems of
    single rows are in the result's ``errors`` (``check()`` raises them). ``now`` (UTC if
    naive) bounds ``last_update``."""
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    checks: dict[str, Callable[[str], object]] = {
        ID: check.initiative_id,
        "title": check.title,
        "owner": check.owner,
        "objectives": check.objectives_checker(framework),
        "cadence": check.cadence,
        "last_update": lambda v: check.last_update(v, now),
        "description": check.description,
    }
    records = _records(_decode(data))
    head = next(records, None)
    if head is None:
        msg = (
            f"the file is empty; the first line must be the header: {_HEADER_EXAMPLE}{_ROW_EXAMPLE}"
        )
        raise CsvImportError([RowError(0, None, msg)])
    if isinstance(head, RowError):
        raise CsvImportError([head])
    names, errors = _header(head[0], head[2])
    if errors:
        raise CsvImportError(errors)

    out: list[CsvRow] = []
    seen: dict[tuple[str, str], tuple[int, bool]] = {}  # (title, owner) -> first line, all ids
    seen_ids: dict[int, int] = {}  # id -> line
    rows = 0
    for record in records:
        if isinstance(record, RowError):
            errors.append(record)
            break
        first, last, fields = record
        rows += 1
        if rows > max_rows:
            msg = (
                f"the file has more than {max_rows:,} initiatives; import at most"
                f" {max_rows:,} at a time (split the file)"
            )
            raise CsvImportError([RowError(first, None, msg)])
        if len(fields) != len(names):
            spans = f" (this row runs from line {first} to {last})" if last > first else ""
            msg = (
                f"has {len(fields)} values but the header has {len(names)} columns{spans};"
                " check for a missing or extra comma, or a double quote that is not"
                " closed. A value containing a comma must be in double quotes"
            )
            errors.append(RowError(first, None, msg))
            continue
        before = len(errors)
        stray = [
            i + 1
            for i, (n, f) in enumerate(zip(names, fields, strict=True))
            if n is None and f.strip()
        ]
        if stray:
            errors.append(
                RowError(
                    first,
                    None,
                    f"has a value in column {stray[0]}, which has"
                    " no name in the header; name the column or remove it",
                )
            )
        values = {n: _unescape(f) for n, f in zip(names, fields, strict=True) if n}
        good: dict[str, object] = {}
        for column in ALL_COLUMNS:
            try:
                good[column] = checks[column](values.get(column, ""))
            except Bad as e:
                errors.append(RowError(first, column, str(e)))
        ident = cast(int | None, good.get(ID))
        if ident is not None:
            if ident in seen_ids:
                errors.append(
                    RowError(
                        first,
                        ID,
                        f"#{ident} is already on line"
                        f" {seen_ids[ident]}; list each initiative only once",
                    )
                )
                continue
            seen_ids[ident] = first
        if "title" in good and "owner" in good:
            key = (cast(str, good["title"]).casefold(), cast(str, good["owner"]))
            earlier = seen.get(key)
            if earlier and not (earlier[1] and ident is not None):  # both with ids: fine
                msg = (
                    f"{check.show(cast(str, good['title']))} for owner {key[1]} is already on"
                    f" line {earlier[0]}; list each initiative only once"
                )
                errors.append(RowError(first, "title", msg))
                continue
            seen.setdefault(key, (first, ident is not None))
        if len(good) == len(ALL_COLUMNS) and len(errors) == before:
            out.append(
                CsvRow(
                    first,
                    ident,
                    NewInitiative(
                        title=cast(str, good["title"]),
                        owner_id=cast(str, good["owner"]),
                        objective_ids=cast(tuple[str, ...], good["objectives"]),
                        cadence=cast(Cadence, good["cadence"]),
                        description=cast(str, good["description"]),
                        last_update_at=cast(datetime | None, good["last_update"]),
                    ),
                )
            )
    if not errors and rows == 0:
        msg = "the file has a header but no initiatives; add one initiative per line below it"
        errors.append(RowError(head[0], None, msg))
    return CsvFile(frozenset(n for n in names if n), tuple(out), tuple(errors))


def _iso(when: datetime | None) -> str:
    if when is None:
        return ""
    return (when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)).isoformat()


def format_initiatives_csv(initiatives: Iterable[InitiativeRecord]) -> str:
    """The initiatives as CSV text with a header of all :data:`ALL_COLUMNS`, one row each.

    ``last_update`` is ISO 8601 in UTC (``2026-11-20T14:05:00+00:00``; naive times are taken
    as UTC). Cells a spreadsheet would run as a formula get a leading ``'`` (see the module
    docstring); :func:`parse_initiatives_csv` removes it again."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(ALL_COLUMNS)
    for r in initiatives:
        row = (
            str(r.id),
            r.title,
            r.owner_id,
            ";".join(r.objective_ids),
            r.cadence,
            _iso(r.last_update_at),
            r.description,
        )
        writer.writerow([_escape(cell) for cell in row])
    return buf.getvalue()
