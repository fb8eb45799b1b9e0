"""A scratch copy of the repository's source folders, for tests that show a source check
failing on code inserted into the copy (tests/test_layers.py,
tests/test_slack_calls_in_one_place.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

from tests.conftest import REPO_ROOT


def scratch_tree(tmp_path: Path, folders: Iterable[str]) -> Path:
    """``folders`` of the repository copied under ``tmp_path / "tree"``, which is returned."""
    root = tmp_path / "tree"
    for folder in folders:
        shutil.copytree(
            REPO_ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    return root


def append(path: Path, code: str) -> None:
    """``code`` added at the end of the file ``path``, after a blank line."""
    path.write_text(path.read_text(encoding="utf-8") + f"\n\n{code}\n", encoding="utf-8")
