"""Questions about progress, answered from the live initiative data (issue 24): what each
kind of question gets, who sees what, the limits of one answer, and bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.services.progress_answers import NONE_YET, ProgressAnswerer
from bot.storage.progress_queries import ProgressQueries
from bot.storage.progress_records import NewInitiative
from bot.storage.progress_store import ProgressStore
from framework_data.loader import load_framework

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
ADMIN, MARIA, JAMES, OTHER = "UADMIN0001", "U01MARIA01", "U02JAMES02", "U09OTHER09"
SECRET = "the Ghana ministry withdrew its data-sharing consent"  # an update's note
FW = load_framework()


@pytest.fixture
def progress(database) -> ProgressStore:
    store = ProgressStore(database)
    store.import_initiatives(
        [
            NewInitiative("Biometrics pilot – Ghana", MARIA, ("1.4", "2.3")),
            NewInitiative("Cybercrime training for NCBs", JAMES, ("2.3",), last_update_at=NOW),
            NewInitiative("Data quality dashboard", MARIA, ("1.4",), last_update_at=NOW),
        ],
        actor="test",
        now=NOW - timedelta(days=40),
    )
    ghana = next(i for i in store.initiatives() if i.title.startswith("Biometrics"))
    store.add_update(
        ghana.id, status="at_risk", percent=40, note=SECRET, author_id=MARIA,
        now=NOW - timedelta(days=20),
    )  # fmt: skip
    return store


def answerer(database, visibility="workspace") -> ProgressAnswerer:
    return ProgressAnswerer(FW, ProgressQueries(database), admins={ADMIN}, visibility=visibility)


def ask(database, question: str, user: str = OTHER, visibility="workspace"):
    done = answerer(database, visibility).answer(question, user, now=NOW)
    assert done is not None, f"{question!r} was not taken for a progress question"
    return done


def test_status_of_an_objective_lists_its_initiatives_with_owner_status_and_overdue(
    database, progress
) -> None:
    done = ask(database, "how is 2.3 doing?")
    text = done.answer.text
    assert "2 active initiatives, 1 overdue" in text
    assert "Biometrics pilot – Ghana" in text and f"<@{MARIA}>" in text
    assert "at risk, 40 %" in text and "*overdue* since" in text
    assert "Cybercrime training for NCBs" in text
    assert [c.id for c in done.answer.citations] == ["2.3"]
    assert not done.private  # titles, owners, statuses: the workspace may see them


def test_a_framework_question_is_not_a_progress_question(database, progress) -> None:
    for question in ("What does 2.3 say?", "Which objective is about training?"):
        assert answerer(database).answer(question, OTHER, now=NOW) is None


def test_overdue_under_a_goal_and_coverage(database, progress) -> None:
    overdue = ask(database, "what's overdue under goal 2?").answer.text
    assert "1 initiative under Goal 2 overdue" in overdue and "Biometrics" in overdue
    coverage = ask(database, "which objectives have no initiative?").answer.text
    assert "19 of 21 objectives have no active initiative" in coverage
    assert "*1.1*" in coverage and "*2.3*" not in coverage


def test_who_leads_and_what_i_own(database, progress) -> None:
    owners = ask(database, "who leads 1.4?").answer.text
    assert "no accountable lead" in owners and f"<@{MARIA}>" in owners
    mine = ask(database, "what do I own?", user=MARIA).answer.text
    assert "You own 2 active initiatives" in mine


def test_notes_only_for_the_owner_and_admins_by_any_phrasing(database, progress) -> None:
    """A non-admin never sees a restricted note, however the question is put."""
    phrasings = [
        "what did the biometrics pilot report last month?",
        "what did the Ghana pilot say recently?",
        "what changed this month?",
        "any updates in the last 30 days?",
        "how is the biometrics pilot doing?",
        "how is 1.4 doing?",
        "what does 1.4 say and how are we doing on it?",
        "who hasn't updated in a month?",
        "what's overdue?",
    ]
    for question in phrasings:
        done = answerer(database).answer(question, OTHER, now=NOW)
        assert done is None or SECRET not in done.answer.text, question
    owner = ask(database, "what changed in the last 30 days?", user=MARIA)
    assert SECRET in owner.answer.text and owner.private  # in a channel: to her alone
    admin = ask(database, "what changed in the last 30 days?", user=ADMIN)
    assert SECRET in admin.answer.text and admin.private
    hidden = ask(database, "what changed in the last 30 days?").answer.text
    assert "1 update in the last 30 days" in hidden
    assert "notes are shown only to each initiative's owner and admins" in hidden


def test_who_went_quiet_is_for_admins(database, progress) -> None:
    refused = ask(database, "who hasn't updated in a month?")
    assert "Only admins" in refused.answer.text and not refused.answer.answered
    admin = ask(database, "who hasn't updated in a month?", user=ADMIN)
    assert "Biometrics" not in admin.answer.text  # it updated 20 days ago
    assert admin.private


def test_owners_admins_visibility_hides_details_from_everyone_else(database, progress) -> None:
    other = ask(database, "how is 2.3 doing?", visibility="owners_admins").answer.text
    assert "Biometrics" not in other and "details only for its owner and admins" in other
    maria = ask(database, "how is 2.3 doing?", user=MARIA, visibility="owners_admins")
    assert "Biometrics" in maria.answer.text and maria.private


def test_bad_input_gets_a_clear_reply(database, progress) -> None:
    unknown = ask(database, "how is 9.9 doing?").answer
    assert "has no 9.9" in unknown.text and "1.1–1.5" in unknown.text
    assert not unknown.answered
    nothing = ask(database, "how is the moon landing project doing?").answer.text
    assert "No initiative is called" in nothing
    future = ask(database, "what will the biometrics pilot report next month?").answer.text
    assert "in the future" in future


def test_a_workspace_with_no_initiatives_says_how_to_add_one(database) -> None:
    done = ask(database, "how is 2.3 doing?")
    assert done.answer.text == NONE_YET and not done.answer.answered


def test_one_answer_stays_short_on_any_number_of_initiatives(database) -> None:
    store = ProgressStore(database)
    store.import_initiatives(
        [NewInitiative(f"Training course {n}", JAMES, ("2.3",)) for n in range(300)],
        actor="test",
        now=NOW - timedelta(days=3),
    )
    text = ask(database, "how is 2.3 doing?").answer.text
    assert "300 active initiatives" in text
    assert text.count("\n• ") == 10
    assert "…and 290 more: `fwbot progress list --objective 2.3`" in text
    assert len(text) < 3000  # one Slack message


# ---- with a chat model: it phrases, the database states ----------------------------------


def _phrased(database, *replies: str):
    """A ProgressAnswerer whose phraser is a real ProgressPhraser over a fake chat model that
    replies ``replies`` in turn; and the fallbacks it reported."""
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    from retrieval.llm.progress_phrase import ProgressPhraser
    from retrieval.llm.prompts import chat_prompt, prompt_text

    fallbacks: list[str] = []
    model = GenericFakeChatModel(messages=iter([AIMessage(content=r) for r in replies]))
    phraser = ProgressPhraser(
        model,
        chat_prompt(prompt_text("progress")),
        timeout=5.0,
        framework_title=FW.title,
        on_fallback=fallbacks.append,
    )
    answerer = ProgressAnswerer(
        FW, ProgressQueries(database), admins={ADMIN}, phrase=phraser.phrase
    )
    return answerer, fallbacks


def test_a_model_phrases_the_facts_it_is_given(database, progress) -> None:
    offline = ask(database, "how is 2.3 doing?").answer
    said = f"Two initiatives serve 2.3; one is overdue: <@{MARIA}>'s pilot, at risk at 40 %."
    reply = json.dumps({"text": said})
    answerer, fallbacks = _phrased(database, reply)
    done = answerer.answer("how is 2.3 doing?", OTHER, now=NOW)
    assert done is not None and done.answer.composer == "model" and fallbacks == []
    assert done.answer.text.startswith("Two initiatives serve 2.3")
    assert done.answer.citations == offline.citations


@pytest.mark.parametrize(
    "invented",
    [
        "2.3 has 2 initiatives, 75 % done on average.",  # a figure not in the rows
        f"2.3 is led by <@{JAMES}> and <@UNOBODY01>.",  # a name not in the rows
        "2.3: everything is on track.",  # a status not in the rows
    ],
)
def test_a_model_reply_stating_what_the_rows_do_not_is_not_used(
    database, progress, invented: str
) -> None:
    offline = ask(database, "how is 2.3 doing?").answer
    answerer, fallbacks = _phrased(database, json.dumps({"text": invented}))
    done = answerer.answer("how is 2.3 doing?", OTHER, now=NOW)
    assert done is not None and done.answer.text == offline.text
    assert done.answer.composer == "offline" and done.answer.fallback == "unsupported"
    assert fallbacks == ["unsupported"]


def test_fwbot_ask_answers_progress_from_the_database(tmp_path, fwbot_env) -> None:
    """`fwbot ask` (and the plain console) read the same database: an imported CSV is
    answered at once; the operator sees everything."""
    from tests.conftest import run_fwbot

    env = {**fwbot_env, "FWBOT_DATA_DIR": str(tmp_path)}
    rows = "title,owner,objectives,cadence,last_update\n"
    rows += "Border data pilot,U01MARIA01,1.3;2.3,weekly,2026-10-01\n"
    rows += "NCB helpdesk,U02JAMES02,2.1,monthly,\n"
    csv = tmp_path / "initiatives.csv"
    csv.write_text(rows, encoding="utf-8")
    assert run_fwbot("progress", "import", csv, "--actor", "test", env=env).returncode == 0
    run = run_fwbot("ask", "--json", "what's overdue under goal 1?", env=env)
    assert run.returncode == 0, run.stderr.decode()
    answer = json.loads(run.stdout)
    assert "Border data pilot" in answer["text"] and "NCB helpdesk" not in answer["text"]
    assert answer["answered"] and answer["composer"] == "offline"
    framework = json.loads(run_fwbot("ask", "--json", "What does 2.1 say?", env=env).stdout)
    assert [c["id"] for c in framework["citations"]] == ["2.1"]
