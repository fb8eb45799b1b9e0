"""The "Edit tags" modal for an /align result, and reading its submission."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from slack_sdk.models.blocks import (
    InputBlock,
    Option,
    OptionGroup,
    PlainTextObject,
    StaticMultiSelectElement,
)
from slack_sdk.models.views import View

from framework_data.schema import Framework
from retrieval.align import MAX_TAGS

from ..ids import ACTION_EDIT_TAGS, BLOCK_EDIT_TAGS, VIEW_EDIT_TAGS
from .base import plain
from .limits import (
    MAX_GROUP_OPTIONS,
    MAX_OPTION_GROUP_LABEL,
    MAX_OPTION_GROUPS,
    MAX_OPTION_TEXT,
    MAX_PRIVATE_METADATA,
    MAX_VIEW_TITLE,
)
from .text import shorten

EDIT_TAGS_TITLE = "Edit tags"


def objective_option(objective_id: str, text: str) -> Option:
    """ "1.3 objective text" (plain text, ≤75 characters with "…"), valued by the id."""
    return Option(
        value=objective_id,
        text=PlainTextObject(text=shorten(f"{objective_id} {text}", MAX_OPTION_TEXT), emoji=True),
    )


def objective_option_groups(framework: Framework) -> list[OptionGroup]:
    """One option group per goal ("Goal 1 — title", ≤75 characters) holding its objectives; a
    goal with more than 100 objectives gets further groups ("… (cont.)")."""
    groups: list[OptionGroup] = []
    for goal in framework.goals:
        options = [objective_option(o.id, o.text) for o in goal.objectives]
        for start in range(0, len(options), MAX_GROUP_OPTIONS):
            label = f"Goal {goal.id} — {goal.title}"
            if start:
                label = f"Goal {goal.id} (cont.)"
            groups.append(
                OptionGroup(
                    label=PlainTextObject(text=shorten(label, MAX_OPTION_GROUP_LABEL), emoji=True),
                    options=options[start : start + MAX_GROUP_OPTIONS],
                )
            )
    if len(groups) > MAX_OPTION_GROUPS:
        raise ValueError(
            f"{framework.title} needs {len(groups)} option groups; a Slack menu takes at most "
            f"{MAX_OPTION_GROUPS}"
        )
    return groups


def _initial_options(framework: Framework, selected_ids: Iterable[str]) -> list[Option]:
    chosen: list[Option] = []
    seen: set[str] = set()
    for oid in selected_ids:
        objective = framework.objective(oid)
        if objective is None or objective.id in seen:
            continue
        seen.add(objective.id)
        chosen.append(objective_option(objective.id, objective.text))
    return chosen[:MAX_TAGS]


def edit_tags_modal(
    framework: Framework, *, selected_ids: list[str], private_metadata: str
) -> View:
    """The modal to pick up to five objectives, grouped by goal, with ``selected_ids``
    preselected (unknown ids are ignored). Picking none is allowed: it records that no
    objective fits. ``private_metadata`` travels back with the submission."""
    if len(private_metadata) > MAX_PRIVATE_METADATA:
        raise ValueError(f"private_metadata is over {MAX_PRIVATE_METADATA} characters")
    initial = _initial_options(framework, selected_ids)
    select = StaticMultiSelectElement(
        action_id=ACTION_EDIT_TAGS,
        placeholder=PlainTextObject(text="Choose objectives", emoji=True),
        option_groups=objective_option_groups(framework),
        initial_options=initial or None,
        max_selected_items=MAX_TAGS,
    )
    block = InputBlock(
        block_id=BLOCK_EDIT_TAGS,
        label=PlainTextObject(text="Objectives this proposal serves", emoji=True),
        element=select,
        hint=PlainTextObject(
            text=f"Up to {MAX_TAGS}. Leave empty if no objective fits.", emoji=True
        ),
        optional=True,
    )
    return View(
        type="modal",
        callback_id=VIEW_EDIT_TAGS,
        title=plain(EDIT_TAGS_TITLE, MAX_VIEW_TITLE),
        submit=plain("Save", MAX_VIEW_TITLE),
        close=plain("Cancel", MAX_VIEW_TITLE),
        blocks=[block],
        private_metadata=private_metadata,
    )


def selected_ids_from_state(state_values: Mapping[str, Any]) -> list[str]:
    """The objective ids chosen in the modal, in order, without repeats, from a
    ``view_submission`` payload's ``view.state.values``."""
    action = (state_values.get(BLOCK_EDIT_TAGS) or {}).get(ACTION_EDIT_TAGS) or {}
    ids: list[str] = []
    for option in action.get("selected_options") or []:
        value = option.get("value") if isinstance(option, Mapping) else None
        if isinstance(value, str) and value and value not in ids:
            ids.append(value)
    return ids
