"""CSV import and export of tracked initiatives (``fwbot progress import`` / ``export``).

No I/O. :func:`parse_initiatives_csv` returns every row as a ``NewInitiative`` (file order)
or raises :class:`CsvImportError` listing every problem with its line and column: an import
is all or nothing. :func:`format_initiatives_csv` writes the same columns back.

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
* Cadence: ``weekly``, ``fortnightly`` or ``monthly`` in any case. ``biweekly`` /
  ``bi-weekly`` are rejected with a hint: they mean "every two weeks" to some readers and
  "twice a week" to others.
* ``last_update``: anything :meth:`datetime.fromisoformat` reads (``2026-11-20``,
  ``2026-11-20T14:05``, ``…Z``, ``…+02:00``); without an offset it is UTC, a date alone is
  00:00 UTC. More than one day after ``now`` is an error (a day covers time zones).
* The same title (ignoring case) for the same owner twice is an error on the later line.
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
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from bot.progress.records import CADENCES, Cadence, InitiativeRecord, NewInitiative
from framework_data.schema import Framework

COLUMNS: tuple[str, ...] = ("title", "owner", "objectives", "cadence", "last_update",
                            "description")
REQUIRED: tuple[str, ...] = ("title", "owner", "objectives", "cadence")
TITLE_MAX = 200
DESCRIPTION_MAX = 4000
FUTURE_TOLERANCE = timedelta(days=1)

_HEADER_EXAMPLE = ",".join(COLUMNS)
_NEEDS_ESCAPE = re.compile(r"'*[=+\-@\t\r]")  # export: prefix one more "'"
_ESCAPED = re.compile(r"'+[=+\-@\t\r]")  # import: remove one "'"
_USER_ID = re.compile(r"[UW][A-Z0-9]+")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_FIND_ID = "in Slack open the person's profile, click ⋮ (More) and choose 'Copy member ID'"
_DATE_FORM = "2026-11-20 or 2026-11-20T14:05 (UTC unless you add an offset such as +02:00)"


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
        summary = (f"The CSV file has {n} problem{'s' * (n != 1)}, so nothing was imported."
                   " Fix the file and import it again:")
        super().__init__("\n".join([summary, *(str(e) for e in self.errors)]))


class _Bad(Exception):
    """A value is wrong; the message says why and how to fix it."""


def _show(value: str, limit: int = 40) -> str:
    """A value quoted for a message, shortened if long."""
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")


# ---- reading the file -----------------------------------------------------------------------


def _binary(line: int) -> CsvImportError:
    msg = ("this looks like a binary file (it contains NUL bytes, the first on line"
           f" {line}), not CSV text; if it is a spreadsheet (.xlsx), save it as"
           " 'CSV UTF-8 (Comma delimited)' first")
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
        msg = (f"the file is not UTF-8 text: on line {line}, {at}, byte 0x{raw[e.start]:02X}"
               f" (byte {e.start + len(data) - len(raw) + 1} of the file) is not UTF-8. In"
               " Excel save it as 'CSV UTF-8 (Comma delimited)', or choose the UTF-8"
               " encoding when you export it")
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
        msg = (f"the columns are separated by {what}, but fwbot needs commas. In Excel choose"
               f" 'CSV UTF-8 (Comma delimited)'; the header should read: {_HEADER_EXAMPLE}")
        return [], [RowError(line, None, msg)]
    names = [re.sub(r"[\s_-]+", "_", f.strip().casefold()) or None for f in fields]
    errors: list[RowError] = []
    named = [n for n in names if n]
    unknown = [n for n in dict.fromkeys(named) if n not in COLUMNS]
    if unknown:
        hints = [f"{n!r} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(
            n, COLUMNS, n=1)) else repr(n) for n in unknown]
        msg = (f"unknown column{'s' * (len(unknown) > 1)} {', '.join(hints)}; the allowed"
               f" columns are: {', '.join(COLUMNS)}")
        errors.append(RowError(line, None, msg))
    dups = [n for n in dict.fromkeys(named) if named.count(n) > 1]
    if dups:
        where = "; ".join(f"{n!r} is column " + " and ".join(
            str(i + 1) for i, m in enumerate(names) if m == n) for n in dups)
        errors.append(RowError(line, None, f"a column appears more than once ({where});"
                               " keep only one of each"))
    missing = [c for c in REQUIRED if c not in named]
    if missing:
        msg = (f"missing required column{'s' * (len(missing) > 1)}: {', '.join(missing)}. The"
               f" first line must be the header, for example: {_HEADER_EXAMPLE}")
        errors.append(RowError(line, None, msg))
    return names, errors


# ---- checking values ----------------------------------------------------------------------


def _title(value: str) -> str:
    title = " ".join(value.split())
    if not title:
        raise _Bad("is empty; every initiative needs a title")
    if bad := next((c for c in title if unicodedata.category(c) == "Cc"), None):
        raise _Bad(f"contains the control character U+{ord(bad):04X}; remove it")
    if len(title) > TITLE_MAX:
        raise _Bad(f"is {len(title)} characters long; the limit is {TITLE_MAX}. Shorten it and"
                   " put the details in the description column")
    return title


def _owner(value: str) -> str:
    owner = value.strip()
    if not owner:
        raise _Bad(f"is empty; give the owner's Slack user id (like U012AB3CD): {_FIND_ID}")
    if _USER_ID.fullmatch(owner):
        return owner
    if mention := _MENTION.fullmatch(owner):
        return mention.group(1)
    raise _Bad(f"{_show(owner)} is not a Slack user id (like U012AB3CD). A name, @name or"
               f" e-mail address cannot be used; to find the id, {_FIND_ID}")


def _cadence(value: str) -> Cadence:
    cadence = " ".join(value.split()).casefold()
    if cadence in CADENCES:
        return cast(Cadence, cadence)
    allowed = "weekly, fortnightly (every two weeks) or monthly"
    if not cadence:
        raise _Bad(f"is empty; write {allowed}")
    if cadence in ("biweekly", "bi-weekly", "bi weekly"):
        raise _Bad(f"{_show(value.strip())} is unclear (every two weeks, or twice a week?);"
                   " write fortnightly for every two weeks")
    raise _Bad(f"{_show(value.strip())} is not a cadence; write {allowed}")


def _last_update(value: str, now: datetime) -> datetime | None:
    text = value.strip()
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _Bad(f"{_show(text)} is not a date in the expected form; write it like"
                   f" {_DATE_FORM}, or leave it empty") from None
    if when > now + FUTURE_TOLERANCE:
        raise _Bad(f"{_show(text)} is in the future (today is {now:%Y-%m-%d} UTC); give the"
                   " date of the latest progress update, or leave it empty")
    return when


def _description(value: str) -> str:
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > DESCRIPTION_MAX:
        raise _Bad(f"is {len(text)} characters long; the limit is {DESCRIPTION_MAX}")
    return text


def _objectives_checker(framework: Framework) -> Callable[[str], tuple[str, ...]]:
    ids = [o.id for _, o in framework.objectives()]
    by_key = {i.lower(): i for i in ids}
    if len(ids) == 1:
        known = f"this framework has one objective: {ids[0]}"
    elif len(ids) <= 6:
        known = f"this framework's objectives are {', '.join(ids)}"
    else:
        known = f"this framework has {ids[0]}–{ids[-1]} (see `fwbot framework show`)"

    def check(value: str) -> tuple[str, ...]:
        given = [p.strip() for p in value.split(";") if p.strip()]
        if not given:
            raise _Bad("is empty; give at least one objective id, such as"
                       f" {ids[0]}; separate several with ';'")
        unknown = [g for g in dict.fromkeys(given) if g.lower() not in by_key]
        if unknown:
            glued = [u for u in unknown if "," in u or " " in u]
            names = ", ".join(_show(u) if u in glued else u for u in unknown)
            hint = "; separate objective ids with ';', for example 1.1;2.3" if glued else ""
            raise _Bad(f"unknown objective{'s' * (len(unknown) > 1)} {names}; {known}{hint}")
        return tuple(dict.fromkeys(by_key[g.lower()] for g in given))

    return check


def _unescape(value: str) -> str:
    """Remove the ``'`` that export puts before a cell a spreadsheet would run as a formula."""
    return value[1:] if _ESCAPED.match(value) else value


def _escape(value: str) -> str:
    return "'" + value if _NEEDS_ESCAPE.match(value) else value


# ---- the public functions -----------------------------------------------------------------


def parse_initiatives_csv(
    data: bytes | str, framework: Framework, *, now: datetime, max_rows: int = 20_000
) -> list[NewInitiative]:
    """Check a CSV file of initiatives against ``framework``; all rows, or CsvImportError.

    ``now`` (UTC if naive) bounds ``last_update``; more than ``max_rows`` rows is refused
    without reading further."""
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    objectives = _objectives_checker(framework)
    checks: dict[str, Callable[[str], object]] = {
        "title": _title, "owner": _owner, "objectives": objectives, "cadence": _cadence,
        "last_update": lambda v: _last_update(v, now), "description": _description,
    }
    records = _records(_decode(data))
    head = next(records, None)
    if head is None:
        msg = f"the file is empty; the first line must be the header: {_HEADER_EXAMPLE}"
        raise CsvImportError([RowError(0, None, msg)])
    if isinstance(head, RowError):
        raise CsvImportError([head])
    names, errors = _header(head[0], head[2])
    if errors:
        raise CsvImportError(errors)

    out: list[NewInitiative] = []
    seen: dict[tuple[str, str], int] = {}  # (title casefolded, owner) -> first line
    rows = 0
    for record in records:
        if isinstance(record, RowError):
            errors.append(record)
            break
        first, last, fields = record
        rows += 1
        if rows > max_rows:
            msg = (f"the file has more than {max_rows:,} initiatives; import at most"
                   f" {max_rows:,} at a time (split the file)")
            raise CsvImportError([RowError(first, None, msg)])
        if len(fields) != len(names):
            spans = f" (this row runs from line {first} to {last})" if last > first else ""
            msg = (f"has {len(fields)} values but the header has {len(names)} columns{spans};"
                   " check for a missing or extra comma, or a double quote that is not"
                   " closed. A value containing a comma must be in double quotes")
            errors.append(RowError(first, None, msg))
            continue
        stray = [i + 1 for i, (n, f) in enumerate(zip(names, fields, strict=True))
                 if n is None and f.strip()]
        if stray:
            errors.append(RowError(first, None, f"has a value in column {stray[0]}, which has"
                                   " no name in the header; name the column or remove it"))
        values = {n: _unescape(f) for n, f in zip(names, fields, strict=True) if n}
        good: dict[str, object] = {}
        for column in COLUMNS:
            try:
                good[column] = checks[column](values.get(column, ""))
            except _Bad as e:
                errors.append(RowError(first, column, str(e)))
        if "title" in good and "owner" in good:
            key = (cast(str, good["title"]).casefold(), cast(str, good["owner"]))
            if key in seen:
                msg = (f"{_show(cast(str, good['title']))} for owner {key[1]} is already on line"
                       f" {seen[key]}; list each initiative only once")
                errors.append(RowError(first, "title", msg))
                continue
            seen[key] = first
        if len(good) == len(COLUMNS) and not stray and not errors:
            out.append(NewInitiative(
                title=cast(str, good["title"]), owner_id=cast(str, good["owner"]),
                objective_ids=cast(tuple[str, ...], good["objectives"]),
                cadence=cast(Cadence, good["cadence"]),
                description=cast(str, good["description"]),
                last_update_at=cast(datetime | None, good["last_update"]),
            ))
    if not errors and rows == 0:
        msg = "the file has a header but no initiatives; add one initiative per line below it"
        errors.append(RowError(head[0], None, msg))
    if errors:
        raise CsvImportError(errors)
    return out


def _iso(when: datetime | None) -> str:
    if when is None:
        return ""
    return (when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)).isoformat()


def format_initiatives_csv(initiatives: Iterable[InitiativeRecord]) -> str:
    """The initiatives as CSV text with a header of all :data:`COLUMNS`, one row each.

    ``last_update`` is ISO 8601 in UTC (``2026-11-20T14:05:00+00:00``; naive times are taken
    as UTC). Cells a spreadsheet would run as a formula get a leading ``'`` (see the module
    docstring); :func:`parse_initiatives_csv` removes it again."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for r in initiatives:
        row = (r.title, r.owner_id, ";".join(r.objective_ids), r.cadence,
               _iso(r.last_update_at), r.description)
        writer.writerow([_escape(cell) for cell in row])
    return buf.getvalue()
