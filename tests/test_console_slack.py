"""`fwbot console --slack` driven through stdin: the local people and @name mentions, forms
filled in field by field, buttons pressed by number or label (local_slack/session.py,
people.py, forms.py)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest

from bot.cli.console import run_console
from bot.wiring.composition import Services
from bot.wiring.settings import Settings


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FWBOT_DATA_DIR", str(tmp_path_factory.mktemp("fwbot-console-slack")))
        for name in (
            "FWBOT_FRAMEWORK",
            "CHROMA_HOST",
            "CHROMA_PORT",
            "DATABASE_URL",
            "SLACK_BOT_TOKEN",
            "SLACK_APP_TOKEN",
            "SLACK_SIGNING_SECRET",
            "ADMIN_USER_IDS",
        ):
            mp.delenv(name, raising=False)
        yield Services(Settings())


def console(services: Services, typed: str) -> str:
    out = io.StringIO()
    assert run_console(services, stdin=io.StringIO(typed), stdout=out, slack=True) == 0
    text = out.getvalue()
    assert "Traceback" not in text and "Sorry, I could not handle" not in text, text
    return text


def after(transcript: str, line: str) -> str:
    _, _, rest = transcript.partition(f"> {line}\n")
    assert rest, f"input {line!r} not echoed in:\n{transcript}"
    return rest.split("\n> ", 1)[0]


def test_the_local_people_are_named_and_mentions_read_as_names(services: Services) -> None:
    out = console(services, "/users\n/progress list\n")
    banner = out.split("\n> ", 1)[0]
    assert "You are @alex" in banner and "@maria" in banner and "@omar" in banner
    assert "@maria" in after(out, "/users")
    listed = after(out, "/progress list")
    assert "Hi @alex!" in listed and "<@" not in listed


def test_progress_lead_takes_an_at_name_and_an_unknown_one_is_explained(
    services: Services,
) -> None:
    out = console(services, "/progress lead 2.3 @maria monthly\n/progress lead 2.4 @bob\n")
    done = after(out, "/progress lead 2.3 @maria monthly")
    assert "@maria now leads objective 2.3" in done, done
    unknown = after(out, "/progress lead 2.4 @bob")
    assert "couldn't tell who `@bob` is" in unknown and "pick the person" in unknown
    assert "Please write it like `/progress lead 2.3 @maria monthly`" not in unknown
    assert "Nobody called @bob is here" in unknown and "@maria" in unknown


def test_a_form_is_filled_in_field_by_field(services: Services) -> None:
    typed = (
        "/progress new Cyber lab\n"
        "\n"  # the title: keep "Cyber lab", from the command
        "A lab for cyber cases\n"  # the description
        "9.9\n"  # not an objective: asked again
        "4.1; 4.2\n"
        "@maria\n"
        "Every month\n"  # a choice by its label
    )
    out = console(services, typed)
    reply = after(out, "/progress new Cyber lab")
    assert "Form “New initiative”" in reply and "Title — Enter keeps: Cyber lab\nform> \n" in reply
    assert "'9.9' is not one of the choices; try again." in reply
    assert re.search(r"#\d+ “Cyber lab” is tracked, serving 4\.1, 4\.2\. @maria owns it", reply)
    assert "cannot fill" not in reply


def test_a_form_can_be_cancelled(services: Services) -> None:
    out = console(services, "/progress new Drone unit\n/cancel\n")
    assert "(Form cancelled: nothing was sent.)" in after(out, "/progress new Drone unit")


def test_buttons_are_pressed_by_number_or_label(services: Services) -> None:
    question = "Which objective is about data quality?"
    proposal = "/align Train border officers to use the databases"
    out = console(services, f"{question}\n/press 1\n{proposal}\n/press confirm\n/press 9\n")
    assert "(/press a number or a label: 1 Helpful, 2 Not helpful)" in after(out, question)
    assert "noted as helpful" in after(out, "/press 1")
    assert "2 Confirm" in after(out, proposal)
    assert "✓ Confirmed" in after(out, "/press confirm")
    assert "No button '9'" in after(out, "/press 9")


def test_press_and_users_need_the_slack_app() -> None:
    from bot.cli.console import CoreBackend, _reply

    class Fake:
        framework = None

    reply = _reply("/press 1", Fake(), CoreBackend.__new__(CoreBackend))  # type: ignore[arg-type]
    assert reply == "/press works with the Slack app's handlers: run `fwbot console --slack`."
