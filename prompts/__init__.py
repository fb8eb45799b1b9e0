"""Prompt files for an optional chat model (none is used by default): data, no code.

Each prompt is a text file here, versioned by its first line (``version: N``); an
organisation can replace the folder with ``FWBOT_PROMPTS_DIR``. They are read by
:mod:`retrieval.llm.prompts`; the offline composer needs none.
"""
