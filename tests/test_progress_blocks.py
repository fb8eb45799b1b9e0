"""The Block Kit builders of progress tracking: within Slack's limits, escaped, and saying
the right things (pure: no Slack, no database)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from bot.progress.schedule import NudgePlan
from bot.slack.blocks import to_dicts
from bot.slack.blocks.progress import (
    escalation_message,
    failure_report_message,
    has_item,
    initiatives_message,
    nudge_item_done,
    nudge_message,
    nudge_snoozed,
    overdue_message,
    progress_home_blocks,
    service_text,
)
from bot.slack.blocks.progress_modals import (
    new_initiative_modal,
    parse_percent,
    read_new_initiative_form,
    read_update_form,
    split_ids,
    update_modal,
)
from bot.slack.ids import (
    ACTION_NEW_OBJECTIVES,
    ACTION_PROGRESS_NO_CHANGE,
    ACTION_PROGRESS_SNOOZE_TOMORROW,
    ACTION_PROGRESS_SNOOZE_WEEK,
    ACTION_PROGRESS_UPDATE,
    BLOCK_NEW_OBJECTIVES,
    BLOCK_PROGRESS_SNOOZE,
    BLOCK_UPDATE_PERCENT,
    BLOCK_UPDATE_STATUS,
)
from bot.slack.listeners.progress_commands import SUBCOMMANDS, progress_help
from bot.storage.vocabulary import Cadence
from local_slack.limits import check_blocks, check_view
from tests.progress_fixtures import dump, initiative_record

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
NASTY = "<!channel> Fix <@U999> & *everything*"


# on two objectives, last updated 10 days ago (at risk, 40 %): overdue at NOW
record = partial(
    initiative_record,
    now=NOW,
    objective_ids=("1.1", "2.3"),
    last_update_at=NOW - timedelta(days=10),
    last_status="at_risk",
    last_percent=40,
)


def message_ok(message) -> list[dict]:
    blocks = to_dicts(message.blocks)
    assert check_blocks(blocks) is None
    assert message.text.strip() and len(message.text) <= 40_000
    return blocks


def buttons(blocks: list[dict]) -> list[tuple[str, str]]:
    return [
        (e["action_id"], e.get("value"))
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
    ]


# ---- lists ----------------------------------------------------------------------------------


def test_list_shows_status_due_dates_and_buttons():
    overdue = record(1)
    fresh = record(
        2, last_update_at=NOW - timedelta(days=1), last_status="on_track", last_percent=90
    )
    new = record(
        3,
        last_update_at=None,
        last_status=None,
        last_percent=None,
        created_at=NOW - timedelta(days=2),
    )
    blocks = message_ok(initiatives_message([overdue, fresh, new], now=NOW, user_id="U1"))
    body = dump(blocks)
    assert "overdue since <!date^" in body and "due <!date^" in body
    assert ":large_yellow_circle: At risk · 40%" in body and "No update yet" in body
    assert (ACTION_PROGRESS_UPDATE, "1") in buttons(blocks)
    assert (ACTION_PROGRESS_NO_CHANGE, "1") in buttons(blocks)
    # No "No change" without a previous status to repeat.
    assert (ACTION_PROGRESS_NO_CHANGE, "3") not in buttons(blocks)


def test_list_without_initiatives_explains_how_to_start():
    message = initiatives_message([], now=NOW, user_id="U1")
    message_ok(message)
    assert "/progress new" in message.text


def test_many_initiatives_stay_within_one_message():
    many = [record(n) for n in range(1, 120)]
    blocks = message_ok(initiatives_message(many, now=NOW, user_id="U1"))
    assert len(blocks) <= 50 and "more" in dump(blocks)
    home = to_dicts(progress_home_blocks(many, now=NOW))
    assert check_blocks(home) is None and len(home) <= 25


def test_text_is_escaped_everywhere():
    nasty = record(1, title=NASTY, objective_ids=("1.1",))
    plan = NudgePlan("U1", "2026-W49", NOW, "UTC", (nasty,), "")
    for message in (
        initiatives_message([nasty], now=NOW, user_id="U1"),
        overdue_message([nasty], now=NOW),
        nudge_message(plan, now=NOW),
        escalation_message(nasty, 2, now=NOW),
    ):
        raw = dump(message_ok(message)) + message.text
        assert "<!channel>" not in raw and "<@U999>" not in raw
        assert "&lt;!channel&gt;" in raw
    view = update_modal([nasty], nasty, private_metadata="{}", now=NOW)
    assert "<!channel>" not in dump(view.to_dict()["blocks"][1])


def test_overdue_groups_by_owner_with_mentions():
    items = [record(1, owner_id="U1"), record(2, owner_id="U2"), record(3, owner_id="U1")]
    message = overdue_message(items, now=NOW)
    body = dump(message_ok(message))
    assert body.index("<@U1>") < body.index("#3") < body.index("<@U2>")
    assert "Nothing is overdue" in overdue_message([], now=NOW).text


def test_help_names_the_unknown_word():
    message = progress_help(unknown="frobnicate")
    message_ok(message)
    assert "I don't know `frobnicate`" in message.text and "/progress list" in message.text


def test_help_lists_exactly_the_subcommands_it_dispatches():
    body = dump(message_ok(progress_help()))
    listed = [usage.strip() for usage in re.findall(r"• `/progress([^`]*)`", body)]
    assert listed == [s.usage for s in SUBCOMMANDS]
    assert [(u.split() or [""])[0] for u in listed] == [s.name for s in SUBCOMMANDS]
    assert len({s.name for s in SUBCOMMANDS}) == len(SUBCOMMANDS)
    assert f"lead 2.3 @person [{'|'.join(Cadence)}]" in listed


def test_home_section_has_a_new_initiative_button_even_when_empty():
    blocks = to_dicts(progress_home_blocks([], now=NOW))
    assert check_blocks(blocks) is None
    assert "Your initiatives" in dump(blocks) and buttons(blocks)


# ---- the nudge ------------------------------------------------------------------------------


def test_nudge_lists_items_with_buttons_and_snoozing():
    items = (record(1), record(2, last_status=None, last_percent=None, last_update_at=None))
    blocks = message_ok(nudge_message(NudgePlan("U1", "k", NOW, "UTC", items, ""), now=NOW))
    body = dump(blocks)
    assert "Time for a progress update" in body and "<@U1>" in body
    assert "Objectives: 1.1, 2.3" in body and "overdue since" in body
    pressed = buttons(blocks)
    assert (ACTION_PROGRESS_UPDATE, "1") in pressed and (ACTION_PROGRESS_UPDATE, "2") in pressed
    assert (ACTION_PROGRESS_NO_CHANGE, "1") in pressed
    assert (ACTION_PROGRESS_NO_CHANGE, "2") not in pressed
    assert (ACTION_PROGRESS_SNOOZE_TOMORROW, "tomorrow") in pressed
    assert (ACTION_PROGRESS_SNOOZE_WEEK, "next week") in pressed


def test_a_long_nudge_stops_at_15_items():
    items = tuple(record(n) for n in range(1, 41))
    blocks = message_ok(nudge_message(NudgePlan("U1", "k", NOW, "UTC", items, ""), now=NOW))
    assert len([b for b in buttons(blocks) if b[0] == ACTION_PROGRESS_UPDATE]) == 15
    assert "and 25 more" in dump(blocks) and "/progress list" in dump(blocks)


def test_nudge_item_done_replaces_one_item_then_says_all_done():
    items = (record(1), record(2))
    blocks = to_dicts(nudge_message(NudgePlan("U1", "k", NOW, "UTC", items, ""), now=NOW).blocks)
    one = nudge_item_done(blocks, 1, "Updated: On track <b>")
    assert check_blocks(one) is None and not has_item(one, 1) and has_item(one, 2)
    assert "Updated: On track &lt;b&gt;" in dump(one)
    assert any(b.get("block_id") == BLOCK_PROGRESS_SNOOZE for b in one)
    both = nudge_item_done(one, 2, "No change")
    assert check_blocks(both) is None and not buttons(both)
    assert "All done" in dump(both)


def test_nudge_snoozed_says_until_when():
    blocks = to_dicts(
        nudge_message(NudgePlan("U1", "k", NOW, "UTC", (record(1),), ""), now=NOW).blocks
    )
    snoozed = nudge_snoozed(blocks, NOW + timedelta(days=1))
    assert check_blocks(snoozed) is None
    assert "Snoozed until <!date^" in dump(snoozed)
    assert not any(a.startswith("progress_snooze") for a, _ in buttons(snoozed))


# ---- admins ---------------------------------------------------------------------------------


def test_escalation_and_failure_report():
    message = escalation_message(record(12, title="Border data"), 3, now=NOW)
    message_ok(message)
    assert "#12 “Border data” (owner <@U1>) has had no update for 3 weeks" in message.text
    report = failure_report_message([("U1", "account_inactive"), ("U2", "odd_error")])
    message_ok(report)
    assert "their account is deactivated" in report.text and "`odd_error`" in report.text
    many = failure_report_message([(f"U{n}", "account_inactive") for n in range(5000)])
    message_ok(many)


def test_service_text_keeps_our_mentions_only():
    assert service_text("Only <@U1> (the owner) & <x>") == "Only <@U1> (the owner) &amp; &lt;x&gt;"


# ---- modals ---------------------------------------------------------------------------------


def test_update_modal_is_prefilled_and_valid(assistant):
    chosen = record(2, last_status="off_track", last_percent=15)
    view = update_modal(
        [record(1), chosen],
        chosen,
        private_metadata='{"i":2}',
        framework=assistant.framework,
        now=NOW,
    ).to_dict()
    assert check_view(view) is None
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks["pu_initiative"]["dispatch_action"] is True
    assert blocks["pu_initiative"]["element"]["initial_option"]["value"] == "2"
    assert blocks[f"{BLOCK_UPDATE_STATUS}:2"]["element"]["initial_option"]["value"] == "off_track"
    percent = blocks[f"{BLOCK_UPDATE_PERCENT}:2"]["element"]
    assert percent["type"] == "number_input" and percent["is_decimal_allowed"] is False
    assert percent["initial_value"] == "15" and percent["max_value"] == "100"
    assert assistant.framework.objective("2.3").text[:40] in dump(view)


def test_update_modal_menu_stops_at_100_options():
    many = [record(n) for n in range(1, 300)]
    view = update_modal(many, many[250], private_metadata="", now=NOW).to_dict()
    assert check_view(view) is None
    menu = view["blocks"][0]["element"]
    assert len(menu["options"]) == 100 and menu["options"][0]["value"] == "251"


def test_new_initiative_modal_prefills_and_groups_objectives(assistant):
    fw = assistant.framework
    view = new_initiative_modal(
        fw,
        title="Train officers",
        description="x" * 5000,
        objective_ids=("1.1", "9.9"),
        owner_id="U7",
        private_metadata="{}",
    ).to_dict()
    assert check_view(view) is None
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    objectives = blocks[BLOCK_NEW_OBJECTIVES]["element"]
    assert objectives["type"] == "multi_static_select"
    assert [o["value"] for o in objectives["initial_options"]] == ["1.1"]
    assert len(objectives["option_groups"]) == len(fw.goals)
    assert blocks["ni_owner"]["element"]["initial_user"] == "U7"
    assert blocks["ni_cadence"]["element"]["initial_option"]["value"] == "weekly"
    with pytest.raises(ValueError):
        new_initiative_modal(fw, owner_id="U1", private_metadata="x" * 3001)


def test_a_big_framework_gets_a_text_field_for_objective_ids(assistant):
    fw = assistant.framework
    goal = fw.goals[0]
    objectives = [replace_objective(goal.objectives[0], f"1.{n}") for n in range(1, 130)]
    big = fw.model_copy(update={"goals": [goal.model_copy(update={"objectives": objectives})]})
    view = new_initiative_modal(
        big, objective_ids=("1.5",), owner_id="U1", private_metadata=""
    ).to_dict()
    assert check_view(view) is None
    element = next(b for b in view["blocks"] if b.get("block_id") == BLOCK_NEW_OBJECTIVES)
    assert element["element"]["type"] == "plain_text_input"
    assert element["element"]["initial_value"] == "1.5"


def replace_objective(objective, new_id: str):
    return objective.model_copy(update={"id": new_id})


def test_reading_the_forms_back():
    values = {
        "pu_initiative": {
            "pu_initiative_select": {"type": "static_select", "selected_option": {"value": "7"}}
        },
        "pu_status:7": {
            "pu_status_select": {"type": "static_select", "selected_option": {"value": "done"}}
        },
        "pu_percent:7": {"pu_percent_input": {"type": "number_input", "value": "100"}},
        "pu_note:7": {"pu_note_input": {"type": "plain_text_input", "value": "Finished"}},
    }
    form = read_update_form(values)
    assert (form.initiative_id, form.status, form.percent, form.note) == (
        7,
        "done",
        "100",
        "Finished",
    )
    assert form.percent_block == "pu_percent:7"
    new = read_new_initiative_form(
        {
            "ni_title": {"ni_title_input": {"type": "plain_text_input", "value": " T "}},
            BLOCK_NEW_OBJECTIVES: {
                ACTION_NEW_OBJECTIVES: {"type": "plain_text_input", "value": "1.1, #2.3 3.1"}
            },
            "ni_owner": {"ni_owner_select": {"type": "users_select", "selected_user": "U5"}},
            "ni_cadence": {
                "ni_cadence_select": {
                    "type": "static_select",
                    "selected_option": {"value": "monthly"},
                }
            },
        }
    )
    assert new.objective_ids == ("1.1", "2.3", "3.1") and new.owner_id == "U5"
    assert new.cadence == "monthly" and new.title == " T "


@pytest.mark.parametrize("raw, expected", [("", None), ("0", 0), ("55", 55), ("100%", 100)])
def test_percent_parsing(raw, expected):
    assert parse_percent(raw) == expected


@pytest.mark.parametrize("raw", ["150", "-1", "12.5", "abc", "1e2"])
def test_bad_percents_are_refused(raw):
    with pytest.raises(ValueError):
        parse_percent(raw)


def test_split_ids():
    assert split_ids("1.1,2.3 ;  #4.2") == ("1.1", "2.3", "4.2")
    assert split_ids("  ") == ()
