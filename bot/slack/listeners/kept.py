"""Commands, buttons, shortcuts and forms whose work is kept before the ack (see
:mod:`bot.slack.durable`): :func:`kept` registers the plan and the listener in one call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from slack_bolt import Ack, App

from ..backpressure import BUSY, TRY_AGAIN
from ..deps import SlackDeps
from ..durable import Plan, kind_of

Acked = Literal["command", "action", "view", "shortcut"]  # requests their listener acks


def kept(
    app: App,
    deps: SlackDeps,
    request_type: Acked,
    name: str,
    plan: Plan,
    *,
    answer_now: Callable[[dict], dict[str, Any] | None] | None = None,
    deferrable: bool = False,
) -> str:
    """Register ``plan`` for the ``request_type`` called ``name`` (the command, action id or
    callback id; the plan is also what the recovery runs) and a listener that records the
    request, then acks; the plan's job runs after the ack. ``answer_now(body)``: the ack's
    arguments when the request is answered by the ack itself instead (a usage text, a form's
    errors; nothing is kept), else None. ``deferrable``: heavy work that may wait when the
    replica is full (:mod:`~bot.slack.backpressure`; a command's ack says so); not for work
    that opens a modal (its trigger lasts 3 s). Returns the kind
    (:func:`~bot.slack.durable.kind_of`)."""
    kind = kind_of(request_type, name)
    deps.plan(kind)(plan)
    if deferrable:
        deps.deferrable.add(kind)

    def listener(ack: Ack, body: dict) -> None:
        answer = answer_now(body) if answer_now is not None else None
        if answer is not None:
            ack(**answer)
            return
        # kept before the ack; a command told it waits (or to try again) in its ack
        told = deps.run_durably(kind, body, tell_busy=request_type != "command")
        if request_type == "command" and told in ("busy", "try_again"):
            ack(response_type="ephemeral", text=(BUSY if told == "busy" else TRY_AGAIN).text)
            return
        ack()

    listen = {
        "command": app.command,
        "action": app.action,
        "view": app.view,
        "shortcut": app.shortcut,
    }[request_type]
    listen(name)(listener)
    return kind


def kept_action(app: App, deps: SlackDeps, action_id: str, plan: Plan) -> None:
    """:func:`kept` for the button ``action_id``."""
    kept(app, deps, "action", action_id, plan)
