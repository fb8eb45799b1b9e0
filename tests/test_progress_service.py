"""The progress service: who may do what, and the owner's snooze, leave and nudge time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.progress.service import (
    Admins,
    NotAllowed,
    ProgressError,
    ProgressService,
    UnknownInitiative,
    parse_duration,
)
from bot.storage.progress_records import NewInitiative
from bot.storage.progress_store import ProgressStore

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # Monday


@pytest.fixture
def service(database, interpol) -> ProgressService:
    store = ProgressStore(database)
    store.set_prefs("U1", actor="system", tz="Europe/Paris", audit=False)
    return ProgressService(store, interpol, admins=Admins({"UADMIN"}), clock=lambda: NOW)


def create(service: ProgressService, owner: str = "U1", ids=("1.1",)):
    return service.create(
        NewInitiative(title="  Train   officers ", owner_id=owner, objective_ids=ids), actor=owner
    )


def test_create_normalises_and_validates(service: ProgressService) -> None:
    record = create(service, ids=("2.3 ", "1.1"))
    assert record.title == "Train officers" and record.objective_ids == ("2.3", "1.1")
    with pytest.raises(ProgressError, match=r"Unknown objective 9\.9"):
        create(service, ids=("9.9",))
    with pytest.raises(ProgressError, match="at least one objective"):
        create(service, ids=(" ",))
    with pytest.raises(ProgressError, match="title"):
        service.create(
            NewInitiative(title="x" * 201, owner_id="U1", objective_ids=("1.1",)), actor="U1"
        )


def test_only_the_owner_or_an_admin_may_change_an_initiative(service: ProgressService) -> None:
    record = create(service)
    for attempt in (
        lambda: service.post_update(record.id, actor="U2", status="on_track", percent=10),
        lambda: service.reassign(record.id, "U2", actor="U2"),
        lambda: service.close(record.id, actor="U2"),
        lambda: service.overdue("U2"),
        lambda: service.set_lead("2.3", "U2", actor="U2"),
    ):
        with pytest.raises(NotAllowed, match=r"(initiatives you own|admins)"):
            attempt()
    assert service.store.updates(record.id) == []
    assert service.get(record.id).owner_id == "U1"
    service.post_update(record.id, actor="UADMIN", status="at_risk", percent=30)
    service.reassign(record.id, "U2", actor="U1")
    assert service.close(record.id, actor="U2").status == "closed"
    with pytest.raises(ProgressError, match="closed"):
        service.post_update(record.id, actor="U2", status="done", percent=100)


def test_no_change_repeats_the_previous_status(service: ProgressService) -> None:
    record = create(service)
    with pytest.raises(ProgressError, match="no update yet"):
        service.no_change(record.id, actor="U1")
    service.post_update(record.id, actor="U1", status="at_risk", percent=45, note="slow")
    update = service.no_change(record.id, actor="U1")
    assert (update.status, update.percent, update.no_change) == ("at_risk", 45, True)
    with pytest.raises(UnknownInitiative, match="#999"):
        service.no_change(999, actor="UADMIN")
    with pytest.raises(NotAllowed, match="#999 isn't one of yours"):  # as if someone else's
        service.no_change(999, actor="U1")


def test_snooze_tomorrow_and_next_week_use_my_local_nudge_time(service: ProgressService) -> None:
    assert service.snooze("U1", "tomorrow").snoozed_until == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert service.snooze("U1", "next week").snoozed_until == datetime(
        2026, 12, 7, 8, 0, tzinfo=UTC
    )
    assert service.snooze("U1", "1w").snoozed_until == NOW + timedelta(weeks=1)
    assert service.snooze("U1", "off").snoozed_until is None
    with pytest.raises(ProgressError, match="8 weeks"):
        service.snooze("U1", "10w")
    with pytest.raises(ProgressError, match="tomorrow"):
        service.snooze("U1", "soon")


def test_leave_runs_through_the_last_day_in_my_zone(service: ProgressService) -> None:
    prefs = service.leave("U1", "until 2026-12-24")
    assert prefs.leave_until == datetime(2026, 12, 24, 23, 0, tzinfo=UTC)  # 25 Dec 00:00 Paris
    assert service.leave("U1", "until 24.12.2026").leave_until == prefs.leave_until
    with pytest.raises(ProgressError, match="in the past"):
        service.leave("U1", "until 2026-11-01")
    with pytest.raises(ProgressError, match="YYYY-MM-DD"):
        service.leave("U1", "until christmas")
    assert service.leave("U1", "off").leave_until is None


def test_nudge_time_and_next_nudge(service: ProgressService) -> None:
    service.set_nudge_time("U1", 1, time(10, 0))
    assert service.next_nudge("U1") == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    entries = service.store.audit_entries(subject="owner:U1")
    assert entries[0].detail == {"nudge_weekday": 1, "nudge_time": "10:00"}


def test_admin_group_members_are_admins_and_a_failed_lookup_keeps_the_last_list() -> None:
    calls = []
    clock = [0.0]

    def members():
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("slack down")
        return ["UGROUP"]

    admins = Admins({"UADMIN"}, group_members=members, ttl=60, clock=lambda: clock[0])
    assert "UGROUP" in admins and "UADMIN" in admins and "U2" not in admins
    clock[0] = 61
    assert "UGROUP" in admins and len(calls) == 2


def test_parse_duration() -> None:
    assert parse_duration("3d") == timedelta(days=3)
    assert parse_duration("2 weeks") == timedelta(days=14)
    assert parse_duration("a week") == timedelta(days=7)
    with pytest.raises(ProgressError):
        parse_duration("0d")
