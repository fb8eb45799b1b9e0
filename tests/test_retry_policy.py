"""The one retry policy and post loop (bot/slack_api/retry.py, bot/slack_api/posting.py) that
the interactive replies and the background sender share, on a scripted client: what each kind
of answer leads to, and the numbers each caller keeps."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.slack_api.posting import BACKGROUND, INTERACTIVE, RetryPolicy, post_message


def _error(error: str, status: int = 200) -> SlackApiError:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="x",
        req_args={},
        data={"ok": False, "error": error},
        headers={},
        status_code=status,
    )
    return SlackApiError(error, response)


class Scripted:
    """chat.postMessage answering from a script: an error name, or "ok"."""

    def __init__(self, *script: str) -> None:
        self.script: list[str] = list(script)
        self.posts: list[dict[str, Any]] = []

    def chat_postMessage(self, **kwargs: Any) -> SlackResponse:
        self.posts.append(kwargs)
        step = self.script.pop(0) if self.script else "ok"
        if step != "ok":
            raise _error(step, 500 if step == "internal_error" else 200)
        return SlackResponse(
            client=None,
            http_verb="POST",
            api_url="x",
            req_args={},
            data={"ok": True, "channel": "C1", "ts": f"1.{len(self.posts)}"},
            headers={},
            status_code=200,
        )


ARGS = {"channel": "C1", "text": "hello", "blocks": [{"type": "divider"}], "metadata": {"m": 1}}


def test_each_caller_keeps_its_numbers() -> None:
    assert (INTERACTIVE.max_attempts, INTERACTIVE.backoff) == (3, 1.0)  # replies: few, slow
    assert (BACKGROUND.max_attempts, BACKGROUND.backoff) == (6, 0.5)  # the paced sender
    assert INTERACTIVE.retry_uncertain and not BACKGROUND.retry_uncertain


def test_the_back_off_doubles_within_its_jitter_and_cap() -> None:
    policy = RetryPolicy(max_attempts=9, backoff=1.0, jitter=0.25, max_backoff=5.0)
    rng = random.Random(7)
    for attempt, base in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (8, 5.0)]:
        assert 0.75 * base <= policy.delay(attempt, rng) <= base


def test_transient_errors_are_retried_then_given_up() -> None:
    sleeps: list[float] = []
    client = Scripted("service_unavailable", "service_unavailable", "service_unavailable")
    posted = post_message(client, ARGS, INTERACTIVE, sleep=sleeps.append)  # type: ignore[arg-type]
    assert (posted.outcome, posted.error, len(client.posts)) == ("retry", "service_unavailable", 3)
    assert len(sleeps) == 2 and isinstance(posted.exception, SlackApiError)


def test_a_maybe_applied_error_is_looked_for_before_a_retry() -> None:
    looked: list[Mapping[str, Any]] = []

    def look(args: Mapping[str, Any]) -> tuple[str, str] | None:
        looked.append(args)
        return ("C1", "9.9") if len(looked) == 2 else None

    client = Scripted("internal_error", "internal_error")
    posted = post_message(
        client,  # type: ignore[arg-type]
        ARGS,
        BACKGROUND,
        look=look,
        sleep=lambda s: None,
    )
    assert (posted.outcome, posted.ts, posted.found) == ("sent", "9.9", True)
    assert len(client.posts) == 2 and len(looked) == 2  # found after the 2nd: not posted again
    unknown = post_message(
        Scripted("internal_error"),  # type: ignore[arg-type]
        ARGS,
        BACKGROUND,
        sleep=lambda s: None,
    )
    assert unknown.outcome == "uncertain"  # nothing to look with: the caller must not resend


def test_refused_blocks_go_again_as_plain_pieces_the_first_with_the_metadata() -> None:
    client = Scripted("invalid_blocks")
    posted = post_message(
        client,  # type: ignore[arg-type]
        ARGS,
        INTERACTIVE,
        plain=lambda text: [text[:3], text[3:]],
        sleep=lambda s: None,
    )
    assert posted.outcome == "sent" and posted.ts == "1.2"
    refused, first, second = client.posts
    assert refused["blocks"] and first["blocks"] is None and first["metadata"] == {"m": 1}
    assert (first["text"], second["text"]) == ("hel", "lo") and "metadata" not in second
    permanent = post_message(Scripted("invalid_blocks"), ARGS, INTERACTIVE)  # type: ignore[arg-type]
    assert (permanent.outcome, permanent.error) == ("permanent", "invalid_blocks")


class SlowSlack(Scripted):
    """chat.postMessage that times out (``"timeout"`` in the script), else as Scripted."""

    def chat_postMessage(self, **kwargs: Any) -> SlackResponse:
        if self.script and self.script[0] == "timeout":
            self.script.pop(0)
            self.posts.append(kwargs)
            raise TimeoutError("timed out")
        return super().chat_postMessage(**kwargs)


def test_a_timed_out_post_is_looked_for_only_once_it_can_have_landed() -> None:
    """Slack may store a post after the client gave up: the look-up waits the settle window
    (not just the back-off), and finds it; nothing is posted again."""
    events: list[tuple[str, float]] = []

    def look(args: Mapping[str, Any]) -> tuple[str, str] | None:
        events.append(("look", 0.0))
        return ("C1", "1.1")

    client = SlowSlack("timeout")
    posted = post_message(
        client,  # type: ignore[arg-type]
        ARGS,
        RetryPolicy(max_attempts=3, backoff=0.1, retry_uncertain=True, settle=7.0),
        look=look,
        sleep=lambda s: events.append(("sleep", s)),
    )
    assert (posted.outcome, posted.found, len(client.posts)) == ("sent", True, 1)
    assert events == [("sleep", 7.0), ("look", 0.0)]
    # an answered internal_error (no post still on its way) waits the back-off only
    pauses: list[float] = []
    post_message(
        Scripted("internal_error"),  # type: ignore[arg-type]
        ARGS,
        RetryPolicy(max_attempts=3, backoff=0.1, jitter=0.0, retry_uncertain=True, settle=7.0),
        look=lambda args: ("C1", "1.1"),
        sleep=pauses.append,
    )
    assert pauses == [0.1]
    assert INTERACTIVE.settle == 5.0  # the margin beyond the client's timeout, by default
