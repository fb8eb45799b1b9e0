"""What importing a CSV file does to the stored initiatives (``fwbot progress import``): the
plan of which rows create an initiative, which update one (and which fields) and which leave
one unchanged. No I/O: the store runs :func:`plan_import` inside the import's transaction.

Decisions:

* A row with an ``id`` updates that initiative, closed ones too (they stay closed: the file
  carries no status). An id that is not a stored initiative (or is an objective's lead) is an
  error on the row's ``id`` cell.
* A row without an id matches the *active* initiative with the same title (ignoring case and
  spacing) and owner; several such initiatives are an error (add ids); none: it is created.
  Two rows may not import into the same initiative (the later one is the error).
* Compared and updated: title, owner, objectives (in order), cadence; the description only
  when the file has that column; ``last_update`` only when the cell is filled and later than
  the stored time, so a progress update posted since the export is never undone. Stored
  values are compared in the form import produces (collapsed titles, stripped descriptions),
  so importing an exported file changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from ..storage.progress_records import ImportPlan, InitiativeRecord, NewInitiative, PlannedRow
from .csv_io import CsvFile, CsvImportError, CsvRow, RowError

# store field -> the CSV column it comes from, in the order changes are listed
FIELDS: dict[str, str] = {
    "title": "title",
    "owner_id": "owner",
    "objective_ids": "objectives",
    "cadence": "cadence",
    "description": "description",
    "last_update_at": "last_update",
}


def _utc(when: datetime | None) -> datetime | None:
    return when.replace(tzinfo=UTC) if when and when.tzinfo is None else when


def _title_key(title: str) -> str:
    return " ".join(title.split()).casefold()


def _description(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def changes(
    stored: InitiativeRecord, item: NewInitiative, columns: frozenset[str]
) -> dict[str, tuple[Any, Any]]:
    """The fields ``item`` (a row of a file with ``columns``) changes in ``stored``."""
    out: dict[str, tuple[Any, Any]] = {}
    if " ".join(stored.title.split()) != item.title:
        out["title"] = (stored.title, item.title)
    if stored.owner_id != item.owner_id:
        out["owner_id"] = (stored.owner_id, item.owner_id)
    if tuple(stored.objective_ids) != tuple(item.objective_ids):
        out["objective_ids"] = (tuple(stored.objective_ids), tuple(item.objective_ids))
    if stored.cadence != item.cadence:
        out["cadence"] = (stored.cadence, item.cadence)
    if "description" in columns and _description(stored.description) != item.description:
        out["description"] = (stored.description, item.description)
    before, after = _utc(stored.last_update_at), _utc(item.last_update_at)
    if after is not None and (before is None or after > before):
        out["last_update_at"] = (before, after)
    return out


def plan_import(found: CsvFile, existing: Iterable[InitiativeRecord]) -> ImportPlan:
    """The plan for ``found``'s rows against the ``existing`` initiatives; CsvImportError with
    every problem (the file's own and the matching's, by line) if there is any."""
    by_id = {record.id: record for record in existing}
    by_key: defaultdict[tuple[str, str], list[InitiativeRecord]] = defaultdict(list)
    for record in by_id.values():
        if record.kind == "initiative" and record.status == "active":
            by_key[(_title_key(record.title), record.owner_id)].append(record)
    claimed = {row.id: row.line for row in found.rows if row.id is not None}
    errors = list(found.errors)
    planned: list[PlannedRow] = []
    for row in found.rows:
        match = _by_id(row, by_id) if row.id is not None else _by_title(row, by_key, claimed)
        if isinstance(match, RowError):
            errors.append(match)
        elif match is None:
            planned.append(PlannedRow(row.line, "create", row.item))
        else:
            diff = changes(match, row.item, found.columns)
            planned.append(
                PlannedRow(row.line, "update" if diff else "unchanged", row.item, match, diff)
            )
    if errors:
        raise CsvImportError(sorted(errors, key=lambda e: e.line))
    return ImportPlan(tuple(planned))


def _by_id(row: CsvRow, by_id: dict[int, InitiativeRecord]) -> InitiativeRecord | RowError:
    record = by_id.get(row.id or 0)
    if record is None:
        return RowError(
            row.line,
            "id",
            f"there is no initiative #{row.id}; copy the id from"
            " `fwbot progress export`, or leave it empty to add a new initiative",
        )
    if record.kind != "initiative":
        lead = ", ".join(record.objective_ids)
        return RowError(
            row.line,
            "id",
            f"#{row.id} is the lead of objective {lead}, not an"
            " initiative; leads are set in Slack with /progress lead",
        )
    return record


def _by_title(
    row: CsvRow, by_key: dict[tuple[str, str], list[InitiativeRecord]], claimed: dict[int, int]
) -> InitiativeRecord | RowError | None:
    matches = by_key.get((_title_key(row.item.title), row.item.owner_id), [])
    if len(matches) > 1:
        ids = " and ".join(f"#{m.id}" for m in matches)
        return RowError(
            row.line,
            "title",
            f"{row.item.title!r} for owner {row.item.owner_id}"
            f" matches initiatives {ids}; add an id column with the id of the one"
            " to update (`fwbot progress export` writes it)",
        )
    if not matches:
        return None
    if (line := claimed.get(matches[0].id)) is not None:
        return RowError(
            row.line,
            "title",
            f"{row.item.title!r} for owner {row.item.owner_id}"
            f" is initiative #{matches[0].id}, which line {line} imports too;"
            " list each initiative only once",
        )
    claimed[matches[0].id] = row.line
    return matches[0]


def _show(field_name: str, value: Any) -> str:
    if value is None or value == "":
        return "(empty)"
    if field_name == "objective_ids":
        return ";".join(value)
    if field_name == "last_update_at":
        return value.isoformat()
    text = str(value)
    if field_name not in ("title", "description"):
        return text
    return repr(text if len(text) <= 40 else text[:39] + "…")


def describe(row: PlannedRow) -> str:
    """One line of a dry run: ``line 3: update #12 'Cyber lab': cadence weekly → monthly``."""
    title = row.initiative.title if row.initiative else row.item.title
    if row.action == "create":
        return f"line {row.line}: create {title!r} (owner {row.item.owner_id})"
    assert row.initiative is not None
    closed = " (closed)" if row.initiative.status == "closed" else ""
    head = f"line {row.line}: {row.action} #{row.initiative.id} {title!r}{closed}"
    if not row.changes:
        return head
    return (
        head
        + ": "
        + "; ".join(
            f"{FIELDS[name]} {_show(name, before)} → {_show(name, after)}"
            for name in FIELDS
            if name in row.changes
            for before, after in [row.changes[name]]
        )
    )
