"""The progress wiring against the fake Slack: owners' time zones from users.info (refreshed a
few at a time), admins from a Slack user group, and the learned send rate kept across
processes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.progress.time_zones import refresh_time_zones
from bot.storage.progress_store import ProgressStore
from bot.wiring.composition import Services
from bot.wiring.settings import Settings

NOW = datetime(2026, 11, 30, 9, tzinfo=UTC)


def test_zones_are_looked_up_never_seen_first_then_stale_ones(database, fake_slack) -> None:
    store = ProgressStore(database)
    client = fake_slack.client("xoxb-test")
    fake_slack.add_user("U1", tz="Asia/Tokyo")
    fake_slack.add_user("U2", tz="America/New_York")
    for owner, age in (("U2", timedelta(days=3)), ("U3", timedelta(hours=1))):
        store.set_prefs(
            owner, actor="system", tz="Europe/Paris", tz_checked_at=NOW - age, audit=False
        )

    def users_info(user: str) -> dict:
        return client.users_info(user=user)["user"]

    owners = ["U1", "U2", "U3", "UNKNOWN"]
    checked = refresh_time_zones(store, users_info, owners, NOW, limit=10)
    assert checked == 3  # U3 was checked an hour ago
    assert store.prefs("U1").tz == "Asia/Tokyo"
    assert store.prefs("U2").tz == "America/New_York"  # moved: refreshed
    assert store.prefs("U3").tz == "Europe/Paris"
    assert store.prefs("UNKNOWN").tz is None and store.prefs("UNKNOWN").tz_checked_at == NOW
    assert [e.subject for e in store.audit_entries() if e.detail.get("tz")] == [
        "owner:U2",
        "owner:U1",
    ]
    calls = len(fake_slack.calls("users.info"))
    assert refresh_time_zones(store, users_info, ["U1", "U2", "U3"], NOW) == 0
    assert len(fake_slack.calls("users.info")) == calls


def test_admins_come_from_settings_and_the_user_group(fake_slack, tmp_path) -> None:
    fake_slack.add_usergroup("SADMINS", ["UGROUPED"])
    settings = Settings(
        FWBOT_DATA_DIR=tmp_path,
        ADMIN_USER_IDS="U1, U2",
        ADMIN_USERGROUP_ID="SADMINS",
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_API_URL=fake_slack.base_url,
    )
    admins = Services(settings).admins
    assert "U1" in admins and "U2" in admins and "UGROUPED" in admins
    assert "U3" not in admins


@pytest.mark.slow  # real-time rate limits and Retry-After
def test_the_send_rate_learned_from_429s_is_where_the_next_process_starts(
    fake_slack, tmp_path
) -> None:
    from bot.storage.progress_records import NewInitiative

    settings = Settings(
        FWBOT_DATA_DIR=tmp_path,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_API_URL=fake_slack.base_url,
        FWBOT_SEND_RATE=1000,
    )
    first = Services(settings)
    assert first.sender.pacer.mode == "free"  # nothing learned yet: starts at the ceiling
    owners = [f"U{n:03d}" for n in range(60)]
    first.progress_store.import_initiatives(
        [NewInitiative(title=f"Item {o}", owner_id=o, objective_ids=("1.1",)) for o in owners],
        actor="test",
        now=NOW - timedelta(days=30),
    )
    fake_slack.rate_limit(1, 20, burst=2)
    report = first.progress_pass(NOW)
    assert sorted(report.sent) == owners
    learned = first.sender.pacer.rate
    assert first.sender.pacer.mode == "track" and 5 < learned < 40
    second = Services(settings).sender.pacer
    assert (second.mode, second.rate) == ("track", learned)


def test_failed_deliveries_are_reported_to_the_admin_group_too(fake_slack, tmp_path) -> None:
    from bot.storage.progress_records import NewInitiative

    fake_slack.add_usergroup("SADMINS", ["UGROUPED"])
    fake_slack.make_unreachable("UGONE", "user_not_found")
    settings = Settings(
        FWBOT_DATA_DIR=tmp_path,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_API_URL=fake_slack.base_url,
        ADMIN_USER_IDS="UADMIN",
        ADMIN_USERGROUP_ID="SADMINS",
    )
    services = Services(settings)
    services.progress_store.import_initiatives(
        [NewInitiative(title="Lost owner", owner_id="UGONE", objective_ids=("1.1",))],
        actor="test",
        now=NOW - timedelta(days=30),
    )
    report = services.progress_pass(NOW)
    assert report.failed == [("UGONE", "user_not_found")]
    assert sorted(report.reported_to) == ["UADMIN", "UGROUPED"]
    assert "UGONE" in str(fake_slack.messages("DUGROUPED"))
