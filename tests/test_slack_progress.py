"""Progress tracking through Slack: `/progress` and its subcommands, the modals, the buttons
of lists, nudges and App Home, /align's "Track as initiative" — the real bolt app, signed
requests, the fake Web API and a real database (SQLite; the core flow on PostgreSQL too)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import pytest
import yaml

from bot.progress.schedule import NudgePlan
from bot.slack.blocks.progress import nudge_message
from bot.slack.ids import (
    ACTION_ALIGN_TRACK,
    ACTION_PROGRESS_NEW,
    ACTION_PROGRESS_NO_CHANGE,
    ACTION_PROGRESS_SNOOZE_TOMORROW,
    ACTION_PROGRESS_SNOOZE_WEEK,
    ACTION_PROGRESS_UPDATE,
    ACTION_UPDATE_INITIATIVE,
    COMMAND_PROGRESS,
    VIEW_PROGRESS_NEW,
    VIEW_PROGRESS_UPDATE,
)
from bot.storage.claims_store import ClaimStore
from bot.storage.progress_records import NewInitiative
from tests.progress_fixtures import dump
from tests.slack_fixtures import ADMIN, START, eventually

NOT_YOURS = "You can only change initiatives you own"
PROPOSAL = (
    "Organise a regional workshop that trains border police officers to check "
    "travel documents against the stolen passport database."
)


# ---- helpers ----------------------------------------------------------------------------------


def progress(bot, text: str, *, user: str = "U1", channel: str = "C1") -> str:
    """Run ``/progress text``; the command's response URL."""
    ack, url = bot.command(text, user=user, channel=channel, command=COMMAND_PROGRESS)
    assert ack.status == 200 and not ack.body
    return url


def reply(bot, text: str, **kw) -> str:
    """The text of the (first) private answer to ``/progress text``."""
    (answer,) = bot.responses(progress(bot, text, **kw))
    assert answer["response_type"] == "ephemeral"
    return answer["text"]


def initiative(
    bot,
    title: str = "Border training",
    *,
    owner: str = "U1",
    ids: tuple[str, ...] = ("1.1",),
    status: str | None = "at_risk",
    percent: int | None = 30,
    days_ago: int = 10,
) -> int:
    """An initiative whose last update (if ``status``) was ``days_ago`` days ago."""
    then = START - timedelta(days=days_ago)
    bot.clock.now = then
    try:
        record = bot.progress.create(
            NewInitiative(title=title, owner_id=owner, objective_ids=ids), actor=owner
        )
        if status:
            bot.progress.post_update(record.id, actor=owner, status=status, percent=percent)
    finally:
        bot.clock.now = START
    return record.id


def opened(bot, count: int = 1) -> dict:
    """The view of the ``count``-th views.open."""
    return bot.api.wait_for("views.open", count=count)[count - 1].params["view"]


def blocks_by_id(view: dict) -> dict[str, dict]:
    return {b.get("block_id"): b for b in view["blocks"]}


def update_state(
    view: dict, *, status: str, percent: str = "", note: str = "", initiative_id: int | None = None
) -> dict:
    """The state a person leaves in the update modal ``view`` (block ids as it has them)."""
    ids = blocks_by_id(view)
    menu = ids["pu_initiative"]["element"]
    chosen = str(initiative_id) if initiative_id else menu["initial_option"]["value"]

    def block(prefix: str) -> str:
        return next(k for k in ids if k and k.startswith(prefix + ":"))

    return {
        "pu_initiative": {
            "pu_initiative_select": {"type": "static_select", "selected_option": {"value": chosen}}
        },
        block("pu_status"): {
            "pu_status_select": {"type": "static_select", "selected_option": {"value": status}}
        },
        block("pu_percent"): {"pu_percent_input": {"type": "number_input", "value": percent}},
        block("pu_note"): {"pu_note_input": {"type": "plain_text_input", "value": note}},
    }


def new_state(
    *,
    title: str = "Train officers",
    ids: tuple[str, ...] = ("1.1", "2.3"),
    owner: str | None = "U1",
    cadence: str = "weekly",
) -> dict:
    return {
        "ni_title": {"ni_title_input": title},
        "ni_description": {"ni_description_input": "Why it matters"},
        "ni_objectives": {
            "ni_objectives_select": {
                "type": "multi_static_select",
                "selected_options": [
                    {"value": i, "text": {"type": "plain_text", "text": i}} for i in ids
                ],
            }
        },
        "ni_owner": {"ni_owner_select": {"type": "users_select", "selected_user": owner}},
        "ni_cadence": {
            "ni_cadence_select": {"type": "static_select", "selected_option": {"value": cadence}}
        },
    }


def submit(bot, callback_id: str, state: dict, *, view: dict, user: str = "U1") -> dict:
    """Submit a modal; the ack's body ({} when the modal closes)."""
    r = bot.requests
    ack = bot.send(
        r.interaction(
            r.view_submission_payload(
                callback_id, state, user=user, private_metadata=view.get("private_metadata", "")
            )
        )
    )
    assert ack.status == 200
    return json.loads(ack.body) if ack.body else {}


def press(
    bot,
    action_id: str,
    value: str,
    *,
    user: str = "U1",
    channel: str = "C1",
    message: dict | None = None,
    view: dict | None = None,
    trigger_id: str | None = None,
) -> str:
    """Press a button in a message (or, with ``view``, in App Home); its response URL."""
    url = bot.api.response_url()
    r = bot.requests
    ack = bot.send(
        r.interaction(
            r.block_actions_payload(
                action_id,
                value,
                user=user,
                channel=None if view else channel,
                response_url=None if view else url,
                message=message,
                view=view,
                trigger_id=trigger_id,
            )
        )
    )
    assert ack.status == 200
    return url


def send_nudge(bot, owner: str, *ids: int, week: str = "2026-W49") -> tuple[str, dict]:
    """Post the weekly nudge DM for these initiatives as the nudger would, claim recorded;
    (channel, msg)."""
    items = tuple(bot.progress.get(i) for i in ids)
    message = nudge_message(NudgePlan(owner, week, START, "UTC", items, ""), now=START)
    claims = ClaimStore(bot.progress.store.database)
    claim = claims.claim(
        "nudge",
        owner,
        week,
        claimed_by="test",
        lease_until=START + timedelta(minutes=10),
        detail={"items": list(ids)},
    )
    posted = bot.deps.delivery.client.chat_postMessage(channel=owner, **message.payload())
    channel = posted["channel"]
    claims.finish(
        claim.id, claimed_by="test", state="sent", channel_id=channel, message_ts=posted["ts"]
    )
    return channel, bot.api.messages(channel)[-1]


def dm_texts(bot, user: str) -> list[str]:
    return [m.get("text", "") for m in bot.api.messages("D" + user)]


# ---- /progress new, and the update modal: the core flow, on both databases ---------------------


@pytest.fixture(params=["slack_bot", "slack_bot_pg"])
def any_bot(request):
    return request.getfixturevalue(request.param)


def test_new_initiative_then_an_update(any_bot):
    bot = any_bot
    url = progress(bot, "new Train border officers")
    view = opened(bot)
    assert view["callback_id"] == VIEW_PROGRESS_NEW
    fields = blocks_by_id(view)
    assert fields["ni_title"]["element"]["initial_value"] == "Train border officers"
    assert fields["ni_owner"]["element"]["initial_user"] == "U1"

    assert submit(bot, VIEW_PROGRESS_NEW, new_state(title="Train border officers"), view=view) == {}
    (record,) = bot.progress.mine("U1")
    assert (record.title, record.objective_ids, record.cadence) == (
        "Train border officers",
        ("1.1", "2.3"),
        "weekly",
    )
    (confirmation,) = bot.responses(url)
    assert (
        f"#{record.id}" in confirmation["text"] and "Train border officers" in confirmation["text"]
    )

    # `/progress` opens the update form on it; submitting records the update.
    bot.clock.advance(days=9)
    url = progress(bot, "")
    view = opened(bot, 2)
    assert view["callback_id"] == VIEW_PROGRESS_UPDATE
    state = update_state(view, status="on_track", percent="45", note="Two sessions held")
    assert submit(bot, VIEW_PROGRESS_UPDATE, state, view=view) == {}
    (update,) = bot.progress.store.updates(record.id)
    assert (update.status, update.percent, update.note, update.author_id) == (
        "on_track",
        45,
        "Two sessions held",
        "U1",
    )
    (thanks,) = bot.responses(url)
    assert "Thank you" in thanks["text"] and "On track" in thanks["text"]


def test_bare_progress_opens_the_most_overdue_prefilled(slack_bot):
    bot = slack_bot
    initiative(bot, "Recent", status="on_track", percent=80, days_ago=2)
    oldest = initiative(bot, "Old", status="at_risk", percent=30, days_ago=20)
    progress(bot, "")
    view = opened(bot)
    fields = blocks_by_id(view)
    menu = fields["pu_initiative"]["element"]
    assert menu["initial_option"]["value"] == str(oldest)
    assert {o["value"] for o in menu["options"]} == {"1", "2"}
    assert fields[f"pu_status:{oldest}"]["element"]["initial_option"]["value"] == "at_risk"
    assert fields[f"pu_percent:{oldest}"]["element"]["initial_value"] == "30"
    assert "overdue since" in dump(view)


def test_bare_progress_without_initiatives_explains_how_to_start(slack_bot):
    text = reply(slack_bot, "")
    assert "/progress new" in text
    assert slack_bot.api.calls("views.open") == []


def test_bad_submissions_get_errors_on_the_right_field(slack_bot):
    bot = slack_bot
    progress(bot, "new")
    view = opened(bot)
    errors = submit(bot, VIEW_PROGRESS_NEW, new_state(title="   "), view=view)
    assert errors["response_action"] == "errors" and set(errors["errors"]) == {"ni_title"}
    errors = submit(bot, VIEW_PROGRESS_NEW, new_state(ids=("1.1", "9.9")), view=view)
    assert set(errors["errors"]) == {"ni_objectives"} and "9.9" in errors["errors"]["ni_objectives"]
    errors = submit(bot, VIEW_PROGRESS_NEW, new_state(ids=()), view=view)
    assert set(errors["errors"]) == {"ni_objectives"}
    assert bot.progress.store.initiatives(status=None) == []

    item = initiative(bot)
    progress(bot, "")
    view = opened(bot, 2)
    for bad in ("150", "12.5", "-3"):
        errors = submit(
            bot, VIEW_PROGRESS_UPDATE, update_state(view, status="on_track", percent=bad), view=view
        )
        assert errors["response_action"] == "errors"
        assert set(errors["errors"]) == {f"pu_percent:{item}"}
        assert "0 to 100" in errors["errors"][f"pu_percent:{item}"]
    assert len(bot.progress.store.updates(item)) == 1  # only the one made by the helper


def test_switching_initiative_refills_the_form(slack_bot):
    bot = slack_bot
    first = initiative(bot, "First", status="at_risk", percent=30, days_ago=20)
    second = initiative(bot, "Second", status="off_track", percent=5, days_ago=3)
    progress(bot, "")
    view = opened(bot)
    stored = bot.api.view(bot.api.calls("views.open")[0].response["view"]["id"])
    r = bot.requests
    bot.send(
        r.interaction(
            r.block_actions_payload(
                ACTION_UPDATE_INITIATIVE,
                str(second),
                user="U1",
                view=stored,
                action_type="static_select",
                block_id="pu_initiative",
            )
        )
    )
    (call,) = bot.api.wait_for("views.update")
    assert call.params["view_id"] == stored["id"] and call.params["hash"] == stored["hash"]
    new = blocks_by_id(call.params["view"])
    assert f"pu_status:{second}" in new and f"pu_status:{first}" not in new
    assert new[f"pu_status:{second}"]["element"]["initial_option"]["value"] == "off_track"
    assert new[f"pu_percent:{second}"]["element"]["initial_value"] == "5"
    assert view["private_metadata"]  # the rest of the form travels on


# ---- buttons: lists, nudges, App Home ---------------------------------------------------------


def test_list_shows_my_initiatives_with_buttons(slack_bot):
    item = initiative(slack_bot, "Mine")
    initiative(slack_bot, "Theirs", owner="U2")
    (answer,) = slack_bot.responses(progress(slack_bot, "list"))
    body = dump(answer["blocks"])
    assert "Mine" in body and "Theirs" not in body
    assert f'"value": "{item}"' in body and ACTION_PROGRESS_NO_CHANGE in body


def test_no_change_in_a_nudge_repeats_the_status_and_marks_the_item(slack_bot):
    bot = slack_bot
    a = initiative(bot, "Alpha", status="at_risk", percent=30)
    b = initiative(bot, "Beta", status="on_track", percent=70)
    channel, message = send_nudge(bot, "U1", a, b)
    press(bot, ACTION_PROGRESS_NO_CHANGE, str(a), channel=channel, message=message)
    bot.api.wait_for("chat.update")
    latest = bot.progress.store.updates(a)[0]
    assert (latest.status, latest.percent, latest.no_change) == ("at_risk", 30, True)
    shown = dump(bot.api.messages(channel)[-1]["blocks"])
    assert "No change: still At risk · 30%" in shown
    assert f'"value": "{b}"' in shown and f"progress_item:{a}" not in shown


def test_post_update_from_a_nudge_updates_the_nudge(slack_bot):
    bot = slack_bot
    a = initiative(bot, "Alpha", status="at_risk", percent=30)
    channel, message = send_nudge(bot, "U1", a)
    press(bot, ACTION_PROGRESS_UPDATE, str(a), channel=channel, message=message)
    view = opened(bot)
    assert json.loads(view["private_metadata"])["n"] == [channel, message["ts"]]
    assert (
        submit(
            bot, VIEW_PROGRESS_UPDATE, update_state(view, status="done", percent="100"), view=view
        )
        == {}
    )
    assert bot.progress.get(a).last_status == "done"
    eventually(lambda: "All done" in dump(bot.api.messages(channel)[-1]["blocks"]))
    assert "Updated: Done · 100%" in dump(bot.api.messages(channel)[-1]["blocks"])


def test_snooze_buttons_snooze_and_say_until_when(slack_bot):
    bot = slack_bot
    a = initiative(bot)
    channel, message = send_nudge(bot, "U1", a)
    press(bot, ACTION_PROGRESS_SNOOZE_TOMORROW, "tomorrow", channel=channel, message=message)
    bot.api.wait_for("chat.update")
    tomorrow = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # default nudge time, default zone
    assert bot.progress.prefs("U1").snoozed_until == tomorrow
    assert "Snoozed until <!date^" in dump(bot.api.messages(channel)[-1]["blocks"])

    press(bot, ACTION_PROGRESS_SNOOZE_WEEK, "next week", channel=channel, message=message)
    bot.api.wait_for("chat.update", count=2)
    assert bot.progress.prefs("U1").snoozed_until == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_home_shows_my_initiatives_and_its_buttons_refresh_it(slack_bot):
    bot = slack_bot
    item = initiative(bot, "Home item", status="on_track", percent=60)
    r = bot.requests
    bot.send(r.event(r.app_home_opened_event("U1")))
    (published,) = bot.api.wait_for("views.publish")
    home = dump(published.params["view"])
    assert "Your initiatives" in home and "Home item" in home and ACTION_PROGRESS_NEW in home

    stored = bot.api.home_view("U1")
    press(bot, ACTION_PROGRESS_NO_CHANGE, str(item), view=stored)
    bot.api.wait_for("views.publish", count=2)
    assert bot.progress.store.updates(item)[0].no_change

    press(bot, ACTION_PROGRESS_NEW, "home", view=stored, trigger_id="trig-home")
    view = opened(bot)
    assert view["callback_id"] == VIEW_PROGRESS_NEW
    assert submit(bot, VIEW_PROGRESS_NEW, new_state(title="From home"), view=view) == {}
    eventually(lambda: "From home" in dump(bot.api.calls("views.publish")[-1].params["view"]))


def test_an_expired_trigger_asks_to_try_again(slack_bot):
    item = initiative(slack_bot)
    url = press(slack_bot, ACTION_PROGRESS_UPDATE, str(item), trigger_id="expired-1")
    (answer,) = slack_bot.responses(url)
    assert "try again" in answer["text"]


# ---- the owner's time ------------------------------------------------------------------------


def test_snooze_command(slack_bot):
    assert "Snoozed until" in reply(slack_bot, "snooze 1w")
    assert slack_bot.progress.prefs("U1").snoozed_until == START + timedelta(weeks=1)
    assert "back on" in reply(slack_bot, "snooze off")
    assert slack_bot.progress.prefs("U1").snoozed_until is None
    assert "don't understand" in reply(slack_bot, "snooze forever")


def test_leave_command(slack_bot):
    assert "Enjoy your time away" in reply(slack_bot, "leave until 2026-12-24")
    assert slack_bot.progress.prefs("U1").leave_until == datetime(2026, 12, 25, tzinfo=UTC)
    text = reply(slack_bot, "leave until 2026-01-15")
    assert "in the past" in text and "2026-12-14" in text  # a kind example, two weeks on
    assert slack_bot.progress.prefs("U1").leave_until == datetime(2026, 12, 25, tzinfo=UTC)
    assert "Welcome back" in reply(slack_bot, "leave off")
    assert slack_bot.progress.prefs("U1").leave_until is None


def test_when_command_uses_my_time_zone(slack_bot):
    slack_bot.api.add_user("U1", tz="Europe/Paris")
    text = reply(slack_bot, "when tuesday 10:00")
    assert "Tuesdays at 10:00 (Europe/Paris)" in text
    prefs = slack_bot.progress.prefs("U1")
    assert (prefs.nudge_weekday, prefs.nudge_time, prefs.tz) == (1, time(10, 0), "Europe/Paris")
    # Tue 1 Dec 10:00 in Paris is 09:00 UTC.
    assert slack_bot.progress.next_nudge("U1") == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert "e.g. `/progress when tuesday 10:00`" in reply(slack_bot, "when someday")


# ---- who may do what -------------------------------------------------------------------------


def test_others_cannot_update_reassign_close_or_administer(slack_bot):
    bot = slack_bot
    item = initiative(bot, "Owned by U1")
    before = bot.progress.get(item)

    url = press(bot, ACTION_PROGRESS_UPDATE, str(item), user="U2")
    (answer,) = bot.responses(url)
    assert NOT_YOURS in answer["text"]
    assert bot.api.calls("views.open") == []

    url = press(bot, ACTION_PROGRESS_NO_CHANGE, str(item), user="U2")
    assert NOT_YOURS in bot.responses(url)[0]["text"]

    # A crafted submission of the update form for someone else's initiative.
    progress(bot, "")  # U1's own form, to copy its shape
    view = opened(bot)
    errors = submit(
        bot, VIEW_PROGRESS_UPDATE, update_state(view, status="done"), view=view, user="U2"
    )
    assert NOT_YOURS in errors["errors"]["pu_initiative"]

    assert NOT_YOURS in reply(bot, f"reassign #{item} <@U3>", user="U2")
    assert NOT_YOURS in reply(bot, f"close {item}", user="U2")
    assert "Only admins" in reply(bot, "overdue", user="U2")
    assert "Only admins" in reply(bot, "lead 2.3 <@U3>", user="U2")

    after = bot.progress.get(item)
    assert (after.owner_id, after.status, after.last_update_at) == (
        before.owner_id,
        before.status,
        before.last_update_at,
    )
    assert len(bot.progress.store.updates(item)) == 1
    assert bot.progress.store.initiatives(kind="objective") == []


def test_admins_see_overdue_reassign_close_and_name_leads(slack_bot):
    bot = slack_bot
    late = initiative(bot, "Late one", owner="U1", days_ago=30)
    fresh = initiative(bot, "Fresh one", owner="U2", days_ago=1)
    (answer,) = bot.responses(progress(bot, "overdue", user=ADMIN))
    body = dump(answer["blocks"])
    assert "Late one" in body and "<@U1>" in body and "Fresh one" not in body

    assert "now belongs to <@U2>" in reply(bot, f"reassign #{late} <@U2|bob>", user=ADMIN)
    assert bot.progress.get(late).owner_id == "U2"
    eventually(lambda: any("gave you" in t for t in dm_texts(bot, "U2")))

    assert "Closed" in reply(bot, f"close #{fresh}", user=ADMIN)
    assert bot.progress.get(fresh).status == "closed"

    assert "now leads objective 2.3" in reply(bot, "lead 2.3 <@U3> weekly", user=ADMIN)
    (lead,) = bot.progress.store.initiatives(kind="objective")
    assert (lead.owner_id, lead.objective_ids, lead.cadence) == ("U3", ("2.3",), "weekly")


def test_owners_may_reassign_and_close_their_own(slack_bot):
    bot = slack_bot
    item = initiative(bot, "Mine")
    assert "now belongs to <@U4>" in reply(bot, f"reassign {item} <@U4>")
    assert NOT_YOURS in reply(bot, f"close #{item}")  # not mine any more
    assert "Closed" in reply(bot, f"close #{item}", user="U4")


def test_unknown_things_get_kind_answers(slack_bot):
    text = reply(slack_bot, "frobnicate now")
    assert "I don't know `frobnicate`" in text and "/progress list" in text
    # to an admin, an unknown number is unknown; to anyone else, just not theirs
    assert "There is no initiative #999" in reply(slack_bot, "close #999", user=ADMIN)
    assert "There is no initiative #999" in reply(slack_bot, "reassign 999 <@U2>", user=ADMIN)
    assert "#999 isn't one of yours" in reply(slack_bot, "close #999")
    assert "like `/progress reassign #12 @maria`" in reply(slack_bot, "reassign 12")
    assert "pick the person" in reply(slack_bot, "reassign #12 @maria")
    assert "/progress list" in reply(slack_bot, "help")
    url = press(slack_bot, ACTION_PROGRESS_NO_CHANGE, "not-a-number")
    (answer,) = slack_bot.responses(url)
    assert "can't tell which initiative" in answer["text"]


def test_new_initiative_for_someone_else_tells_them(slack_bot):
    bot = slack_bot
    progress(bot, "new")
    view = opened(bot)
    assert submit(bot, VIEW_PROGRESS_NEW, new_state(owner="U9"), view=view) == {}
    (record,) = bot.progress.store.initiatives()
    assert record.owner_id == "U9" and record.created_by == "U1"
    eventually(lambda: any("made you the owner" in t for t in dm_texts(bot, "U9")))


# ---- /align → Track as initiative --------------------------------------------------------------


def test_track_as_initiative_prefills_the_form_and_keeps_the_alignment(slack_bot):
    bot = slack_bot
    _, url = bot.command(PROPOSAL, user="U1")
    bot.responses(url)
    (alignment,) = bot.store.recent_alignments("U1")
    press(bot, ACTION_ALIGN_TRACK, str(alignment.id), trigger_id="trig-track")
    view = opened(bot)
    assert view["callback_id"] == VIEW_PROGRESS_NEW
    fields = blocks_by_id(view)
    title = fields["ni_title"]["element"]["initial_value"]
    assert title.startswith("Organise a regional workshop") and len(title) <= 100
    assert fields["ni_description"]["element"]["initial_value"] == PROPOSAL
    chosen = [o["value"] for o in fields["ni_objectives"]["element"]["initial_options"]]
    assert chosen == list(alignment.suggested_ids)
    assert fields["ni_owner"]["element"]["initial_user"] == "U1"

    state = new_state(title="Border workshop", ids=tuple(chosen))
    assert submit(bot, VIEW_PROGRESS_NEW, state, view=view) == {}
    (record,) = bot.progress.store.initiatives()
    assert record.source_alignment_id == alignment.id


def test_the_manifests_escape_progress_arguments():
    from tests.test_deploy import MANIFESTS

    for path in MANIFESTS.values():
        commands = {
            c["command"]: c for c in yaml.safe_load(path.read_text())["features"]["slash_commands"]
        }
        assert commands[COMMAND_PROGRESS]["should_escape"] is True


def test_an_owner_who_cannot_be_reached_is_reported_to_the_creator(slack_bot):
    bot = slack_bot
    progress(bot, "new")
    view = opened(bot)
    bot.api.fail_next("chat.postMessage", error="account_inactive")
    url = json.loads(view["private_metadata"])["r"]
    assert submit(bot, VIEW_PROGRESS_NEW, new_state(owner="U8"), view=view) == {}
    answers = bot.responses(url, count=2)
    assert (
        "I couldn't tell <@U8> by direct message: their account is deactivated"
        in answers[1]["text"]
    )
    assert bot.progress.store.initiatives()[0].owner_id == "U8"  # created all the same


def test_a_failure_after_the_ack_is_told_to_the_user(slack_bot, monkeypatch):
    def broken(*a, **k):
        raise RuntimeError("database is down")

    monkeypatch.setattr(slack_bot.progress, "mine", broken)
    text = reply(slack_bot, "list")
    assert "couldn't finish that /progress command" in text and "ref" in text
