"""Prompt files for an optional chat model (none is used by default).

Each prompt is a text file here, versioned by its first line (``version: N``); an
organisation can replace the folder with ``FWBOT_PROMPTS_DIR``. The offline composer needs no
prompt; :class:`retrieval.llm_composer.LLMComposer` renders ``answer.md``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def prompt_text(name: str, directory: Path | None = None) -> str:
    """The prompt file ``<name>.md`` from ``directory`` (FWBOT_PROMPTS_DIR) or the packaged
    folder."""
    if directory is not None:
        return (Path(directory) / f"{name}.md").read_text(encoding="utf-8")
    return files(__package__).joinpath(f"{name}.md").read_text(encoding="utf-8")
