"""Buttons whose work is kept before the ack (see :mod:`bot.slack.durable`)."""

from __future__ import annotations

from slack_bolt import Ack, App

from ..deps import SlackDeps
from ..durable import Plan


def kept_action(app: App, deps: SlackDeps, action_id: str, plan: Plan) -> None:
    """Register ``plan`` for the button ``action_id`` (also what the recovery runs) and a
    listener that records the click, then acks; the plan's job runs after the ack."""
    kind = f"action:{action_id}"
    deps.plan(kind)(plan)

    @app.action(action_id)
    def listener(ack: Ack, body: dict) -> None:
        deps.run_durably(kind, body)
        ack()
