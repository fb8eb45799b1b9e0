"""The weekly digest in its channel, on SQLite and PostgreSQL: posted once at its time with
the chart in its thread, edited in place when a late update arrives, never posted twice."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.progress.chart import status_chart_png
from bot.progress.digest_post import LEASE, DigestConfig, DigestPublisher
from bot.slack.progress_render import render_digest
from bot.slack_api.calls import sender_client
from bot.slack_api.events import DIGEST_EVENT
from bot.slack_api.pacing import AdaptivePacer
from bot.slack_api.sender import SlackSender
from bot.storage.claimers import claimer
from bot.storage.claims_store import ClaimStore
from tests.progress_fixtures import BOT_TOKEN, seed

SLOT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # Monday 12:00 UTC


@pytest.fixture
def publisher(database, fake_slack, progress_store, interpol) -> DigestPublisher:
    sender = SlackSender(sender_client(BOT_TOKEN, fake_slack.base_url), AdaptivePacer(100))
    return DigestPublisher(
        progress_store,
        ClaimStore(database),
        interpol,
        sender,
        DigestConfig("CDIGEST", 0, time(12)),
        render=render_digest,
        chart=status_chart_png,
    )


def digests(api) -> list[dict]:
    return [
        m
        for m in api.messages("CDIGEST")
        if (m.get("metadata") or {}).get("event_type") == DIGEST_EVENT
    ]


def test_posted_once_at_its_time_with_the_chart_in_the_thread(
    publisher, fake_slack, progress_store
) -> None:
    seed(progress_store, ["U1", "U2"])
    assert "due at" in publisher.run(SLOT - timedelta(minutes=1))
    assert digests(fake_slack) == []
    assert "posted" in publisher.run(SLOT)
    [digest] = digests(fake_slack)
    assert "2 overdue" in digest["text"] or "overdue" in str(digest["blocks"])
    chart = [m for m in fake_slack.messages("CDIGEST") if m.get("files")]
    assert len(chart) == 1 and chart[0]["thread_ts"] == digest["ts"]
    record = progress_store.digest("CDIGEST", "2026-W49")
    assert record is not None and record.file_id == chart[0]["files"][0]["id"]
    assert fake_slack.uploaded_file(record.file_id)["content"].startswith(b"\x89PNG")
    assert "already posted" in publisher.run(SLOT + timedelta(hours=3))
    assert len(digests(fake_slack)) == 1


def test_a_late_update_edits_the_digest_and_swaps_the_chart(
    publisher, fake_slack, progress_store
) -> None:
    seed(progress_store, ["U1", "U2"])
    publisher.run(SLOT)
    before = progress_store.digest("CDIGEST", "2026-W49")
    [item] = progress_store.initiatives(owner_id="U1")
    progress_store.add_update(
        item.id,
        status="on_track",
        percent=50,
        note="late",
        author_id="U1",
        now=SLOT + timedelta(hours=2),
    )
    result = publisher.run(SLOT + timedelta(hours=2, minutes=1))
    assert "refreshed" in result
    [digest] = digests(fake_slack)
    assert "edited" in digest and "late update" in str(digest["blocks"])
    after = progress_store.digest("CDIGEST", "2026-W49")
    assert after.file_id != before.file_id and not after.stale
    assert fake_slack.uploaded_file(before.file_id) is None  # the old chart is gone
    assert "refreshed" not in publisher.run(SLOT + timedelta(hours=3))  # nothing stale now


def test_a_crash_after_posting_does_not_post_again(
    publisher, fake_slack, database, progress_store
) -> None:
    seed(progress_store, ["U1"])
    ClaimStore(database).claim(
        "digest",
        "CDIGEST",
        "2026-W49",
        claimed_by="dead",
        lease_until=SLOT + timedelta(minutes=5),
        now=SLOT,
    )
    fake_slack.client(BOT_TOKEN).chat_postMessage(
        channel="CDIGEST",
        text="digest",
        metadata={"event_type": DIGEST_EVENT, "event_payload": {"period": "2026-W49"}},
    )
    assert "another pass" in publisher.run(SLOT + timedelta(minutes=1))  # lease still held
    assert "posted" in publisher.run(SLOT + timedelta(minutes=6))
    assert len(digests(fake_slack)) == 1
    assert progress_store.digest("CDIGEST", "2026-W49") is not None


def test_a_claim_of_a_process_known_dead_is_taken_over_before_its_lease_ends(
    database, fake_slack, progress_store, interpol
) -> None:
    """The digest honours takeover_due as the nudges do: a claimer on this host that is
    gone does not hold the week's digest for its whole lease."""
    seed(progress_store, ["U1"])
    waited: list[float] = []
    publisher = DigestPublisher(
        progress_store,
        ClaimStore(database),
        interpol,
        SlackSender(sender_client(BOT_TOKEN, fake_slack.base_url), AdaptivePacer(100)),
        DigestConfig("CDIGEST", 0, time(12), in_flight_grace=7.0),
        render=render_digest,
        chart=status_chart_png,
        sleep=waited.append,
    )
    dead = claimer("a-pass-that-ended")  # this process, a run no longer active: dead
    ClaimStore(database).claim(
        "digest", "CDIGEST", "2026-W49", claimed_by=dead, lease_until=SLOT + LEASE, now=SLOT
    )
    assert "posted the digest" in publisher.run(SLOT + timedelta(minutes=1))
    assert waited == [7.0]  # its request may still have been on its way: waited, then looked
    assert len(digests(fake_slack)) == 1
    [claim] = ClaimStore(database).claims("digest", period="2026-W49")
    assert claim.state == "sent" and claim.claimed_by != dead


def test_a_failed_look_up_releases_the_claim_and_posts_nothing(
    publisher, fake_slack, database, progress_store
) -> None:
    seed(progress_store, ["U1"])
    claims = ClaimStore(database)
    claims.claim(
        "digest",
        "CDIGEST",
        "2026-W49",
        claimed_by="elsewhere:1:run",
        lease_until=SLOT + timedelta(minutes=5),
        now=SLOT,
    )
    fake_slack.fail_next("conversations.history", error="not_in_channel")
    later = SLOT + timedelta(minutes=6)
    result = publisher.run(later)
    assert "NOT posted" in result and "could not check Slack" in result
    assert digests(fake_slack) == []  # never sent blindly
    [claim] = claims.claims("digest", period="2026-W49")
    assert claim.state == "claimed" and claim.lease_until <= later  # released: free to take
    assert (claim.error or "").startswith("unverified")
    assert "posted the digest" in publisher.run(later + timedelta(minutes=1))
    assert len(digests(fake_slack)) == 1
