"""The schema every strategic framework follows.

A framework file (YAML) has this shape::

    id: interpol-2017-2020            # short slug
    title: INTERPOL Strategic Framework 2017-2020
    period: 2017-2020                 # optional
    organization:                     # optional: whose framework it is, and its other names
      name: INTERPOL
      aliases: [ICPO-INTERPOL, the Organization]
    statements:                       # all optional
      vision: Connecting police for a safer world
      mission: Preventing and fighting crime through ...
      values:                         # names, or {name, description}
        - Respect
        - {name: Integrity, description: ...}
    goals:
      - id: "1"                       # string; letters allowed
        title: Serve as the worldwide information hub ...
        description: ...              # optional
        scope: ...                    # optional note on what the goal covers
        keywords: [...]               # optional
        objectives:
          - id: "1.1"                 # string exactly as printed ("1.a", "14.c" are fine)
            text: Provide a secure infrastructure ...
            title: ...                # optional short name
            scope: ...                # optional
            keywords: [...]           # optional

Citation ids: an objective by its own id ("1.3"); a goal as "G" + goal id ("G1");
statements as "vision", "mission", "values".
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ElementKind = Literal["objective", "goal", "statement"]
STATEMENT_IDS = ("vision", "mission", "values")

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _clean_text(value: str) -> str:
    return " ".join(value.split())


def _non_empty_text(value: str) -> str:
    value = _clean_text(value)
    if not value:
        raise ValueError("must not be empty")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Annotated(_Strict):
    """Optional notes an organisation writes about what an element covers."""

    scope: str | None = None
    keywords: tuple[str, ...] = ()

    @field_validator("scope")
    @classmethod
    def _scope_not_blank(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("must not be empty when given")
        return _clean_text(v) if v else v

    @field_validator("keywords")
    @classmethod
    def _keywords_not_blank(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _non_blank_texts(v, "keywords")


def _non_blank_texts(values: tuple[str, ...], what: str) -> tuple[str, ...]:
    """Each text with its spaces folded; an empty one is an error naming the list."""
    cleaned = tuple(_clean_text(t) for t in values)
    if any(not t for t in cleaned):
        raise ValueError(f"{what} must not be empty strings")
    return cleaned


def _check_id(v: str) -> str:
    v = v.strip()
    if not _ID_RE.match(v):
        raise ValueError(
            f"{v!r} is not a valid id: use letters, digits, '.', '-' or '_'"
            ' (e.g. "1.3", "14.c")'
        )
    return v


class Objective(_Annotated):
    id: str = Field(description='The id exactly as printed, e.g. "1.3" or "14.c".')
    text: str = Field(min_length=1)
    title: str | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _check_id(v)

    @field_validator("text")
    @classmethod
    def _text(cls, v: str) -> str:
        return _non_empty_text(v)


class Goal(_Annotated):
    id: str
    title: str = Field(min_length=1)
    description: str | None = None
    objectives: tuple[Objective, ...] = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _check_id(v)

    @field_validator("title")
    @classmethod
    def _title(cls, v: str) -> str:
        return _non_empty_text(v)

    @property
    def citation_id(self) -> str:
        return f"G{self.id}"


class Value(_Strict):
    name: str = Field(min_length=1)
    description: str | None = None


class Statements(_Strict):
    vision: str | None = None
    mission: str | None = None
    values: tuple[Value, ...] = ()

    @field_validator("values", mode="before")
    @classmethod
    def _values_from_names(cls, v: object) -> object:
        if isinstance(v, list | tuple):
            return [{"name": item} if isinstance(item, str) else item for item in v]
        return v


class Element(BaseModel):
    """One citable element of a framework, flattened for retrieval and display."""

    model_config = ConfigDict(frozen=True)

    id: str  # citation id: "1.3", "G1", "vision"
    kind: ElementKind
    text: str  # the element's own words
    goal_id: str | None = None  # citation id of the goal ("G1"), for objectives and goals
    title: str | None = None
    scope: str | None = None
    keywords: tuple[str, ...] = ()


class Organization(_Strict):
    """Whose framework it is. Its names say nothing about what a question is about: staff
    name their organisation in almost every question, so search treats them as neutral."""

    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _non_empty_text(v)

    @field_validator("aliases")
    @classmethod
    def _aliases_not_blank(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _non_blank_texts(v, "aliases")

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


class Framework(_Strict):
    id: str
    title: str = Field(min_length=1)
    period: str | None = None
    organization: Organization | None = None
    # The language the framework is written in (ISO 639-1): questions clearly in another one
    # are told so instead of being declined as off-topic.
    language: str = Field(default="en", pattern=r"^[a-z]{2}$")
    statements: Statements = Statements()
    goals: tuple[Goal, ...] = Field(min_length=1)

    @field_validator("period", mode="before")
    @classmethod
    def _period_as_text(cls, v: object) -> object:
        return str(v) if isinstance(v, int) else v

    @model_validator(mode="after")
    def _unique_ids(self) -> Framework:
        # Lookups (goal(), objective()) ignore case, so ids must be unique ignoring case too.
        goal_ids = [g.id.casefold() for g in self.goals]
        goal_cites = {f"g{gid}" for gid in goal_ids}
        seen_goals: set[str] = set()
        seen_objectives: set[str] = set()
        for g, gid in zip(self.goals, goal_ids, strict=True):
            if gid in seen_goals:
                raise ValueError(f"goal id {g.id!r} appears more than once")
            seen_goals.add(gid)
            for o in g.objectives:
                oid = o.id.casefold()
                if oid in seen_objectives:
                    raise ValueError(f"objective id {o.id!r} appears more than once")
                if oid in STATEMENT_IDS or oid in goal_cites:
                    raise ValueError(f"objective id {o.id!r} clashes with a citation id")
                seen_objectives.add(oid)
        return self

    # ---- navigation -------------------------------------------------------------------

    def objectives(self) -> Iterator[tuple[Goal, Objective]]:
        for g in self.goals:
            for o in g.objectives:
                yield g, o

    def goal(self, goal_id: str) -> Goal | None:
        gid = goal_id[1:] if goal_id[:1] in ("G", "g") and goal_id[1:] else goal_id
        return next((g for g in self.goals if g.id.lower() == gid.lower()), None)

    def goal_of(self, objective_id: str) -> Goal | None:
        return next((g for g, o in self.objectives() if o.id == objective_id), None)

    def objective(self, objective_id: str) -> Objective | None:
        return next((o for _, o in self.objectives() if o.id.lower() == objective_id.lower()), None)

    def elements(self) -> list[Element]:
        out: list[Element] = []
        st = self.statements
        if st.vision:
            out.append(Element(id="vision", kind="statement", text=_clean_text(st.vision)))
        if st.mission:
            out.append(Element(id="mission", kind="statement", text=_clean_text(st.mission)))
        if st.values:
            out.append(
                Element(
                    id="values",
                    kind="statement",
                    text=", ".join(v.name for v in st.values),
                )
            )
        for g in self.goals:
            out.append(
                Element(
                    id=g.citation_id,
                    kind="goal",
                    text=g.title if not g.description else f"{g.title}. {g.description}",
                    goal_id=g.citation_id,
                    title=g.title,
                    scope=g.scope,
                    keywords=g.keywords,
                )
            )
            for o in g.objectives:
                out.append(
                    Element(
                        id=o.id,
                        kind="objective",
                        text=o.text,
                        goal_id=g.citation_id,
                        title=o.title,
                        scope=o.scope,
                        keywords=o.keywords,
                    )
                )
        return out

    def element(self, citation_id: str) -> Element | None:
        return next((e for e in self.elements() if e.id == citation_id), None)

    def citation_ids(self) -> set[str]:
        return {e.id for e in self.elements()}

    def without_notes(self) -> Framework:
        """The framework with its scope notes and keywords removed (the framework's own words
        only), to measure what the notes are worth."""
        goals = tuple(
            g.model_copy(
                update={
                    "scope": None,
                    "keywords": (),
                    "objectives": tuple(
                        o.model_copy(update={"scope": None, "keywords": ()}) for o in g.objectives
                    ),
                }
            )
            for g in self.goals
        )
        return self.model_copy(update={"goals": goals})

    def content_hash(self) -> str:
        """A stable hash of the framework's content; the search index is keyed by it."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]
