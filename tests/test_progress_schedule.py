"""Who is due a nudge and when: local slots, daylight-saving weekends, snooze and leave,
catch-up after downtime (pure functions, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from itertools import pairwise

import pytest

from bot.progress.schedule import (
    local_instant,
    next_weekly_slot,
    plan_nudges,
    weekly_slot,
    weeks_overdue,
    zone,
)
from bot.storage.progress_records import InitiativeRecord, OwnerPrefs, add_cadence

PARIS, NEW_YORK = "Europe/Paris", "America/New_York"


def item(
    n: int,
    owner: str = "U1",
    *,
    created: datetime,
    last: datetime | None = None,
    cadence: str = "weekly",
    status: str = "active",
) -> InitiativeRecord:
    return InitiativeRecord(
        id=n,
        kind="initiative",
        title=f"Initiative {n}",
        description="",
        owner_id=owner,
        objective_ids=("1.1",),
        cadence=cadence,
        status=status,
        created_by="U0",  # type: ignore[arg-type]
        created_at=created,
        updated_at=created,
        last_update_at=last,
    )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---- cadence and overdue ----------------------------------------------------------------------


def test_overdue_one_cadence_after_the_last_update_plus_a_day_of_grace() -> None:
    created = utc(2026, 11, 2, 10)
    record = item(1, created=created)
    assert record.due_at == utc(2026, 11, 9, 10)
    assert not record.is_overdue(utc(2026, 11, 10, 10))  # the day of grace
    assert record.is_overdue(utc(2026, 11, 10, 10, 1))
    updated = item(1, created=created, last=utc(2026, 11, 9, 8))
    assert not updated.is_overdue(utc(2026, 11, 12))
    assert not item(2, created=created, status="closed").is_overdue(utc(2027, 1, 1))


def test_monthly_cadence_is_a_calendar_month_clamped_to_the_month_end() -> None:
    assert add_cadence(utc(2027, 1, 31, 9), "monthly") == utc(2027, 2, 28, 9)
    assert add_cadence(utc(2026, 12, 15), "monthly") == utc(2027, 1, 15)
    assert add_cadence(utc(2026, 12, 15), "fortnightly") == utc(2026, 12, 29)
    with pytest.raises(ValueError, match="cadence"):
        add_cadence(utc(2026, 1, 1), "daily")


def test_weeks_overdue_counts_whole_weeks() -> None:
    record = item(1, created=utc(2026, 10, 1))  # overdue from 9 Oct 00:00
    assert weeks_overdue(record, utc(2026, 10, 9, 1)) == 0
    assert weeks_overdue(record, utc(2026, 10, 23, 1)) == 2


# ---- local slots and daylight saving -----------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "before", "after", "utc_before", "utc_after"),
    [
        # Paris: summer time starts Sun 28 Mar 2027 and ends Sun 25 Oct 2026.
        (PARIS, utc(2027, 3, 24), utc(2027, 3, 31), utc(2027, 3, 22, 8), utc(2027, 3, 29, 7)),
        (PARIS, utc(2026, 10, 21), utc(2026, 10, 28), utc(2026, 10, 19, 7), utc(2026, 10, 26, 8)),
        # New York: starts Sun 14 Mar 2027, ends Sun 1 Nov 2026.
        (NEW_YORK, utc(2027, 3, 10), utc(2027, 3, 17), utc(2027, 3, 8, 14), utc(2027, 3, 15, 13)),
        (
            NEW_YORK,
            utc(2026, 10, 28),
            utc(2026, 11, 4),
            utc(2026, 10, 26, 13),
            utc(2026, 11, 2, 14),
        ),
    ],
)
def test_monday_nine_stays_nine_local_across_a_change_weekend(
    tz, before, after, utc_before, utc_after
) -> None:
    z = zone(tz)
    key1, slot1 = weekly_slot(before, 0, time(9), z)
    key2, slot2 = weekly_slot(after, 0, time(9), z)
    assert (slot1, slot2) == (utc_before, utc_after)
    assert slot1.astimezone(z).hour == slot2.astimezone(z).hour == 9
    assert key1 != key2  # one slot per week, none skipped


@pytest.mark.parametrize("tz", [PARIS, NEW_YORK])
def test_every_week_of_a_year_has_exactly_one_slot_at_local_nine(tz) -> None:
    z = zone(tz)
    now = utc(2026, 9, 1)
    seen = []
    for _ in range(60):  # 60 weeks: both change weekends of 2026-27
        now = next_weekly_slot(now, 0, time(9), z)
        local = now.astimezone(z)
        assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)
        seen.append(local.date())
    assert all(b - a == timedelta(days=7) for a, b in pairwise(seen))


def test_spring_gap_times_fall_after_the_gap_and_autumn_takes_the_first() -> None:
    z = zone(PARIS)
    # 02:30 does not exist on 28 Mar 2027 in Paris: it becomes 03:30 CEST (01:30 UTC).
    assert local_instant(utc(2027, 3, 28).date(), time(2, 30), z) == utc(2027, 3, 28, 1, 30)
    # 02:30 happens twice on 25 Oct 2026: the first (CEST, 00:30 UTC).
    assert local_instant(utc(2026, 10, 25).date(), time(2, 30), z) == utc(2026, 10, 25, 0, 30)


def test_sunday_nudge_at_two_thirty_on_both_change_weekends_is_sent_once() -> None:
    prefs = {"U1": OwnerPrefs("U1", tz=PARIS, nudge_weekday=6, nudge_time=time(2, 30))}
    initiatives = [item(1, created=utc(2026, 9, 1))]
    for day in (utc(2026, 10, 25), utc(2027, 3, 28)):
        keys = set()
        for minutes in range(0, 24 * 60, 15):
            plans, _ = plan_nudges(initiatives, prefs, day + timedelta(minutes=minutes))
            keys |= {p.key for p in plans}
        assert len(keys) == 1


# ---- planning ------------------------------------------------------------------------------


def test_plan_lists_each_owner_once_with_all_overdue_items_oldest_first() -> None:
    now = utc(2026, 11, 30, 9, 5)  # Monday
    initiatives = [
        item(1, "U1", created=utc(2026, 11, 1)),
        item(2, "U1", created=utc(2026, 10, 1)),
        item(3, "U1", created=utc(2026, 11, 28)),  # not due yet
        item(4, "U2", created=utc(2026, 11, 1), last=utc(2026, 11, 27)),  # updated: fine
        item(5, "U3", created=utc(2026, 11, 1), status="closed"),
    ]
    plans, skipped = plan_nudges(initiatives, {}, now)
    assert [(p.owner_id, [i.id for i in p.items]) for p in plans] == [("U1", [2, 1])]
    assert plans[0].key == "2026-W49" and plans[0].due_at == utc(2026, 11, 30, 9)
    assert "time zone not known" in plans[0].reason
    assert skipped == []


def test_nobody_is_due_before_their_local_time_and_the_reason_says_when() -> None:
    prefs = {"U1": OwnerPrefs("U1", tz=NEW_YORK)}
    initiatives = [item(1, created=utc(2026, 10, 1))]
    plans, skipped = plan_nudges(initiatives, prefs, utc(2026, 11, 30, 13, 59))
    assert plans == [] and "not reached" in skipped[0].reason
    plans, _ = plan_nudges(initiatives, prefs, utc(2026, 11, 30, 14, 0))
    assert [p.due_at for p in plans] == [utc(2026, 11, 30, 14)]


def test_after_downtime_this_weeks_nudge_is_still_due_but_older_weeks_are_not_replayed() -> None:
    initiatives = [item(1, created=utc(2026, 10, 1))]
    # Down from Sunday 22 Nov to Thursday 3 Dec: only week 49's key is planned.
    plans, _ = plan_nudges(initiatives, {}, utc(2026, 12, 3, 15))
    assert [p.key for p in plans] == ["2026-W49"]


def test_items_that_fall_overdue_after_the_slot_wait_for_next_week() -> None:
    # Overdue from Tue 1 Dec 00:00; Monday's slot was before that.
    initiatives = [item(1, created=utc(2026, 11, 23))]
    assert plan_nudges(initiatives, {}, utc(2026, 12, 2, 12))[0] == []
    assert [p.key for p in plan_nudges(initiatives, {}, utc(2026, 12, 7, 9))[0]] == ["2026-W50"]


def test_leave_skips_until_it_ends_and_a_return_after_the_slot_waits_a_week() -> None:
    initiatives = [item(1, created=utc(2026, 10, 1))]
    on_leave = {"U1": OwnerPrefs("U1", leave_until=utc(2026, 12, 2))}
    plans, skipped = plan_nudges(initiatives, on_leave, utc(2026, 11, 30, 10))
    assert plans == [] and skipped[0].reason.startswith("on leave until")
    plans, skipped = plan_nudges(initiatives, on_leave, utc(2026, 12, 2, 10))
    assert plans == [] and "back from leave" in skipped[0].reason
    assert [p.key for p in plan_nudges(initiatives, on_leave, utc(2026, 12, 7, 9))[0]] == [
        "2026-W50"
    ]


def test_snooze_postpones_and_its_end_is_a_slot_of_its_own() -> None:
    initiatives = [item(1, created=utc(2026, 10, 1))]
    snoozed = {"U1": OwnerPrefs("U1", snoozed_until=utc(2026, 12, 1, 9))}  # "tomorrow"
    plans, skipped = plan_nudges(initiatives, snoozed, utc(2026, 11, 30, 12))
    assert plans == [] and skipped[0].reason.startswith("snoozed until")
    plans, _ = plan_nudges(initiatives, snoozed, utc(2026, 12, 1, 9, 1))
    assert [p.key for p in plans] == ["2026-W49/snooze-20261201T0900Z"]
    # Snoozed to next week's slot: that slot is the regular one.
    next_week = {"U1": OwnerPrefs("U1", snoozed_until=utc(2026, 12, 7, 9))}
    assert plan_nudges(initiatives, next_week, utc(2026, 12, 3))[0] == []
    assert [p.key for p in plan_nudges(initiatives, next_week, utc(2026, 12, 7, 9))[0]] == [
        "2026-W50"
    ]


def test_an_owner_chosen_day_and_unknown_zone_fall_back_to_the_default() -> None:
    prefs = {"U1": OwnerPrefs("U1", tz="Mars/Olympus", nudge_weekday=2, nudge_time=time(7, 30))}
    initiatives = [item(1, created=utc(2026, 10, 1))]
    plans, _ = plan_nudges(initiatives, prefs, utc(2026, 12, 2, 9), default_tz="Asia/Tokyo")
    # Wednesday 07:30 in the default zone (Tokyo, UTC+9) = Tuesday 22:30 UTC.
    assert [p.due_at for p in plans] == [utc(2026, 12, 1, 22, 30)]
