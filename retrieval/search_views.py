"""What search reads of each element: its views (the texts embedded for it — its own text,
"goal title: text", its title, its scope note, its keywords), its lexical documents, and its
scope note without the sentences that point to other elements ("Training courses themselves
belong to 2.3."), whose words are evidence for those, not for the element itself."""

from __future__ import annotations

import re

from framework_data.schema import Element, Framework

from .evidence import OwnNames
from .index import View
from .text import split_sentences

__all__ = [
    "ID_TOKEN",
    "element_views",
    "lexical_docs",
    "note_without_pointers",
    "raw_views",
]


def element_views(fw: Framework, names: OwnNames, notes: dict[str, str | None]) -> list[View]:
    # A view that is nothing but the organisation's name keeps its words.
    return [View(v.element_id, names.remove_from(v.text) or v.text) for v in raw_views(fw, notes)]


def note_without_pointers(el: Element, ids: frozenset[str]) -> str | None:
    """An element's scope note without the sentences that point to another element ("Training
    courses themselves belong to 2.3."): their words are evidence for that one, not this."""
    if not el.scope:
        return None
    kept = [
        s
        for s in split_sentences(el.scope)
        if not any(i != el.id and i in ids for i in ID_TOKEN.findall(s))
    ]
    return " ".join(kept) or None


ID_TOKEN = re.compile(r"(?<![\w.])(?:[Gg]?\d+(?:\.[A-Za-z0-9]+)*)(?![\w])")


def raw_views(fw: Framework, notes: dict[str, str | None]) -> list[View]:
    views: list[View] = []
    for el in fw.elements():
        views.append(View(el.id, el.text))
        if el.kind == "objective":
            goal = fw.goal(el.goal_id or "")
            if goal is not None:
                views.append(View(el.id, f"{goal.title}: {el.text}"))
        if el.kind == "statement":  # "Our values: Respect, …", "Our mission: …"
            views.append(View(el.id, f"Our {el.id}: {el.text}"))
        for extra in (el.title, notes[el.id], ", ".join(el.keywords) if el.keywords else None):
            if extra and (el.kind != "goal" or extra != el.title):
                views.append(View(el.id, extra))
    return views


def lexical_docs(
    fw: Framework, names: OwnNames, notes: dict[str, str | None]
) -> dict[str, list[str]]:
    docs = {
        el.id: [names.remove_from(t) for t in (el.text, el.title, notes[el.id], *el.keywords) if t]
        for el in fw.elements()
    }
    for el in fw.elements():
        if el.kind == "statement":
            docs[el.id].append(el.id)  # the word "values" finds the values
    return docs
