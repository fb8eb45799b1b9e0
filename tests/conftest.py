"""Shared fixtures: one in-memory assistant per session, a network guard, and CLI runs.

* ``assistant``: the INTERPOL :class:`~retrieval.assistant.FrameworkAssistant`, in memory (no
  Chroma location). Building it embeds every view, so it is built once per session.
* ``_block_network`` (autouse): any connection to a non-loopback address raises
  :class:`NetworkBlocked` for the whole session. The same guard is installed in ``fwbot``
  subprocesses started with ``fwbot_env`` (through a generated ``sitecustomize``).
* ``fwbot_env`` and :func:`run_fwbot`: run ``python -m bot.cli`` from the repository root with
  ``FWBOT_DATA_DIR`` in a session temp dir (the index is built once and reused).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = [
    "tests.db_fixtures",
    "tests.slack_fixtures",
    "tests.progress_fixtures",
    "tests.chroma_server",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
TESTS_DIR = REPO_ROOT / "tests"
FRAMEWORKS = TESTS_DIR / "fixtures" / "frameworks"
SDG_PATH = FRAMEWORKS / "sdg.yaml"
FWBOT_TIMEOUT = 180  # seconds; a hung CLI fails the test instead of hanging the session


# ---- network guard ------------------------------------------------------------------------


class NetworkBlocked(RuntimeError):
    """Raised instead of connecting anywhere but loopback during the tests.

    Deliberately not an ``OSError``: code that quietly falls back on connection errors must
    not hide an attempt to reach the network."""


_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: Any) -> bool:
    """True for 127.0.0.0/8, ::1 (also IPv4-mapped / scoped forms) and the localhost names."""
    if isinstance(host, bytes):
        host = host.decode("ascii", errors="replace")
    if not isinstance(host, str) or not host:
        return False
    if host.lower().rstrip(".") in _LOOPBACK_NAMES:
        return True
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False  # any other host name: refused without resolving it (no DNS query)
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def address_allowed(family: int | None, address: Any) -> bool:
    """Whether a connect to ``address`` may proceed: loopback IPs, or an AF_UNIX path."""
    if family == getattr(socket, "AF_UNIX", object()) or isinstance(address, str | bytes):
        return True  # a filesystem (or abstract) socket path never leaves the machine
    if isinstance(address, tuple) and address:
        return is_loopback(address[0])
    return False


def _refuse(address: Any) -> NetworkBlocked:
    return NetworkBlocked(f"network access blocked during tests: connect to {address!r}")


def install_network_guard() -> Callable[[], None]:
    """Patch socket connects to refuse non-loopback addresses; return a function undoing it."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_create_connection = socket.create_connection

    def connect(self: socket.socket, address: Any) -> None:
        if not address_allowed(self.family, address):
            raise _refuse(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not address_allowed(self.family, address):
            raise _refuse(address)
        return real_connect_ex(self, address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        # Checked before name resolution, so a blocked host name never causes a DNS query.
        if not (isinstance(address, tuple) and address and is_loopback(address[0])):
            raise _refuse(address)
        return real_create_connection(address, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.create_connection = create_connection  # type: ignore[assignment]

    def undo() -> None:
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]
        socket.create_connection = real_create_connection  # type: ignore[assignment]

    return undo


@pytest.fixture(scope="session", autouse=True)
def _block_network() -> Iterator[None]:
    undo = install_network_guard()
    try:
        yield
    finally:
        undo()


# ---- in-process assistant ------------------------------------------------------------------


@pytest.fixture(scope="session")
def embedder():
    from retrieval.embeddings import MiniLMEmbedder

    return MiniLMEmbedder().load()


@pytest.fixture(scope="session")
def assistant(embedder):
    """The packaged INTERPOL framework's assistant, in memory (no Chroma location)."""
    from framework_data.loader import load_framework
    from retrieval.assistant import FrameworkAssistant
    from retrieval.search import FrameworkSearcher

    return FrameworkAssistant(FrameworkSearcher(load_framework(), embedder))


# ---- the fwbot CLI in a subprocess ---------------------------------------------------------

_SITECUSTOMIZE = """\
# Generated by tests/conftest.py: the test session's network guard, in fwbot subprocesses.
import importlib.util as _u
_spec = _u.spec_from_file_location("_fwbot_test_conftest", {conftest!r})
_mod = _u.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
_mod.install_network_guard()
"""


@pytest.fixture(scope="session")
def fwbot_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """FWBOT_DATA_DIR for CLI runs: one per session, so each framework is indexed once."""
    return tmp_path_factory.mktemp("fwbot-data")


@pytest.fixture(scope="session")
def sdg_assistant(embedder, fwbot_data_dir: Path):
    """The SDG assistant (17 goals, 169 targets). Its index lives in the CLI tests' data dir, so
    whichever runs first embeds the framework and the other reuses the stored vectors."""
    from framework_data.loader import load_framework
    from retrieval.assistant import FrameworkAssistant
    from retrieval.index import ChromaLocation
    from retrieval.search import FrameworkSearcher

    location = ChromaLocation(path=fwbot_data_dir / "index")
    searcher = FrameworkSearcher(
        load_framework(FRAMEWORKS / "sdg.yaml"), embedder, location=location
    )
    return FrameworkAssistant(searcher)


@pytest.fixture(scope="session")
def fwbot_env(fwbot_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for ``run_fwbot``: a session data dir, UTF-8 stdio, the network guard."""
    guard_dir = tmp_path_factory.mktemp("fwbot-guard")
    (guard_dir / "sitecustomize.py").write_text(
        _SITECUSTOMIZE.format(conftest=str(Path(__file__).resolve())), encoding="utf-8"
    )
    env = dict(os.environ)
    for var in (
        "FWBOT_FRAMEWORK",
        "CHROMA_HOST",
        "CHROMA_PORT",
        "DATABASE_URL",
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "SLACK_API_URL",
        "FWBOT_TRUST_LOCAL_SLACK",
        "FWBOT_ADMIN_HOST",
        "FWBOT_ADMIN_TOKEN",
    ):  # no outside config
        env.pop(var, None)
    pythonpath = [str(guard_dir)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    env.update(
        FWBOT_DATA_DIR=str(fwbot_data_dir),
        FWBOT_ADMIN_PORT="0",  # the admin listener on any free port: servers side by side
        PYTHONIOENCODING="utf-8",
        PYTHONPATH=os.pathsep.join(pythonpath),
    )
    return env


def run_fwbot(
    *args: str | os.PathLike[str],
    input: bytes | None = None,
    env: Mapping[str, str],
) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m bot.cli *args`` from the repository root; stdout/stderr are bytes."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *map(str, args)],
        input=input if input is not None else b"",
        capture_output=True,
        cwd=REPO_ROOT,
        env=dict(env),
        timeout=FWBOT_TIMEOUT,
        check=False,
    )


def run_fwbot_here(
    *args: str | os.PathLike[str],
    input: bytes | None = None,
    env: Mapping[str, str],
) -> subprocess.CompletedProcess[bytes]:
    """``bot.cli.main(args)`` in this process, with ``env`` as the environment, ``input`` on
    stdin and stdout/stderr captured as bytes: what :func:`run_fwbot` gives, without a new
    interpreter and a model load per run. For tests of what a command prints and returns;
    exit codes of a dying process, signals and closed pipes stay with :func:`run_fwbot`. An
    exception the CLI does not turn into a line is a traceback on stderr and exit code 1, as
    in a real process."""
    import io
    import traceback

    from bot.cli.main import main

    out, err = io.BytesIO(), io.BytesIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    stderr = io.TextIOWrapper(err, encoding="utf-8", write_through=True)
    stdin = io.TextIOWrapper(io.BytesIO(input or b""), encoding="utf-8")
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    os.environ.clear()
    os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
    os.chdir(REPO_ROOT)
    sys.stdin, sys.stdout, sys.stderr = stdin, stdout, stderr
    try:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 1
        except Exception:
            traceback.print_exc()
            code = 1
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return subprocess.CompletedProcess(
        ["fwbot", *map(str, args)], code, out.getvalue(), err.getvalue()
    )
