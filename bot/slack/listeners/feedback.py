"""Helpful / Not helpful on an answer: the vote is stored with the exchange. Only the person
who asked (or an admin) may vote; anyone else is told so and nothing is stored."""

from __future__ import annotations

from slack_bolt import App

from ...services.ownership import NotYours
from ...storage.store import UnknownRecord
from ..blocks import Message
from ..deps import SlackDeps
from ..features import Feature
from ..guard import refuse, reporting_failures
from ..ids import ACTION_FEEDBACK_HELPFUL, ACTION_FEEDBACK_NOT_HELPFUL
from .kept import kept_action


def record_vote(deps: SlackDeps, body: dict, *, helpful: bool) -> None:
    user = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id")

    def tell(text: str) -> None:
        deps.delivery.reply(
            Message(text=text, blocks=[]),
            user=user,
            channel=channel,
            response_url=body.get("response_url"),
        )

    with reporting_failures("feedback", deps.metrics, lambda m: tell(m.text)):
        try:
            exchange_id = int(body["actions"][0]["value"])
            deps.questions.vote(exchange_id, user, helpful)
        except NotYours as exc:
            refuse("feedback", deps.metrics, lambda m: tell(m.text), str(exc))
            return
        except (KeyError, IndexError, ValueError, UnknownRecord):
            tell("I couldn't find that answer any more, so the vote wasn't recorded.")
            return
        deps.metrics.feedback.labels("helpful" if helpful else "not_helpful").inc()
        tell(
            "Thanks — noted as helpful."
            if helpful
            else "Thanks — noted as not helpful. Rephrasing the question, or naming an objective "
            "(e.g. “What does 1.3 say?”), often helps."
        )


def register(app: App, deps: SlackDeps) -> None:
    for action_id, helpful in (
        (ACTION_FEEDBACK_HELPFUL, True),
        (ACTION_FEEDBACK_NOT_HELPFUL, False),
    ):
        _register_vote(app, deps, action_id, helpful=helpful)


def _register_vote(app: App, deps: SlackDeps, action_id: str, *, helpful: bool) -> None:
    kept_action(
        app, deps, action_id, lambda body, ticket: lambda: record_vote(deps, body, helpful=helpful)
    )


FEATURE = Feature("feedback", register)
