"""One retry policy for every post to Slack: how often, how long to wait, what is safe to send
again, when to look in the history first, and the plain-text fallback.

Both ways a message goes out — the interactive replies (:class:`bot.slack.delivery.Delivery`)
and the background sender of nudges and the digest (:class:`bot.slack_api.sender.SlackSender`)
— post through :func:`post_message`; they differ only in the :class:`RetryPolicy` they pass
(fewer tries and no Retry-After waiting for a reply a user is waiting for) and in what they
hand it: a pacer, a look-up, a way to cut a refused message into plain-text pieces.

What an answer means (classified once, by :func:`~bot.slack_api.calls.call_once`):

* ``ok``: sent.
* ``limited`` (429): wait Retry-After (through the pacer if there is one), up to
  ``max_rate_limited`` seconds in all; then ``retry``.
* ``transient`` (Slack did nothing: ``service_unavailable``, a refused connection…): back
  off and send again, ``max_attempts`` posts at most; then ``retry``.
* ``maybe`` (``internal_error`` / ``fatal_error``: it may have applied) and ``uncertain``
  (a timeout, a lost answer): back off, look for the message in the history, and send again
  only if it is not there — for ``uncertain``, no sooner than it can have landed (below).
  Without a look-up, or for ``uncertain`` when the policy leaves that to the caller (the
  claims protocol looks on a later pass): ``uncertain`` at once. When the look-up cannot
  tell: ``unknown`` — never send again.
* ``fallback`` (blocks refused, too long): once, the text again as plain text, cut into the
  pieces ``plain`` gives (the first carries the metadata); without ``plain``: ``permanent``.
* ``permanent``: at once.

**One message when Slack is slow.** Slack has no idempotency key for a post, and a post the
client gave up on (its timeout, a dropped connection) may still land seconds later: a look-up
made too soon finds nothing, and the message sent again lands beside the late one. So the
rule, for every way out: *a post whose fate is unknown is never sent again until it can have
landed* — ``policy.settle`` seconds after the client gave up
(:data:`~bot.slack_api.retry.SETTLE`: the client's timeout has passed already; the margin is
what Slack may take beyond it) — *and then only if its metadata (or text) is not in the
history*. Where nothing can look it up, it is not sent again at all:

* replies (:class:`~bot.slack.delivery.Delivery`, ``INTERACTIVE``): this loop waits the settle
  window, then looks;
* nudges and the digest (``BACKGROUND``): ``uncertain`` at once; the claims protocol
  (:mod:`bot.progress.exactly_once`) holds the claim ``in_flight_grace`` (the client's timeout
  plus the same margin) and a later pass looks before sending;
* ``chat.postEphemeral`` and ``response_url`` replies cannot be looked up: after a timeout they
  are not sent again by any way (:class:`~bot.slack_api.history.DeliveryUnknown`: no resend, no
  apology).

A post that lands later still than the settle window would show twice: a post sent again
after such a try comes back :attr:`Posted.may_land_twice`, and its sender has
:class:`~bot.slack_api.late_copies.LateCopies` look again later and delete
(``chat.delete``) every copy but the one it kept.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from slack_sdk import WebClient

from .calls import ApiAnswer, call_once
from .history import DeliveryUnknown
from .retry import BACKGROUND, INTERACTIVE, SETTLE, RetryPolicy

__all__ = [
    "BACKGROUND",
    "INTERACTIVE",
    "SETTLE",
    "Posted",
    "RetryPolicy",
    "attempt",
    "post_message",
]

log = logging.getLogger(__name__)

Posting = Literal["sent", "permanent", "retry", "uncertain", "unknown"]
# Where a message is found in the history: (channel id, ts); None: not there.
Look = Callable[[Mapping[str, Any]], tuple[str, str] | None]


class Pacer(Protocol):
    """What :class:`bot.slack_api.pacing.AdaptivePacer` offers a post."""

    def wait_turn(self) -> None: ...

    def on_rate_limited(self, retry_after: float) -> None: ...

    def on_success(self) -> None: ...


@dataclass(frozen=True)
class Posted:
    """What :func:`post_message` knows in the end. ``data``: Slack's answer to the post that
    went through (or ``channel``/``ts`` of the message found in the history); ``exception``:
    what the last failed call raised (or the look-up's :class:`DeliveryUnknown`), for callers
    that raise it; ``found``: the message was found in the history, not posted now."""

    outcome: Posting
    data: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    exception: BaseException | None = None
    found: bool = False
    doubtful: bool = False

    @property
    def may_land_twice(self) -> bool:
        """Posted again after a try whose fate was unknown and which the history did not show
        yet: that try may still land beside this one (:mod:`.late_copies` removes it)."""
        return self.doubtful and self.outcome == "sent" and not self.found

    @property
    def ts(self) -> str | None:
        ts = self.data.get("ts")
        return str(ts) if ts else None

    @property
    def channel_id(self) -> str | None:
        channel = self.data.get("channel")
        return str(channel) if channel else None


def attempt(method: Callable[..., Any], **kwargs: Any) -> tuple[ApiAnswer, Exception | None]:
    """One call, classified (:func:`~bot.slack_api.calls.call_once`), with the exception it
    raised (None when it answered ok)."""
    caught: list[Exception] = []

    def call(**kw: Any) -> Any:
        try:
            return method(**kw)
        except Exception as exc:
            caught.append(exc)
            raise

    answer = call_once(call, **kwargs)
    return answer, (caught[0] if caught else None)


def post_message(
    client: WebClient,
    args: Mapping[str, Any],
    policy: RetryPolicy,
    *,
    ephemeral: bool = False,
    pacer: Pacer | None = None,
    look: Look | None = None,
    plain: Callable[[str], list[str]] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    on_error: Callable[[str], object] | None = None,
) -> Posted:
    """Posts ``args`` (``channel``, ``text``, ``blocks``, ``metadata``…) under ``policy``
    (``ephemeral``: with ``chat.postEphemeral``, to ``args["user"]``; else
    ``chat.postMessage``), as the module docstring says. ``look``: finds the message in the
    history (given the arguments of the last try; raises :class:`DeliveryUnknown` when it
    cannot tell); ``plain``: the plain-text pieces of a refused message's text; ``on_error``:
    told the error of every failed call (metrics)."""
    call = client.chat_postEphemeral if ephemeral else client.chat_postMessage
    name = "chat.postEphemeral" if ephemeral else "chat.postMessage"
    args = dict(args)
    attempts, limited_for, fell_back, doubtful = 0, 0.0, False, False
    rest: list[str] = []
    posted = Posted("retry")  # replaced when the loop ends with a message in Slack
    while True:
        if pacer is not None:
            pacer.wait_turn()
        answer, exc = attempt(call, **args)
        if pacer is not None and answer.kind in ("ok", "permanent", "fallback"):
            pacer.on_success()  # it got past the rate limiter
        if answer.kind == "ok":
            posted = Posted("sent", answer.data, doubtful=doubtful)
            break
        if on_error is not None:
            on_error(answer.error or "unknown")
        if answer.kind == "limited":
            limited_for += answer.retry_after
            if policy.max_rate_limited <= 0 or limited_for > policy.max_rate_limited:
                return Posted("retry", error="ratelimited", exception=exc)
            if pacer is not None:
                pacer.on_rate_limited(answer.retry_after)
            else:
                sleep(answer.retry_after)
            continue
        if answer.kind == "fallback" and plain is not None and not fell_back:
            log.warning("%s refused the message (%s); sending plain text", name, answer.error)
            fell_back = True
            first, *rest = plain(str(args.get("text") or "")) or [""]
            args = {**args, "blocks": None, "text": first}
            continue
        if answer.kind in ("permanent", "fallback"):
            return Posted("permanent", answer.data, answer.error, exc)
        attempts += 1  # transient, maybe applied, or uncertain
        last = attempts >= policy.max_attempts
        if answer.kind == "transient":
            if last:
                return Posted("retry", answer.data, answer.error, exc)
            sleep(policy.delay(attempts, rng))
            log.warning("%s failed (%s); attempt %d", name, answer.error, attempts + 1)
            continue
        if look is None or (answer.kind == "uncertain" and not policy.retry_uncertain):
            return Posted("uncertain", answer.data, answer.error, exc)
        pause = policy.delay(attempts, rng)  # give it time to show in the history
        if answer.kind == "uncertain":  # still on its way, perhaps: until it can have landed
            pause = max(pause, policy.settle)
        sleep(pause)
        try:
            found = look(args)
        except DeliveryUnknown as unknown:
            return Posted("unknown", error=answer.error, exception=unknown)
        if found is not None:
            log.info("%s (%s) had arrived; not sending it again", name, answer.error)
            posted = Posted("sent", {"channel": found[0], "ts": found[1]}, found=True)
            break
        if last:  # looked: not there (yet)
            return Posted("retry", answer.data, answer.error, exc, doubtful=True)
        doubtful = True  # not there yet; it may still land beside the next try
        log.warning("%s failed (%s); attempt %d", name, answer.error, attempts + 1)
    for piece in rest:  # the rest of a refused message, as plain text
        more = {k: v for k, v in args.items() if k != "metadata"}
        piece_posted = post_message(
            client,
            {**more, "text": piece},
            policy,
            ephemeral=ephemeral,
            pacer=pacer,
            sleep=sleep,
            rng=rng,
            on_error=on_error,
        )
        if piece_posted.outcome != "sent":
            return piece_posted
    return posted
