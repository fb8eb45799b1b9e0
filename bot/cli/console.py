"""`fwbot console`: a local chat in the terminal — questions, /align and /framework.

Interactive: a "> " prompt with line editing; after a bare "/align", the lines of a proposal
are read at an "align… " prompt until an empty line (Ctrl-C cancels the paste and goes back to
questions). Piped input: each line is echoed after its prompt so the output reads as a
transcript. Only /quit (also in the middle of a paste) or end of input (Ctrl-D) ends it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TextIO

from framework_data.loader import render_framework
from retrieval.conversation import Turn

from ..wiring.settings import MissingSetting, UnusableSetting
from .render import render_alignment, render_answer

if TYPE_CHECKING:
    from retrieval.assistant import FrameworkAssistant

    from ..wiring.composition import Services

HELP = """\
Type a question, e.g. "Which objective is about training?", or:
  /align <proposal>   find the objectives a proposal serves
  /align              paste a longer proposal over several lines, then an empty line
                      (Ctrl-C cancels the paste)
  /framework          show the whole framework
  /progress [help]    progress tracking (with --slack: the Slack app's own /progress)
  /press <n|label>    with --slack: press a button of the last reply (/press 1, /press Confirm)
  /users              with --slack: the people of the local workspace, to @mention
  /help               show this help
  /quit               leave (or Ctrl-D)"""
ALIGN_USAGE = 'Usage: /align <proposal>, e.g. "/align Train border officers to use the databases"'
PASTE_PROMPT = (
    "Paste the proposal (several lines are fine), then an empty line to align it; Ctrl-C cancels."
)
PASTE_CANCELLED = "(Paste cancelled.)"
PROMPT = "> "
FORM_PROMPT = "form> "  # while the fields of a Slack form are asked (console --slack)
PASTE_MODE_PROMPT = "align… "  # while the lines of a bare /align's proposal are read
QUIT = ("/quit", "/exit", "/q")
CONSOLE_TURNS = 5  # earlier turns a follow-up is read with (as a Slack thread's, HISTORY)
COLLECT = object()  # _reply's signal: the next lines, up to an empty one, are a proposal


def _printable(text: str, limit: int = 200) -> str:
    shown = "".join(ch if ch.isprintable() else "·" for ch in text)
    return shown if len(shown) <= limit else shown[:limit] + "…"


class Backend(Protocol):
    """What answers the console: the knowledge core directly, or the Slack app locally."""

    def ask(self, text: str) -> str: ...
    def align(self, text: str) -> str: ...
    def progress(self, text: str) -> str: ...


class CoreBackend:
    """The knowledge core directly; the run is one conversation, so a follow-up ("does it
    cover Africa?") is read with the turns before it, offline or by a model."""

    def __init__(self, services: Services, assistant: FrameworkAssistant) -> None:
        self.fw, self.assistant = services.framework, assistant
        self.services = services
        self.turns: list[Turn] = []

    def ask(self, text: str) -> str:
        resolved = self.assistant.standalone(text, self.turns[-CONSOLE_TURNS:])
        if resolved == text:  # not a follow-up: it may be about progress
            answer = self.services.ask_anything(text)
        else:
            answer = self.assistant.ask(resolved, asked=text)
        self.turns.append(Turn(text, tuple(c.id for c in answer.citations), answer.answered))
        return render_answer(answer, self.fw)

    def align(self, text: str) -> str:
        from retrieval.align import AlignInputError

        try:
            return render_alignment(self.assistant.align(text), self.fw)
        except AlignInputError as exc:
            return str(exc)

    def progress(self, text: str) -> str:
        return (
            "/progress works through the Slack app: run `fwbot console --slack` to try it "
            "here, and `fwbot progress list` for the initiatives in the database."
        )


def _reply(line: str, services: Services, backend: Backend) -> str | object | None:
    """The reply to one line; None for /quit; COLLECT when a multi-line proposal follows."""
    fw = services.framework
    text = line.strip()
    if not text:
        return ""
    if not text.startswith("/"):
        return backend.ask(text)
    command, *rest = text.split(maxsplit=1)
    command = command.lower()
    if command in QUIT:
        return None
    if command in ("/help", "/?"):
        return HELP
    if command == "/framework":
        return render_framework(fw).rstrip("\n")
    if command == "/align":
        if not rest or not rest[0].strip():
            return COLLECT
        return backend.align(rest[0])
    if command == "/progress":
        return backend.progress(rest[0] if rest else "")
    if command in ("/press", "/users"):
        action = getattr(backend, command[1:], None)  # only the Slack app has them
        if action is None:
            return f"{command} works with the Slack app's handlers: run `fwbot console --slack`."
        if command == "/users":
            return str(action())
        if not rest or not rest[0].strip():
            return "Usage: /press <number or label>, e.g. /press 1 or /press Helpful"
        return str(action(rest[0]))
    return f"Unknown command {_printable(command, 40)}.\n{HELP}"


def _reader(inp: TextIO, out: TextIO, interactive: bool) -> Callable[[str], str | None]:
    """``read(prompt)``: the next line, None at the end of input. Interactive, it prompts with
    line editing; piped, it echoes the line after the prompt. Ctrl-C is the caller's."""

    def read(prompt: str) -> str | None:
        if interactive:
            try:
                return input(prompt)
            except EOFError:
                out.write("\n")
                return None
        line = inp.readline()
        if not line:
            return None
        if line.strip() or prompt == FORM_PROMPT:  # an empty answer keeps a field: shown
            out.write(f"{prompt}{_printable(line.strip())}\n")
        return line

    return read


def run_console(
    services: Services,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    slack: bool = False,
) -> int:
    """``slack``: answer through the Slack app's own handlers (the bolt app, its storage and
    Block Kit) against a local fake Slack, instead of calling the knowledge core directly."""
    inp, out = stdin or sys.stdin, stdout or sys.stdout
    for stream in {inp, out} & {sys.stdin, sys.stdout}:
        # undecodable input or an ASCII-only terminal must not end the session
        with contextlib.suppress(AttributeError, ValueError, OSError):
            stream.reconfigure(errors="replace")  # type: ignore[union-attr]
    interactive = inp is sys.stdin and out is sys.stdout and inp.isatty()
    if interactive:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (line editing and history for input())
    fw = services.framework
    n_objectives = sum(1 for _ in fw.objectives())
    out.write(f"{fw.title}\n{len(fw.goals)} goals, {n_objectives} objectives.\n{HELP}\n\n")
    out.write("Loading the model…\n")
    out.flush()
    local_slack = None
    try:
        assistant = services.assistant
        backend: Backend = CoreBackend(services, assistant)
        if slack:
            backend = local_slack = _local_slack_session(services)
    except LocalSlackMissing as exc:
        out.write(f"fwbot console: {exc}\n")
        return 1
    except (MissingSetting, UnusableSetting):
        raise  # a setting to fix: one line naming it, exit 1 (bot/cli/errors.py)
    except Exception as exc:
        out.write(f"Sorry, the model could not be loaded: {exc}\n")
        return 1
    if local_slack is not None:
        out.write(
            f"Ready (the Slack app's handlers, on a local fake Slack).\n{local_slack.users()}\n"
        )
    else:
        out.write("Ready.\n")
    read = _reader(inp, out, interactive)
    if local_slack is not None:  # a form the app opens is filled in here, field by field

        def say(line: str) -> None:
            out.write(f"{line}\n")
            out.flush()

        def field() -> str | None:
            line = read(FORM_PROMPT)
            return None if line is None else line.rstrip("\n")

        local_slack.say, local_slack.prompt = say, field
    pasted: list[str] | None = None  # lines of a multi-line /align, while collecting
    while True:
        try:
            line = read(PROMPT if pasted is None else PASTE_MODE_PROMPT)
        except KeyboardInterrupt:  # Ctrl-C at a prompt: cancels a paste, else a reminder
            out.write(
                f"\n{PASTE_CANCELLED}\n\n"
                if pasted is not None
                else "\n(Type /quit or press Ctrl-D to leave.)\n"
            )
            out.flush()
            pasted = None
            continue
        if line is None:
            break
        try:
            if pasted is not None and line.strip().lower() in QUIT:
                pasted = None  # /quit in the middle of a paste leaves without aligning it
                break
            if pasted is not None and line.strip():
                pasted.append(line.rstrip("\n"))
                continue
            if pasted is not None:
                proposal, pasted = "\n".join(pasted), None
                reply: object = backend.align(proposal) if proposal else ALIGN_USAGE
            else:
                reply = _reply(line, services, backend)
            if reply is COLLECT:
                pasted, reply = [], PASTE_PROMPT
        except KeyboardInterrupt:
            reply = "(Interrupted.)"
        except Exception as exc:
            reply = f"Sorry, I could not handle that line ({type(exc).__name__}); try again."
        if reply is None:
            break
        if reply:
            out.write(f"{reply}\n\n")
            out.flush()
    if pasted:  # input ended while a proposal was being pasted: align what came
        out.write(f"{backend.align(chr(10).join(pasted))}\n\n")
    if local_slack is not None:
        local_slack.close()
    return 0


class LocalSlackMissing(RuntimeError):
    """``--slack`` needs the local Slack doubles, which ship with the source, not the package."""


def _local_slack_session(services: Services):  # -> local_slack.session.LocalSlack
    """The local Slack doubles live beside ``bot/`` in a clone of the repository (they are
    test support, not part of the installed package)."""
    from pathlib import Path

    source = Path(__file__).resolve().parents[2]
    if not (source / "local_slack" / "session.py").is_file():
        raise LocalSlackMissing(
            "--slack needs the local_slack folder of a clone of the "
            "fwbot repository; it is not part of the installed package"
        )
    if str(source) not in sys.path:
        sys.path.insert(0, str(source))
    from local_slack.session import LocalSlack

    services.database  # noqa: B018 — a database it cannot use fails now, naming the setting
    return LocalSlack(services)
