"""One nudge pass against the fake Slack, on SQLite and PostgreSQL: exactly one DM per owner
and week, whatever happens — reruns, a crash between sending and recording, 429 storms,
transient and permanent errors, daylight-saving weekends, snooze, leave, downtime."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

from bot.progress.nudges import RunReport
from bot.slack_api.events import NUDGE_EVENT
from bot.storage.claims_store import ClaimStore
from bot.storage.progress_records import ClaimRecord
from tests.progress_fixtures import MONDAY, PacerClock, make_runner, nudges_received, seed

OWNERS = ["U1", "U2", "U3"]


def run(database, api, now=MONDAY, **config) -> RunReport:
    return make_runner(database, api, **config).run(now)


def test_each_overdue_owner_gets_one_dm_listing_all_items(
    database, fake_slack, progress_store
) -> None:
    seed(progress_store, OWNERS, per_owner=2)
    seed(progress_store, ["U4"], last=MONDAY - timedelta(days=2))  # up to date
    report = run(database, fake_slack)
    assert sorted(report.sent) == OWNERS and report.failed == report.deferred == []
    assert nudges_received(fake_slack) == {(o, "2026-W49"): 1 for o in OWNERS}
    dm = fake_slack.messages("DU1")[0]
    assert dm["text"] and "Initiative U1-0" in str(dm["blocks"])
    assert "Initiative U1-1" in str(dm["blocks"])
    claims = ClaimStore(database).claims("nudge")
    assert {(c.subject, c.state, c.channel_id) for c in claims} == {
        (o, "sent", f"D{o}") for o in OWNERS
    }
    assert progress_store.prefs("U1").dm_channel == "DU1"
    # The same pass again, later that week: nothing new.
    again = run(database, fake_slack, MONDAY + timedelta(days=2))
    assert again.sent == [] and again.already == 3
    assert sum(nudges_received(fake_slack).values()) == 3


def test_a_crash_after_sending_never_sends_twice(database, fake_slack, progress_store) -> None:
    """A dead pass left two claims unfinished: one DM went out, the other didn't."""
    seed(progress_store, ["U1", "U2"])
    dead = f"{socket.gethostname()}:999999999:deadbeef"  # no such process here
    claims = ClaimStore(database)
    won = claims.claim_many(
        "nudge",
        [("U1", "2026-W49", {}), ("U2", "2026-W49", {})],
        claimed_by=dead,
        lease_until=MONDAY + timedelta(hours=1),
        now=MONDAY,
    )
    assert len(won) == 2
    fake_slack.client("xoxb-test").chat_postMessage(
        channel="U1",
        text="Time for a progress update",
        metadata={
            "event_type": NUDGE_EVENT,
            "event_payload": {"subject": "U1", "period": "2026-W49"},
        },
    )
    report = run(database, fake_slack)
    assert report.found_delivered == ["U1"] and report.sent == ["U2"]
    assert nudges_received(fake_slack) == {("U1", "2026-W49"): 1, ("U2", "2026-W49"): 1}
    assert {c.subject: c.state for c in claims.claims("nudge")} == {"U1": "sent", "U2": "sent"}


def test_a_claim_held_by_a_live_pass_is_left_alone_until_its_lease_ends(
    database, fake_slack, progress_store
) -> None:
    seed(progress_store, ["U1"])
    claims = ClaimStore(database)
    [held] = claims.claim_many(
        "nudge",
        [("U1", "2026-W49", {})],
        claimed_by="other-host:1:x",
        lease_until=MONDAY + timedelta(minutes=10),
        now=MONDAY,
    )
    report = run(database, fake_slack)
    assert report.sent == [] and report.in_flight == 1
    later = run(database, fake_slack, MONDAY + timedelta(minutes=11))
    assert later.sent == ["U1"]
    assert nudges_received(fake_slack) == {("U1", "2026-W49"): 1}
    assert isinstance(claims.get(held.id), ClaimRecord)


def test_a_lost_answer_is_checked_in_the_history_not_resent(
    database, fake_slack, progress_store
) -> None:
    seed(progress_store, ["U1", "U2"])
    fake_slack.drop_response("chat.postMessage", times=1)
    first = run(database, fake_slack, workers=1)
    assert len(first.deferred) == 1 and first.deferred[0][1].startswith("uncertain")
    # At once again (its pass has ended): the grace for a late answer is waited out, then
    # the history shows the DM arrived.
    at_once = run(database, fake_slack, MONDAY)
    assert at_once.sent == [] and len(at_once.found_delivered) == 1
    second = run(database, fake_slack, MONDAY + timedelta(minutes=1))
    assert second.found_delivered == second.sent == [] and second.already == 2
    assert nudges_received(fake_slack) == {("U1", "2026-W49"): 1, ("U2", "2026-W49"): 1}


def test_429_storms_and_transient_errors_still_deliver_everything_once(
    database, fake_slack, progress_store
) -> None:
    owners = [f"U{n}" for n in range(1, 13)]
    seed(progress_store, owners)
    fake_slack.fail_next("chat.postMessage", retry_after=1, times=3)
    fake_slack.fail_next("chat.postMessage", error="service_unavailable", status=503, times=2)
    clock = PacerClock()  # the pauses pass on the pacer's clock, not in real time
    report = run(database, fake_slack, clock=clock)
    assert sorted(report.sent) == sorted(owners) and report.deferred == []
    assert nudges_received(fake_slack) == {(o, "2026-W49"): 1 for o in owners}
    assert sum(c.status == 429 for c in fake_slack.calls("chat.postMessage")) == 3
    # Retry-After (1 s) was waited out before sending again (spacing turns: far shorter)
    assert max(clock.sleeps) >= 0.99


def test_permanent_errors_are_recorded_reported_to_admins_once_and_the_run_goes_on(
    database, fake_slack, progress_store
) -> None:
    seed(progress_store, ["U1", "UGONE", "ULEFT"])
    fake_slack.add_user("ULEFT", deleted=True)
    fake_slack.make_unreachable("UGONE", "user_not_found")
    report = run(database, fake_slack, admins=("UADMIN",))
    assert report.sent == ["U1"]
    assert sorted(report.failed) == [("UGONE", "user_not_found"), ("ULEFT", "account_inactive")]
    assert report.reported_to == ["UADMIN"]
    [note] = fake_slack.messages("DUADMIN")
    assert "UGONE" in str(note) and "ULEFT" in str(note)
    failed = {c.subject: c.error for c in ClaimStore(database).claims("nudge", state="failed")}
    assert failed == {"UGONE": "user_not_found", "ULEFT": "account_inactive"}
    assert {e.subject for e in progress_store.audit_entries() if e.action == "delivery_failed"} == {
        "owner:UGONE",
        "owner:ULEFT",
    }
    again = run(database, fake_slack, MONDAY + timedelta(hours=1), admins=("UADMIN",))
    assert again.failed == [] and again.reported_to == []
    assert len(fake_slack.messages("DUADMIN")) == 1


def test_a_bad_token_stops_the_pass_and_loses_nothing(database, fake_slack, progress_store) -> None:
    seed(progress_store, ["U1", "U2"])
    fake_slack.fail_next("chat.postMessage", error="token_revoked", times=1)
    report = run(database, fake_slack, workers=1)
    assert report.halted == "token_revoked" and report.failed == []
    assert ClaimStore(database).claims("nudge", state="failed") == []
    later = run(database, fake_slack, MONDAY + timedelta(minutes=11))
    assert later.halted is None
    assert nudges_received(fake_slack) == {("U1", "2026-W49"): 1, ("U2", "2026-W49"): 1}


def _passes(
    database, api, start: datetime, hours: int, around: list[datetime], every_hours: int = 3
) -> list[str]:
    """A pass every ``every_hours`` for ``hours`` from ``start``, and a minute before, at and
    a minute after each instant ``around``; the UTC times at which nudges went out.

    A slot at ``s`` sends at the first pass at or after ``s``: with passes a minute before and
    at each expected slot, "sent at the expected slot" pins the slot to that minute, and the
    passes all week long catch a nudge at any other time (twice, or a week early or late)."""
    end = start + timedelta(hours=hours)
    times = {start + timedelta(hours=h) for h in range(0, hours, every_hours)}
    times |= {at + timedelta(minutes=m) for at in around for m in (-1, 0, 1)}
    sent_at = []
    runner = make_runner(database, api)
    for now in sorted(t for t in times if start <= t < end):
        if runner.run(now).sent:
            sent_at.append(f"{now:%Y-%m-%d %H:%M}")
    return sent_at


def test_paris_nudges_stay_at_nine_local_across_the_spring_change(
    database, fake_slack, progress_store
) -> None:
    seed(progress_store, ["U1"], tz="Europe/Paris", last=datetime(2027, 2, 1, tzinfo=UTC))
    # Monday 22 Mar (CET, UTC+1) to Tuesday 30 Mar 2027 (CEST, UTC+2).
    around = [
        datetime(2027, 3, 22, 8, tzinfo=UTC),  # 9:00 CET: the first slot
        datetime(2027, 3, 28, 1, tzinfo=UTC),  # the clocks go forward (2:00 CET → 3:00 CEST)
        datetime(2027, 3, 28, 22, tzinfo=UTC),  # Monday 0:00 CEST: the local week begins
        datetime(2027, 3, 29, 7, tzinfo=UTC),  # 9:00 CEST: the second slot
        datetime(2027, 3, 29, 8, tzinfo=UTC),  # 9:00 at last week's offset: too late
    ]
    start = datetime(2027, 3, 22, 6, tzinfo=UTC)
    sent = _passes(database, fake_slack, start, 8 * 24 + 6, around)
    assert sent == ["2027-03-22 08:00", "2027-03-29 07:00"]
    assert nudges_received(fake_slack) == {("U1", "2027-W12"): 1, ("U1", "2027-W13"): 1}


def test_new_york_nudges_stay_at_nine_local_across_the_autumn_change(
    database, fake_slack, progress_store
) -> None:
    seed(progress_store, ["U1"], tz="America/New_York", last=datetime(2026, 9, 1, tzinfo=UTC))
    # Monday 26 Oct (EDT, UTC-4) to Tuesday 3 Nov 2026 (EST, UTC-5).
    around = [
        datetime(2026, 10, 26, 13, tzinfo=UTC),  # 9:00 EDT: the first slot
        datetime(2026, 11, 1, 6, tzinfo=UTC),  # the clocks go back (2:00 EDT → 1:00 EST)
        datetime(2026, 11, 2, 5, tzinfo=UTC),  # Monday 0:00 EST: the local week begins
        datetime(2026, 11, 2, 13, tzinfo=UTC),  # 9:00 at last week's offset: too early
        datetime(2026, 11, 2, 14, tzinfo=UTC),  # 9:00 EST: the second slot
    ]
    start = datetime(2026, 10, 26, 12, tzinfo=UTC)
    sent = _passes(database, fake_slack, start, 8 * 24 + 6, around)
    assert sent == ["2026-10-26 13:00", "2026-11-02 14:00"]
    assert nudges_received(fake_slack) == {("U1", "2026-W44"): 1, ("U1", "2026-W45"): 1}


def test_after_downtime_this_weeks_nudge_goes_out_and_older_ones_do_not(
    database, fake_slack, progress_store
) -> None:
    seed(progress_store, ["U1"], last=datetime(2026, 10, 1, tzinfo=UTC))
    # Nothing ran from Monday 23 Nov until Thursday 3 Dec.
    report = run(database, fake_slack, datetime(2026, 12, 3, 15, tzinfo=UTC))
    assert report.sent == ["U1"]
    assert nudges_received(fake_slack) == {("U1", "2026-W49"): 1}


def test_snoozed_and_on_leave_owners_are_skipped_until_then(
    database, fake_slack, progress_store
) -> None:
    seed(progress_store, ["U1", "U2"])
    progress_store.set_prefs("U1", actor="U1", snoozed_until=MONDAY + timedelta(days=1))
    progress_store.set_prefs("U2", actor="U2", leave_until=MONDAY + timedelta(days=10))
    report = run(database, fake_slack)
    assert report.sent == []
    assert sorted(s.reason.split(" until")[0] for s in report.skipped) == ["on leave", "snoozed"]
    assert run(database, fake_slack, MONDAY + timedelta(days=1, minutes=1)).sent == ["U1"]
    received = nudges_received(fake_slack)
    assert received == {("U1", "2026-W49/snooze-20261201T0930Z"): 1}


def test_escalation_after_n_weeks_goes_out_once_per_overdue_spell(
    database, fake_slack, progress_store
) -> None:
    seed(progress_store, ["U1"], last=datetime(2026, 11, 1, tzinfo=UTC))  # overdue 9 Nov
    seed(progress_store, ["U2"], last=datetime(2026, 11, 20, tzinfo=UTC))  # overdue 28 Nov
    report = run(database, fake_slack, escalate_after_weeks=2, escalate_to="CLEADS")
    assert len(report.escalated) == 1
    [message] = fake_slack.messages("CLEADS")
    assert "Initiative U1-0" in str(message) and "U1" in str(message)
    again = run(
        database,
        fake_slack,
        MONDAY + timedelta(days=1),
        escalate_after_weeks=2,
        escalate_to="CLEADS",
    )
    assert again.escalated == [] and len(fake_slack.messages("CLEADS")) == 1
