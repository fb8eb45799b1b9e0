"""Commands, buttons, shortcuts and forms whose work is kept before the ack (see
:mod:`bot.slack.durable`): :func:`kept` registers the plan and the listener in one call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from slack_bolt import Ack, App

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
) -> str:
    """Register ``plan`` for the ``request_type`` called ``name`` (the command, action id or
    callback id; the plan is also what the recovery runs) and a listener that records the
    request, then acks; the plan's job runs after the ack. ``answer_now(body)``: the ack's
    arguments when the request is answered by the ack itself instead (a usage text, a form's
    errors; nothing is kept), else None. Returns the kind (:func:`~bot.slack.durable.kind_of`)."""
    kind = kind_of(request_type, name)
    deps.plan(kind)(plan)

    def listener(ack: Ack, body: dict) -> None:
        answer = answer_now(body) if answer_now is not None else None
        if answer is not None:
            ack(**answer)
            return
        deps.run_durably(kind, body)  # kept before the ack
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
