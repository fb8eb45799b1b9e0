"""Questions: @mentions in channels, DMs, follow-ups in threads, Slack's assistant pane."""

from __future__ import annotations

import logging

from slack_bolt import App, Assistant
from slack_sdk.errors import SlackApiError

from ...services.questions import AnsweredQuestion, Conversation
from ...slack_api.messages import (
    set_assistant_status,
    set_assistant_title,
    set_suggested_prompts,
)
from ..blocks import Message, answer_messages, streamed_answer_footer
from ..deps import SlackDeps
from ..durable import Job, Plan, Ticket, kind_of
from ..features import Feature
from ..guard import reporting_failures
from ..incoming import mentions, plain_text
from ..streaming import StreamedReply

log = logging.getLogger("fwbot.slack")
THREAD_TITLE_CHARS = 80


def _from_a_person(event: dict) -> bool:
    """Plain messages typed by a person: no bots (ours included), no edits, joins, deletions."""
    return (
        event.get("bot_id") is None
        and event.get("subtype") in (None, "thread_broadcast")
        and bool(event.get("user"))
    )


def answer_and_post(
    deps: SlackDeps,
    *,
    text: str,
    user: str,
    channel: str,
    thread_ts: str | None,
    reply_in: str | None,
    team_id: str | None = None,
    ticket: Ticket | None = None,
    conversation: Conversation | None = None,
) -> AnsweredQuestion | None:
    """Answer ``text`` and post the reply in ``reply_in`` (a thread ts, or None: top level).
    The reply names ``ticket``'s request in its metadata; a resumed ticket's reply is looked
    for first (None: it had been posted before a restart)."""
    metadata = ticket.reply_metadata if ticket and ticket.key else None
    if (
        ticket
        and ticket.look_since is not None
        and deps.delivery.find_reply(
            channel, thread_ts=reply_in, metadata=ticket.reply_metadata, since=ticket.look_since
        )
    ):
        return None
    resumed = ticket is not None and ticket.look_since is not None
    stream = None
    if not resumed:  # work taken over after a crash is posted whole, after looking
        stream = _stream_for(deps, channel, reply_in, user=user, team_id=team_id, ticket=ticket)
    with deps.metrics.timed("answer"):
        done = deps.questions.answer(
            text,
            user_id=user,
            channel_id=channel,
            thread_ts=thread_ts,
            team_id=team_id,
            conversation=conversation,
            on_text=stream.append if stream is not None else None,
        )
    messages = answer_messages(done.answer, deps.framework, exchange_id=done.exchange_id)
    if done.private and not channel.startswith("D"):
        # details only the asker may see (update notes, who went quiet): to them alone
        for message in messages:
            deps.delivery.reply(message, user=user, channel=channel)
        return done
    ts = None
    if stream is not None:
        footer = streamed_answer_footer(done.answer, deps.framework, exchange_id=done.exchange_id)
        ts = stream.finish(done.answer.text, messages[0], footer, metadata)
        if ts is None and stream.start_unknown and stream.first_text and reply_in:
            ts = deps.delivery.adopt_late_stream(
                channel,
                thread_ts=reply_in,
                first_text=stream.first_text,
                since=stream.started_at,
                message=messages[0],
                metadata=metadata,
            )
        if ts is not None and not stream.as_written and len(messages) > 1:
            deps.delivery.post(channel, messages[1:], thread_ts=reply_in)  # further pages
    if ts is None and ticket is not None and ticket.reply_ts:
        # the dead process had begun streaming the reply: that message becomes the answer
        ts = deps.delivery.complete_stream(channel, ticket.reply_ts, messages[0], metadata)
        if ts is not None and len(messages) > 1:
            deps.delivery.post(channel, messages[1:], thread_ts=reply_in)
    if ts is None:
        ts = deps.delivery.post(channel, messages, thread_ts=reply_in, metadata=metadata)
    if ts:
        try:
            deps.questions.replied(done.exchange_id, ts)
        except Exception as exc:  # the answer is posted: no apology after it (a 2nd reply)
            log.warning(
                "answer %s posted as %s; its ts not kept (%s: %s)",
                done.exchange_id,
                ts,
                type(exc).__name__,
                str(exc).splitlines()[0][:200] if str(exc) else "",
            )
    return done


def _stream_for(
    deps: SlackDeps,
    channel: str,
    reply_in: str | None,
    *,
    user: str,
    team_id: str | None,
    ticket: Ticket | None,
) -> StreamedReply | None:
    """A stream for a model-written answer in a thread (the assistant pane's included); None:
    the answer is posted whole (no model, a top-level DM, streaming switched off). The
    request keeps the stream's message, so that a restart completes it."""
    if not reply_in or not deps.stream_answers or not deps.questions.streams:
        return None
    if not channel.startswith("D") and not team_id:
        return None  # outside a DM Slack needs the reader's team
    inbox = deps.inbox
    return StreamedReply(
        deps.delivery.client,
        deps.metrics,
        channel=channel,
        thread_ts=reply_in,
        user=user,
        team_id=team_id,
        on_started=(lambda ts: inbox.note_reply(ticket, ts))
        if inbox is not None and ticket is not None and ticket.key
        else None,
    )


def _notify_in(deps: SlackDeps, channel: str, thread_ts: str | None):
    return lambda message: deps.delivery.post(channel, [message], thread_ts=thread_ts)


def plan_question(deps: SlackDeps, bot_user_id: str | None) -> Plan:
    """What to do with a message or mention event: answer it where it was asked, or nothing
    (bots, edits, top-level channel chatter, threads the bot never answered in, a message
    whose mention of the bot has its own ``app_mention`` event)."""

    def plan(body: dict, ticket: Ticket) -> Job | None:
        event = body.get("event") or {}
        if not _from_a_person(event):
            return None
        channel, thread_ts = event.get("channel", ""), event.get("thread_ts")
        text = plain_text(event.get("text"), bot_user_id=bot_user_id)
        team_id, user = body.get("team_id"), event["user"]
        if event.get("type") == "app_mention":
            root = thread_ts or event["ts"]
            reply_in, stored_thread, check_thread, assistant = root, root, False, False
        elif event.get("channel_type") == "im":
            # A DM thread is Slack's assistant pane (or a thread in the DM): answered there.
            reply_in = stored_thread = thread_ts
            check_thread, assistant = False, bool(thread_ts)
        elif not thread_ts or (bot_user_id and mentions(event.get("text"), bot_user_id)):
            return None  # top-level chatter, or a mention: app_mention's
        else:  # a follow-up in a channel thread, if the bot answered in it
            reply_in, stored_thread, check_thread, assistant = thread_ts, thread_ts, True, False
        # A mention at the top of a channel starts its own thread: nothing was said in it
        # yet, so there is nothing to read (one database session fewer per question). Work
        # taken over after a restart reads it: the dead process may have answered there.
        new_thread = event.get("type") == "app_mention" and not thread_ts
        listener = (
            "assistant_message"
            if assistant
            else "app_mention"
            if event.get("type") == "app_mention"
            else "message"
        )

        def job() -> None:
            notify = _notify_in(deps, channel, reply_in)
            conversation = None
            if new_thread and not ticket.resumed:  # a thread of its own: nothing to read
                conversation = Conversation([], bot_answered_in_thread=False)
            else:
                # The database away: the asker hears about it (a thread the bot may never
                # have answered in is not ours to speak in: there it is only logged).
                with reporting_failures(listener, deps.metrics, None if check_thread else notify):
                    conversation = deps.questions.conversation(channel, stored_thread)
            if conversation is None or (check_thread and not conversation.bot_answered_in_thread):
                return  # failed (reported), or a thread the bot never answered in
            with reporting_failures(listener, deps.metrics, notify):
                if assistant and thread_ts:
                    _assistant_status(
                        deps,
                        channel,
                        thread_ts,
                        text,
                        first_question=not conversation.bot_answered_in_thread,
                    )
                answer_and_post(
                    deps,
                    text=text,
                    user=user,
                    channel=channel,
                    thread_ts=stored_thread,
                    reply_in=reply_in,
                    team_id=team_id,
                    ticket=ticket,
                    conversation=conversation,
                )

        return job

    return plan


def _assistant_status(
    deps: SlackDeps, channel: str, thread_ts: str, text: str, *, first_question: bool
) -> None:
    """The assistant pane's "is looking…" status, and the thread's title on its first
    question; a DM thread outside the pane has neither, which is fine."""
    client = deps.delivery.client
    try:
        set_assistant_status(client, channel, thread_ts, "is looking in the framework…")
        if first_question and text:
            set_assistant_title(client, channel, thread_ts, text[:THREAD_TITLE_CHARS])
    except SlackApiError as exc:
        log.debug("assistant status/title unavailable: %s", exc.response.get("error"))


def plan_greeting(deps: SlackDeps) -> Plan:
    """A new assistant thread: a greeting and suggested prompts."""

    def plan(body: dict, ticket: Ticket) -> Job | None:
        thread = (body.get("event") or {}).get("assistant_thread") or {}
        channel, thread_ts = thread.get("channel_id"), thread.get("thread_ts")
        if not channel or not thread_ts:
            return None

        def job() -> None:
            with reporting_failures("assistant_thread_started", deps.metrics, None):
                greeting = (
                    f"Hi! Ask me anything about {deps.framework.title} — I cite the "
                    "objectives I use. To tag a proposal with objectives, use /align."
                )
                if ticket.look_since is not None and deps.delivery.find_reply(
                    channel,
                    thread_ts=thread_ts,
                    metadata=ticket.reply_metadata,
                    since=ticket.look_since,
                ):
                    return
                deps.delivery.post(
                    channel,
                    [Message(text=greeting, blocks=[])],
                    thread_ts=thread_ts,
                    metadata=ticket.reply_metadata,
                )
                set_suggested_prompts(
                    deps.delivery.client, channel, thread_ts, suggested_prompts(deps)
                )

        return job

    return plan


MENTION = kind_of("event", "app_mention")
MESSAGE = kind_of("event", "message")
THREAD_STARTED = kind_of("event", "assistant_thread_started")


def register(app: App, deps: SlackDeps, bot_user_id: str | None) -> None:
    deps.plan(MENTION)(plan_question(deps, bot_user_id))
    deps.plan(MESSAGE)(plan_question(deps, bot_user_id))
    deps.deferrable.update((MENTION, MESSAGE))  # answers may wait when the replica is full
    deps.plan(THREAD_STARTED)(plan_greeting(deps))

    @app.event("app_mention")
    def on_mention(body: dict, context: dict) -> None:
        deps.run_durably(MENTION, body, context)

    @app.event("message")
    def on_message(body: dict, context: dict) -> None:
        deps.run_durably(MESSAGE, body, context)

    app.use(_assistant(deps))


def suggested_prompts(deps: SlackDeps) -> list[dict[str, str]]:
    fw = deps.framework
    prompts = [{"title": "The goals at a glance", "message": f"What are the goals of {fw.title}?"}]
    first = next(iter(fw.objectives()), None)
    if first is not None:
        prompts.append(
            {
                "title": f"What does {first[1].id} say?",
                "message": f"What does objective {first[1].id} say?",
            }
        )
    if fw.statements and fw.statements.mission:
        prompts.append({"title": "Our mission", "message": "What is our mission?"})
    prompts.append(
        {"title": "Align a proposal", "message": "How do I find the objectives my proposal serves?"}
    )
    return prompts[:4]


def _assistant(deps: SlackDeps) -> Assistant:
    """bolt's assistant middleware takes the assistant pane's events: the same plans answer
    them."""
    assistant = Assistant()

    @assistant.thread_started
    def started(body: dict, context: dict) -> None:
        deps.run_durably(THREAD_STARTED, body, context)

    @assistant.user_message
    def user_message(body: dict, context: dict) -> None:
        deps.run_durably(MESSAGE, body, context)

    return assistant


def feature(bot_user_id: str | None) -> Feature:
    """Questions need the bot's user id (to tell mentions of the bot apart)."""
    return Feature("questions", lambda app, deps: register(app, deps, bot_user_id))
