"""`fwbot nudge …` and `fwbot progress …`: the cron-friendly pass and the admin data tools.

fwbot nudge run                       # one idempotent pass: nudges, escalations, digest
fwbot nudge run --dry-run             # who would be nudged now, and why
fwbot nudge run --now 2026-11-30T09:05:00+01:00
fwbot progress import initiatives.csv   # matched by id, else by title + owner
fwbot progress import initiatives.csv --dry-run   # what it would create / update
fwbot progress export -o initiatives.csv
fwbot progress list                   # a header line, one line per initiative; the count on stderr
fwbot progress list --objective 2.3,2.4 --overdue   # filters, combined: all must hold
fwbot progress list --silent 45 --owner U012AB3CD   # no update in 45 days (default 30)
fwbot progress audit --initiative 12
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_ERROR = 0, 1


def _services(args: argparse.Namespace) -> Any:
    from ..wiring.composition import Services
    from ..wiring.settings import Settings

    return Services(Settings(), framework_path=args.framework)


def parse_now(text: str | None) -> datetime:
    """``--now``: an ISO 8601 instant (naive means UTC); default the current time."""
    if not text:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time, e.g. 2026-11-30T09:05:00+01:00"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        days = -1
    if days < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days, e.g. 30")
    return days


def _cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


# ---- nudge run ------------------------------------------------------------------------------


def cmd_nudge(args: argparse.Namespace) -> int:
    services = _services(args)
    now = args.now or datetime.now(UTC)
    if not args.dry_run:
        services.settings.slack.require_token()
    report = services.progress_pass(now, dry_run=args.dry_run)
    out = sys.stdout
    stamp = f"{now:%Y-%m-%d %H:%M} UTC"
    if args.dry_run:
        print(
            f"dry run at {stamp}: {len(report.planned)} owner(s) would be nudged now"
            f" ({report.already} already nudged or in flight this week)",
            file=out,
        )
        for plan in report.planned:
            print(f"  would nudge {plan.owner_id} [{plan.key}]: {plan.reason}", file=out)
        for skip in report.skipped:
            print(f"  not now {skip.owner_id}: {skip.reason}", file=out)
    else:
        print(
            f"pass at {stamp}: sent {len(report.sent)} nudge(s), found "
            f"{len(report.found_delivered)} already delivered, {len(report.failed)} failed, "
            f"{len(report.deferred)} left for the next pass, {report.already} already done "
            f"this week, {report.in_flight} in flight elsewhere; "
            f"{len(report.escalated)} escalation(s); {report.seconds:.2f} s",
            file=out,
        )
        if report.halted:
            print(
                f"  STOPPED: Slack said {report.halted!r} — check SLACK_BOT_TOKEN and the "
                "app's scopes (deploy/README.md); nothing more was sent",
                file=out,
            )
        for owner, error in report.failed:
            print(f"  could not nudge {owner}: {error}", file=out)
        for owner, error in report.deferred:
            print(f"  later: {owner}: {error}", file=out)
    if report.digest:
        print(f"  {report.digest}", file=out)
    return EXIT_ERROR if report.failed or report.deferred else EXIT_OK


# ---- progress import / export / list / audit -----------------------------------------------


def cmd_progress(args: argparse.Namespace) -> int:
    if args.dry_run and args.action != "import":
        print(
            f"fwbot: --dry-run is for `fwbot progress import`, not {args.action}", file=sys.stderr
        )
        return EXIT_ERROR
    misplaced = [
        flag
        for flag, value in (
            ("--objective", args.objective),
            ("--overdue", args.overdue),
            ("--silent", args.silent),
            ("--owner", args.owner),
        )
        if value not in (None, False)
        and not (args.action == "list" or (args.action == "export" and flag != "--silent"))
    ]
    if misplaced:
        print(
            f"fwbot: {misplaced[0]} is for `fwbot progress list`"
            + (" and `fwbot progress export`" if misplaced[0] != "--silent" else "")
            + f", not {args.action}",
            file=sys.stderr,
        )
        return EXIT_ERROR
    services = _services(args)
    filters = ListFilters()
    if args.action in ("list", "export"):
        try:
            filters = ListFilters.from_args(args, services.framework)
        except ValueError as exc:
            print(f"fwbot: {exc}", file=sys.stderr)
            return EXIT_ERROR
    if args.action == "import":
        return _import(services, args)
    if args.action == "export":
        from ..progress.csv_io import format_initiatives_csv

        if filters.chosen:
            records = list(filters.records(services, kind="initiative"))
        else:
            records = services.progress_store.initiatives(kind="initiative")
        text = format_initiatives_csv(records)
        if args.output:
            with open(args.output, "w", encoding="utf-8", newline="") as out:
                out.write(text)
            rows = max(0, text.count("\r\n") - 1)
            print(f"wrote {rows} initiative(s) to {args.output}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return EXIT_OK
    if args.action == "list":
        _list(services, every=args.all, filters=filters)
        return EXIT_OK
    subject = f"initiative:{args.initiative}" if args.initiative else None
    entries = services.progress_store.audit_entries(subject=subject, limit=args.limit)
    if not entries:
        print(
            "no audit entries"
            + (f" for initiative #{args.initiative}" if subject else "")
            + " yet",
            file=sys.stderr,
        )
    for entry in reversed(entries):
        print(
            f"{entry.at:%Y-%m-%d %H:%M:%S}Z\t{entry.actor}\t{entry.action}\t"
            f"{entry.subject}\t{readable_detail(entry.detail)}"
        )
    return EXIT_OK


LIST_HEADER = "#id\towner\tstate\tdue\tlast update\tobjectives\ttitle"


@dataclass(frozen=True)
class ListFilters:
    """``--objective / --overdue / --silent / --owner`` of ``fwbot progress list`` (and,
    but ``--silent``, of ``export``): all given must hold."""

    objective_ids: list[str] | None = None
    overdue_at: datetime | None = None
    silent_before: datetime | None = None
    owner_id: str | None = None

    @property
    def chosen(self) -> bool:
        return any(
            value is not None
            for value in (self.objective_ids, self.overdue_at, self.silent_before, self.owner_id)
        )

    @classmethod
    def from_args(cls, args: argparse.Namespace, framework: Any) -> ListFilters:
        """The filters asked for, at the current time; ValueError (one line) for an
        objective id the framework lacks."""
        from retrieval.structure_answers import objective_ranges

        now = datetime.now(UTC)
        ids = None
        if args.objective is not None:
            ids = list(dict.fromkeys(i.strip() for i in args.objective.split(",") if i.strip()))
            known = {o.id for _, o in framework.objectives()}
            unknown = [i for i in ids if i not in known]
            if unknown or not ids:
                what = ", ".join(unknown) if unknown else repr(args.objective)
                raise ValueError(
                    f"--objective: no objective {what} in {framework.title}; its objectives"
                    f" are {objective_ranges(framework)} (comma-separated, e.g."
                    " --objective 2.3,2.4)"
                )
        silent = getattr(args, "silent", None)
        return cls(
            objective_ids=ids,
            overdue_at=now if args.overdue else None,
            silent_before=now - timedelta(days=silent) if silent is not None else None,
            owner_id=args.owner,
        )

    def records(
        self, services: Any, *, status: str | None = "active", kind: str | None = None
    ) -> Iterator[Any]:
        from ..storage.progress_queries import ProgressQueries

        return ProgressQueries(services.database).listing(
            objective_ids=self.objective_ids,
            overdue_at=self.overdue_at,
            silent_before=self.silent_before,
            owner_id=self.owner_id,
            status=status,
            kind=kind,
        )


def _list(services: Any, *, every: bool, filters: ListFilters | None = None) -> None:
    """``fwbot progress list``: a header, one tab-separated line per initiative (by id),
    then how many (on stderr). Filters read the database a page at a time."""
    now = datetime.now(UTC)
    status = None if every else "active"
    print(LIST_HEADER)
    if filters is not None and filters.chosen:
        items: Iterable[Any] = filters.records(services, status=status)
    else:
        items = services.progress_store.initiatives(status=status)
    count = 0
    for item in items:
        count += 1
        due = "OVERDUE" if item.is_overdue(now) else f"due {item.due_at:%Y-%m-%d}"
        print(
            f"#{item.id}\t{item.owner_id}\t{item.status}\t{due}\t{last_update(item)}\t"
            f"{','.join(item.objective_ids)}\t{item.title}"
        )
    # On stderr, as export's "wrote N": stdout stays the header and one line per initiative.
    sys.stdout.flush()
    print(f"{count} initiative{'' if count == 1 else 's'}", file=sys.stderr)


def last_update(item: Any) -> str:
    """The latest update: its status and day; a day alone for one known only from a CSV's
    ``last_update`` column; "no update yet"."""
    if item.last_update_at is None:
        return "no update yet"
    day = f"{item.last_update_at:%Y-%m-%d}"
    if item.last_status is None:
        return f"updated {day}"
    return f"{item.last_status.label} {day}"


def readable_detail(detail: dict[str, Any]) -> str:
    """An audit entry's detail as ``key: value; key: value`` (a list as ``a, b``; an import's
    before and after as ``key: old → new``), not Python's dict repr."""
    before, after = detail.get("before"), detail.get("after")
    if set(detail) == {"before", "after"} and isinstance(before, dict) and isinstance(after, dict):
        return "; ".join(
            f"{key}: {_value(before.get(key))} → {_value(value)}" for key, value in after.items()
        )
    return "; ".join(f"{key}: {_value(value)}" for key, value in detail.items())


def _value(value: Any) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value) or "–"
    if isinstance(value, dict):
        return "(" + readable_detail(value) + ")"
    return str(value)


def _import(services: Any, args: argparse.Namespace) -> int:
    """Create, update or leave each row's initiative, all in one transaction; print
    ``created N, updated N, unchanged N`` (with ``--dry-run`` the plan, row by row)."""
    from ..progress.csv_io import CsvImportError, read_initiatives_csv
    from ..progress.csv_plan import describe, plan_import

    if args.file is None:
        print("fwbot: give the CSV file to import: fwbot progress import FILE.csv", file=sys.stderr)
        return EXIT_ERROR
    data = Path(args.file).read_bytes()
    try:
        found = read_initiatives_csv(data, services.framework, now=datetime.now(UTC))
        plan, created = services.progress_store.sync_initiatives(
            lambda existing: plan_import(found, existing),
            actor=args.actor or _cli_actor(),
            dry_run=args.dry_run,
        )
    except CsvImportError as exc:
        print(f"fwbot: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if args.dry_run:
        print(f"dry run, nothing was changed; importing {args.file} would give: {plan.summary()}")
        for row in plan.rows:
            print(f"  {describe(row)}")
        return EXIT_OK
    new = ""
    if created:
        first, last = created[0].id, created[-1].id
        new = f" (new: #{first})" if first == last else f" (new: #{first}–#{last})"
    print(f"{plan.summary()} from {args.file}{new}")
    return EXIT_OK


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "nudge", parents=[common], help="weekly nudges: one idempotent pass (cron-friendly)"
    )
    p.add_argument("action", choices=["run"])
    p.add_argument(
        "--now",
        type=parse_now,
        default=None,
        help="act as if it were this ISO 8601 time (default: now)",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print who would be nudged and why; send nothing"
    )
    p.set_defaults(func=cmd_nudge)

    p = sub.add_parser(
        "progress", parents=[common], help="initiatives: import / export CSV, list, audit trail"
    )
    p.add_argument("action", choices=["import", "export", "list", "audit"])
    p.add_argument("file", nargs="?", type=Path, help="CSV file to import")
    p.add_argument("-o", "--output", type=Path, help="export: file to write (default stdout)")
    p.add_argument("--actor", help="import: who to record in the audit trail")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="import: print which rows would be created, updated (which fields) or"
        " left unchanged; change nothing",
    )
    p.add_argument("--all", action="store_true", help="list: closed ones too")
    p.add_argument(
        "--objective",
        metavar="IDS",
        help="list, export: only initiatives serving one of these objectives, e.g. 2.3,2.4",
    )
    p.add_argument(
        "--overdue", action="store_true", help="list, export: only those overdue for an update"
    )
    p.add_argument(
        "--silent",
        metavar="DAYS",
        type=_days,
        nargs="?",
        const=30,
        default=None,
        help="list: only those with no update in the last DAYS days (default 30)",
    )
    p.add_argument("--owner", metavar="USER_ID", help="list, export: only this owner's")
    p.add_argument("--initiative", type=int, help="audit: one initiative's entries")
    p.add_argument("--limit", type=int, default=100, help="audit: how many entries")
    p.set_defaults(func=cmd_progress)
