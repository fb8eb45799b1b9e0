"""One source per vocabulary: :mod:`bot.storage.vocabulary`'s cadences and statuses make the
database's CHECK constraints, the CSV hint and check, the modals' menus, the digest's labels,
colours and emoji, and every validity check. A cadence added to the type (one line, in a
scratch copy of the module here) appears in all of them; only the database needs more (a
migration, see the README's "How to add a cadence")."""

from __future__ import annotations

import shutil
import types
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.progress import chart, csv_values, digest
from bot.slack.blocks import digest as digest_blocks
from bot.slack.blocks import progress_modals
from bot.slack.blocks.progress_modals import new_initiative_modal, update_modal
from bot.slack.ids import BLOCK_NEW_CADENCE, BLOCK_UPDATE_STATUS
from bot.storage import db as db_module
from bot.storage import progress_records, vocabulary
from bot.storage.db import Database, alembic_config
from bot.storage.progress_models import Initiative, ProgressUpdate
from bot.storage.progress_records import NewInitiative
from bot.storage.progress_store import ProgressStore
from bot.storage.vocabulary import Cadence, UpdateStatus, one_of, sql_in
from framework_data.schema import Framework
from local_slack.limits import check_view
from tests.progress_fixtures import initiative_record

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
# A cadence the product does not have (the recipe's example is "quarterly"; this one stays
# unused, so these tests keep working when quarterly is added for real).
HALF_YEARLY = '    HALF_YEARLY = "half-yearly", "every six months", 6, 0'
# The README's "How to add a cadence", step 2: the migration to copy (REVISION and
# DOWN_REVISION filled in).
NEW_CADENCE_MIGRATION = '''"""Initiatives may be updated quarterly.

Revision ID: REVISION
Revises: DOWN_REVISION
"""

from __future__ import annotations

from alembic import op

revision = "REVISION"
down_revision = "DOWN_REVISION"
branch_labels = None
depends_on = None

OLD = "cadence IN ('weekly', 'fortnightly', 'monthly')"
NEW = "cadence IN ('weekly', 'fortnightly', 'monthly', 'quarterly')"


def _allow(cadences: str) -> None:
    with op.batch_alter_table("initiatives") as batch:  # SQLite: a copy of the table
        batch.drop_constraint(op.f("ck_initiatives_cadence"), type_="check")
        batch.create_check_constraint(op.f("ck_initiatives_cadence"), cadences)


def upgrade() -> None:
    _allow(NEW)


def downgrade() -> None:
    _allow(OLD)
'''


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def scratch_vocabulary(line: str) -> types.ModuleType:
    """A copy of bot.storage.vocabulary with ``line`` added after the last cadence: step 1 of
    the recipe."""
    source = Path(vocabulary.__file__).read_text(encoding="utf-8")
    after_the_members = "\n\n    @classmethod\n    def _missing_(cls, value: object) -> Cadence:"
    assert source.count(after_the_members) == 1
    module = types.ModuleType("scratch_vocabulary")
    changed = source.replace(after_the_members, "\n" + line + after_the_members)
    exec(compile(changed, "scratch_vocabulary", "exec"), vars(module))
    return module


def check_text(model: Any, name: str) -> str:
    (found,) = (c for c in model.__table__.constraints if str(c.name).endswith(f"_{name}"))
    return str(found.sqltext)


def test_the_check_constraints_are_made_from_the_types() -> None:
    assert check_text(Initiative, "cadence") == sql_in("cadence", Cadence)
    assert check_text(ProgressUpdate, "status") == sql_in("status", UpdateStatus)
    # ... in the form migration 0002 wrote them by hand
    assert sql_in("cadence", ["weekly", "fortnightly", "monthly"]) == (
        "cadence IN ('weekly', 'fortnightly', 'monthly')"
    )
    assert sql_in("x", ["it's"]) == "x IN ('it''s')"


def test_a_cadence_owns_its_words_and_arithmetic() -> None:
    labels = (Cadence.WEEKLY.label, Cadence.FORTNIGHTLY.label, Cadence.MONTHLY.label)
    assert labels == ("Every week", "Every two weeks", "Every month")
    assert Cadence.FORTNIGHTLY.phrase == "every two weeks"
    assert Cadence.WEEKLY.after(utc(2026, 12, 29, 9)) == utc(2027, 1, 5, 9)
    assert Cadence.MONTHLY.after(utc(2026, 12, 31)) == utc(2027, 1, 31)
    assert Cadence.MONTHLY.after(utc(2028, 1, 30)) == utc(2028, 2, 29)  # a leap year
    assert Cadence("weekly") is Cadence.WEEKLY and Cadence.WEEKLY == "weekly"
    with pytest.raises(ValueError, match="unknown cadence 'daily': use one of weekly, fort"):
        Cadence("daily")
    with pytest.raises(ValueError, match="unknown status 'fine'"):
        UpdateStatus("fine")
    assert one_of(["a", "b", "c"], " or ") == "a, b or c" and one_of(["a"], " or ") == "a"
    assert Cadence.lookup("monthly") is Cadence.MONTHLY and UpdateStatus.lookup("done")
    assert Cadence.lookup("Monthly") is None and Cadence.lookup(None) is None
    assert Cadence.WEEKLY.find("k") == 3  # still a str


def test_records_hold_members_and_refuse_unknown_values() -> None:
    item = NewInitiative(title="T", owner_id="U1", objective_ids=("1.1",), cadence="monthly")  # type: ignore[arg-type]
    assert item.cadence is Cadence.MONTHLY
    record = initiative_record(now=NOW, cadence="fortnightly", last_status="at_risk")
    assert record.cadence is Cadence.FORTNIGHTLY and record.last_status is UpdateStatus.AT_RISK
    assert record.due_at == Cadence.FORTNIGHTLY.after(record.last_update_at or record.created_at)
    with pytest.raises(ValueError, match="cadence"):
        NewInitiative(title="T", owner_id="U1", objective_ids=("1.1",), cadence="daily")  # type: ignore[arg-type]


def test_the_csv_hint_and_the_modals_list_every_member_in_order(interpol: Framework) -> None:
    hint = csv_values.cadence_hint()
    assert hint.startswith("weekly, fortnightly (every two weeks)") and "monthly" in hint
    assert hint.count(" or ") == 1 and all(c.value in hint for c in Cadence)
    view = new_initiative_modal(interpol, owner_id="U1", private_metadata="").to_dict()
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    options = blocks[BLOCK_NEW_CADENCE]["element"]["options"]
    assert [(o["value"], o["text"]["text"]) for o in options] == [
        (c.value, c.label) for c in Cadence
    ]
    record = initiative_record(now=NOW)
    view = update_modal([record], record, private_metadata="", now=NOW).to_dict()
    status = next(
        b for b in view["blocks"] if b.get("block_id", "").startswith(BLOCK_UPDATE_STATUS)
    )
    assert [o["value"] for o in status["element"]["options"]] == list(UpdateStatus)
    assert status["element"]["options"][1]["text"]["text"] == "🟡 At risk"


def test_the_digest_shows_every_status_then_no_update() -> None:
    assert (*UpdateStatus, digest.NO_UPDATE) == digest.DIGEST_STATUSES
    for table in (digest.DIGEST_STATUS_LABELS, chart.STATUS_COLOURS, digest_blocks.STATUS_EMOJI):
        assert list(table) == list(digest.DIGEST_STATUSES)
    assert digest.DIGEST_STATUS_LABELS["off_track"] == "Off track"
    assert chart.STATUS_COLOURS["done"] == "#0072B2"


def test_one_line_in_the_type_is_a_new_cadence_everywhere(
    monkeypatch: pytest.MonkeyPatch, interpol: Framework
) -> None:
    scratch = scratch_vocabulary(HALF_YEARLY)
    half = scratch.Cadence("half-yearly")
    assert list(scratch.Cadence) == [*Cadence, half]
    assert half.label == "Every six months" and half.explained == "half-yearly (every six months)"
    assert half.after(utc(2027, 8, 31, 9)) == utc(2028, 2, 29, 9)  # clamped, a leap year
    assert half.after(utc(2027, 11, 15)) == utc(2028, 5, 15)
    # the database constraint
    assert sql_in("cadence", scratch.Cadence) == sql_in("cadence", [*Cadence, "half-yearly"])
    assert "'half-yearly')" in sql_in("cadence", scratch.Cadence)
    # the CSV hint and check
    monkeypatch.setattr(csv_values, "Cadence", scratch.Cadence)
    hint = csv_values.cadence_hint()
    assert hint.startswith("weekly, fortnightly (every two weeks), monthly")
    assert hint.endswith(" or half-yearly (every six months)")
    assert csv_values.cadence(" Half-Yearly ") is half
    with pytest.raises(csv_values.Bad, match="half-yearly"):
        csv_values.cadence("yearly")
    # the modal's menu
    monkeypatch.setattr(progress_modals, "Cadence", scratch.Cadence)
    view = new_initiative_modal(
        interpol, owner_id="U1", cadence="half-yearly", private_metadata=""
    ).to_dict()
    assert check_view(view) is None
    menu = next(b for b in view["blocks"] if b.get("block_id") == BLOCK_NEW_CADENCE)["element"]
    assert [o["value"] for o in menu["options"]] == [*Cadence, "half-yearly"]
    assert menu["initial_option"]["text"]["text"] == "Every six months"
    # records (and so the due dates, nudges and confirmations)
    monkeypatch.setattr(progress_records, "Cadence", scratch.Cadence)
    record = initiative_record(now=NOW, cadence="half-yearly", last_update_at=utc(2026, 10, 1))
    assert record.cadence is half and record.due_at == utc(2027, 4, 1)
    assert record.cadence.phrase == "every six months"


def test_the_recipes_migration_allows_the_cadence_and_keeps_every_update(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Step 2 of the recipe on both backends. On SQLite the table is copied and the old one
    dropped: with foreign keys on, that drop would delete every progress update (ON DELETE
    CASCADE); migrate() turns them off while migrating."""
    database = Database(database_url)
    database.migrate()
    store = ProgressStore(database)
    record = store.create_initiative(
        NewInitiative(title="Reef survey", owner_id="U1", objective_ids=("1.1",)), actor="U1"
    )
    store.add_update(record.id, status="at_risk", percent=40, note="", author_id="U1")
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    migrations = tmp_path / "migrations"
    shutil.copytree(db_module.MIGRATIONS_DIR, migrations, ignore=shutil.ignore_patterns("__py*"))
    migration = NEW_CADENCE_MIGRATION.replace("DOWN_REVISION", str(head))
    (migrations / "versions" / "9999_quarterly.py").write_text(
        migration.replace("REVISION", "9999"), encoding="utf-8"
    )
    monkeypatch.setattr(db_module, "MIGRATIONS_DIR", migrations)
    try:
        database.migrate()
        assert [u.percent for u in store.updates(record.id)] == [40]
        with database.engine.begin() as connection:
            connection.execute(text("UPDATE initiatives SET cadence = 'quarterly'"))
        with pytest.raises(IntegrityError), database.engine.begin() as connection:
            connection.execute(text("UPDATE initiatives SET cadence = 'yearly'"))
        if database.dialect == "sqlite":
            with database.engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        database.dispose()
