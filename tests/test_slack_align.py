"""/align in Slack: the ephemeral result, its buttons, the modal, and learning from decisions."""

from __future__ import annotations

import json

from bot.slack.ids import (
    ACTION_ALIGN_CONFIRM,
    ACTION_ALIGN_EDIT,
    ACTION_ALIGN_SHARE,
    ACTION_ALIGN_TRACK,
    ACTION_EDIT_TAGS,
    BLOCK_EDIT_TAGS,
    SHORTCUT_ALIGN_MESSAGE,
    VIEW_EDIT_TAGS,
)
from tests.slack_fixtures import eventually

PROPOSAL = (
    "Organise a regional workshop that trains border police officers to check "
    "travel documents against the stolen passport database."
)
PARAPHRASE = (
    "Run a regional training workshop so that border police officers learn to "
    "check travel documents against the database of stolen passports."
)


def _buttons(message: dict) -> dict[str, str]:
    return {
        e["action_id"]: e.get("value")
        for b in message.get("blocks", [])
        if b["type"] == "actions"
        for e in b["elements"]
    }


def _align(bot, text: str, user: str = "U1") -> tuple[dict, str]:
    ack, url = bot.command(text, user=user)
    assert ack.status == 200 and not ack.body  # acked at once, nothing shown yet
    (reply,) = bot.responses(url)
    return reply, url


def _press(
    bot,
    action_id: str,
    value: str,
    *,
    user: str = "U1",
    channel: str = "C1",
    trigger_id: str | None = None,
) -> tuple[object, str]:
    url = bot.api.response_url()
    r = bot.requests
    ack = bot.send(
        r.interaction(
            r.block_actions_payload(
                action_id,
                value,
                user=user,
                channel=channel,
                response_url=url,
                trigger_id=trigger_id,
                container_type="message",
            )
        )
    )
    return ack, url


def _tag_ids(bot, text: str) -> list[str]:
    return [t.id for t in bot.deps.alignments.align_text(text).tags]


def test_align_replies_privately_with_tags_and_buttons(slack_bot):
    reply, _ = _align(slack_bot, PROPOSAL)
    assert reply["response_type"] == "ephemeral"
    body = json.dumps(reply["blocks"])
    (record,) = slack_bot.store.recent_alignments("U1")
    assert record.suggested_ids and all(i in body for i in record.suggested_ids)
    assert "confidence" in body
    buttons = _buttons(reply)
    assert set(buttons) == {
        ACTION_ALIGN_SHARE,
        ACTION_ALIGN_CONFIRM,
        ACTION_ALIGN_EDIT,
        ACTION_ALIGN_TRACK,
    }
    assert set(buttons.values()) == {str(record.id)}


def test_align_without_text_answers_with_usage_in_the_ack(slack_bot):
    ack, _ = slack_bot.command("   ")
    assert ack.status == 200
    body = json.loads(ack.body)
    assert body["response_type"] == "ephemeral" and "/align" in json.dumps(body)
    slack_bot.drain()
    assert slack_bot.api.calls("response_url") == []


def test_user_text_never_pings_anyone(slack_bot):
    reply, _ = _align(
        slack_bot,
        "<!channel> <!here> <!everyone> <@U999> train officers to "
        "use the fingerprint database & share data",
    )
    raw = json.dumps(reply)
    for ping in ("<!channel>", "<!here>", "<!everyone>", "<@U999>"):
        assert ping not in raw
    assert "&lt;!channel&gt;" in raw or "@channel" in raw


def test_text_without_words_gets_a_clear_message(slack_bot):
    reply, _ = _align(slack_bot, "1234 5678 !!!")
    assert "align" in reply["text"].lower() or "words" in reply["text"].lower()
    assert slack_bot.store.recent_alignments("U1") == []


def test_very_long_text_says_what_was_not_considered(slack_bot):
    reply, _ = _align(slack_bot, " ".join(["Train officers on the fingerprint database."] * 3500))
    assert "not considered" in json.dumps(reply) or "first" in json.dumps(reply)


def test_confirm_stores_the_decision_and_replaces_the_message(slack_bot):
    _align(slack_bot, PROPOSAL)
    (record,) = slack_bot.store.recent_alignments("U1")
    ack, url = _press(slack_bot, ACTION_ALIGN_CONFIRM, str(record.id))
    assert ack.status == 200
    (reply,) = slack_bot.responses(url)
    assert reply["replace_original"] is True and "Confirmed" in json.dumps(reply)
    assert ACTION_ALIGN_CONFIRM not in _buttons(reply)
    decided = slack_bot.store.alignment(record.id)
    assert decided.status == "confirmed" and decided.final_ids == record.suggested_ids


def test_edit_tags_opens_a_modal_and_a_correction_is_stored(slack_bot):
    _align(slack_bot, PROPOSAL)
    (record,) = slack_bot.store.recent_alignments("U1")
    _press(slack_bot, ACTION_ALIGN_EDIT, str(record.id), trigger_id="trig-1")
    (opened,) = slack_bot.api.wait_for("views.open")
    view = opened.params["view"]
    assert view["callback_id"] == VIEW_EDIT_TAGS
    select = view["blocks"][0]["element"]
    assert {o["value"] for o in select.get("initial_options", [])} == set(record.suggested_ids)
    r = slack_bot.requests
    state = {
        BLOCK_EDIT_TAGS: {
            ACTION_EDIT_TAGS: {
                "type": "multi_static_select",
                "selected_options": [
                    {"text": {"type": "plain_text", "text": "5.1"}, "value": "5.1"}
                ],
            }
        }
    }
    ack = slack_bot.send(
        r.interaction(
            r.view_submission_payload(
                VIEW_EDIT_TAGS, state, user="U1", private_metadata=view["private_metadata"]
            )
        )
    )
    assert ack.status == 200 and not ack.body  # the modal closes
    decided = eventually(
        lambda: (a := slack_bot.store.alignment(record.id)).status != "suggested" and a
    )
    assert decided.status == "corrected" and decided.final_ids == ("5.1",)


def test_an_out_of_date_edit_form_is_answered_in_the_ack_and_not_kept(slack_bot):
    r = slack_bot.requests
    ack = slack_bot.send(
        r.interaction(
            r.view_submission_payload(VIEW_EDIT_TAGS, {}, user="U1", private_metadata="{}")
        )
    )
    body = json.loads(ack.body)
    assert ack.status == 200 and body["response_action"] == "errors"
    assert "out of date" in body["errors"][BLOCK_EDIT_TAGS]
    slack_bot.drain()
    assert slack_bot.api.calls("response_url") == []


def test_expired_trigger_tells_the_user_to_click_again(slack_bot):
    _align(slack_bot, PROPOSAL)
    (record,) = slack_bot.store.recent_alignments("U1")
    _, url = _press(slack_bot, ACTION_ALIGN_EDIT, str(record.id), trigger_id="expired-1")
    (reply,) = slack_bot.responses(url)
    assert "again" in reply["text"]


def test_a_correction_changes_the_tags_of_a_close_paraphrase(slack_bot):
    unrelated = "Upgrade the video conferencing rooms at the General Secretariat."
    before, unrelated_before = _tag_ids(slack_bot, PARAPHRASE), _tag_ids(slack_bot, unrelated)
    assert "5.1" not in before
    _align(slack_bot, PROPOSAL)
    (record,) = slack_bot.store.recent_alignments("U1")
    slack_bot.deps.alignments.decide(record.id, user_id="U1", ids=["5.1"])
    after = slack_bot.deps.alignments.align_text(PARAPHRASE)
    assert after.tags[0].id == "5.1" and after.tags[0].confidence in ("high", "medium")
    assert "similar proposal" in after.tags[0].why
    # An unrelated proposal is not dragged along.
    assert _tag_ids(slack_bot, unrelated) == unrelated_before


def test_a_correction_to_no_objective_suppresses_the_tags_of_a_paraphrase(slack_bot):
    assert _tag_ids(slack_bot, PARAPHRASE)
    _align(slack_bot, PROPOSAL)
    (record,) = slack_bot.store.recent_alignments("U1")
    slack_bot.deps.alignments.decide(record.id, user_id="U1", ids=[])
    after = slack_bot.deps.alignments.align_text(PARAPHRASE)
    assert after.no_fit and not after.tags and after.nearest


def test_examples_are_shared_through_the_database(slack_bot, assistant):
    from bot.services.alignments import AlignmentService

    _align(slack_bot, PROPOSAL)
    (record,) = slack_bot.store.recent_alignments("U1")
    slack_bot.deps.alignments.decide(record.id, user_id="U1", ids=["5.1"])
    other_replica = AlignmentService(assistant, slack_bot.store)
    assert other_replica.align_text(PARAPHRASE).tags[0].id == "5.1"


def test_share_posts_in_channel(slack_bot):
    _align(slack_bot, PROPOSAL)
    (record,) = slack_bot.store.recent_alignments("U1")
    _, url = _press(slack_bot, ACTION_ALIGN_SHARE, str(record.id))
    (shared,) = slack_bot.responses(url)
    assert shared["response_type"] == "in_channel" and "<@U1>" in json.dumps(shared)
    assert _buttons(shared) == {}


def test_a_used_up_response_url_falls_back_to_an_ephemeral_message(slack_bot):
    slack_bot.api.fail_next("response_url", status=404, error="used_url")
    slack_bot.command(PROPOSAL)
    (eph,) = slack_bot.api.wait_for("chat.postEphemeral")
    assert eph.params["user"] == "U1" and eph.params["channel"] == "C1"


def test_when_the_bot_is_not_in_the_channel_the_reply_comes_by_dm(slack_bot):
    slack_bot.api.fail_next("response_url", status=404, error="used_url")
    slack_bot.api.fail_next("chat.postEphemeral", error="not_in_channel")
    slack_bot.command(PROPOSAL)
    (dm,) = slack_bot.api.wait_for("chat.postMessage")
    assert dm.params["channel"] == "U1"


def test_message_shortcut_aligns_the_message(slack_bot):
    r = slack_bot.requests
    url = slack_bot.api.response_url()
    ack = slack_bot.send(
        r.interaction(
            r.message_shortcut_payload(
                SHORTCUT_ALIGN_MESSAGE,
                {"type": "message", "text": PROPOSAL, "ts": "1.2", "user": "U7"},
                user="U1",
                channel="C1",
                response_url=url,
            )
        )
    )
    assert ack.status == 200
    (reply,) = slack_bot.responses(url)
    assert _buttons(reply)
    assert slack_bot.store.recent_alignments("U1")[0].text == PROPOSAL


def test_track_button_says_tracking_is_not_on_when_progress_is_off(slack_bot_without_progress):
    bot = slack_bot_without_progress
    _align(bot, PROPOSAL)
    (record,) = bot.store.recent_alignments("U1")
    _, url = _press(bot, ACTION_ALIGN_TRACK, str(record.id))
    (reply,) = bot.responses(url)
    assert "isn't switched on" in reply["text"]


def test_unknown_alignment_id_is_refused_kindly(slack_bot):
    _, url = _press(slack_bot, ACTION_ALIGN_CONFIRM, "424242")
    (reply,) = slack_bot.responses(url)
    assert "run /align again" in reply["text"]


def test_a_failure_after_the_ack_is_told_to_the_user(slack_bot, monkeypatch):
    def broken(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(slack_bot.deps.alignments, "align", broken)
    ack, url = slack_bot.command(PROPOSAL)
    assert ack.status == 200
    (reply,) = slack_bot.responses(url)
    assert "couldn't align" in reply["text"] and "ref" in reply["text"]


def test_a_stored_alignment_is_rebuilt_as_it_was_suggested(slack_bot):
    """What Share and the decided message are built from: the stored run, with each tag's
    why, evidence and note as the engine gave them."""
    run = slack_bot.deps.alignments.align(PROPOSAL, user_id="U1", channel_id="C1")
    record = slack_bot.deps.alignments.find(run.alignment_id)
    rebuilt = slack_bot.deps.alignments.stored(record)
    assert run.alignment.tags and rebuilt.tags == run.alignment.tags
