"""Settings, read from the environment (and a `.env` file) by pydantic-settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SLACK_API_DEFAULT = "https://slack.com/api/"


class MissingSetting(RuntimeError):
    """A setting that the requested mode needs is not set; the message names the variable."""


class UnusableSetting(RuntimeError):
    """A setting is given but what it points to refuses or cannot be reached (Slack refused
    SLACK_BOT_TOKEN, no database answers at DATABASE_URL); the message names the setting and
    what to check."""


class Settings(BaseSettings):
    # Inputs stay out of pydantic's report (a --debug traceback): tokens and URLs are secrets.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", hide_input_in_errors=True
    )

    framework: Path | None = Field(
        default=None,
        validation_alias="FWBOT_FRAMEWORK",
        description="Framework file (YAML/JSON); default: the packaged INTERPOL framework.",
    )
    data_dir: Path = Field(default=Path("data"), validation_alias="FWBOT_DATA_DIR")
    chroma_host: str | None = Field(default=None, validation_alias="CHROMA_HOST")
    chroma_port: int = Field(default=8000, validation_alias="CHROMA_PORT")

    model_threads: int | None = Field(
        default=None,
        ge=1,
        le=64,
        validation_alias="FWBOT_MODEL_THREADS",
        description="onnxruntime threads per inference; default 2, and 1 under `fwbot serve` "
        "(which runs one inference per core at once).",
    )
    database_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="SQLAlchemy URL; default: SQLite at <data dir>/fwbot.db.",
    )
    slack_bot_token: str | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: str | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: str | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default=SLACK_API_DEFAULT, validation_alias="SLACK_API_URL")

    # ---- progress tracking ----------------------------------------------------------------
    admin_user_ids: str = Field(
        default="",
        validation_alias="ADMIN_USER_IDS",
        description="Slack user ids of admins, separated by commas (U012AB3CD,U045EF6GH).",
    )
    admin_usergroup: str | None = Field(
        default=None,
        validation_alias="ADMIN_USERGROUP_ID",
        description="A Slack user group (S…) whose members are admins too.",
    )
    default_tz: str = Field(
        default="UTC",
        validation_alias="FWBOT_DEFAULT_TZ",
        description="Time zone for owners whose Slack time zone is not known yet.",
    )
    scheduler: bool = Field(
        default=True,
        validation_alias="FWBOT_SCHEDULER",
        description="Run nudges and the digest inside `fwbot serve` (off: use cron with "
        "`fwbot nudge run`).",
    )
    scheduler_interval: float = Field(
        default=60.0, ge=5, le=3600, validation_alias="FWBOT_SCHEDULER_INTERVAL"
    )
    send_rate: float = Field(
        default=20.0,
        gt=0,
        le=10_000,
        validation_alias="FWBOT_SEND_RATE",
        description="Most nudges a second; the sender also slows down when Slack says so.",
    )
    nudge_workers: int = Field(default=4, ge=1, le=64, validation_alias="FWBOT_NUDGE_WORKERS")
    slack_timeout: float = Field(
        default=15.0,
        ge=1,
        le=120,
        validation_alias="FWBOT_SLACK_TIMEOUT",
        description="Seconds a Web API call may wait for Slack's answer; an unanswered nudge is "
        "looked up in the history, not resent, after this long, and a request taken over "
        "after a crash waits this + 5 s before it looks for its reply.",
    )
    llm: str | None = Field(
        default=None,
        validation_alias="FWBOT_LLM",
        description="provider:model of a chat model (LangChain's init_chat_model), e.g. "
        "openai:gpt-4o-mini; unset: the offline composer.",
    )
    llm_base_url: str | None = Field(default=None, validation_alias="FWBOT_LLM_BASE_URL")
    llm_timeout: float = Field(default=20.0, gt=0, le=300, validation_alias="FWBOT_LLM_TIMEOUT")
    llm_max_tokens: int = Field(
        default=600, ge=16, le=32_000, validation_alias="FWBOT_LLM_MAX_TOKENS"
    )
    llm_temperature: float = Field(
        default=0.0, ge=0, le=2, validation_alias="FWBOT_LLM_TEMPERATURE"
    )
    llm_json_mode: bool = Field(
        default=True,
        validation_alias="FWBOT_LLM_JSON_MODE",
        description="Ask the provider to hold answers and /align reviews to JSON (OpenAI's "
        "response_format, Ollama's format); false for a compatible server that refuses it.",
    )
    llm_calls_per_user_hour: int = Field(
        default=60,
        ge=0,
        le=100_000,
        validation_alias="FWBOT_LLM_CALLS_PER_USER_HOUR",
        description="Model calls one user may cause in an hour (0: no limit); over it, the "
        "offline answer.",
    )
    llm_calls_per_hour: int = Field(
        default=2000,
        ge=0,
        le=10_000_000,
        validation_alias="FWBOT_LLM_CALLS_PER_HOUR",
        description="Model calls in all in an hour (0: no limit).",
    )
    prompts_dir: Path | None = Field(default=None, validation_alias="FWBOT_PROMPTS_DIR")
    slack_streaming: bool = Field(
        default=True,
        validation_alias="FWBOT_SLACK_STREAMING",
        description="Stream model-written answers into their threads as they are written "
        "(chat.startStream); false: post each answer whole.",
    )
    stop_grace: float = Field(
        default=8.0,
        ge=0,
        le=60,
        validation_alias="FWBOT_STOP_GRACE",
        description="Seconds `fwbot serve` gives acknowledged work to finish after SIGTERM or "
        "SIGINT; what has not finished by then is logged as handed back.",
    )
    digest_channel: str | None = Field(
        default=None,
        validation_alias="FWBOT_DIGEST_CHANNEL",
        description="Channel id (C…) for the weekly digest; unset: no digest.",
    )
    digest_day: str = Field(default="monday", validation_alias="FWBOT_DIGEST_DAY")
    digest_time: str = Field(default="12:00", validation_alias="FWBOT_DIGEST_TIME")
    digest_tz: str = Field(default="UTC", validation_alias="FWBOT_DIGEST_TZ")
    escalate_after_weeks: int | None = Field(
        default=None,
        ge=1,
        le=52,
        validation_alias="FWBOT_ESCALATE_AFTER_WEEKS",
        description="After this many weeks overdue, tell FWBOT_ESCALATE_TO (unset: never).",
    )
    escalate_to: str | None = Field(
        default=None,
        validation_alias="FWBOT_ESCALATE_TO",
        description="Channel (C…) or manager (U…) that hears about long-overdue initiatives.",
    )

    @field_validator("llm")
    @classmethod
    def _provider_and_model(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        provider, sep, model = value.strip().partition(":")
        if not sep or not provider or not model or " " in value.strip():
            raise ValueError("use provider:model, e.g. openai:gpt-4o-mini or ollama:llama3.1")
        return value.strip()

    @field_validator("default_tz", "digest_tz")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not an IANA time zone (e.g. Europe/Paris)") from None
        return v.strip()

    @field_validator("digest_day")
    @classmethod
    def _weekday(cls, v: str) -> str:
        from bot.storage.progress_records import WEEKDAYS

        day = v.strip().lower()
        match = [d for d in WEEKDAYS if len(day) >= 2 and d.startswith(day)]
        if len(match) != 1:
            raise ValueError(f"{v!r} is not a weekday (monday … sunday)")
        return match[0]

    @field_validator("digest_time")
    @classmethod
    def _clock_time(cls, v: str) -> str:
        from datetime import time

        try:
            return time.fromisoformat(v.strip()).strftime("%H:%M")
        except ValueError:
            raise ValueError(f"{v!r} is not a time of day like 09:00") from None

    @property
    def admins(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(u.strip() for u in self.admin_user_ids.split(",") if u.strip()))

    @field_validator("slack_api_url")
    @classmethod
    def _one_trailing_slash(cls, v: str) -> str:
        v = (v or SLACK_API_DEFAULT).strip()
        if not v.lower().startswith(("http://", "https://")):
            raise ValueError(
                f"{v!r} is not an http(s) URL; leave it unset for Slack itself "
                f"({SLACK_API_DEFAULT})"
            )
        return v.rstrip("/") + "/"

    @field_validator(
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "database_url",
        "chroma_host",
        "admin_usergroup",
        "digest_channel",
        "escalate_to",
        "escalate_after_weeks",
        "model_threads",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, v: str | None) -> str | None:
        return v.strip() or None if isinstance(v, str) else v

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, v: str | None) -> str | None:
        if v is not None:
            from ..storage.db import check_url  # SQLAlchemy only when a URL is given

            check_url(v)  # ValueError: unparseable, another database, an unknown driver
        return v

    @property
    def database(self) -> str:
        """The database URL in use (the SQLite default lives in the data directory)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'fwbot.db').resolve()}"

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def require_slack_token(self) -> None:
        """Raise :class:`MissingSetting` unless the bot token (all Web API calls) is set."""
        if not self.slack_bot_token:
            raise MissingSetting(
                "SLACK_BOT_TOKEN is not set: the bot token (xoxb-…) from your Slack app's "
                "“OAuth & Permissions” page; see deploy/README.md."
            )

    def require_slack(self) -> None:
        """Raise :class:`MissingSetting` naming the first variable that serving Slack needs."""
        if not self.slack_bot_token:
            raise MissingSetting(
                "SLACK_BOT_TOKEN is not set: the bot token (xoxb-…) from your Slack app's "
                "“OAuth & Permissions” page; see deploy/README.md."
            )
        if self.socket_mode:
            if not self.slack_app_token.startswith("xapp-"):  # type: ignore[union-attr]
                raise MissingSetting(
                    "SLACK_APP_TOKEN must be an app-level token (xapp-…) with the "
                    "connections:write scope, for Socket Mode."
                )
        elif not self.slack_signing_secret:
            raise MissingSetting(
                "SLACK_SIGNING_SECRET is not set: HTTP mode verifies every request with it "
                "(“Basic Information” page of your Slack app), or set SLACK_APP_TOKEN for "
                "Socket Mode."
            )


# ---- one line per bad setting (the CLI prints it instead of pydantic's report) -------------

_SECRET_VARS = {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "DATABASE_URL"}
_BOUND_WORDS = {"ge": "at least", "gt": "above", "le": "at most", "lt": "below"}


def _valid_range(variable: str) -> str:
    """``FWBOT_MODEL_THREADS`` -> "a whole number from 1 to 64", from the field's bounds."""
    field = next(
        (f for f in Settings.model_fields.values() if f.validation_alias == variable), None
    )
    if field is None:
        return "a valid value"
    whole = int in getattr(field.annotation, "__args__", (field.annotation,))
    kind = "a whole number" if whole else "a number"
    bounds = {
        k: getattr(m, k)
        for m in field.metadata
        for k in _BOUND_WORDS
        if getattr(m, k, None) is not None
    }
    if {"ge", "le"} <= bounds.keys():
        return f"{kind} from {bounds['ge']:g} to {bounds['le']:g}"
    said = [f"{_BOUND_WORDS[k]} {v:g}" for k, v in bounds.items()]
    return f"{kind} {' and '.join(said)}" if said else kind


def describe_settings_error(exc: ValidationError) -> str:
    """One line naming each bad variable and what it should be, e.g. "FWBOT_MODEL_THREADS must
    be a whole number from 1 to 64 (got '0')". Secrets and URLs are never echoed."""
    parts: list[str] = []
    for err in exc.errors():
        variable = str(err["loc"][0]) if err["loc"] else "a setting"
        given: Any = err.get("input")
        got = "" if variable in _SECRET_VARS else f" (got {given!r})"
        kind = err["type"]
        if kind == "value_error":
            problem = f"{variable}: {err['ctx']['error']}"
        elif kind.startswith(("greater_than", "less_than", "int_", "float_")):
            problem = f"{variable} must be {_valid_range(variable)}{got}"
        elif kind == "bool_parsing":
            problem = f"{variable} must be true or false{got}"
        else:
            problem = f"{variable}: {err['msg'].lower()}{got}"
        if problem not in parts:
            parts.append(problem)
    return "; ".join(parts)
