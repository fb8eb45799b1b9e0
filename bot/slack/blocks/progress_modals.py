"""The modals of progress tracking — "Post an update" and "New initiative" — and reading
their submissions back. Pure functions, within Slack's view limits.

The update modal's status, percent and note blocks carry the initiative id in their block id
(``pu_status:12``): when the user picks another initiative the view is replaced
(``views.update``) and Slack keeps what was typed only in blocks whose ids stay the same, so
new ids make the form show the other initiative's last status and percent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticMultiSelectElement,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.storage.progress_records import InitiativeRecord
from bot.storage.vocabulary import Cadence, UpdateStatus
from framework_data.schema import Framework

from ..ids import (
    ACTION_NEW_CADENCE,
    ACTION_NEW_DESCRIPTION,
    ACTION_NEW_OBJECTIVES,
    ACTION_NEW_OWNER,
    ACTION_NEW_TITLE,
    ACTION_UPDATE_INITIATIVE,
    ACTION_UPDATE_NOTE,
    ACTION_UPDATE_PERCENT,
    ACTION_UPDATE_STATUS,
    BLOCK_NEW_CADENCE,
    BLOCK_NEW_DESCRIPTION,
    BLOCK_NEW_OBJECTIVES,
    BLOCK_NEW_OWNER,
    BLOCK_NEW_TITLE,
    BLOCK_UPDATE_INITIATIVE,
    BLOCK_UPDATE_NOTE,
    BLOCK_UPDATE_PERCENT,
    BLOCK_UPDATE_STATUS,
    VIEW_PROGRESS_NEW,
    VIEW_PROGRESS_UPDATE,
)
from .base import context, plain, sections
from .limits import (
    MAX_OPTION_TEXT,
    MAX_PRIVATE_METADATA,
    MAX_SELECT_OPTIONS,
    MAX_VIEW_TITLE,
)
from .modals import objective_option, objective_option_groups
from .progress import due_text, status_text, title_of
from .text import escape, shorten

MAX_TITLE_INPUT = 200
MAX_TEXT_INPUT = 3000
MAX_OBJECTIVES_IN_MENU = 100  # more than this: a text field for the ids


def _text(value: str) -> PlainTextObject:
    return PlainTextObject(text=value, emoji=True)


def _option(value: str, label: str) -> Option:
    return Option(value=value, text=_text(shorten(label, MAX_OPTION_TEXT)))


def _check_metadata(private_metadata: str) -> None:
    if len(private_metadata) > MAX_PRIVATE_METADATA:
        raise ValueError(f"private_metadata is over {MAX_PRIVATE_METADATA} characters")


def _modal(
    callback_id: str, title: str, submit: str, blocks: list[Block], private_metadata: str
) -> View:
    return View(
        type="modal",
        callback_id=callback_id,
        title=plain(title, MAX_VIEW_TITLE),
        submit=plain(submit, MAX_VIEW_TITLE),
        close=plain("Cancel", MAX_VIEW_TITLE),
        blocks=blocks,
        private_metadata=private_metadata,
    )


# ---- "Post an update" --------------------------------------------------------------------------


def initiative_option(record: InitiativeRecord) -> Option:
    return _option(str(record.id), f"#{record.id} {record.title}")


def status_option(status: UpdateStatus) -> Option:
    return _option(status.value, f"{status.glyph} {status.label}")


def cadence_option(cadence: Cadence) -> Option:
    return _option(cadence.value, cadence.label)


def _objective_lines(record: InitiativeRecord, framework: Framework | None) -> list[str]:
    lines = []
    for oid in record.objective_ids[:10]:
        objective = framework.objective(oid) if framework else None
        text = f" {escape(shorten(objective.text, 120))}" if objective else ""
        lines.append(f"• *{escape(oid)}*{text}")
    if len(record.objective_ids) > 10:
        lines.append(f"• …and {len(record.objective_ids) - 10} more")
    return lines


def update_modal(
    initiatives: Sequence[InitiativeRecord],
    selected: InitiativeRecord,
    *,
    private_metadata: str,
    framework: Framework | None = None,
    now: datetime | None = None,
) -> View:
    """ "Post an update" on ``selected``: a menu of ``initiatives`` (changing it re-fills the
    form), the status and percent (initially the last ones) and an optional note; above
    them the initiative's objectives and when its update is/was due."""
    _check_metadata(private_metadata)
    now = now or datetime.now(UTC)
    choices = [selected, *(r for r in initiatives if r.id != selected.id)]
    menu = StaticSelectElement(
        action_id=ACTION_UPDATE_INITIATIVE,
        placeholder=_text("Choose an initiative"),
        options=[initiative_option(r) for r in choices[:MAX_SELECT_OPTIONS]],
        initial_option=initiative_option(selected),
    )
    status = StaticSelectElement(
        action_id=ACTION_UPDATE_STATUS,
        placeholder=_text("How is it going?"),
        options=[status_option(s) for s in UpdateStatus],
        initial_option=status_option(selected.last_status) if selected.last_status else None,
    )
    percent = NumberInputElement(
        action_id=ACTION_UPDATE_PERCENT,
        is_decimal_allowed=False,
        min_value="0",
        max_value="100",
        placeholder=_text("0 to 100"),
        initial_value=(str(selected.last_percent) if selected.last_percent is not None else None),
    )
    note = PlainTextInputElement(
        action_id=ACTION_UPDATE_NOTE,
        multiline=True,
        max_length=MAX_TEXT_INPUT,
        placeholder=_text("What moved, what is blocking, what help you need"),
    )
    sid = selected.id
    blocks: list[Block] = [
        InputBlock(
            block_id=BLOCK_UPDATE_INITIATIVE,
            label=_text("Initiative"),
            element=menu,
            dispatch_action=True,
        ),
        *sections(
            "\n".join(
                [
                    f"*{title_of(selected)}*",
                    f"Last update: {status_text(selected)} · {due_text(selected, now)}",
                    *_objective_lines(selected, framework),
                ]
            )
        ),
        InputBlock(block_id=f"{BLOCK_UPDATE_STATUS}:{sid}", label=_text("Status"), element=status),
        InputBlock(
            block_id=f"{BLOCK_UPDATE_PERCENT}:{sid}",
            label=_text("Percent complete"),
            element=percent,
            optional=True,
            hint=_text("A whole number from 0 to 100."),
        ),
        InputBlock(
            block_id=f"{BLOCK_UPDATE_NOTE}:{sid}", label=_text("Note"), element=note, optional=True
        ),
    ]
    return _modal(VIEW_PROGRESS_UPDATE, "Post an update", "Post update", blocks, private_metadata)


# ---- "New initiative" ----------------------------------------------------------------------


def _known(framework: Framework, objective_ids: Iterable[str]) -> list[Any]:
    found: dict[str, Any] = {}
    for oid in objective_ids:
        objective = framework.objective(oid)
        if objective is not None:
            found.setdefault(objective.id, objective)
    return list(found.values())


def _objectives_element(framework: Framework, objective_ids: Sequence[str]) -> Any:
    count = sum(1 for _ in framework.objectives())
    if count <= MAX_OBJECTIVES_IN_MENU:
        initial = [objective_option(o.id, o.text) for o in _known(framework, objective_ids)]
        return StaticMultiSelectElement(
            action_id=ACTION_NEW_OBJECTIVES,
            placeholder=_text("Choose objectives"),
            option_groups=objective_option_groups(framework),
            initial_options=initial or None,
        )
    return PlainTextInputElement(
        action_id=ACTION_NEW_OBJECTIVES,
        placeholder=_text("e.g. 1.2, 3.4"),
        initial_value=", ".join(objective_ids) or None,
        max_length=MAX_TEXT_INPUT,
    )


def new_initiative_modal(
    framework: Framework,
    *,
    title: str = "",
    description: str = "",
    objective_ids: Sequence[str] = (),
    owner_id: str,
    cadence: str = Cadence.WEEKLY,
    private_metadata: str,
) -> View:
    """ "New initiative": title, description, the objectives it serves (a menu grouped by
    goal, or a text field for ids when the framework has more than 100 objectives), its
    owner and how often they post an update."""
    _check_metadata(private_metadata)
    chosen = Cadence.lookup(cadence) or Cadence.WEEKLY
    objectives = _objectives_element(framework, objective_ids)
    menu_hint = (
        "Pick one or more."
        if isinstance(objectives, StaticMultiSelectElement)
        else "Objective ids separated by commas, e.g. 1.2, 3.4."
    )
    blocks: list[Block] = [
        InputBlock(
            block_id=BLOCK_NEW_TITLE,
            label=_text("Title"),
            element=PlainTextInputElement(
                action_id=ACTION_NEW_TITLE,
                max_length=MAX_TITLE_INPUT,
                initial_value=shorten(title, MAX_TITLE_INPUT) or None,
                placeholder=_text("A short name people will recognise"),
            ),
        ),
        InputBlock(
            block_id=BLOCK_NEW_DESCRIPTION,
            label=_text("Description"),
            optional=True,
            element=PlainTextInputElement(
                action_id=ACTION_NEW_DESCRIPTION,
                multiline=True,
                max_length=MAX_TEXT_INPUT,
                initial_value=description[:MAX_TEXT_INPUT] or None,
            ),
        ),
        InputBlock(
            block_id=BLOCK_NEW_OBJECTIVES,
            label=_text("Objectives it serves"),
            element=objectives,
            hint=_text(menu_hint),
        ),
        InputBlock(
            block_id=BLOCK_NEW_OWNER,
            label=_text("Owner"),
            element=UserSelectElement(
                action_id=ACTION_NEW_OWNER,
                placeholder=_text("Who posts the updates"),
                initial_user=owner_id or None,
            ),
            hint=_text("The owner gets a short reminder when an update is due."),
        ),
        InputBlock(
            block_id=BLOCK_NEW_CADENCE,
            label=_text("Updates"),
            element=StaticSelectElement(
                action_id=ACTION_NEW_CADENCE,
                options=[cadence_option(c) for c in Cadence],
                initial_option=cadence_option(chosen),
            ),
        ),
        context(f"Objectives are from *{escape(framework.title)}*."),
    ]
    return _modal(VIEW_PROGRESS_NEW, "New initiative", "Create", blocks, private_metadata)


# ---- reading submissions ---------------------------------------------------------------------


def _block(
    values: Mapping[str, Any], prefix: str, suffix: str | None = None
) -> tuple[str, Mapping[str, Any]]:
    """(block id, its single action's state) of the block named ``prefix`` or
    ``prefix:…`` (preferring ``prefix:suffix``); ``(prefix, {})`` when absent."""
    found = [k for k in values if k == prefix or k.startswith(prefix + ":")]
    if suffix is not None and f"{prefix}:{suffix}" in found:
        found = [f"{prefix}:{suffix}"]
    if not found:
        return prefix, {}
    actions = values.get(found[0]) or {}
    state: Any = next(iter(actions.values()), {}) if isinstance(actions, Mapping) else {}
    return found[0], state if isinstance(state, Mapping) else {}


def _selected(state: Mapping[str, Any]) -> str | None:
    option = state.get("selected_option")
    value = option.get("value") if isinstance(option, Mapping) else None
    return value if isinstance(value, str) and value else None


def _value(state: Mapping[str, Any]) -> str:
    value = state.get("value")
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class UpdateForm:
    """A submitted "Post an update"; ``*_block``: the block ids to attach errors to."""

    initiative_id: int | None
    status: str | None
    percent: str
    note: str
    initiative_block: str
    status_block: str
    percent_block: str
    note_block: str


def read_update_form(values: Mapping[str, Any]) -> UpdateForm:
    """The update modal's answers from ``view.state.values`` (nothing validated yet)."""
    iblock, istate = _block(values, BLOCK_UPDATE_INITIATIVE)
    raw = _selected(istate)
    initiative_id = int(raw) if raw and raw.isdigit() else None
    suffix = str(initiative_id) if initiative_id is not None else None
    sblock, sstate = _block(values, BLOCK_UPDATE_STATUS, suffix)
    pblock, pstate = _block(values, BLOCK_UPDATE_PERCENT, suffix)
    nblock, nstate = _block(values, BLOCK_UPDATE_NOTE, suffix)
    return UpdateForm(
        initiative_id,
        _selected(sstate),
        _value(pstate).strip(),
        _value(nstate),
        iblock,
        sblock,
        pblock,
        nblock,
    )


def parse_percent(raw: str) -> int | None:
    """The percent typed, None when empty; ValueError unless a whole number 0–100."""
    text = raw.strip().rstrip("%").strip()
    if not text:
        return None
    if not re.fullmatch(r"\d{1,3}", text) or int(text) > 100:
        raise ValueError(raw)
    return int(text)


@dataclass(frozen=True)
class NewInitiativeForm:
    title: str
    description: str
    objective_ids: tuple[str, ...]
    owner_id: str | None
    cadence: str | None


def split_ids(text: str) -> tuple[str, ...]:
    """Objective ids typed as "1.2, 3.4" or "1.2 3.4" (a leading "#" is dropped)."""
    return tuple(p.lstrip("#") for p in re.split(r"[,;\s]+", text) if p.strip(" #"))


def _ids(state: Mapping[str, Any]) -> tuple[str, ...]:
    options = state.get("selected_options")
    if isinstance(options, Iterable) and not isinstance(options, (str, bytes)):
        return tuple(
            dict.fromkeys(
                o["value"]
                for o in options
                if isinstance(o, Mapping) and isinstance(o.get("value"), str)
            )
        )
    return split_ids(_value(state))


def read_new_initiative_form(values: Mapping[str, Any]) -> NewInitiativeForm:
    """The new-initiative modal's answers from ``view.state.values``."""
    owner = _block(values, BLOCK_NEW_OWNER)[1].get("selected_user")
    return NewInitiativeForm(
        title=_value(_block(values, BLOCK_NEW_TITLE)[1]),
        description=_value(_block(values, BLOCK_NEW_DESCRIPTION)[1]).strip(),
        objective_ids=_ids(_block(values, BLOCK_NEW_OBJECTIVES)[1]),
        owner_id=owner if isinstance(owner, str) and owner else None,
        cadence=_selected(_block(values, BLOCK_NEW_CADENCE)[1]),
    )
