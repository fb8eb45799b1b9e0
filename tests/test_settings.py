"""The settings: five groups, each reading its variables (names unchanged: operators' contract)
from the environment and `.env`; bad values in any group reported together by variable name;
and the README's tables, which must say what the model says."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.wiring.settings import (
    GROUPS,
    VARIABLES,
    Settings,
    describe_settings_error,
    settings_table,
)

ROOT = Path(__file__).parents[1]

# Every variable operators may have set; renaming one breaks their deployment.
CONTRACT = {
    "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL",
    "FWBOT_SLACK_TIMEOUT", "FWBOT_SLACK_STREAMING", "FWBOT_SOCKET_CLIENT",
    "FWBOT_TRUST_LOCAL_SLACK",
    "FWBOT_FRAMEWORK", "FWBOT_DATA_DIR", "DATABASE_URL", "CHROMA_HOST", "CHROMA_PORT",
    "FWBOT_LLM", "FWBOT_LLM_BASE_URL", "FWBOT_LLM_TIMEOUT", "FWBOT_LLM_MAX_TOKENS",
    "FWBOT_LLM_TEMPERATURE", "FWBOT_LLM_JSON_MODE", "FWBOT_LLM_CALLS_PER_USER_HOUR",
    "FWBOT_LLM_CALLS_PER_HOUR", "FWBOT_PROMPTS_DIR",
    "ADMIN_USER_IDS", "ADMIN_USERGROUP_ID", "FWBOT_DEFAULT_TZ", "FWBOT_PROGRESS_VISIBILITY",
    "FWBOT_SCHEDULER",
    "FWBOT_SCHEDULER_INTERVAL", "FWBOT_SEND_RATE", "FWBOT_NUDGE_WORKERS",
    "FWBOT_DIGEST_CHANNEL", "FWBOT_DIGEST_DAY", "FWBOT_DIGEST_TIME", "FWBOT_DIGEST_TZ",
    "FWBOT_ESCALATE_AFTER_WEEKS", "FWBOT_ESCALATE_TO",
    "FWBOT_MODEL_THREADS", "FWBOT_STOP_GRACE", "FWBOT_LOG_FORMAT", "FWBOT_MAX_QUEUED_WORK",
    "FWBOT_ADMIN_HOST", "FWBOT_ADMIN_PORT", "FWBOT_ADMIN_TOKEN",
}  # fmt: skip


@pytest.fixture
def clean_env(monkeypatch, tmp_path: Path) -> Path:
    """No fwbot variable in the environment, and an empty working directory (no .env)."""
    for name in CONTRACT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_variables_keep_their_names() -> None:
    assert set(VARIABLES) == CONTRACT
    assert len(VARIABLES) == sum(len(g.model_fields) for g in GROUPS.values())  # no two alike


def test_each_group_reads_its_variables_from_the_environment(clean_env, monkeypatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-env")
    monkeypatch.setenv("FWBOT_SLACK_TIMEOUT", "30")
    monkeypatch.setenv("FWBOT_LLM", "openai:gpt-4o-mini")
    monkeypatch.setenv("FWBOT_LLM_TIMEOUT", "7")
    monkeypatch.setenv("FWBOT_PROMPTS_DIR", "my_prompts")
    monkeypatch.setenv("FWBOT_DIGEST_CHANNEL", "C123")
    monkeypatch.setenv("ADMIN_USER_IDS", "U1, U2,U1")
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/x.db")
    monkeypatch.setenv("CHROMA_PORT", "9000")
    monkeypatch.setenv("FWBOT_MODEL_THREADS", "3")
    s = Settings()
    assert (s.slack.bot_token, s.slack.timeout, s.slack.api_url) == (
        "xoxb-env",
        30.0,
        "https://slack.com/api/",
    )
    assert (s.llm.model, s.llm.timeout, s.llm.prompts_dir) == (
        "openai:gpt-4o-mini",
        7.0,
        Path("my_prompts"),
    )
    assert (s.progress.digest_channel, s.progress.admins) == ("C123", ("U1", "U2"))
    assert (s.storage.database, s.storage.chroma_port) == ("sqlite:////tmp/x.db", 9000)
    assert s.runtime.model_threads == 3


def test_an_aliased_variable_is_read_by_its_name_only(clean_env, monkeypatch) -> None:
    monkeypatch.setenv("SLACK_TIMEOUT", "99")  # prefix + field name of FWBOT_SLACK_TIMEOUT
    monkeypatch.setenv("FWBOT_DATABASE_URL", "sqlite:////tmp/not-this.db")
    monkeypatch.setenv("FWBOT_LLM_MODEL", "openai:not-this")
    s = Settings()
    assert (s.slack.timeout, s.storage.database_url, s.llm.model) == (15.0, None, None)


def test_dot_env_is_read_the_environment_wins_and_blank_is_unset(clean_env, monkeypatch) -> None:
    (clean_env / ".env").write_text(
        "SLACK_BOT_TOKEN=xoxb-file\nFWBOT_LLM_MAX_TOKENS=300\nFWBOT_DIGEST_DAY=fri\n"
        "FWBOT_SCHEDULER_INTERVAL=30\nCHROMA_HOST=\nFWBOT_ESCALATE_TO=  \n",
        encoding="utf-8",
    )
    monkeypatch.setenv("FWBOT_LLM_MAX_TOKENS", "400")
    s = Settings()
    assert s.slack.bot_token == "xoxb-file"
    assert s.llm.max_tokens == 400
    assert (s.progress.digest_day, s.progress.scheduler_interval) == ("friday", 30.0)
    assert s.storage.chroma_host is None and s.progress.escalate_to is None
    none = Settings(_env_file=None)
    assert (none.slack.bot_token, none.progress.digest_day) == (None, "monday")


def test_keyword_arguments_name_variables_and_win(clean_env, monkeypatch) -> None:
    monkeypatch.setenv("FWBOT_LLM_TIMEOUT", "7")
    s = Settings(FWBOT_LLM_TIMEOUT="9", slack_bot_token="xoxb-kw", FWBOT_SEND_RATE=5)
    assert (s.llm.timeout, s.slack.bot_token, s.progress.send_rate) == (9.0, "xoxb-kw", 5.0)
    with pytest.raises(TypeError, match="FWBOT_NO_SUCH"):
        Settings(FWBOT_NO_SUCH="1")


def test_bad_values_in_several_groups_are_one_error_by_variable(clean_env, monkeypatch) -> None:
    monkeypatch.setenv("FWBOT_DEFAULT_TZ", "Mars/Olympus")
    monkeypatch.setenv("FWBOT_MODEL_THREADS", "0")
    monkeypatch.setenv("FWBOT_LLM_TIMEOUT", "0")
    monkeypatch.setenv("FWBOT_SLACK_STREAMING", "maybe")
    monkeypatch.setenv("SLACK_API_URL", "ftp://nope")
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert caught.value.title == "Settings"  # what bot/cli/errors.py recognises
    assert {e["loc"][0] for e in caught.value.errors()} == {
        "FWBOT_DEFAULT_TZ",
        "FWBOT_MODEL_THREADS",
        "FWBOT_LLM_TIMEOUT",
        "FWBOT_SLACK_STREAMING",
        "SLACK_API_URL",
    }
    line = describe_settings_error(caught.value)
    assert "FWBOT_MODEL_THREADS must be a whole number from 1 to 64 (got '0')" in line
    assert "FWBOT_LLM_TIMEOUT must be a number above 0 and at most 300 (got '0')" in line
    assert "FWBOT_SLACK_STREAMING must be true or false (got 'maybe')" in line
    assert "FWBOT_DEFAULT_TZ: 'Mars/Olympus' is not an IANA time zone" in line
    assert "SLACK_API_URL: 'ftp://nope' is not an http(s) URL" in line
    assert "'maybe'" not in str(caught.value)  # inputs stay out of pydantic's report


def test_a_group_is_replaced_validated(clean_env) -> None:
    slack = Settings(SLACK_BOT_TOKEN="xoxb-a", FWBOT_SLACK_TIMEOUT=30).slack
    other = slack.replace(api_url="http://127.0.0.1:9/api", app_token=None)
    assert (other.api_url, other.bot_token, other.timeout) == (
        "http://127.0.0.1:9/api/",
        "xoxb-a",
        30,
    )


def test_a_bad_keyword_argument_is_named_by_its_variable(clean_env) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(fwbot_nudge_workers="0")
    assert describe_settings_error(caught.value) == (
        "FWBOT_NUDGE_WORKERS must be a whole number from 1 to 64 (got '0')"
    )


# ---- the README's tables --------------------------------------------------------------------

REGENERATE = (
    "the table differs from the settings model; paste the output of "
    "`python -c 'from bot.wiring.settings import settings_table; print(settings_table({}))'`"
)


def table_after(path: Path, heading: str) -> str:
    """The first Markdown table after the line ``heading``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index(heading)
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            break
    return "\n".join(rows)


def test_the_readme_settings_table_is_the_models() -> None:
    table = table_after(ROOT / "README.md", "### Settings")
    assert table == settings_table(), REGENERATE.format("")


def test_the_deploy_readme_table_is_the_models_slack_and_storage() -> None:
    table = table_after(ROOT / "deploy" / "README.md", "## Environment variables")
    assert table == settings_table("slack", "storage"), REGENERATE.format('"slack", "storage"')


def test_every_setting_has_a_description() -> None:
    missing = [v for v, (g, n) in VARIABLES.items() if not GROUPS[g].model_fields[n].description]
    assert not missing
