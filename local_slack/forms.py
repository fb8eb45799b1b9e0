"""Filling in a Slack form (a modal's input blocks) in the console, one field at a time.

:func:`fields` reads a view's input blocks; each :class:`Field` has the question to show
(its label, what is in it now, the choices) and turns a typed answer into the state Slack
would submit for it (:meth:`Field.state`), or says what is wrong with the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .people import NAMES, PEOPLE

SINGLE = {"static_select", "radio_buttons"}
MULTI = {"multi_static_select", "checkboxes"}
TEXT = {"plain_text_input", "number_input", "email_text_input", "url_text_input", "datepicker"}
SUPPORTED = SINGLE | MULTI | TEXT | {"users_select"}


class BadAnswer(ValueError):
    """What is wrong with a typed answer (the field is asked again)."""


def _text(obj: Any) -> str:
    return str((obj or {}).get("text", "")) if isinstance(obj, dict) else ""


@dataclass
class Field:
    block_id: str
    action_id: str
    kind: str
    label: str
    optional: bool
    options: list[dict[str, Any]] = field(default_factory=list)
    initial: Any = None  # the state submitted when the answer is empty

    def question(self) -> str:
        now = self._shown(self.initial)
        parts = [self.label + (" (optional)" if self.optional else "")]
        if self.kind in SINGLE | MULTI:
            values = [str(o.get("value")) for o in self.options]
            if len(values) <= 8:
                choices = "; ".join(
                    f"{o.get('value')} = {_text(o.get('text'))}" for o in self.options
                )
            else:
                choices = ", ".join(values)
            several = " (several: separate with ;)" if self.kind in MULTI else ""
            parts.append(f"choose {choices}{several}")
        elif self.kind == "users_select":
            parts.append("a person: " + ", ".join(f"@{n}" for n in PEOPLE))
        if now:
            parts.append(f"Enter keeps: {now}")
        return " — ".join(parts)

    def _shown(self, state: Any) -> str:
        if state is None:
            return ""
        if self.kind in SINGLE:
            return str(state["selected_option"]["value"])
        if self.kind in MULTI:
            return "; ".join(str(o["value"]) for o in state["selected_options"])
        if self.kind == "users_select":
            return "@" + NAMES.get(state["selected_user"], state["selected_user"])
        return str(state.get("value") or state.get("selected_date") or "")

    def _option(self, typed: str) -> dict[str, Any]:
        key = typed.strip().casefold()
        for option in self.options:
            if key in (str(option.get("value")).casefold(), _text(option.get("text")).casefold()):
                return option
        raise BadAnswer(f"{typed.strip()!r} is not one of the choices")

    def state(self, typed: str | None) -> Any:
        """The submitted state for ``typed`` (None or blank: what is in the field now)."""
        if typed is None or not typed.strip():
            if self.initial is None and not self.optional:
                raise BadAnswer(f"{self.label} is required")
            return self.initial
        typed = typed.strip()
        if self.kind in SINGLE:
            return {"type": self.kind, "selected_option": self._option(typed)}
        if self.kind in MULTI:
            chosen = [self._option(p) for p in typed.replace(",", ";").split(";") if p.strip()]
            return {"type": self.kind, "selected_options": chosen}
        if self.kind == "users_select":
            person = PEOPLE.get(typed.lstrip("@").casefold())
            if person is None:
                raise BadAnswer(f"nobody called {typed} is here")
            return {"type": self.kind, "selected_user": person[0]}
        if self.kind == "datepicker":
            return {"type": self.kind, "selected_date": typed}
        return {"type": self.kind, "value": typed}


def fields(view: dict[str, Any]) -> list[Field]:
    """The input blocks of ``view`` that the console can fill in, in order."""
    found: list[Field] = []
    for block in view.get("blocks") or []:
        element = block.get("element") or {}
        kind = element.get("type", "")
        if block.get("type") != "input" or kind not in SUPPORTED:
            continue
        options = list(element.get("options") or [])
        for group in element.get("option_groups") or []:
            options += group.get("options") or []
        item = Field(
            block_id=block.get("block_id", ""),
            action_id=element.get("action_id", ""),
            kind=kind,
            label=_text(block.get("label")) or block.get("block_id", "?"),
            optional=bool(block.get("optional")),
            options=options,
        )
        item.initial = _initial(item, element)
        found.append(item)
    return found


def _initial(item: Field, element: dict[str, Any]) -> Any:
    if item.kind in SINGLE and element.get("initial_option"):
        return {"type": item.kind, "selected_option": element["initial_option"]}
    if item.kind in MULTI and element.get("initial_options"):
        return {"type": item.kind, "selected_options": element["initial_options"]}
    if item.kind == "users_select" and element.get("initial_user"):
        return {"type": item.kind, "selected_user": element["initial_user"]}
    if item.kind == "datepicker" and element.get("initial_date"):
        return {"type": item.kind, "selected_date": element["initial_date"]}
    if item.kind in TEXT and element.get("initial_value") not in (None, ""):
        return {"type": item.kind, "value": str(element["initial_value"])}
    return None
