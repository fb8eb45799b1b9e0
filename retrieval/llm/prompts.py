"""The chat model's prompts: files named ``<name>.md`` in the ``prompts`` package (or in
FWBOT_PROMPTS_DIR), versioned by their first line (``version: N``), made into chat templates."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from langchain_core.prompts import ChatPromptTemplate


def prompt_text(name: str, directory: Path | None = None) -> str:
    """The prompt file ``<name>.md`` from ``directory`` (FWBOT_PROMPTS_DIR) or the packaged
    folder."""
    if directory is not None:
        return (Path(directory) / f"{name}.md").read_text(encoding="utf-8")
    return files("prompts").joinpath(f"{name}.md").read_text(encoding="utf-8")


def chat_prompt(text: str) -> ChatPromptTemplate:
    """A prompt file as a chat template: a system part, then ``---- human ----``, then the
    human part; variables ``{framework_title}``, ``{elements}``, ``{question}``,
    ``{format_instructions}``."""
    if text.lower().startswith("version:"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
    system, sep, human = text.partition("\n---- human ----\n")
    if not sep:
        raise ValueError("a prompt needs a '---- human ----' line between its parts")
    return ChatPromptTemplate.from_messages([("system", system.strip()), ("human", human.strip())])


def prompt_version(text: str) -> str:
    """The ``version:`` of a prompt file's first line (``0`` if it has none)."""
    first = text.splitlines()[0] if text else ""
    return first.split(":", 1)[1].strip() if first.lower().startswith("version:") else "0"
