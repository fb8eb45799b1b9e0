"""One way out to Slack's Web API: no module outside ``bot/slack_api/`` names a Web API method
of slack_sdk's ``WebClient`` (``client.chat_postMessage(...)``, ``client.views_open``
passed on as a callable, ``getattr(client, "users_info")``…). The names are read from
``WebClient`` itself, so a method Slack adds is covered too; the source is read with ``ast``
(comments and docstrings do not count). bolt's ``say``/``respond``/``ack`` helpers are not
Web API methods of the client and stay where the listeners are.
:func:`test_the_check_fails_on_a_call_inserted_on_a_scratch_tree` shows it failing."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest
from slack_sdk import WebClient

from tests.conftest import REPO_ROOT
from tests.source_tree import append, scratch_tree

SCANNED = ("framework_data", "prompts", "retrieval", "bot")  # the product (not the fakes)
ALLOWED_UNDER = Path("bot") / "slack_api"
WEB_API_METHODS = frozenset(
    {name for name in vars(WebClient) if not name.startswith("_")} | {"api_call"}
)


@functools.lru_cache(maxsize=4096)
def _names_used(source: str) -> tuple[tuple[int, str], ...]:
    """(line, method) of every Web API method named in a module's ``source``: an attribute
    of that name (called or not), or ``getattr(x, "name")``. Cached: the scratch-tree tests
    read copies of the same files again and again."""
    tree = ast.parse(source)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in WEB_API_METHODS:
            found.append((node.lineno, node.attr))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "hasattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in WEB_API_METHODS
        ):
            found.append((node.lineno, str(node.args[1].value)))
    return tuple(found)


def calls_outside_slack_api(root: Path) -> list[str]:
    """``path:line: method`` for each Web API method named outside ``bot/slack_api/``."""
    problems: list[str] = []
    for folder in SCANNED:
        for path in sorted((root / folder).rglob("*.py")):
            where = path.relative_to(root)
            if where.is_relative_to(ALLOWED_UNDER):
                continue
            for line, method in sorted(_names_used(path.read_text(encoding="utf-8"))):
                problems.append(f"{where}:{line}: {method} (move it into bot/slack_api/)")
    return problems


def test_no_slack_web_api_call_outside_bot_slack_api() -> None:
    assert calls_outside_slack_api(REPO_ROOT) == []


def test_the_method_names_come_from_the_client() -> None:
    assert {"chat_postMessage", "views_open", "conversations_history", "auth_test"} <= (
        WEB_API_METHODS
    )
    assert {"assistant_threads_setSuggestedPrompts", "files_upload_v2", "api_call"} <= (
        WEB_API_METHODS
    )


@pytest.mark.parametrize(
    ("file", "code", "method"),
    [
        (
            "bot/slack/listeners/home.py",
            "def f(client):\n    client.chat_postMessage(channel='C1', text='x')",
            "chat_postMessage",
        ),
        (
            "bot/wiring/composition.py",
            "def f(deps):\n    return deps.delivery.client.users_info(user='U1')",
            "users_info",
        ),
        (
            "bot/slack/delivery.py",
            "def f(client):\n    return call_once(client.chat_postEphemeral, channel='C1')",
            "chat_postEphemeral",
        ),
        (
            "bot/progress/nudges.py",
            "def f(client):\n    return getattr(client, 'conversations_history')()",
            "conversations_history",
        ),
        (
            "bot/services/questions.py",
            "def f(client):\n    return client.api_call('chat.postMessage')",
            "api_call",
        ),
    ],
)
def test_the_check_fails_on_a_call_inserted_on_a_scratch_tree(
    tmp_path: Path, file: str, code: str, method: str
) -> None:
    root = scratch_tree(tmp_path, SCANNED)
    assert calls_outside_slack_api(root) == []
    append(root / file, code)
    problems = calls_outside_slack_api(root)
    assert len(problems) == 1 and problems[0].startswith(file) and method in problems[0], problems


def test_calls_inside_bot_slack_api_are_allowed(tmp_path: Path) -> None:
    root = scratch_tree(tmp_path, SCANNED)
    append(root / "bot/slack_api/views.py", "def f(client):\n    client.views_push(view={})")
    assert calls_outside_slack_api(root) == []


# ---- one post loop, one claim protocol ----------------------------------------------------

POSTS = frozenset({"chat_postMessage", "chat_postEphemeral"})
CLAIM_STEPS = frozenset({"claim", "claim_many", "take_over", "finish", "release", "renew"})


def _modules_naming(root: Path, names: frozenset[str], *, on: str | None = None) -> set[str]:
    """The product modules that name one of ``names`` as an attribute (of an expression
    ending in ``.{on}`` / ``{on}``, if given)."""
    found: set[str] = set()
    for folder in SCANNED:
        for path in sorted((root / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Attribute) or node.attr not in names:
                    continue
                owner = node.value
                owner_name = (
                    owner.attr
                    if isinstance(owner, ast.Attribute)
                    else owner.id
                    if isinstance(owner, ast.Name)
                    else ""
                )
                if on is None or owner_name == on:
                    found.add(path.relative_to(root).as_posix())
    return found


def test_one_post_loop_for_every_message() -> None:
    """Delivery's replies and the background sender post through one loop (one retry
    policy, one fallback, one look-up before a retry)."""
    assert _modules_naming(REPO_ROOT, POSTS) == {"bot/slack_api/posting.py"}


def test_one_module_holds_the_claim_protocol() -> None:
    """Only the exactly-once sender claims, takes over, finishes or releases a send claim
    (outside the store itself)."""
    users = _modules_naming(REPO_ROOT, CLAIM_STEPS, on="claims")
    assert {u for u in users if not u.startswith("bot/storage/")} == {
        "bot/progress/exactly_once.py"
    }
