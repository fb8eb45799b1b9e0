"""What the CLI says when something goes wrong: one line on stderr and a non-zero exit code.

Every mistake in input or settings is one line naming the setting or the cause and what to
do, and exit code 1 (2 is argparse's alone: an unknown option, a missing argument, a value of
the wrong type); ``--debug`` (or ``FWBOT_DEBUG=1``) prints the traceback above it. A reader
that closes the pipe early (``fwbot progress list | head -1``) ends the command quietly.
Exceptions that are not mistakes (bugs) keep their traceback.

Exception types of heavy libraries are looked up only when their module is already loaded:
this module stays cheap to import (``fwbot --help``).
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
import traceback
from collections.abc import Callable

from framework_data.loader import FrameworkError

from ..wiring.settings import MissingSetting, UnusableSetting

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
EXIT_PIPE_CLOSED = 141  # 128 + SIGPIPE, what a shell reports for `yes | head -1`
DEBUG_ENV = "FWBOT_DEBUG"
_TRUE = {"1", "true", "yes", "on"}


def debug_wanted(args: argparse.Namespace) -> bool:
    """``--debug`` or ``FWBOT_DEBUG=1`` (read from the environment: settings may be what
    failed)."""
    return (
        bool(getattr(args, "debug", False))
        or os.environ.get(DEBUG_ENV, "").strip().lower() in _TRUE
    )


def run(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """``func(args)``'s exit code; an error it raises becomes one line and an exit code."""
    try:
        code = func(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        if not _stdout_closed():
            raise
        _silence_stdout()
        return EXIT_PIPE_CLOSED
    except Exception as exc:
        message = describe(exc)
        if message is None:
            raise
        if debug_wanted(args):
            traceback.print_exc()
        print(f"fwbot: {message}", file=sys.stderr)
        return EXIT_ERROR


def describe(exc: BaseException) -> str | None:
    """The line for ``exc`` (without the "fwbot: " prefix), or None when it is not a mistake
    in input or settings."""
    if isinstance(exc, FrameworkError):
        return f"the framework file has problems:\n{exc}"
    if isinstance(exc, MissingSetting | UnusableSetting):
        return str(exc)
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return f"file not found: {exc.filename}"
    if isinstance(exc, IsADirectoryError) and exc.filename:
        return f"{exc.filename} is a folder: give a file"
    if isinstance(exc, PermissionError) and exc.filename:
        return f"no permission to use {exc.filename}"
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:  # serve --port
        return "the port is already in use: stop what listens there or give another --port"
    pydantic_core = sys.modules.get("pydantic_core")
    if pydantic_core and isinstance(exc, pydantic_core.ValidationError) and exc.title == "Settings":
        from ..wiring.settings import describe_settings_error

        return describe_settings_error(exc)
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if (
        sa_exc
        and isinstance(exc, sa_exc.OperationalError)
        and (exc.connection_invalidated or exc.statement is None)
    ):  # the database went away
        from ..storage.db import connect_failure

        return (
            f"the database stopped answering ({connect_failure(exc)}): check that it is "
            "running and reachable at DATABASE_URL, then run the command again"
        )
    if sa_exc and isinstance(exc, sa_exc.DatabaseError):  # damaged after it was opened
        from ..wiring.places import not_sqlite

        reason = " ".join(str(exc.orig or exc).split())
        if not_sqlite(reason):
            return (
                f"the SQLite database is damaged ({reason}): restore it from a backup, or "
                "point DATABASE_URL (or FWBOT_DATA_DIR) elsewhere"
            )
    return None


def _stdout_closed() -> bool:
    """Whether stdout is a pipe or socket whose reader has gone (not a broken pipe elsewhere,
    e.g. a connection to Slack)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return True
    try:
        import select

        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll() here: assume it was stdout
        return True


def _silence_stdout() -> None:
    """Point stdout at /dev/null: the interpreter's last flush must not fail again (it would
    print "Exception ignored … BrokenPipeError")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError):
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 — lives until the process ends
