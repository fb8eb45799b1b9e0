"""One way down. Every module of the product has a rank (:data:`LAYERS`, an allowlist): it may
import modules of a lower layer, and of its own group, never of a higher layer or of a sibling
group of its own layer. A module that no entry ranks fails the check, so a new module must be
placed before it lands. Imports are read from the source (every import statement, including
those inside functions and under ``TYPE_CHECKING``, relative ones resolved), so a new import
that climbs fails here; :func:`test_the_gate_fails_each_climbing_import_on_a_scratch_tree`
shows it failing."""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.source_tree import append, scratch_tree

# Bottom to top. Each layer is a tuple of independent groups; "x.*" is the package x and
# everything under it, a name without ".*" is that module alone. ``third_party`` lists the
# outside packages a group may not import.
LAYERS: list[tuple[str, ...]] = [
    ("framework_data.*", "prompts.*"),  # data and its schema
    ("retrieval.*",),  # pure Python: no Slack, no storage
    ("bot", "bot.storage.*", "bot.slack_api.*"),  # the database; the one way out to Slack
    ("bot.progress.*", "bot.services.*"),  # progress tracking; the plain services
    ("bot.slack.*",),  # the bolt app: listeners, durable requests, blocks, delivery
    ("bot.wiring.*",),  # settings, the chat model, the composition root
    ("bot.cli.*",),  # the fwbot command, the console, serve
    ("local_slack.*",),  # test support: a fake Slack, signed requests
]
SLACK_LIBRARIES = ("slack_bolt", "slack_sdk")
THIRD_PARTY_FORBIDDEN: dict[str, tuple[str, ...]] = {
    "framework_data.*": SLACK_LIBRARIES,
    "prompts.*": SLACK_LIBRARIES,
    "retrieval.*": SLACK_LIBRARIES,
    "bot": SLACK_LIBRARIES,
    "bot.storage.*": SLACK_LIBRARIES,
    "bot.slack_api.*": ("slack_bolt",),  # slack_sdk's Web API client is its job
    "bot.progress.*": SLACK_LIBRARIES,
    "bot.services.*": SLACK_LIBRARIES,
}
PRODUCT = ("framework_data", "prompts", "retrieval", "bot", "local_slack")

# `fwbot console --slack` runs the app on the local doubles from a clone's source tree, and
# says so when they are absent (bot/cli/console.py): the one place the product reaches them.
ALLOWED = {("bot.cli.console", "local_slack.session")}


@dataclass(frozen=True)
class Rank:
    layer: int
    group: str


def rank_of(module: str) -> Rank | None:
    """The layer and group of ``module`` (the most specific entry that names it)."""
    best: tuple[int, Rank] | None = None
    for layer, groups in enumerate(LAYERS):
        for group in groups:
            if group.endswith(".*"):
                package = group[:-2]
                matches = module == package or module.startswith(package + ".")
                length = len(package)
            else:
                matches, length = module == group, len(group)
            if matches and (best is None or length > best[0]):
                best = (length, Rank(layer, group))
    return best[1] if best else None


def module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(root: Path, path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved); for
    ``from x import y`` both ``x`` and ``x.y`` (y may be a module)."""
    source = path.read_text(encoding="utf-8")
    return set(_imports_in(source, module_name(root, path), path.name == "__init__.py"))


@functools.lru_cache(maxsize=4096)
def _imports_in(source: str, module: str, is_package: bool) -> frozenset[str]:
    """:func:`imports_of` for a module's text (cached: the scratch-tree tests check copies
    of the same files again and again)."""
    tree = ast.parse(source, filename=module)
    package = module.split(".")
    if not is_package:
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
    return frozenset(found)


def sources(root: Path) -> list[Path]:
    return sorted(
        p
        for folder in PRODUCT
        for p in (root / folder).rglob("*.py")
        if "migrations" not in p.relative_to(root).parts
    )


def _known_module(root: Path, name: str) -> bool:
    """``name`` is a module or package of the tree (not a function or class imported by
    ``from x import y``)."""
    path = root.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def layer_violations(root: Path) -> list[str]:
    """Every module without a rank, and every import that climbs or crosses to a sibling."""
    problems: list[str] = []
    for path in sources(root):
        module = module_name(root, path)
        where = path.relative_to(root)
        mine = rank_of(module)
        if mine is None:
            problems.append(f"{where}: {module} has no rank in tests/test_layers.py LAYERS")
            continue
        banned = THIRD_PARTY_FORBIDDEN.get(mine.group, ())
        named = imports_of(root, path)
        for top in sorted(banned):
            if top in {name.split(".")[0] for name in named}:
                problems.append(f"{where} imports {top} ({mine.group} may not use {top})")
        crossed: set[str] = set()  # one line per group reached (`from x import y` names x and x.y)
        for name in sorted(named):
            top = name.split(".")[0]
            if top not in PRODUCT or not _known_module(root, name):
                continue
            if any(module == m and (name == n or name.startswith(n + ".")) for m, n in ALLOWED):
                continue
            theirs = rank_of(name)
            if theirs is None or theirs.group in (mine.group, *crossed):
                continue
            crossed.add(theirs.group)
            if theirs.layer > mine.layer:
                problems.append(f"{where} imports {name}: {theirs.group} is above {mine.group}")
            elif theirs.layer == mine.layer:
                problems.append(
                    f"{where} imports {name}: {theirs.group} and {mine.group} are independent"
                )
    return problems


def test_every_module_is_ranked_and_imports_only_downwards() -> None:
    assert layer_violations(REPO_ROOT) == []


@pytest.mark.parametrize(
    ("file", "line", "expected"),
    [
        # the four climbing imports the layer gate once let through (issue 19)
        ("bot/slack_api/calls.py", "from bot.cli.progress import add_commands", "bot.cli.*"),
        ("bot/slack_api/calls.py", "from bot.services import questions", "bot.services.*"),
        ("bot/slack_api/calls.py", "from bot.wiring import settings", "bot.wiring.*"),
        ("bot/services/questions.py", "import bot.slack.app", "bot.slack.*"),
        # inside a function, relative, and between independent siblings
        ("bot/storage/db.py", "def f():\n    from ..progress import service", "bot.progress.*"),
        ("bot/slack_api/calls.py", "from ..storage import db", "independent"),
        ("retrieval/text.py", "import slack_sdk", "may not use slack_sdk"),
    ],
)
def test_the_gate_fails_each_climbing_import_on_a_scratch_tree(
    tmp_path: Path, file: str, line: str, expected: str
) -> None:
    root = scratch_tree(tmp_path, PRODUCT)
    assert layer_violations(root) == []
    append(root / file, line)
    problems = layer_violations(root)
    assert len(problems) == 1 and file in problems[0] and expected in problems[0], problems


def test_a_module_without_a_rank_fails(tmp_path: Path) -> None:
    root = scratch_tree(tmp_path, PRODUCT)
    (root / "bot" / "helpers.py").write_text("X = 1\n", encoding="utf-8")
    (root / "bot" / "newpkg").mkdir()
    (root / "bot" / "newpkg" / "__init__.py").write_text("", encoding="utf-8")
    problems = layer_violations(root)
    assert problems == [
        "bot/helpers.py: bot.helpers has no rank in tests/test_layers.py LAYERS",
        "bot/newpkg/__init__.py: bot.newpkg has no rank in tests/test_layers.py LAYERS",
    ]
