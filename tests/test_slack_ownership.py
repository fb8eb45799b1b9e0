"""Whose is it: an /align run and an answered question belong to the person who ran or asked
them. Through signed requests to the real app: another member cannot act on them (buttons,
the *Edit tags* form, votes) nor see their words through the labelled examples; the owner
and an admin still can."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.services.ownership import NOT_YOUR_ALIGNMENT, NOT_YOUR_QUESTION
from bot.slack.ids import (
    ACTION_ALIGN_CONFIRM,
    ACTION_ALIGN_EDIT,
    ACTION_ALIGN_SHARE,
    ACTION_ALIGN_TRACK,
    ACTION_EDIT_TAGS,
    ACTION_FEEDBACK_HELPFUL,
    ACTION_FEEDBACK_NOT_HELPFUL,
    BLOCK_EDIT_TAGS,
    VIEW_EDIT_TAGS,
)
from tests.slack_fixtures import ADMIN, eventually
from tests.test_slack_align import PARAPHRASE, PROPOSAL, _align, _buttons, _press

OWNER, OTHER = "U1", "U2"
# what the labelled example's "why" used to quote of PROPOSAL (its opening words)
PROPOSAL_OPENING = "Organise a regional workshop"


def _refusals(bot, action: str) -> float:
    return bot.deps.metrics.refused.labels(action)._value.get()


def _owned_alignment(bot) -> int:
    _align(bot, PROPOSAL, user=OWNER)
    (record,) = bot.store.recent_alignments(OWNER)
    return record.id


def _edit_tags_form(bot, alignment_id: int, *, user: str, objective: str = "5.1"):
    r = bot.requests
    state = {
        BLOCK_EDIT_TAGS: {
            ACTION_EDIT_TAGS: {
                "type": "multi_static_select",
                "selected_options": [
                    {"text": {"type": "plain_text", "text": objective}, "value": objective}
                ],
            }
        }
    }
    meta = json.dumps({"a": alignment_id, "c": "C1", "r": None})
    return bot.send(
        r.interaction(
            r.view_submission_payload(VIEW_EDIT_TAGS, state, user=user, private_metadata=meta)
        )
    )


# ---- another member's private words never reach anyone else -----------------------------------


def _confirm_as_owner(bot, alignment_id: int) -> None:
    _, url = _press(bot, ACTION_ALIGN_CONFIRM, str(alignment_id), user=OWNER)
    (reply,) = bot.responses(url)
    assert "Confirmed" in json.dumps(reply)


def test_a_close_example_of_someone_else_shapes_the_tags_without_its_words(slack_bot):
    _confirm_as_owner(slack_bot, _owned_alignment(slack_bot))
    reply, _ = _align(slack_bot, PARAPHRASE, user=OTHER)
    shown = json.dumps(reply, ensure_ascii=False)
    assert "confirmed for a similar proposal (similarity 0." in shown  # the example voted
    assert PROPOSAL_OPENING not in shown and "regional workshop that" not in shown


def test_the_owner_is_shown_their_own_example(slack_bot):
    _confirm_as_owner(slack_bot, _owned_alignment(slack_bot))
    reply, _ = _align(slack_bot, PARAPHRASE, user=OWNER)
    assert f"(“{PROPOSAL_OPENING}" in json.dumps(reply, ensure_ascii=False)


def test_an_example_its_owner_shared_is_quoted_to_others_on_every_replica(slack_bot, assistant):
    from bot.services.alignments import AlignmentService

    alignment_id = _owned_alignment(slack_bot)
    _confirm_as_owner(slack_bot, alignment_id)
    before, _ = _align(slack_bot, PARAPHRASE, user=OTHER)
    assert PROPOSAL_OPENING not in json.dumps(before, ensure_ascii=False)
    _, url = _press(slack_bot, ACTION_ALIGN_SHARE, str(alignment_id), user=OWNER)
    (shared,) = slack_bot.responses(url)
    assert shared["response_type"] == "in_channel"
    after, _ = _align(slack_bot, PARAPHRASE, user=OTHER)
    assert f"(“{PROPOSAL_OPENING}" in json.dumps(after, ensure_ascii=False)
    other_replica = AlignmentService(assistant, slack_bot.store)  # reads the examples anew
    assert PROPOSAL_OPENING in other_replica.align_text(PARAPHRASE, asker=OTHER).tags[0].why


# ---- the buttons of an /align result act only for its owner (or an admin) ------------------


@pytest.mark.parametrize(
    ("action_id", "name"),
    [
        (ACTION_ALIGN_SHARE, "align_share"),
        (ACTION_ALIGN_CONFIRM, "align_confirm"),
        (ACTION_ALIGN_EDIT, "align_edit"),
        (ACTION_ALIGN_TRACK, "align_track"),
    ],
)
def test_a_button_on_someone_elses_alignment_is_refused(slack_bot, action_id, name):
    alignment_id = _owned_alignment(slack_bot)
    _, url = _press(slack_bot, action_id, str(alignment_id), user=OTHER, trigger_id="trig-2")
    slack_bot.drain()
    (reply,) = slack_bot.responses(url)
    assert reply == {**reply, "response_type": "ephemeral", "text": NOT_YOUR_ALIGNMENT}
    assert reply["blocks"] == [] and PROPOSAL_OPENING not in json.dumps(reply)
    assert len(slack_bot.api.calls("response_url")) == 2  # the owner's result, this refusal
    assert slack_bot.api.calls("views.open") == []  # no Edit tags or Track form
    assert slack_bot.api.calls("chat.postMessage") == []  # nothing posted in the channel
    record = slack_bot.store.alignment(alignment_id)
    assert record.status == "suggested" and record.shared_at is None
    assert _refusals(slack_bot, name) == 1


def test_the_edit_tags_form_naming_someone_elses_alignment_stores_nothing(slack_bot):
    alignment_id = _owned_alignment(slack_bot)
    before = [t.id for t in slack_bot.deps.alignments.align_text(PROPOSAL).tags]
    assert "5.1" not in before
    ack = _edit_tags_form(slack_bot, alignment_id, user=OTHER)
    assert ack.status == 200
    slack_bot.drain()
    (refusal,) = slack_bot.api.calls("chat.postEphemeral")
    assert refusal.params["user"] == OTHER and refusal.params["text"] == NOT_YOUR_ALIGNMENT
    assert slack_bot.store.alignment(alignment_id).status == "suggested"
    # the next person aligning the same text is not steered by the forged correction
    assert [t.id for t in slack_bot.deps.alignments.align_text(PROPOSAL).tags] == before
    assert _refusals(slack_bot, "align_edit_tags") == 1


def test_an_admin_may_act_on_someone_elses_alignment(slack_bot):
    alignment_id = _owned_alignment(slack_bot)
    _, url = _press(slack_bot, ACTION_ALIGN_EDIT, str(alignment_id), user=ADMIN, trigger_id="t3")
    (opened,) = slack_bot.api.wait_for("views.open")
    assert opened.params["view"]["callback_id"] == VIEW_EDIT_TAGS
    assert _edit_tags_form(slack_bot, alignment_id, user=ADMIN).status == 200
    decided = eventually(
        lambda: (a := slack_bot.store.alignment(alignment_id)).status != "suggested" and a
    )
    assert decided.final_ids == ("5.1",) and decided.decided_by == ADMIN
    assert decided.user_id == OWNER  # still the owner's words
    _, url = _press(slack_bot, ACTION_ALIGN_SHARE, str(alignment_id), user=ADMIN)
    (shared,) = slack_bot.responses(url)
    assert shared["response_type"] == "in_channel" and f"<@{OWNER}>" in json.dumps(shared)
    assert _buttons(shared) == {}  # the shared copy carries no owner actions
    _, url = _press(slack_bot, ACTION_ALIGN_CONFIRM, str(alignment_id), user=ADMIN)
    (confirmed,) = slack_bot.responses(url)
    assert confirmed["replace_original"] is True
    assert slack_bot.store.alignment(alignment_id).decided_by == ADMIN
    assert _refusals(slack_bot, "align_share") == _refusals(slack_bot, "align_confirm") == 0


def test_the_owner_may_track_their_alignment(slack_bot):
    alignment_id = _owned_alignment(slack_bot)
    _press(slack_bot, ACTION_ALIGN_TRACK, str(alignment_id), user=OWNER, trigger_id="t4")
    (opened,) = slack_bot.api.wait_for("views.open")
    assert PROPOSAL_OPENING in json.dumps(opened.params["view"])


# ---- votes on an answer count only from who asked (or an admin) ------------------------------


def _asked_in_thread(bot) -> tuple[int, dict]:
    r = bot.requests
    bot.send(
        r.event(
            r.app_mention_event(
                "<@UBOT> What does objective 1.4 say?", user=OWNER, channel="C1", ts="900.1"
            )
        )
    )
    (post,) = bot.api.wait_for("chat.postMessage")
    (exchange,) = bot.store.thread_exchanges("C1", "900.1")
    return exchange.id, post


def _vote(bot, action: str, exchange_id: int, *, user: str, channel: str = "C1") -> dict:
    r = bot.requests
    url = bot.api.response_url()
    ack = bot.send(
        r.interaction(
            r.block_actions_payload(
                action, str(exchange_id), user=user, channel=channel, response_url=url
            )
        )
    )
    assert ack.status == 200
    (reply,) = bot.responses(url)
    return reply


def test_a_vote_on_someone_elses_answer_is_refused_and_stored_nowhere(slack_bot):
    exchange_id, _ = _asked_in_thread(slack_bot)
    for action in (ACTION_FEEDBACK_NOT_HELPFUL, ACTION_FEEDBACK_HELPFUL):
        reply = _vote(slack_bot, action, exchange_id, user=OTHER)
        assert reply["response_type"] == "ephemeral" and reply["text"] == NOT_YOUR_QUESTION
    assert slack_bot.store.feedback_rows() == []  # so `fwbot feedback export` has nothing
    assert _refusals(slack_bot, "feedback") == 2


def test_a_vote_on_someone_elses_private_dm_answer_is_refused(slack_bot):
    r = slack_bot.requests
    slack_bot.send(
        r.event(r.message_im_event("What is our vision?", user=OWNER, channel="D1", ts="601.1"))
    )
    slack_bot.api.wait_for("chat.postMessage")
    slack_bot.drain()
    (exchange,) = slack_bot.store.recent_exchanges("D1", since=datetime(2000, 1, 1, tzinfo=UTC))
    reply = _vote(slack_bot, ACTION_FEEDBACK_NOT_HELPFUL, exchange.id, user=OTHER, channel="D2")
    assert reply["text"] == NOT_YOUR_QUESTION and "vision" not in json.dumps(reply)
    assert slack_bot.store.feedback_rows() == []


def test_the_asker_and_an_admin_may_vote(slack_bot):
    exchange_id, _ = _asked_in_thread(slack_bot)
    assert (
        "Thanks" in _vote(slack_bot, ACTION_FEEDBACK_NOT_HELPFUL, exchange_id, user=OWNER)["text"]
    )
    assert (
        "Thanks" in _vote(slack_bot, ACTION_FEEDBACK_NOT_HELPFUL, exchange_id, user=ADMIN)["text"]
    )
    (row,) = slack_bot.store.feedback_rows()
    assert (row.helpful, row.not_helpful) == (0, 2)
    assert _refusals(slack_bot, "feedback") == 0


def test_a_new_initiative_form_naming_someone_elses_alignment_does_not_link_it(slack_bot):
    """The form's metadata comes back from the client: a forged one naming another user's
    alignment creates the initiative without the link (the owner's own still links)."""
    from bot.slack.ids import VIEW_PROGRESS_NEW
    from tests.test_slack_progress import new_state

    alignment_id = _owned_alignment(slack_bot)
    r = slack_bot.requests
    for user, title in ((OTHER, "Forged link"), (OWNER, "Own link")):
        meta = json.dumps({"a": alignment_id, "c": "C1", "r": None})
        ack = slack_bot.send(
            r.interaction(
                r.view_submission_payload(
                    VIEW_PROGRESS_NEW,
                    new_state(title=title, owner=user),
                    user=user,
                    private_metadata=meta,
                )
            )
        )
        assert ack.status == 200
    slack_bot.drain()
    linked = {i.title: i.source_alignment_id for i in slack_bot.progress.store.initiatives()}
    assert linked == {"Forged link": None, "Own link": alignment_id}
