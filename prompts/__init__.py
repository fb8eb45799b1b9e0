"""Prompt templates for optional LLM providers (none is used by default).

The offline composer needs no prompt; an LLM composer (a later issue) renders
``answer.md`` with the question and the retrieved framework elements, and its reply still
passes through ``retrieval.answer.grounded`` so that only real element ids are cited.
"""

from __future__ import annotations

from importlib.resources import files
from string import Template


def load_prompt(name: str) -> Template:
    """A packaged prompt template by name, e.g. ``load_prompt("answer")``."""
    return Template(files(__package__).joinpath(f"{name}.md").read_text(encoding="utf-8"))
