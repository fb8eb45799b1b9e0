"""Progress storage on SQLite and PostgreSQL: initiatives, updates, preferences, claims,
digests and the audit trail."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.storage.claims_store import ClaimStore
from bot.storage.db import Database
from bot.storage.progress_records import NewInitiative
from bot.storage.progress_store import ProgressStore
from bot.storage.store import UnknownRecord
from bot.storage.vocabulary import Cadence, UpdateStatus

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def progress(database: Database) -> ProgressStore:
    return ProgressStore(database)


@pytest.fixture
def claims(database: Database) -> ClaimStore:
    return ClaimStore(database)


def new(title: str = "Train border officers", owner: str = "U1", **kw) -> NewInitiative:
    return NewInitiative(title=title, owner_id=owner, objective_ids=kw.pop("ids", ("1.1",)), **kw)


def test_create_update_and_read_back(progress: ProgressStore) -> None:
    record = progress.create_initiative(new(ids=("2.3", "2.3", "1.1")), actor="U9", now=T0)
    assert record.objective_ids == ("2.3", "1.1") and record.status == "active"
    assert record.created_by == "U9" and record.last_status is None
    update = progress.add_update(
        record.id,
        status="at_risk",
        percent=40,
        note="late",
        author_id="U1",
        now=T0 + timedelta(days=3),
    )
    again = progress.initiative(record.id)
    assert again is not None
    assert (again.last_status, again.last_percent, again.last_update_at) == (
        "at_risk",
        40,
        T0 + timedelta(days=3),
    )
    assert progress.updates(record.id) == [update]
    # An older update arriving later does not replace the latest.
    progress.add_update(
        record.id,
        status="on_track",
        percent=10,
        note="",
        author_id="U1",
        now=T0 + timedelta(days=1),
    )
    assert progress.initiative(record.id).last_status == "at_risk"  # type: ignore[union-attr]
    assert [u.percent for u in progress.updates(record.id)] == [40, 10]


def test_bad_values_are_refused_before_anything_is_written(progress: ProgressStore) -> None:
    record = progress.create_initiative(new(), actor="U1", now=T0)
    with pytest.raises(ValueError, match="percent"):
        progress.add_update(record.id, status="on_track", percent=150, note="", author_id="U1")
    with pytest.raises(ValueError, match="status"):
        progress.add_update(record.id, status="fine", percent=None, note="", author_id="U1")
    with pytest.raises(UnknownRecord):
        progress.add_update(999, status="done", percent=None, note="", author_id="U1")
    with pytest.raises(ValueError, match="cadence"):
        progress.create_initiative(new(cadence="daily"), actor="U1")  # type: ignore[arg-type]
    assert progress.updates(record.id) == []


def test_the_migrated_database_takes_every_cadence_and_status(progress: ProgressStore) -> None:
    """The CHECK constraints the migrations made allow every member of the vocabulary: a
    cadence or status added to the type without its migration fails here."""
    for cadence in Cadence:
        record = progress.create_initiative(new(f"Every {cadence}", cadence=cadence), actor="U1")
        assert progress.initiative(record.id).cadence is cadence  # type: ignore[union-attr]
        lead = progress.set_objective_lead(
            "1.1", owner_id="U2", cadence=cadence, title="Lead", actor="U1"
        )
        assert lead.cadence is cadence
    for status in UpdateStatus:
        update = progress.add_update(
            record.id, status=status.value, percent=None, note="", author_id="U1"
        )
        assert progress.updates(record.id, limit=1) == [update] and update.status is status


def test_import_is_all_or_nothing(progress: ProgressStore) -> None:
    good = [new(f"Initiative {n}") for n in range(3)]
    with pytest.raises(ValueError):
        progress.import_initiatives([*good, new("")], actor="cli:admin", now=T0)
    assert progress.initiatives() == []
    records = progress.import_initiatives(good, actor="cli:admin", now=T0)
    assert [r.title for r in progress.initiatives()] == [r.title for r in records]
    assert {e.action for e in progress.audit_entries()} == {"import"}


def test_reassign_close_and_leads_are_audited(progress: ProgressStore) -> None:
    record = progress.create_initiative(new(), actor="U1", now=T0)
    progress.reassign(record.id, "U2", actor="UADMIN", now=T0 + timedelta(hours=1))
    progress.close(record.id, actor="U2", now=T0 + timedelta(hours=2))
    assert progress.initiatives() == []
    assert progress.initiatives(status=None)[0].owner_id == "U2"
    entries = progress.audit_entries(subject=f"initiative:{record.id}")
    assert [(e.actor, e.action) for e in entries] == [
        ("U2", "close"),
        ("UADMIN", "reassign"),
        ("U1", "create"),
    ]
    assert entries[1].detail == {"before": {"owner_id": "U1"}, "after": {"owner_id": "U2"}}
    lead = progress.set_objective_lead(
        "2.3", owner_id="U3", cadence="monthly", title="Objective 2.3", actor="UADMIN", now=T0
    )
    again = progress.set_objective_lead(
        "2.3", owner_id="U4", cadence="weekly", title="Objective 2.3", actor="UADMIN", now=T0
    )
    assert again.id == lead.id and again.owner_id == "U4" and again.kind == "objective"
    with pytest.raises(UnknownRecord):
        progress.close(12345, actor="U1")


def test_prefs_default_then_stored(progress: ProgressStore) -> None:
    assert progress.prefs("U1").nudge_time == time(9, 0)
    progress.set_prefs(
        "U1",
        actor="U1",
        now=T0,
        tz="Europe/Paris",
        nudge_weekday=1,
        nudge_time=time(10, 30),
        snoozed_until=T0 + timedelta(days=1),
    )
    prefs = progress.prefs("U1")
    assert (prefs.tz, prefs.nudge_weekday, prefs.nudge_time) == ("Europe/Paris", 1, time(10, 30))
    assert prefs.snoozed_until == T0 + timedelta(days=1)
    assert set(progress.all_prefs(["U1", "U2"])) == {"U1"}
    with pytest.raises(TypeError):
        progress.set_prefs("U1", actor="U1", colour="blue")


def test_a_late_update_marks_the_live_digest_stale(progress: ProgressStore) -> None:
    record = progress.create_initiative(new(), actor="U1", now=T0)
    end = T0 + timedelta(days=7)
    digest = progress.record_digest(
        channel_id="C1",
        period="2026-W46",
        period_start=T0,
        period_end=end,
        live_until=end + timedelta(days=7),
        message_ts="1.2",
        file_id="F1",
        now=end,
    )
    progress.add_update(
        record.id,
        status="on_track",
        percent=None,
        note="",
        author_id="U1",
        now=end - timedelta(hours=1),
    )  # before the digest: not late
    assert progress.stale_digests() == []
    progress.add_update(
        record.id, status="done", percent=100, note="", author_id="U1", now=end + timedelta(hours=1)
    )
    [(stale, late)] = progress.stale_digests()
    assert (stale.id, late) == (digest.id, 1)
    progress.digest_refreshed(
        digest.id, file_id="F2", rendered_at=end + timedelta(hours=2), now=end + timedelta(hours=2)
    )
    assert progress.stale_digests() == []
    assert progress.digest("C1", "2026-W46").file_id == "F2"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="exists"):
        progress.record_digest(
            channel_id="C1",
            period="2026-W46",
            period_start=T0,
            period_end=end,
            live_until=end,
            message_ts="1.3",
            file_id=None,
        )


# ---- claims ---------------------------------------------------------------------------------


def test_a_claim_is_won_once(claims: ClaimStore) -> None:
    lease = T0 + timedelta(minutes=10)
    first = claims.claim("nudge", "U1", "2026-W45", claimed_by="a", lease_until=lease, now=T0)
    assert first is not None and first.state == "claimed"
    assert claims.claim("nudge", "U1", "2026-W45", claimed_by="b", lease_until=lease) is None
    won = claims.claim_many(
        "nudge",
        [("U1", "2026-W45", {}), ("U2", "2026-W45", {"items": [1]})],
        claimed_by="b",
        lease_until=lease,
        now=T0,
    )
    assert [(c.subject, c.detail) for c in won] == [("U2", {"items": [1]})]


def test_finish_release_and_take_over_are_compare_and_set(claims: ClaimStore) -> None:
    lease = T0 + timedelta(minutes=10)
    claim = claims.claim("nudge", "U1", "W", claimed_by="a", lease_until=lease, now=T0)
    assert claim is not None
    assert not claims.finish(claim.id, claimed_by="b", state="sent")  # not b's
    assert claims.release(claim.id, claimed_by="a", error="uncertain: timeout", now=T0)
    released = claims.get(claim.id)
    assert released is not None and released.lease_until == T0 and released.attempts == 1
    taken = claims.take_over(released, claimed_by="b", lease_until=lease, now=T0)
    assert taken is not None and taken.claimed_by == "b"
    assert claims.take_over(released, claimed_by="c", lease_until=lease, now=T0) is None
    assert not claims.renew(claim.id, claimed_by="a", lease_until=lease)
    assert claims.finish(
        claim.id, claimed_by="b", state="sent", channel_id="DU1", message_ts="1.1", now=T0
    )
    assert not claims.finish(claim.id, claimed_by="b", state="failed")  # finished is final
    done = claims.get(claim.id)
    assert done is not None and (done.state, done.message_ts) == ("sent", "1.1")


def test_concurrent_claimers_split_the_work_without_overlap(database: Database) -> None:
    items = [(f"U{n}", "2026-W48", {}) for n in range(300)]
    won: dict[str, list[str]] = {}
    barrier = threading.Barrier(4)

    def claimer(name: str) -> None:
        store = ClaimStore(database)
        barrier.wait()
        won[name] = [
            c.subject
            for c in store.claim_many(
                "nudge", items, claimed_by=name, lease_until=T0 + timedelta(minutes=5), now=T0
            )
        ]

    threads = [threading.Thread(target=claimer, args=(f"p{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    subjects = [s for names in won.values() for s in names]
    assert sorted(subjects) == sorted(s for s, _, _ in items)
