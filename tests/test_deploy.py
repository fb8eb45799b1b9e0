"""The deployment files in deploy/ agree with the code and with what Slack and Docker accept.

* The two Slack manifests declare the same app (apart from the HTTP mode's URLs), within the
  limits of Slack's manifest schema (slackapi/manifest-schema, v1).
* Every event, command and shortcut the real bolt app registers is declared, and nothing
  more; every declared event has the scope Slack requires for it.
* The Dockerfile builds from files the build context holds, runs as a non-root user and
  checks /healthz; compose wires the bot to its database and Chroma server; both health
  checks are run against a local HTTP server.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import fnmatch
import http.server
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from unittest.mock import MagicMock

import pytest
import yaml

from bot.slack import ids
from bot.slack.server import EVENTS_PATH

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
MANIFESTS = {"socket": DEPLOY / "manifest.yml", "http": DEPLOY / "manifest.http.yml"}
HTTP_PLACEHOLDER = "https://YOUR-HOST"

# Channel types fwbot answers plain messages in: public and private channels (follow-ups in
# its threads) and DMs (including the assistant pane). Group DMs (mpim) are not served.
MESSAGE_EVENTS = {"message.channels", "message.groups", "message.im"}
# Slack's AI-app surface: bolt's Assistant middleware handles these (thread context changes
# have a default handler) and the pane's messages arrive as message.im.
ASSISTANT_EVENTS = {"assistant_thread_started", "assistant_thread_context_changed", "message.im"}
# The bot scope Slack requires before it delivers each event.
EVENT_SCOPES = {
    "app_home_opened": set(),
    "app_mention": {"app_mentions:read"},
    "assistant_thread_started": {"assistant:write"},
    "assistant_thread_context_changed": {"assistant:write"},
    "message.channels": {"channels:history"},
    "message.groups": {"groups:history"},
    "message.im": {"im:history"},
}
# Scopes the code needs beyond those of its events, and why.
OTHER_SCOPES = {
    "chat:write": "post answers, ephemeral /align results, updates (bot/slack/delivery.py)",
    "commands": "/align, /progress and the message shortcut",
    "im:write": "private replies by DM when an ephemeral message cannot reach the user",
    "users:read": "users.info: owners' time zones, so nudges arrive at their local time",
    "usergroups:read": "usergroups.users.list: the Slack user group of progress admins",
    "files:read": "files.info and url_private: documents attached to a message aligned with "
    "the shortcut",
    "files:write": "files_upload_v2: the chart of the weekly progress digest",
}


def load_manifest(kind: str) -> dict[str, Any]:
    return yaml.safe_load(MANIFESTS[kind].read_text(encoding="utf-8"))


@pytest.fixture(scope="module", params=sorted(MANIFESTS))
def manifest(request: pytest.FixtureRequest) -> dict[str, Any]:
    return load_manifest(request.param)


def bot_events(m: dict[str, Any]) -> list[str]:
    return m["settings"]["event_subscriptions"]["bot_events"]


def bot_scopes(m: dict[str, Any]) -> list[str]:
    return m["oauth_config"]["scopes"]["bot"]


def request_urls(m: dict[str, Any]) -> list[str]:
    s = m["settings"]
    urls = [s["event_subscriptions"].get("request_url"), s["interactivity"].get("request_url")]
    urls += [c.get("url") for c in m["features"].get("slash_commands", [])]
    return [u for u in urls if u is not None]


def without_urls(m: dict[str, Any]) -> dict[str, Any]:
    m = copy.deepcopy(m)
    m["settings"]["event_subscriptions"].pop("request_url", None)
    m["settings"]["interactivity"].pop("request_url", None)
    m["settings"].pop("socket_mode_enabled")
    for command in m["features"].get("slash_commands", []):
        command.pop("url", None)
    return m


# ---- manifests --------------------------------------------------------------------------------


def test_manifest_within_slack_schema_limits(manifest: dict[str, Any]) -> None:
    """The limits of slackapi/manifest-schema (v1) that a hand edit most easily breaks."""
    assert manifest["_metadata"]["major_version"] == 1
    assert set(manifest) <= {
        "_metadata",
        "display_information",
        "features",
        "oauth_config",
        "settings",
    }
    info = manifest["display_information"]
    assert set(info) <= {"name", "description", "background_color", "long_description"}
    assert 1 <= len(info["name"]) <= 35
    assert 1 <= len(info["description"]) <= 140
    assert re.fullmatch(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", info["background_color"])

    features = manifest["features"]
    assert set(features) <= {
        "app_home",
        "bot_user",
        "shortcuts",
        "slash_commands",
        "assistant_view",
        "unfurl_domains",
    }
    assert features["app_home"] == {
        "home_tab_enabled": True,
        "messages_tab_enabled": True,
        "messages_tab_read_only_enabled": False,
    }
    assert features["bot_user"]["always_online"] is True
    assert 1 <= len(features["bot_user"]["display_name"]) <= 80
    for shortcut in features["shortcuts"]:
        assert set(shortcut) == {"name", "type", "callback_id", "description"}
        assert shortcut["type"] in ("message", "global")
        assert 1 <= len(shortcut["name"]) <= 24
        assert 1 <= len(shortcut["description"]) <= 150
    for command in features["slash_commands"]:
        assert set(command) <= {"command", "url", "description", "usage_hint", "should_escape"}
        assert re.fullmatch(r"/[a-z0-9_-]{1,31}", command["command"])
        assert command["description"] and command.get("usage_hint", "x")
        assert isinstance(command.get("should_escape", False), bool)
    assistant = features["assistant_view"]
    assert set(assistant) <= {"assistant_description", "suggested_prompts"}
    assert assistant["assistant_description"].strip()
    for prompt in assistant.get("suggested_prompts") or []:
        assert set(prompt) == {"title", "message"}

    assert set(manifest["oauth_config"]) <= {"scopes", "redirect_urls"}
    assert set(manifest["oauth_config"]["scopes"]) == {"bot"}
    settings = manifest["settings"]
    assert set(settings) <= {
        "event_subscriptions",
        "interactivity",
        "org_deploy_enabled",
        "socket_mode_enabled",
        "token_rotation_enabled",
    }
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False
    for values in (bot_events(manifest), bot_scopes(manifest)):
        assert len(values) == len(set(values)), "duplicates"
    for url in request_urls(manifest):
        assert re.match(r"https?://", url)


def test_both_manifests_declare_the_same_app_apart_from_urls() -> None:
    socket, http = load_manifest("socket"), load_manifest("http")
    assert without_urls(socket) == without_urls(http)
    # Order matters to nobody, but the sets must be the same too (not just the lists).
    assert set(bot_scopes(socket)) == set(bot_scopes(http))
    assert set(bot_events(socket)) == set(bot_events(http))


def test_socket_mode_manifest_has_no_request_urls() -> None:
    socket = load_manifest("socket")
    assert socket["settings"]["socket_mode_enabled"] is True
    assert request_urls(socket) == []


def test_http_manifest_sends_everything_to_the_events_path() -> None:
    http = load_manifest("http")
    assert http["settings"]["socket_mode_enabled"] is False
    urls = request_urls(http)
    # events, interactivity, and one URL per slash command
    assert len(urls) == 2 + len(http["features"]["slash_commands"])
    assert set(urls) == {HTTP_PLACEHOLDER + EVENTS_PATH}
    assert all(u.endswith(EVENTS_PATH) for u in urls)
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    assert "YOUR-HOST" in readme, "the README must say to replace the placeholder"


def test_align_command_and_shortcut_match_the_listeners(manifest: dict[str, Any]) -> None:
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert ids.COMMAND_ALIGN in commands
    assert commands[ids.COMMAND_ALIGN]["should_escape"] is False
    shortcuts = {s["callback_id"]: s for s in manifest["features"]["shortcuts"]}
    assert ids.SHORTCUT_ALIGN_MESSAGE in shortcuts
    assert shortcuts[ids.SHORTCUT_ALIGN_MESSAGE]["type"] == "message"


def test_every_event_has_its_scope_and_every_scope_a_use(manifest: dict[str, Any]) -> None:
    scopes = set(bot_scopes(manifest))
    needed: set[str] = set()
    for event in bot_events(manifest):
        assert event in EVENT_SCOPES, f"no scope known for event {event!r}: add it here"
        needed |= EVENT_SCOPES[event]
    assert needed <= scopes, f"missing scopes: {sorted(needed - scopes)}"
    if manifest["features"].get("slash_commands") or manifest["features"].get("shortcuts"):
        assert "commands" in scopes
    assert "chat:write" in scopes
    unexplained = scopes - needed - set(OTHER_SCOPES)
    assert not unexplained, f"scopes nothing uses: {sorted(unexplained)}"


# ---- the real app's listeners against the manifest --------------------------------------------


def manifest_events_for(event: Any) -> set[str]:
    """The bot_events a bolt ``app.event(...)`` constraint needs."""
    kind = event.get("type") if isinstance(event, dict) else event
    assert isinstance(kind, str), f"cannot map the event constraint {event!r} to a manifest"
    return set(MESSAGE_EVENTS) if kind == "message" else {kind}


@pytest.fixture(scope="module")
def registered() -> dict[str, Any]:
    """What :func:`bot.slack.app.build_app` registers, recorded from the real app."""
    from slack_bolt import App, Assistant
    from slack_sdk import WebClient

    import bot.slack.app as app_module

    class RecordingApp(App):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.recorded: dict[str, list[Any]] = {
                "event": [],
                "command": [],
                "shortcut": [],
                "message": [],
            }
            super().__init__(*args, **kwargs)

        def event(self, event, *args, **kwargs):  # type: ignore[override]
            self.recorded["event"].append(event)
            return super().event(event, *args, **kwargs)

        def message(self, *args, **kwargs):  # type: ignore[override]
            self.recorded["message"].append(args)
            return super().message(*args, **kwargs)

        def command(self, command, *args, **kwargs):  # type: ignore[override]
            self.recorded["command"].append(command)
            return super().command(command, *args, **kwargs)

        def shortcut(self, constraints, *args, **kwargs):  # type: ignore[override]
            self.recorded["shortcut"].append(constraints)
            return super().shortcut(constraints, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(app_module, "App", RecordingApp)
        # Listeners use their deps only when called; a bot user id skips auth.test.
        app = app_module.build_app(
            MagicMock(name="deps"),
            client=WebClient(token="xoxb-test"),
            signing_secret="test-secret",
            bot_user_id="UFWBOT",
        )
    assert isinstance(app, RecordingApp)
    assistants = [m for m in app._middleware_list if isinstance(m, Assistant)]
    return {**app.recorded, "assistant": bool(assistants)}


def required_events(registered: dict[str, Any]) -> set[str]:
    events: set[str] = set()
    for event in registered["event"]:
        events |= manifest_events_for(event)
    if registered["message"]:
        events |= MESSAGE_EVENTS
    if registered["assistant"]:
        events |= ASSISTANT_EVENTS
    return events


def test_the_app_registers_what_we_expect(registered: dict[str, Any]) -> None:
    # Guards the recording itself: if these vanish, the tests below would pass vacuously.
    assert "app_mention" in registered["event"]
    assert "app_home_opened" in registered["event"]
    assert registered["assistant"], "the bolt Assistant middleware is not registered"
    assert registered["command"] and registered["shortcut"]


def test_every_event_the_app_listens_to_is_subscribed(
    manifest: dict[str, Any], registered: dict[str, Any]
) -> None:
    required, subscribed = required_events(registered), set(bot_events(manifest))
    assert required <= subscribed, f"not subscribed: {sorted(required - subscribed)}"
    assert subscribed <= required, f"subscribed, never handled: {sorted(subscribed - required)}"


def test_every_command_and_shortcut_of_the_app_is_declared(
    manifest: dict[str, Any], registered: dict[str, Any]
) -> None:
    declared_commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert set(registered["command"]) == declared_commands
    callback_ids = {s["callback_id"] if isinstance(s, dict) else s for s in registered["shortcut"]}
    assert callback_ids == {s["callback_id"] for s in manifest["features"]["shortcuts"]}


def _listener_calls_in_source() -> dict[str, set[str]]:
    """``app.event/command/shortcut("...")`` anywhere under bot/ (also outside build_app)."""
    found: dict[str, set[str]] = {"event": set(), "command": set(), "shortcut": set()}
    for path in sorted((ROOT / "bot").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in found
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "app"
                and node.args
            ):
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found[node.func.attr].add(arg.value)
            elif isinstance(arg, ast.Name) and isinstance(getattr(ids, arg.id, None), str):
                found[node.func.attr].add(getattr(ids, arg.id))
    return found


def test_listeners_in_the_source_are_declared_too(manifest: dict[str, Any]) -> None:
    in_source = _listener_calls_in_source()
    assert {"app_mention", "app_home_opened", "message"} <= in_source["event"]
    subscribed = set(bot_events(manifest))
    for event in in_source["event"]:
        missing = manifest_events_for(event) - subscribed
        assert not missing, f"app.event({event!r}) in bot/ but not subscribed: {missing}"
    assert in_source["command"] <= {c["command"] for c in manifest["features"]["slash_commands"]}
    assert in_source["shortcut"] <= {s["callback_id"] for s in manifest["features"]["shortcuts"]}


# ---- Dockerfile ---------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    assert not pending, "the Dockerfile ends inside a line continuation"
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def final_stage() -> list[tuple[str, str]]:
    steps = dockerfile_instructions()
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"not exec form: {args}"
    return value


def test_dockerfile_is_multistage_on_python_311_slim() -> None:
    steps = dockerfile_instructions()
    args = dict(a.split("=", 1) for op, a in steps if op == "ARG" and "=" in a)
    bases = [
        re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], a.split()[0])
        for op, a in steps
        if op == "FROM"
    ]
    assert len(bases) >= 2
    assert set(bases) == {"python:3.11-slim"}
    stage = final_stage()
    assert any(op == "COPY" and "--from=builder" in a and "/opt/venv" in a for op, a in stage)
    compilers = re.compile(r"\b(gcc|g\+\+|clang|build-essential|cc|make)\b")
    for op, a in stage:
        if op == "RUN" and re.search(r"apt-get|apk|yum|dnf", a):
            assert not compilers.search(a), f"a compiler in the final image: {a}"


def test_dockerfile_runs_as_a_non_root_user() -> None:
    stage = final_stage()
    users = [(i, a.strip()) for i, (op, a) in enumerate(stage) if op == "USER"]
    assert users, "no USER in the final stage"
    index, user = users[-1]
    assert user.split(":")[0] not in ("root", "0")
    assert user.split(":")[0] in ("10001", "fwbot")
    assert any(op == "RUN" and "--uid 10001" in a for op, a in stage)
    entry = next(i for i, (op, _) in enumerate(stage) if op == "ENTRYPOINT")
    assert index < entry
    # The index is warmed after switching user, so its files belong to the runtime user.
    warm = [i for i, (op, a) in enumerate(stage) if op == "RUN" and "fwbot index" in a]
    assert warm and warm[-1] > index


def test_dockerfile_runtime_settings() -> None:
    stage = final_stage()
    env = " ".join(a for op, a in stage if op == "ENV")
    for setting in ("FWBOT_DATA_DIR=/app/data", "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"):
        assert setting in env
    assert ("WORKDIR", "/app") in stage
    assert ("EXPOSE", "3000") in stage
    assert exec_form(dict(stage)["ENTRYPOINT"]) == ["fwbot"]
    assert exec_form(dict(stage)["CMD"]) == ["serve", "--port", "3000"]
    assert any(op == "RUN" and "chown" in a and "/app" in a and "10001" in a for op, a in stage), (
        "/app/data must belong to the runtime user"
    )


def healthcheck_command() -> list[str]:
    (args,) = [a for op, a in final_stage() if op == "HEALTHCHECK"]
    options, _, command = args.partition("CMD ")
    assert "--timeout=" in options
    return exec_form(command)


def test_dockerfile_healthcheck_hits_healthz() -> None:
    command = healthcheck_command()
    assert command[0] == "python"
    assert "http://127.0.0.1:3000/healthz" in command[-1]


def test_dockerfile_installs_nothing_from_a_url() -> None:
    url = re.compile(
        r"(https?|ftp|file|git\+\w+)://|git\+|--(extra-)?index-url|--find-links"
        r"|\s-f\s"
    )
    for op, a in dockerfile_instructions():
        if op == "RUN" and "pip" in a:
            assert not url.search(a), f"pip from a URL: {a}"
        assert op != "ADD" or not re.search(r"https?://", a), f"ADD from a URL: {a}"


def canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_slim_venv_keeps_every_library_fwbot_imports() -> None:
    """deploy/slim_venv.py uninstalls from the image what serving never loads; none of it may
    be imported by fwbot's own code (a new ``import aiohttp`` must take it off that list).
    What the kept libraries import is checked by the build itself (slim_venv.py compile
    imports every module of fwbot) and by deploy/check_container.py."""
    tree = ast.parse((DEPLOY / "slim_venv.py").read_text(encoding="utf-8"))
    (unused_node,) = [
        n.value
        for n in tree.body
        if isinstance(n, ast.Assign) and [ast.unparse(t) for t in n.targets] == ["UNUSED"]
    ]
    unused = {canonical_name(name) for name in ast.literal_eval(unused_node)}
    assert "kubernetes" in unused  # the list was found
    distributions = importlib.metadata.packages_distributions()
    imported: dict[str, str] = {}
    for package in ("bot", "retrieval", "framework_data"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    imported.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    assert {"chromadb", "slack_bolt", "matplotlib"} <= set(imported)
    for module, where in sorted(imported.items()):
        for dist in distributions.get(module, []):
            assert canonical_name(dist) not in unused, (
                f"{where} imports {module}, which deploy/slim_venv.py removes ({dist})"
            )


def test_fwbot_reads_only_the_small_word_lists_the_image_keeps() -> None:
    """deploy/slim_venv.py removes wordfreq's "large" lists: every wordfreq call in fwbot
    must ask for the "small" ones (wordfreq's default, "best", is the large list)."""
    calls = 0
    for package in ("bot", "retrieval"):
        for path in (ROOT / package).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            if "wordfreq" not in source:
                continue
            tree = ast.parse(source)
            names = {
                alias.asname or alias.name
                for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module == "wordfreq"
                for alias in node.names
            }
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                    continue
                if node.func.id in names - {"read_cBpack"}:
                    calls += 1
                    wordlist = {k.arg: k.value for k in node.keywords}.get("wordlist")
                    assert isinstance(wordlist, ast.Constant) and wordlist.value == "small", (
                        f"{path.relative_to(ROOT)}:{node.lineno}: {node.func.id} without "
                        'wordlist="small" (the image has no large lists)'
                    )
            assert "large_" not in source, f"{path.relative_to(ROOT)} names a large list"
    assert calls >= 2


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def _pattern_matches(path: str, pattern: str) -> bool:
    """Docker's rule, closely enough: a pattern matching a directory excludes what is in it,
    and a leading ``**/`` matches at any depth."""
    parts = path.split("/")
    if pattern.startswith("**/"):
        return any(_pattern_matches("/".join(parts[i:]), pattern[3:]) for i in range(len(parts)))
    return any(fnmatch.fnmatchcase("/".join(parts[:k]), pattern) for k in range(1, len(parts) + 1))


def ignored(path: str, patterns: list[str]) -> bool:
    result = False
    for pattern in patterns:
        if _pattern_matches(path, pattern.lstrip("!").rstrip("/")):
            result = not pattern.startswith("!")
    return result


def test_dockerfile_copies_what_the_context_holds() -> None:
    patterns = dockerignore_patterns()
    copied = []
    for op, a in dockerfile_instructions():
        if op != "COPY" or a.startswith("--from"):
            continue
        *sources, _dest = a.split()
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repo"
            assert not ignored(source, patterns), f"COPY {source}: excluded by .dockerignore"
            copied.append(source.rstrip("/"))
    # Every package pyproject.toml ships must reach the image, and its readme (metadata).
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for include in project["tool"]["setuptools"]["packages"]["find"]["include"]:
        assert include.rstrip("*") in copied, f"package {include} is not copied"
    assert "pyproject.toml" in copied and project["project"]["readme"] in copied


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    patterns = dockerignore_patterns()
    for path in (
        ".env",
        ".venv",
        ".git",
        "data",
        "__pycache__",
        "bot/__pycache__",
        ".pytest_cache",
        "fwbot.egg-info",
    ):
        assert ignored(path, patterns), f"{path} is sent to the builder"
    for path in ("bot", "retrieval", "framework_data/interpol_2017_2020.yaml", "pyproject.toml"):
        assert not ignored(path, patterns), f"{path} is kept out of the build"


# ---- compose ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_services_and_health(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"bot", "db", "chroma"} <= set(services)
    bot = services["bot"]
    assert (DEPLOY / bot["build"]["context"]).resolve() == ROOT
    assert (ROOT / bot["build"]["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    assert bot["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "chroma": {"condition": "service_healthy"},
    }
    assert bot["restart"] == "unless-stopped"
    assert "3000:3000" in bot["ports"]
    assert bot["env_file"] == [{"path": "../.env", "required": False}]
    # The bot's health check is the image's HEALTHCHECK, unless compose overrides it.
    assert "healthcheck" in bot or healthcheck_command()

    db = services["db"]
    assert db["image"] == "postgres:16-alpine"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    chroma = services["chroma"]
    assert re.fullmatch(r"chromadb/chroma:1\.\d+\.\d+", chroma["image"]), "pin a 1.x tag"
    # The server the image's client speaks to: the same release as the chromadb package
    # installed here (pyproject.toml leaves it open, so a new client moves the pin).
    client = importlib.metadata.version("chromadb")
    assert chroma["image"] == f"chromadb/chroma:{client}", f"chromadb {client} is installed"
    assert "/api/v2/heartbeat" in " ".join(chroma["healthcheck"]["test"])
    for name in ("db", "chroma"):
        for volume in services[name]["volumes"]:
            assert volume.split(":")[0] in compose["volumes"], "use named volumes"
    assert any(v.endswith(":/data") for v in chroma["volumes"])


def test_compose_keeps_the_admin_listener_off_the_hosts_public_interfaces(
    compose: dict[str, Any],
) -> None:
    """Metrics on the admin listener: open to the compose network (a Prometheus there), and
    published on the host's loopback only; the probes stay on the public port."""
    bot = compose["services"]["bot"]
    env = bot["environment"]
    admin = env["FWBOT_ADMIN_PORT"]
    assert env["FWBOT_ADMIN_HOST"] == "0.0.0.0"
    published = [p for p in bot["ports"] if p.split(":")[-1] == admin]
    assert published == [f"127.0.0.1:{admin}:{admin}"]
    assert "http://127.0.0.1:3000/healthz" in healthcheck_command()[-1]


def test_compose_points_the_bot_at_its_database_and_chroma(compose: dict[str, Any]) -> None:
    from sqlalchemy.engine import make_url

    services = compose["services"]
    env = services["bot"]["environment"]
    url = make_url(env["DATABASE_URL"])
    db_env = services["db"]["environment"]
    assert url.get_backend_name() == "postgresql"
    assert url.host == "db" and url.port == 5432
    assert (url.username, url.password, url.database) == (
        db_env["POSTGRES_USER"],
        db_env["POSTGRES_PASSWORD"],
        db_env["POSTGRES_DB"],
    )
    assert env["CHROMA_HOST"] == "chroma" and int(env["CHROMA_PORT"]) == 8000


# ---- the health checks, run against a local server ----------------------------------------


class _Server(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, int]] = {}

    def do_GET(self) -> None:
        status = self.routes.get(self.path, 404)
        body = b'{"ok": true}' if status == 200 else b'{"ok": false}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(ConnectionError):  # bash hangs up after the status line
            self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[tuple[int, dict[str, int]]]:
    routes: dict[str, int] = {}
    handler = type("Handler", (_Server,), {"routes": routes})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # shutdown() waits for the serving loop's next poll: 0.05 s, not the default 0.5 s
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield server.server_address[1], routes
    finally:
        server.shutdown()
        server.server_close()


def _exit_code(command: list[str]) -> int:
    return subprocess.run(command, timeout=20, capture_output=True).returncode


def test_image_healthcheck_passes_on_200_and_fails_on_503(
    local_server: tuple[int, dict[str, int]],
) -> None:
    port, routes = local_server
    command = [sys.executable] + [
        a.replace("127.0.0.1:3000", f"127.0.0.1:{port}") for a in healthcheck_command()[1:]
    ]
    routes["/healthz"] = 200
    assert _exit_code(command) == 0
    routes["/healthz"] = 503
    assert _exit_code(command) != 0


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash, as the Chroma image has")
def test_chroma_healthcheck_needs_a_200_heartbeat(
    compose: dict[str, Any], local_server: tuple[int, dict[str, int]]
) -> None:
    port, routes = local_server
    test = compose["services"]["chroma"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    # Compose turns "$$" into "$"; the check talks to the container's own port 8000.
    command = [a.replace("$$", "$").replace("/8000", f"/{port}") for a in test[1:]]
    routes["/api/v2/heartbeat"] = 200
    assert _exit_code(command) == 0
    routes["/api/v2/heartbeat"] = 410  # what Chroma 1.x says to the old v1 path
    assert _exit_code(command) != 0
    routes.clear()
    assert _exit_code(command) != 0
