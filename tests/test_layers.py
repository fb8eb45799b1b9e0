"""One way down: framework_data → retrieval → bot, and inside bot, storage below the features
and the features below the Slack adapter. Read from the source (every import statement,
including those inside functions), so a new import that climbs a layer fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


def _sources(*folders: str) -> list[Path]:
    return sorted(
        p
        for folder in folders
        for p in (REPO_ROOT / folder).rglob("*.py")
        if "migrations" not in p.parts
    )


# `fwbot console --slack` runs the app on the local doubles from a clone's source tree, and
# says so when they are absent (bot/console.py): the one place the product reaches them.
ALLOWED = {
    ("bot/console.py", "local_slack.session"),
    ("bot/console.py", "local_slack.session.LocalSlack"),
}


def _climbing(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{p.relative_to(REPO_ROOT)} imports {name}"
        for p in paths
        for name in sorted(_imports(p))
        if any(name == f or name.startswith(f + ".") for f in forbidden)
        and (str(p.relative_to(REPO_ROOT)), name) not in ALLOWED
    ]


LAYERS = [
    # (folders, what they must never import)
    (("framework_data",), ("retrieval", "bot", "local_slack", "slack_bolt", "slack_sdk")),
    (("retrieval",), ("bot", "local_slack", "slack_bolt", "slack_sdk")),
    (
        ("bot/storage",),
        (
            "bot.progress",
            "bot.slack",
            "bot.services",
            "bot.cli",
            "bot.questions",
            "bot.alignments",
            "local_slack",
        ),
    ),
    (
        ("bot/slack_api",),
        (
            "bot.slack",
            "bot.progress",
            "bot.storage",
            "bot.services",
            "bot.cli",
            "slack_bolt",
            "local_slack",
        ),
    ),
    (("bot/progress",), ("bot.slack", "slack_bolt", "bot.services", "bot.cli", "local_slack")),
    (("bot",), ("local_slack", "tests")),  # the doubles are test support, not the product
]


@pytest.mark.parametrize(("folders", "forbidden"), LAYERS, ids=[",".join(f) for f, _ in LAYERS])
def test_no_layer_imports_one_above_it(
    folders: tuple[str, ...], forbidden: tuple[str, ...]
) -> None:
    assert _climbing(_sources(*folders), forbidden) == []


def test_the_check_sees_imports_inside_functions_and_relative_ones(tmp_path: Path) -> None:
    """The rule above would pass vacuously if the import reader missed these forms."""
    probe = REPO_ROOT / "bot" / "storage" / "store.py"
    names = _imports(probe)
    assert "bot.storage.db" in names  # `from .db import ...`
    lazy = REPO_ROOT / "bot" / "services.py"
    assert any(n.startswith("bot.slack") for n in _imports(lazy))  # imports inside methods
