"""Back-pressure: a bounded amount of acknowledged work per replica.

Every request the bot acts on after its ack is kept in the Inbox (:mod:`bot.slack.durable`)
before the ack, so a replica that has more work than it can do soon need not queue it in
memory: the :class:`WorkGate` counts the work queued or running here, and past its limit
(``FWBOT_MAX_QUEUED_WORK``) a new request is still acknowledged at once, but its work is
*deferred*: its row in the Inbox is handed back (:meth:`~bot.slack.durable.Inbox.defer`),
the person gets one short line (:data:`BUSY`) and the recovery pass — of this replica as soon
as it has room again (:meth:`WorkGate.leave` wakes it), or of any other replica within a
minute — takes the work over and answers it, once: taking over is one conditional update,
and a replica takes over no more than it has room for.

Only heavy kinds wait (questions, /align: ``SlackDeps.deferrable``); buttons, /progress and
forms are light, and may open a modal whose trigger lasts 3 s: they are done anyway, counted.
Work that cannot be deferred (it was not recorded: no Inbox, or the database was away) is
not done: the person is told to try again in a minute (:data:`TRY_AGAIN`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from ..slack_api.events import BUSY_EVENT
from .blocks import Message
from .delivery import Delivery
from .durable import recover
from .metrics import Metrics
from .recovery_loop import RECOVER_EVERY, RecoveryLoop

if TYPE_CHECKING:
    from .deps import SlackDeps

log = logging.getLogger("fwbot.slack")

BUSY = Message(
    text="I'm busy right now, so this waits its turn: I'll answer it in a minute or two.",
    blocks=[],
)
TRY_AGAIN = Message(
    text="I'm too busy to take this right now, sorry. Please try again in a minute.", blocks=[]
)

Shed = Literal["busy", "silent", "try_again"]  # what the person was told


class WorkGate:
    """How much acknowledged work is queued or running in this replica, bounded by
    ``limit``. :meth:`try_enter` admits a new request's work if there is room;
    :meth:`enter` admits work taken over by the recovery (which takes no more than
    :meth:`room`); :meth:`leave` when the work ends. ``on_room`` (the recovery's wake) is
    called when work ends while work deferred may be waiting: once, until :meth:`deferred`
    says so again (a pass that found as much as it had room for says so too)."""

    def __init__(self, limit: int, metrics: Metrics) -> None:
        self.limit = max(1, limit)
        self.metrics = metrics
        self.on_room: Callable[[], None] | None = None
        self._lock = threading.Lock()
        self._depth = 0
        self._waiting = False  # work was deferred since the last wake
        metrics.work_limit.set(self.limit)
        metrics.work_queued.set(0)

    @property
    def depth(self) -> int:
        return self._depth

    def room(self) -> int:
        with self._lock:
            return max(0, self.limit - self._depth)

    def try_enter(self) -> bool:
        with self._lock:
            if self._depth >= self.limit:
                return False
            self._depth += 1
            self.metrics.work_queued.set(self._depth)
            return True

    def enter(self) -> None:
        with self._lock:
            self._depth += 1
            self.metrics.work_queued.set(self._depth)

    def deferred(self) -> None:
        """Work was deferred: wake the recovery when there is room again."""
        with self._lock:
            self._waiting = True

    def leave(self) -> None:
        wake = None
        with self._lock:
            self._depth = max(0, self._depth - 1)
            self.metrics.work_queued.set(self._depth)
            if self._waiting and self._depth < self.limit and self.on_room is not None:
                self._waiting, wake = False, self.on_room
        if wake is not None:
            wake()


def person_of(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(user, channel) of a command, button, shortcut or form's ``body``."""
    user = body.get("user_id") or (body.get("user") or {}).get("id")
    channel = body.get("channel_id") or (body.get("channel") or {}).get("id")
    return user, channel


def response_url_of(body: dict[str, Any]) -> str | None:
    if body.get("response_url"):
        return str(body["response_url"])
    urls = body.get("response_urls") or []
    return str(urls[0]["response_url"]) if urls and urls[0].get("response_url") else None


def _where(body: dict[str, Any]) -> tuple[str, str | None] | None:
    """(channel, thread) where an event's reply goes, if it may be told there: a mention,
    or a DM; not a message in a channel thread the bot may not be part of, nor the assistant
    pane opening."""
    event = body.get("event") or {}
    channel = event.get("channel")
    if not channel:
        return None
    if event.get("type") == "app_mention":
        return channel, event.get("thread_ts") or event.get("ts")
    if event.get("type") == "message" and event.get("channel_type") == "im":
        return channel, event.get("thread_ts")
    return None


def can_tell(body: dict[str, Any]) -> bool:
    """Whether the person who sent ``body`` can be told something (see :func:`tell`)."""
    if body.get("type") == "event_callback":
        return _where(body) is not None
    return person_of(body)[0] is not None


def tell(delivery: Delivery, body: dict[str, Any], message: Message, key: str) -> None:
    """Post ``message`` (:data:`BUSY` or :data:`TRY_AGAIN`) where the person who sent
    ``body`` sees it (:func:`can_tell` first): an event's in its reply's thread, with
    metadata naming the request (so a resend looks before it posts again); anything else
    privately (its ``response_url``, else ephemeral, else a DM)."""
    if body.get("type") == "event_callback":
        where = _where(body)
        if where is not None:
            metadata = {"event_type": BUSY_EVENT, "event_payload": {"request": key}}
            delivery.post(where[0], [message], thread_ts=where[1], metadata=metadata)
        return
    user, channel = person_of(body)
    if user:
        delivery.reply(message, user=user, channel=channel, response_url=response_url_of(body))


def told_quietly(post: Callable[[], object]) -> Callable[[], None]:
    """``post``, with a failure logged (a busy line that did not arrive loses nothing)."""

    def run() -> None:
        try:
            post()
        except Exception as exc:
            log.warning("could not tell someone the bot is busy (%s)", type(exc).__name__)

    return run


def start_recovery(deps: SlackDeps, *, every: float = RECOVER_EVERY) -> RecoveryLoop:
    """The recovery pass of a running server (:func:`~bot.slack.durable.recover`): now and
    every ``every`` seconds, and — woken by ``deps.gate`` when it has room again for work
    deferred — a pass over work handed back only; none takes over more work than the gate
    has room for."""
    inbox, gate = deps.inbox, deps.gate
    if inbox is None:
        raise ValueError("the recovery needs the inbox")

    def run(handed_back: bool) -> int:
        if gate is None:
            return recover(inbox, deps.plans, deps.later)
        room = gate.room()
        taken = recover(inbox, deps.plans, deps.later, room=room, handed_back=handed_back)
        if taken >= room:  # full again: there may be more, look when room frees up
            gate.deferred()
        return taken

    loop = RecoveryLoop(lambda: run(False), every=every, woken=lambda: run(True))
    if gate is not None:
        gate.on_room = loop.wake
    return loop.start()


def at_stop(deps: SlackDeps) -> None:
    """At a stop: busy lines not posted yet are dropped (the answer still comes), and how much
    work deferred while busy waits in the database is logged."""
    if deps.notices is not None:
        deps.notices.shutdown(wait=False, cancel_futures=True)
    if deps.inbox is None:
        return
    try:
        count = deps.inbox.store.waiting()
    except Exception as exc:  # the database is away: the next start finds the work anyway
        log.warning("fwbot: stop: could not count the deferred work (%s)", type(exc).__name__)
        return
    if count:
        log.warning(
            "fwbot: stop: %d acknowledged job(s) deferred while busy are waiting: handed back "
            "(kept; the first replica or start with room answers them)",
            count,
        )
