"""SlackSender against the local fake Slack: one DM with metadata, 429s, transient and
permanent errors, refused blocks, lost answers, and finding out afterwards what was delivered.
Pauses and backoffs go through injected sleeps, so only the threaded rate-limit test waits."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.slack_api.calls import FATAL_ERRORS, sender_client
from bot.slack_api.events import NUDGE_EVENT
from bot.slack_api.history import DeliveryUnknown
from bot.slack_api.pacing import AdaptivePacer
from bot.slack_api.sender import SendResult, SlackSender
from local_slack import FakeSlackAPI

TOKEN = "xoxb-test"
PAYLOAD = {"subject": "U1", "period": "2025-W10", "items": 3}
META = {"event_type": NUDGE_EVENT, "event_payload": PAYLOAD}
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*3 updates* are due"}}]


class Sleeps:
    """An injected sleep (and monotonic clock for the pacer) that only records."""

    def __init__(self) -> None:
        self.now = 0.0
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now + time.monotonic()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def sender(fake_slack: FakeSlackAPI, sleeps: Sleeps) -> SlackSender:
    pacer = AdaptivePacer(1000, clock=sleeps.clock, sleep=sleeps)
    client = sender_client(TOKEN, fake_slack.base_url, timeout=5)
    return SlackSender(client, pacer, max_attempts=4, sleep=sleeps)


def posts(api: FakeSlackAPI) -> list[int]:
    return [call.status for call in api.calls("chat.postMessage")]


def find(sender: SlackSender, channel: str = "U1", **kwargs: Any) -> tuple[str, str] | None:
    args: dict[str, Any] = {
        "event_type": NUDGE_EVENT,
        "match": {"subject": "U1", "period": "2025-W10"},
        "since": datetime.now(UTC),
    }
    return sender.find_delivered(channel, **(args | kwargs))


# ---- delivering and finding --------------------------------------------------------------


def test_a_dm_with_metadata_lands_in_the_dm_and_is_found(
    fake_slack: FakeSlackAPI, sender: SlackSender
) -> None:
    since = datetime.now(UTC)
    result = sender.post("U1", text="3 updates are due", blocks=BLOCKS, metadata=META)
    assert result.outcome == "sent" and result.channel_id == "DU1" and result.ts
    (stored,) = fake_slack.messages("DU1")
    assert stored["metadata"] == META and stored["blocks"] == BLOCKS
    assert find(sender, since=since) == ("DU1", result.ts)
    assert find(sender, since=since, match={"subject": "U1"}) == ("DU1", result.ts)
    # Not another payload, not another event type, not a message older than ``since``.
    assert find(sender, since=since, match={"period": "2025-W11"}) is None
    assert find(sender, since=since, event_type="fwbot_escalation") is None
    assert find(sender, since=since + timedelta(minutes=2)) is None
    assert find(sender, since=since - timedelta(minutes=5)) == ("DU1", result.ts)
    history = fake_slack.calls("conversations.history")[-1].params
    assert history["channel"] == "DU1" and history["limit"] in (200, "200")
    assert str(history["include_all_metadata"]).lower() in ("1", "true")


def test_find_delivered_ignores_other_authors_and_pages_back(
    fake_slack: FakeSlackAPI, sender: SlackSender
) -> None:
    since = datetime.now(UTC)
    fake_slack.add_message("DU1", "me too", user="U1", metadata=META)  # the user, not the bot
    assert find(sender, since=since) is None
    target = sender.post("U1", text="nudge", blocks=None, metadata=META)
    other = {"event_type": NUDGE_EVENT, "event_payload": {"subject": "U1", "period": "x"}}
    for n in range(450):  # newer messages push the nudge three pages back
        fake_slack.add_message("DU1", f"chatter {n}", user="UBOT", bot_id="BBOT", metadata=other)
    fake_slack.reset(keep_state=True)
    assert find(sender, since=since) == ("DU1", target.ts)
    pages = fake_slack.calls("conversations.history")
    assert len(pages) == 3 and pages[1].params.get("cursor")
    assert fake_slack.calls("conversations.open") == []  # the DM channel is remembered


def test_find_delivered_with_a_known_channel_skips_opening_the_dm(
    fake_slack: FakeSlackAPI, sleeps: Sleeps
) -> None:
    first = SlackSender(sender_client(TOKEN, fake_slack.base_url), AdaptivePacer(1000))
    result = first.post("U1", text="nudge", blocks=None, metadata=META)
    fresh = SlackSender(sender_client(TOKEN, fake_slack.base_url), AdaptivePacer(1000))
    fake_slack.reset(keep_state=True)
    assert find(fresh, channel_id="DU1", since=datetime.now(UTC) - timedelta(minutes=1)) == (
        "DU1",
        result.ts,
    )
    assert fake_slack.calls("conversations.open") == []
    assert find(fresh, "U2") is None  # another user: opens that DM, finds nothing
    assert fake_slack.calls("conversations.open")[0].params["users"] == "U2"


def test_a_channel_message_and_a_thread_reply_are_found(
    fake_slack: FakeSlackAPI, sender: SlackSender
) -> None:
    since = datetime.now(UTC)
    parent = sender.post("C1", text="digest", blocks=None, metadata=None)
    assert parent == SendResult("sent", "C1", parent.ts)
    reply = sender.post("C1", text="nudge", blocks=None, metadata=META, thread_ts=parent.ts)
    assert find(sender, "C1", since=since) is None  # replies are not in the channel history
    assert find(sender, "C1", since=since, thread_ts=parent.ts) == ("C1", reply.ts)


# ---- rate limits and transient errors ----------------------------------------------------


def test_a_429_storm_delivers_once(
    fake_slack: FakeSlackAPI, sender: SlackSender, sleeps: Sleeps
) -> None:
    fake_slack.fail_next("chat.postMessage", retry_after=1, times=3)
    result = sender.post("U1", text="nudge", blocks=BLOCKS, metadata=META)
    assert result.outcome == "sent"
    assert posts(fake_slack) == [429, 429, 429, 200] and len(fake_slack.messages("DU1")) == 1
    assert sum(sleeps.calls) >= 2.9  # the pacer waited out each Retry-After


def test_429s_for_too_long_give_up_without_sending(
    fake_slack: FakeSlackAPI, sleeps: Sleeps
) -> None:
    pacer = AdaptivePacer(1000, clock=sleeps.clock, sleep=sleeps)
    sender = SlackSender(
        sender_client(TOKEN, fake_slack.base_url), pacer, sleep=sleeps, max_rate_limited=3
    )
    fake_slack.fail_next("chat.postMessage", retry_after=2, times=5)
    assert sender.post("U1", text="n", blocks=None, metadata=META) == SendResult(
        "retry", error="ratelimited"
    )
    assert fake_slack.messages("DU1") == [] and posts(fake_slack) == [429, 429]


@pytest.mark.parametrize(
    ("error", "status"),
    [
        ("service_unavailable", 503),
        ("request_timeout", 200),
        ("ratelimited", 200),
        ("internal_error", 500),
    ],
)
def test_transient_errors_back_off_then_deliver_once(
    fake_slack: FakeSlackAPI, sender: SlackSender, sleeps: Sleeps, error: str, status: int
) -> None:
    fake_slack.fail_next("chat.postMessage", error=error, status=status, times=2)
    result = sender.post("U1", text="nudge", blocks=None, metadata=META)
    assert result.outcome == "sent" and len(fake_slack.messages("DU1")) == 1
    assert posts(fake_slack) == [status, status, 200]
    assert len(sleeps.calls) == 2 and 0.125 <= sleeps.calls[0] <= 0.5 < sleeps.calls[1] <= 1.0


def test_internal_errors_are_checked_in_the_history_before_a_retry(
    fake_slack: FakeSlackAPI, sender: SlackSender
) -> None:
    fake_slack.fail_next("chat.postMessage", error="internal_error", times=2)
    assert sender.post("U1", text="nudge", blocks=None, metadata=META).outcome == "sent"
    assert len(fake_slack.calls("conversations.history")) == 2
    # Slack says such an error may have posted the message after all: then it is not resent.
    applied = sender.post(
        "U2",
        text="nudge",
        blocks=None,
        metadata={
            "event_type": NUDGE_EVENT,
            "event_payload": {"subject": "U2", "period": "2025-W10"},
        },
    )
    fake_slack.fail_next("chat.postMessage", error="fatal_error")
    again = sender.post(
        "U2",
        text="nudge",
        blocks=None,
        metadata={
            "event_type": NUDGE_EVENT,
            "event_payload": {"subject": "U2", "period": "2025-W10"},
        },
    )
    assert again == applied and len(fake_slack.messages("DU2")) == 1
    # Without metadata nothing can be checked: uncertain.
    fake_slack.fail_next("chat.postMessage", error="internal_error")
    assert sender.post("C1", text="x", blocks=None, metadata=None).outcome == "uncertain"


def test_transient_errors_give_up_with_retry(fake_slack: FakeSlackAPI, sender: SlackSender) -> None:
    fake_slack.fail_next("chat.postMessage", error="service_unavailable", status=503, times=9)
    result = sender.post("U1", text="nudge", blocks=None, metadata=META)
    assert result == SendResult("retry", None, None, "service_unavailable")
    assert posts(fake_slack) == [503] * 4 and fake_slack.messages("DU1") == []


# ---- permanent errors and refused content ------------------------------------------------


def test_a_deactivated_or_unknown_user_is_permanent_at_once(
    fake_slack: FakeSlackAPI, sender: SlackSender
) -> None:
    fake_slack.add_user("U1", deleted=True)
    fake_slack.make_unreachable("U2")
    gone = sender.post("U1", text="nudge", blocks=None, metadata=META)
    unknown = sender.post("U2", text="nudge", blocks=None, metadata=META)
    assert (gone.outcome, gone.error, gone.fatal) == ("permanent", "account_inactive", False)
    assert (unknown.outcome, unknown.error) == ("permanent", "user_not_found")
    assert posts(fake_slack) == [200, 200]  # one try each
    fake_slack.fail_next("chat.postMessage", error="is_archived")
    assert sender.post("C1", text="x", blocks=None, metadata=None) == SendResult(
        "permanent", "C1", None, "is_archived"
    )


def test_unknown_errors_are_permanent_and_token_errors_fatal(
    fake_slack: FakeSlackAPI, sleeps: Sleeps
) -> None:
    fake_slack.fail_next("chat.postMessage", error="something_new")
    good = SlackSender(sender_client(TOKEN, fake_slack.base_url), AdaptivePacer(1000))
    assert good.post("U1", text="n", blocks=None, metadata=META).error == "something_new"
    bad = SlackSender(sender_client("xoxb-revoked", fake_slack.base_url), AdaptivePacer(1000))
    result = bad.post("U1", text="n", blocks=None, metadata=META)
    assert (result.outcome, result.error, result.fatal) == ("permanent", "invalid_auth", True)
    assert {"invalid_auth", "token_revoked", "missing_scope"} <= FATAL_ERRORS
    assert "account_inactive" not in FATAL_ERRORS  # for a DM it names the recipient


def test_refused_blocks_are_resent_once_as_plain_text(
    fake_slack: FakeSlackAPI, sender: SlackSender
) -> None:
    too_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    result = sender.post("U1", text="3 updates are due", blocks=too_long, metadata=META)
    assert result.outcome == "sent" and posts(fake_slack) == [200, 200]
    (stored,) = fake_slack.messages("DU1")
    assert "blocks" not in stored and stored["text"] == "3 updates are due"
    assert stored["metadata"] == META
    huge = sender.post("U2", text="y" * 50_000, blocks=None, metadata=META)  # msg_too_long
    assert huge.outcome == "sent"
    assert len(fake_slack.messages("DU2")[0]["text"]) == 3900


# ---- answers that never came -------------------------------------------------------------


def test_a_dropped_answer_is_uncertain_and_found_delivered(
    fake_slack: FakeSlackAPI, sender: SlackSender
) -> None:
    since = datetime.now(UTC)
    fake_slack.drop_response("chat.postMessage")
    result = sender.post("U1", text="nudge", blocks=None, metadata=META)
    assert (result.outcome, result.error) == ("uncertain", "connection_lost")
    assert posts(fake_slack) == [0]  # executed, never answered: no blind retry
    (stored,) = fake_slack.messages("DU1")
    assert find(sender, since=since) == ("DU1", stored["ts"])  # so the caller will not resend


def test_a_timeout_is_uncertain(fake_slack: FakeSlackAPI, sleeps: Sleeps) -> None:
    pacer = AdaptivePacer(1000, clock=sleeps.clock, sleep=sleeps)
    sender = SlackSender(
        sender_client(TOKEN, fake_slack.base_url, timeout=0.2), pacer, sleep=sleeps
    )
    since = datetime.now(UTC)
    fake_slack.delay("chat.postMessage", 0.5)
    result = sender.post("U1", text="nudge", blocks=None, metadata=META)
    assert (result.outcome, result.error) == ("uncertain", "timeout")
    fake_slack.wait_for("chat.postMessage")  # Slack finishes it after all
    assert find(sender, since=since) is not None and len(fake_slack.messages("DU1")) == 1


def test_a_refused_connection_is_retried(sleeps: Sleeps) -> None:
    with FakeSlackAPI(tokens=(TOKEN,)) as api:
        url = api.base_url
    pacer = AdaptivePacer(1000, clock=sleeps.clock, sleep=sleeps)
    sender = SlackSender(sender_client(TOKEN, url, timeout=1), pacer, max_attempts=2, sleep=sleeps)
    result = sender.post("U1", text="n", blocks=None, metadata=META)
    assert result == SendResult("retry", error="connection_refused")  # it never reached Slack


def test_a_bare_5xx_is_uncertain_but_a_slack_5xx_is_not(sleeps: Sleeps) -> None:
    class Client:
        def __init__(self, status: int, body: Any) -> None:
            self.status, self.body, self.calls = status, body, 0

        def chat_postMessage(self, **kwargs: Any) -> SlackResponse:
            self.calls += 1
            response = SlackResponse(
                client=None,
                http_verb="POST",
                api_url="x",
                req_args={},
                data=self.body,
                headers={},
                status_code=self.status,
            )
            raise SlackApiError("failed", response)

    html = {"ok": False, "error": "Received a response in a non-JSON format: <html>"}
    pacer = AdaptivePacer(1000, clock=sleeps.clock, sleep=sleeps)
    bare = Client(502, html)
    result = SlackSender(bare, pacer, sleep=sleeps).post(  # type: ignore[arg-type]
        "C1", text="x", blocks=None, metadata=META
    )
    assert (result.outcome, result.error, bare.calls) == ("uncertain", "http_502", 1)
    slack = Client(503, {"ok": False, "error": "service_unavailable"})
    result = SlackSender(slack, pacer, max_attempts=3, sleep=sleeps).post(  # type: ignore[arg-type]
        "C1", text="x", blocks=None, metadata=META
    )
    assert (result.outcome, slack.calls) == ("retry", 3)


def test_find_delivered_raises_when_slack_cannot_be_asked(
    fake_slack: FakeSlackAPI, sender: SlackSender
) -> None:
    sender.post("U1", text="nudge", blocks=None, metadata=META)
    fake_slack.fail_next("conversations.history", error="internal_error", times=4)
    with pytest.raises(DeliveryUnknown):
        find(sender)
    assert len(fake_slack.calls("conversations.history")) == 4
    fake_slack.fail_next("conversations.history", retry_after=1, times=2)
    assert find(sender, since=datetime.now(UTC) - timedelta(minutes=1)) is not None
    fake_slack.make_unreachable("U3")
    with pytest.raises(DeliveryUnknown) as raised:
        find(sender, "U3")
    assert raised.value.error == "user_not_found"


# ---- many threads ------------------------------------------------------------------------


def send_all(api: FakeSlackAPI, sender: SlackSender, count: int) -> list[SendResult]:
    """8 threads share ``sender`` to DM users U00000 … U{count-1}."""
    lock, results, todo = threading.Lock(), [], iter(range(count))

    def work() -> None:
        while True:
            with lock:
                n = next(todo, None)
            if n is None:
                return
            meta = {"event_type": NUDGE_EVENT, "event_payload": {"subject": f"U{n:05d}"}}
            result = sender.post(f"U{n:05d}", text="nudge", blocks=BLOCKS, metadata=meta)
            with lock:
                results.append(result)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def assert_each_once(api: FakeSlackAPI, results: list[SendResult], count: int) -> None:
    assert [r.outcome for r in results] == ["sent"] * count
    for n in range(count):
        assert len(api.messages(f"DU{n:05d}")) == 1, f"U{n:05d}"


def test_eight_threads_without_a_limit_deliver_each_once(fake_slack: FakeSlackAPI) -> None:
    sender = SlackSender(sender_client(TOKEN, fake_slack.base_url), AdaptivePacer(1000))
    started = time.monotonic()
    results = send_all(fake_slack, sender, 400)
    elapsed = time.monotonic() - started
    assert_each_once(fake_slack, results, 400)
    assert 400 / elapsed >= 100  # ~900/s on an idle laptop; the pacer must not slow this


@pytest.fixture
def limited_slack() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI(tokens=(TOKEN,)) as api:
        api.rate_limit(per_channel_per_sec=1, workspace_per_sec=20, burst=2)
        yield api


@pytest.mark.slow  # a real-time rate limit
def test_eight_threads_under_a_rate_limit_deliver_each_once(limited_slack: FakeSlackAPI) -> None:
    pacer = AdaptivePacer(100)  # learns the 20/s from the 429s
    sender = SlackSender(sender_client(TOKEN, limited_slack.base_url), pacer)
    started = time.monotonic()
    results = send_all(limited_slack, sender, 120)
    rate = 120 / (time.monotonic() - started)
    assert_each_once(limited_slack, results, 120)
    limited = sum(call.status == 429 for call in limited_slack.calls("chat.postMessage"))
    print(
        f"\n120 DMs at W=20/s, burst 2, from max_rate=100: {rate:.1f}/s, {limited} 429s,"
        f" pacer at {pacer.rate:.1f}/s"
    )
    assert rate >= 0.5 * 20  # ~15/s here (discovery costs two pauses); loose on purpose
    assert limited <= 20  # a few pauses, plus the requests in flight when each began
