"""/progress against signed requests sent by someone else than Slack's own buttons would:
refusals that name nothing the asker may not see, clicks whose payload carries a message of
its own, and form submissions replayed. The real bolt app, the fake Slack, SQLite."""

from __future__ import annotations

import json

from bot.slack.ids import (
    ACTION_PROGRESS_NO_CHANGE,
    ACTION_PROGRESS_SNOOZE_TOMORROW,
    ACTION_PROGRESS_UPDATE,
    ACTION_UPDATE_INITIATIVE,
    VIEW_PROGRESS_NEW,
    VIEW_PROGRESS_UPDATE,
)
from tests.progress_fixtures import dump
from tests.slack_fixtures import ADMIN
from tests.test_slack_progress import (
    initiative,
    new_state,
    opened,
    press,
    progress,
    reply,
    send_nudge,
    update_state,
)

SECRET_TITLE = "Secret merger plan"
FORGED = "<!channel> Your account is locked, log in at https://evil.example"
UNKNOWN = 999


# ---- 1. refusals --------------------------------------------------------------------------


def _switch(bot, number: int, *, user: str) -> str:
    """The update form's initiative menu switched to ``number``; what ``user`` is told."""
    url = bot.api.response_url()
    r = bot.requests
    view = {"id": "V9", "hash": "h1", "private_metadata": json.dumps({"c": "C1", "r": url})}
    bot.send(
        r.interaction(
            r.block_actions_payload(
                ACTION_UPDATE_INITIATIVE,
                str(number),
                user=user,
                view=view,
                action_type="static_select",
            )
        )
    )
    return bot.responses(url)[0]["text"]


def answers_about(bot, number: int, form: dict, *, user: str = "U2") -> list[str]:
    """What ``user`` is told by every way of naming initiative ``number``: the commands, the
    buttons, the update form submitted for it (``form``: a form to copy) and its menu."""
    texts = [
        reply(bot, f"close #{number}", user=user),
        reply(bot, f"reassign {number} <@U3>", user=user),
        reply(bot, f"update #{number}", user=user),
    ]
    for action in (ACTION_PROGRESS_UPDATE, ACTION_PROGRESS_NO_CHANGE):
        texts.append(bot.responses(press(bot, action, str(number), user=user))[0]["text"])
    r = bot.requests
    state = update_state(form, status="done", initiative_id=number)
    ack = bot.send(r.interaction(r.view_submission_payload(VIEW_PROGRESS_UPDATE, state, user=user)))
    texts.append(json.loads(ack.body)["errors"]["pu_initiative"])
    texts.append(_switch(bot, number, user=user))
    return texts


def test_someone_elses_initiative_and_an_unknown_one_get_the_same_answer(slack_bot):
    bot = slack_bot
    mine = initiative(bot, "My own")  # U1's, for a form to copy
    theirs = initiative(bot, SECRET_TITLE, owner="U1", status=None)  # no update yet
    progress(bot, f"update #{mine}")
    form = opened(bot)

    about_theirs = answers_about(bot, theirs, form)
    about_unknown = answers_about(bot, UNKNOWN, form)
    bot.drain()

    for text in about_theirs + about_unknown:
        assert "initiatives you own" in text, text
        assert "Secret" not in text and "U1" not in text, text
    assert [t.replace(f"#{theirs}", "#N") for t in about_theirs] == [
        t.replace(f"#{UNKNOWN}", "#N") for t in about_unknown
    ]
    assert bot.progress.store.updates(theirs) == []
    assert bot.progress.get(theirs).status == "active"
    assert len(bot.api.calls("views.open")) == 1  # only U1's own form
    assert bot.api.calls("views.update") == []


def test_owners_and_admins_still_see_the_title(slack_bot):
    bot = slack_bot
    fresh = initiative(bot, SECRET_TITLE, owner="U1", status=None)
    for user in ("U1", ADMIN):
        url = press(bot, ACTION_PROGRESS_NO_CHANGE, str(fresh), user=user)
        text = bot.responses(url)[0]["text"]
        assert SECRET_TITLE in text and "no update yet" in text
    assert "There is no initiative #999" in reply(bot, f"close #{UNKNOWN}", user=ADMIN)
    assert SECRET_TITLE in reply(bot, f"close #{fresh}", user=ADMIN)
    assert "already closed" in reply(bot, f"close #{fresh}")  # the owner
    other = initiative(bot, "Another secret", owner="U1")
    assert "Another secret" in reply(bot, f"close #{other}")


# ---- 2. a click's message is never echoed --------------------------------------------------


def _forged(message: dict, initiative_id: int | None = None) -> dict:
    """``message`` as a forged click carries it: its blocks replaced by a lie (with, if
    given, an item block of ``initiative_id`` so that a listener would take it for one)."""
    blocks: list[dict] = [{"type": "section", "text": {"type": "mrkdwn", "text": FORGED}}]
    if initiative_id is not None:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"progress_item:{initiative_id}",
                "elements": [
                    {
                        "type": "button",
                        "action_id": ACTION_PROGRESS_NO_CHANGE,
                        "text": {"type": "plain_text", "text": "No change"},
                        "value": str(initiative_id),
                    }
                ],
            },
        )
    blocks.append({"type": "actions", "block_id": "progress_snooze", "elements": []})
    return {**message, "text": FORGED, "blocks": blocks}


def test_a_forged_snooze_click_rebuilds_the_nudge_from_what_slack_holds(slack_bot):
    bot = slack_bot
    item = initiative(bot)
    channel, message = send_nudge(bot, "U1", item)
    press(
        bot, ACTION_PROGRESS_SNOOZE_TOMORROW, "tomorrow", channel=channel, message=_forged(message)
    )
    bot.drain()
    (update,) = bot.api.calls("chat.update")
    assert FORGED not in dump(update.params)
    shown = bot.api.messages(channel)[-1]
    assert FORGED not in dump(shown) and "Snoozed until <!date^" in dump(shown["blocks"])
    assert f"progress_item:{item}" in dump(shown["blocks"])  # the nudge's own item, kept


def test_a_forged_no_change_click_rebuilds_the_nudge_from_what_slack_holds(slack_bot):
    bot = slack_bot
    item = initiative(bot)
    channel, message = send_nudge(bot, "U1", item)
    press(
        bot, ACTION_PROGRESS_NO_CHANGE, str(item), channel=channel, message=_forged(message, item)
    )
    bot.drain()
    (update,) = bot.api.calls("chat.update")
    assert FORGED not in dump(update.params)
    assert "No change: still At risk" in dump(bot.api.messages(channel)[-1]["blocks"])


def test_only_my_own_nudge_in_my_dm_is_changed(slack_bot):
    bot = slack_bot
    item = initiative(bot)
    channel, message = send_nudge(bot, "U1", item)
    # someone else pointing at U1's nudge
    url = press(
        bot,
        ACTION_PROGRESS_SNOOZE_TOMORROW,
        "tomorrow",
        user="U2",
        channel=channel,
        message=_forged(message),
    )
    assert "Snoozed until" in bot.responses(url)[0]["text"]
    # a message of the bot's in U1's DM that is not a nudge
    other = bot.deps.delivery.client.chat_postMessage(channel="U1", text="Hello")
    not_nudge = {**bot.api.messages(channel)[-1], "ts": other["ts"]}
    url = press(
        bot,
        ACTION_PROGRESS_SNOOZE_TOMORROW,
        "tomorrow",
        channel=channel,
        message=_forged(not_nudge),
    )
    assert "Snoozed until" in bot.responses(url)[0]["text"]
    bot.drain()
    assert bot.api.calls("chat.update") == []
    assert all(FORGED not in dump(m) for m in bot.api.messages(channel))


def test_no_change_in_a_list_rebuilds_the_list(slack_bot):
    bot = slack_bot
    item = initiative(bot, "Listed")
    url = bot.api.response_url()
    r = bot.requests
    payload = r.block_actions_payload(
        ACTION_PROGRESS_NO_CHANGE,
        str(item),
        user="U1",
        channel="C1",
        response_url=url,
        message=_forged({"type": "message", "ts": "1.000001"}, item),
    )
    payload["container"]["is_ephemeral"] = True
    bot.send(r.interaction(payload))
    (answer,) = bot.responses(url)
    assert answer.get("replace_original") is True
    assert FORGED not in dump(answer)
    assert "Listed" in dump(answer["blocks"]) and "No change: still At risk" in dump(
        answer["blocks"]
    )


# ---- 3. replayed form submissions ----------------------------------------------------------


def duplicates(bot) -> float:
    return bot.deps.metrics.duplicates._value.get()


def test_a_replayed_update_submission_writes_once(slack_bot):
    bot = slack_bot
    item = initiative(bot)
    progress(bot, f"update #{item}")
    view = opened(bot)
    r = bot.requests
    state = update_state(view, status="done", percent="100", note="Finished")
    signed = r.interaction(
        r.view_submission_payload(
            VIEW_PROGRESS_UPDATE, state, user="U1", private_metadata=view["private_metadata"]
        )
    )
    before = duplicates(bot)
    for _ in range(2):
        ack = bot.send(signed)
        assert ack.status == 200 and not ack.body  # the modal closes, both times
    bot.drain()
    assert [u.note for u in bot.progress.store.updates(item)].count("Finished") == 1
    assert duplicates(bot) == before + 1
    # a genuine second submission (a new trigger id) still writes
    again = r.interaction(
        r.view_submission_payload(
            VIEW_PROGRESS_UPDATE, state, user="U1", private_metadata=view["private_metadata"]
        )
    )
    assert not bot.send(again).body
    assert [u.note for u in bot.progress.store.updates(item)].count("Finished") == 2


def test_a_replayed_new_initiative_submission_creates_one(slack_bot):
    bot = slack_bot
    progress(bot, "new")
    view = opened(bot)
    r = bot.requests
    signed = r.interaction(
        r.view_submission_payload(
            VIEW_PROGRESS_NEW,
            new_state(title="Only once"),
            user="U1",
            private_metadata=view["private_metadata"],
        )
    )
    before = duplicates(bot)
    for _ in range(2):
        ack = bot.send(signed)
        assert ack.status == 200 and not ack.body
    bot.drain()
    assert [i.title for i in bot.progress.store.initiatives()] == ["Only once"]
    assert duplicates(bot) == before + 1
    texts = [c.params.get("text", "") for c in bot.api.calls("response_url")]
    assert sum("Only once" in t for t in texts) == 1  # confirmed once
