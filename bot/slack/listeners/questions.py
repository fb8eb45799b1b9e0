"""Questions: @mentions in channels, DMs, follow-ups in threads, Slack's assistant pane."""

from __future__ import annotations

import logging

from slack_bolt import App, Assistant
from slack_sdk.errors import SlackApiError

from ...questions import AnsweredQuestion
from ..blocks import answer_messages
from ..deps import SlackDeps
from ..guard import reporting_failures
from ..incoming import mentions, plain_text

log = logging.getLogger("fwbot.slack")
THREAD_TITLE_CHARS = 80


def _from_a_person(event: dict) -> bool:
    """Plain messages typed by a person: no bots (ours included), no edits, joins, deletions."""
    return (event.get("bot_id") is None and event.get("subtype") in (None, "thread_broadcast")
            and bool(event.get("user")))


def answer_and_post(deps: SlackDeps, *, text: str, user: str, channel: str,
                    thread_ts: str | None, reply_in: str | None,
                    team_id: str | None = None) -> AnsweredQuestion:
    """Answer ``text`` and post the reply in ``reply_in`` (a thread ts, or None: top level)."""
    with deps.metrics.timed("answer"):
        done = deps.questions.answer(text, user_id=user, channel_id=channel,
                                     thread_ts=thread_ts, team_id=team_id)
    messages = answer_messages(done.answer, deps.framework, exchange_id=done.exchange_id)
    ts = deps.delivery.post(channel, messages, thread_ts=reply_in)
    if ts:
        deps.store.set_reply_ts(done.exchange_id, ts)
    return done


def _notify_in(deps: SlackDeps, channel: str, thread_ts: str | None):
    return lambda message: deps.delivery.post(channel, [message], thread_ts=thread_ts)


def register(app: App, deps: SlackDeps, bot_user_id: str | None) -> None:
    @app.event("app_mention")
    def on_mention(event: dict, body: dict) -> None:
        if not _from_a_person(event):
            return
        channel = event["channel"]
        root = event.get("thread_ts") or event["ts"]

        def job() -> None:
            with reporting_failures("app_mention", deps.metrics, _notify_in(deps, channel, root)):
                answer_and_post(deps, text=plain_text(event.get("text"), bot_user_id=bot_user_id),
                                user=event["user"], channel=channel, thread_ts=root,
                                reply_in=root, team_id=body.get("team_id"))

        deps.later(job)

    @app.event("message")
    def on_message(event: dict, body: dict) -> None:
        if not _from_a_person(event):
            return
        channel, thread_ts = event.get("channel", ""), event.get("thread_ts")
        if event.get("channel_type") == "im":
            if thread_ts:
                return  # DM threads belong to the assistant listener below
            reply_in, stored_thread = None, None
        else:
            # A follow-up in a thread the bot answered; a mention there is app_mention's.
            if not thread_ts or (bot_user_id and mentions(event.get("text"), bot_user_id)):
                return
            reply_in, stored_thread = thread_ts, thread_ts

        def job() -> None:
            if stored_thread and not deps.questions.is_followup_thread(channel, stored_thread):
                return  # a thread the bot never answered in: not ours to join
            with reporting_failures("message", deps.metrics, _notify_in(deps, channel, reply_in)):
                answer_and_post(deps, text=plain_text(event.get("text"), bot_user_id=bot_user_id),
                                user=event["user"], channel=channel, thread_ts=stored_thread,
                                reply_in=reply_in, team_id=body.get("team_id"))

        deps.later(job)

    app.use(_assistant(deps, bot_user_id))


def suggested_prompts(deps: SlackDeps) -> list[dict[str, str]]:
    fw = deps.framework
    prompts = [{"title": "The goals at a glance", "message": f"What are the goals of {fw.title}?"}]
    first = next(iter(fw.objectives()), None)
    if first is not None:
        prompts.append({"title": f"What does {first[1].id} say?",
                        "message": f"What does objective {first[1].id} say?"})
    if fw.statements and fw.statements.mission:
        prompts.append({"title": "Our mission", "message": "What is our mission?"})
    prompts.append({"title": "Align a proposal",
                    "message": "How do I find the objectives my proposal serves?"})
    return prompts[:4]


def _assistant(deps: SlackDeps, bot_user_id: str | None) -> Assistant:
    assistant = Assistant()

    @assistant.thread_started
    def started(say, set_suggested_prompts) -> None:
        def job() -> None:
            with reporting_failures("assistant_thread_started", deps.metrics, None):
                say(f"Hi! Ask me anything about {deps.framework.title} — I cite the objectives "
                    "I use. To tag a proposal with objectives, use /align.")
                set_suggested_prompts(prompts=suggested_prompts(deps))

        deps.later(job)

    @assistant.user_message
    def user_message(payload: dict, set_status, set_title, body: dict) -> None:
        if not _from_a_person(payload):
            return
        channel, thread_ts = payload["channel"], payload["thread_ts"]
        text = plain_text(payload.get("text"), bot_user_id=bot_user_id)

        def job() -> None:
            with reporting_failures("assistant_message", deps.metrics,
                                    _notify_in(deps, channel, thread_ts)):
                first_question = not deps.questions.is_followup_thread(channel, thread_ts)
                try:
                    set_status("is looking in the framework…")
                    if first_question and text:
                        set_title(text[:THREAD_TITLE_CHARS])
                except SlackApiError as exc:  # a DM thread outside the assistant pane
                    log.debug("assistant status/title unavailable: %s",
                              exc.response.get("error"))
                answer_and_post(deps, text=text, user=payload["user"], channel=channel,
                                thread_ts=thread_ts, reply_in=thread_ts,
                                team_id=body.get("team_id"))

        deps.later(job)

    return assistant
