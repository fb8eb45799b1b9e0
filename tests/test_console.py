"""`fwbot console`, driven in-process: banner, questions, /align, bad input, end of input."""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from bot.cli.console import run_console
from bot.wiring.composition import Services
from bot.wiring.settings import Settings

TAG_LINE = re.compile(r"^\d+\.\d+\s+\[(high|medium|low), [01]\.\d\d\]\s+\S", re.MULTILINE)


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """One Services (model and index built once) over a fresh data dir, for every test here."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FWBOT_DATA_DIR", str(tmp_path_factory.mktemp("fwbot-data")))
        for name in ("FWBOT_FRAMEWORK", "CHROMA_HOST", "CHROMA_PORT", "DATABASE_URL"):
            mp.delenv(name, raising=False)
        yield Services(Settings())


def chat(services: Services, typed: str) -> tuple[int, str]:
    out = io.StringIO()
    code = run_console(services, stdin=io.StringIO(typed), stdout=out)
    return code, out.getvalue()


def after(transcript: str, line: str) -> str:
    """The console's reply to the echoed input ``line``."""
    _, _, rest = transcript.partition(f"> {line}\n")
    assert rest, f"input {line!r} not echoed in:\n{transcript}"
    return rest.split("\n> ", 1)[0]


def test_banner_names_the_framework_and_its_size(services: Services) -> None:
    code, out = chat(services, "")
    assert code == 0
    fw = services.framework
    assert out.startswith(fw.title)
    assert f"{len(fw.goals)} goals, {sum(1 for _ in fw.objectives())} objectives" in out
    assert "5 goals, 21 objectives" in out  # the packaged INTERPOL framework
    for hint in ("/align", "/framework", "/help", "/quit", "Ctrl-D", "Loading the model"):
        assert hint in out


def test_question_is_answered_with_its_source(services: Services) -> None:
    code, out = chat(services, "Which objective is about data quality?\n")
    reply = after(out, "Which objective is about data quality?")
    assert code == 0
    assert "1.4" in reply
    assert re.search(r"Sources: 1\.4 \(", reply)


def test_align_prints_tag_lines(services: Services) -> None:
    code, out = chat(services, "/align Train border officers to use the databases\n")
    reply = after(out, "/align Train border officers to use the databases")
    assert code == 0
    assert TAG_LINE.search(reply), reply
    assert "why:" in reply


@pytest.mark.parametrize("typed", ["/align", "/align   ", "/ALIGN\t"])
def test_bare_align_then_empty_line_shows_usage(services: Services, typed: str) -> None:
    code, out = chat(services, typed + "\n\n")
    assert code == 0
    reply = out.split("Ready.\n", 1)[1]
    assert "Paste the proposal" in reply
    assert "Usage: /align <proposal>" in reply


def test_bare_align_reads_a_multi_line_proposal(services: Services) -> None:
    proposal = (
        "Background: our partners asked for better courses.\n"
        "We will run workshops and training for police officers\n"
        "on open-source investigation techniques.\n"
    )
    code, out = chat(services, "/align\n" + proposal + "\nwhat is goal 1\n")
    assert code == 0
    reply = out.split("Ready.\n", 1)[1]
    assert TAG_LINE.search(reply), reply
    # The three lines were aligned as one proposal: the engine's best tag for the whole text.
    best = services.assistant.align(proposal).tags[0].id
    assert TAG_LINE.search(reply).group(0).startswith(best), reply
    assert "Goal 1" in reply  # the next line is a question again


def test_input_ending_mid_paste_still_aligns(services: Services) -> None:
    _, out = chat(services, "/align\nTrain border police officers in document checks\n")
    assert TAG_LINE.search(out.split("Ready.\n", 1)[1])


def test_align_without_words_explains_why(services: Services) -> None:
    _, out = chat(services, "/align 123 456 !!!\n")
    reply = after(out, "/align 123 456 !!!")
    assert "no words" in reply
    assert not TAG_LINE.search(reply)


def test_unknown_command_shows_help(services: Services) -> None:
    _, out = chat(services, "/frobnicate now\n/help\n")
    reply = after(out, "/frobnicate now")
    assert "Unknown command /frobnicate" in reply
    assert "/align <proposal>" in reply
    assert "/align <proposal>" in after(out, "/help")


def test_framework_command_prints_the_outline(services: Services) -> None:
    _, out = chat(services, "/framework\n")
    reply = after(out, "/framework")
    assert "Goal 1 —" in reply and "5.5" in reply


def test_garbage_and_binary_lines_do_not_crash(services: Services) -> None:
    garbage = (
        "\x00\x01\x02\x1b[31m\ufffd\ufffe\udcff" + "\u202e" + "😀" * 50 + "\n"
        "%s%n{}{0}\\x00'; DROP TABLE\n"
        + "/" * 500
        + "\n"
        + "word " * 30_000
        + "\n"
        + "/align "
        + "\x00" * 100
        + "\n"
        "   \t  \n"
        "Which objective is about data quality?\n"
    )
    code, out = chat(services, garbage)
    assert code == 0
    assert "Traceback" not in out
    # The session went on to answer the last, sensible line.
    assert re.search(r"Sources: 1\.4 \(", after(out, "Which objective is about data quality?"))


def test_a_failing_line_is_reported_and_the_session_goes_on(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(question: str) -> None:
        raise RuntimeError("index exploded")

    monkeypatch.setattr(services.assistant, "ask", boom)
    code, out = chat(services, "what is goal 2\n/align train border officers\n")
    assert code == 0
    assert "Sorry, I could not handle that line" in after(out, "what is goal 2")
    assert TAG_LINE.search(after(out, "/align train border officers"))


def test_quit_stops_reading_and_eof_exits_zero(services: Services) -> None:
    code, out = chat(services, "/quit\nWhich objective is about data quality?\n")
    assert code == 0
    assert "Sources:" not in out
    code, out = chat(services, "what is goal 2")  # no final newline, then end of input
    assert code == 0
    assert "2.3" in after(out, "what is goal 2")


def test_slack_mode_answers_through_the_slack_apps_handlers(services: Services) -> None:
    out = io.StringIO()
    typed = (
        "Which objective is about data quality?\n"
        "/align Train investigators to use open-source intelligence tools\n"
        "/align\n\n"
    )
    code = run_console(services, stdin=io.StringIO(typed), stdout=out, slack=True)
    transcript = out.getvalue()
    assert code == 0 and "Traceback" not in transcript
    reply = after(transcript, "Which objective is about data quality?")
    assert "Goal 1 › 1.4" in reply and "[Helpful]" in reply  # Block Kit, rendered
    aligned = after(transcript, "/align Train investigators to use open-source intelligence tools")
    assert "[Confirm]" in aligned and "confidence:" in aligned
    # The exchange and the alignment were stored, as in Slack.
    store = services.store
    assert store.recent_alignments("ULOCAL")[0].text.startswith("Train investigators")


def test_console_slack_runs_progress_commands(tmp_path, monkeypatch) -> None:
    """`/progress` in `fwbot console --slack` reaches the Slack app's own handler."""
    import io

    from bot.cli.console import run_console
    from bot.wiring.composition import Services
    from bot.wiring.settings import Settings

    monkeypatch.setenv("FWBOT_DATA_DIR", str(tmp_path))
    for var in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    out = io.StringIO()
    run_console(
        Services(Settings()),
        stdin=io.StringIO("/progress snooze 1w\n/progress\n"),
        stdout=out,
        slack=True,
    )
    text = out.getvalue()
    assert "Snoozed until" in text and "<!date" not in text
    assert "no initiatives to update yet" in text


# ---- paste mode (a bare /align): its prompt, Ctrl-C and /quit --------------------------------


class Piped(io.StringIO):
    """Piped input in which a line "^C" is Ctrl-C pressed while that line was awaited."""

    def readline(self, *args: int) -> str:  # type: ignore[override]
        line = super().readline(*args)
        if line == "^C\n":
            raise KeyboardInterrupt
        return line


class Terminal:
    """A scripted interactive terminal: ``input(prompt)`` answers the next scripted line
    (``KeyboardInterrupt`` in the script is Ctrl-C at that prompt; past the end, Ctrl-D), and
    the screen shows prompts, typed lines and the console's output in order."""

    def __init__(self, script: list[str | type[KeyboardInterrupt]]) -> None:
        self.script, self.prompts, self.screen = list(script), [], io.StringIO()

    def input(self, prompt: str = "") -> str:
        self.prompts.append(prompt)
        self.screen.write(prompt)
        if not self.script:
            raise EOFError
        typed = self.script.pop(0)
        if typed is KeyboardInterrupt:
            self.screen.write("^C")
            raise KeyboardInterrupt
        assert isinstance(typed, str)
        self.screen.write(typed + "\n")
        return typed

    def isatty(self) -> bool:  # as sys.stdin
        return True


def run_in_terminal(
    services: Services, monkeypatch: pytest.MonkeyPatch, script: list[str | type[KeyboardInterrupt]]
) -> tuple[int, Terminal]:
    term = Terminal(script)
    monkeypatch.setattr(sys, "stdin", term)
    monkeypatch.setattr(sys, "stdout", term.screen)
    monkeypatch.setattr("builtins.input", term.input)
    return no_escaping_ctrl_c(run_console, services), term


def no_escaping_ctrl_c(run: Any, *args: Any, **kwargs: Any) -> int:
    """``run(...)``; a KeyboardInterrupt escaping it fails the test (instead of stopping the
    whole pytest session)."""
    try:
        return run(*args, **kwargs)
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped the console")


def test_paste_mode_has_its_own_prompt(services: Services) -> None:
    _, out = chat(
        services, "/align\nTrain border police officers\nin document checks\n\nwhat is goal 2\n"
    )
    assert "> /align\n" in out
    assert "align… Train border police officers\nalign… in document checks\n" in out
    assert TAG_LINE.search(out.split("align… in document checks\n", 1)[1])
    assert "2.3" in after(out, "what is goal 2")  # a question again, at the "> " prompt


def test_ctrl_c_cancels_a_paste_and_returns_to_questions(services: Services) -> None:
    out = io.StringIO()
    typed = "/align\nTrain border police officers in document checks\n^C\nwhat is goal 2\n"
    code = no_escaping_ctrl_c(run_console, services, stdin=Piped(typed), stdout=out)
    transcript = out.getvalue()
    assert code == 0
    assert "(Paste cancelled.)" in transcript
    assert not TAG_LINE.search(transcript)  # the pasted line was dropped, not aligned
    assert "2.3" in after(transcript, "what is goal 2")


def test_quit_in_the_middle_of_a_paste_leaves(services: Services) -> None:
    code, out = chat(
        services, "/align\nTrain border police officers in document checks\n/quit\nwhat is goal 2\n"
    )
    assert code == 0
    assert "align… /quit\n" in out
    assert not TAG_LINE.search(out)  # neither aligned ...
    assert "what is goal 2" not in out  # ... nor read on


def test_interactive_paste_prompts_ctrl_c_and_quit(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, term = run_in_terminal(
        services,
        monkeypatch,
        [
            KeyboardInterrupt,
            "/align",
            "Train border police officers",
            KeyboardInterrupt,
            "what is goal 2",
            "/align",
            "in document checks",
            "/quit",
            "never read",
        ],
    )
    assert code == 0
    assert term.prompts == ["> ", "> ", "align… ", "align… ", "> ", "> ", "align… ", "align… "]
    assert term.script == ["never read"]
    screen = term.screen.getvalue()
    # Ctrl-C at a question only reminds how to leave; in a paste, it cancels the paste.
    assert screen.count("(Type /quit or press Ctrl-D to leave.)") == 1
    assert "align… ^C\n(Paste cancelled.)\n" in screen
    assert "2.3" in screen.split("> what is goal 2\n", 1)[1]
    assert not TAG_LINE.search(screen)  # neither paste was aligned


def test_a_new_slack_console_run_starts_a_new_conversation(services: Services) -> None:
    """The DM of the last run (minutes ago, same database) lends no topic to a new run."""
    first = io.StringIO()
    run_console(services, stdin=io.StringIO("What does 1.2 say?\n"), stdout=first, slack=True)
    assert "1.2" in after(first.getvalue(), "What does 1.2 say?")
    question = "and the objective just before it?"
    second = io.StringIO()
    run_console(services, stdin=io.StringIO(f"{question}\n"), stdout=second, slack=True)
    assert "› 1.1" not in after(second.getvalue(), question)
    # Within one run it is a follow-up.
    third = io.StringIO()
    typed = f"What does 1.2 say?\n{question}\n"
    run_console(services, stdin=io.StringIO(typed), stdout=third, slack=True)
    assert "› 1.1" in after(third.getvalue(), question)


def test_a_follow_up_in_the_plain_console_keeps_the_topic(services: Services) -> None:
    """The run is one conversation: "the one after it" is read off the turn before."""
    _, transcript = chat(services, "What does 4.2 say?\nand the one after it?\n/quit\n")
    assert "Sources: 4.2" in after(transcript, "What does 4.2 say?")
    assert "Sources: 4.3" in after(transcript, "and the one after it?")
