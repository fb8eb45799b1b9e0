"""Settings, read from the environment (and a `.env` file) by pydantic-settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SLACK_API_DEFAULT = "https://slack.com/api/"


class MissingSetting(RuntimeError):
    """A setting that the requested mode needs is not set; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    framework: Path | None = Field(
        default=None, validation_alias="FWBOT_FRAMEWORK",
        description="Framework file (YAML/JSON); default: the packaged INTERPOL framework.",
    )
    data_dir: Path = Field(default=Path("data"), validation_alias="FWBOT_DATA_DIR")
    chroma_host: str | None = Field(default=None, validation_alias="CHROMA_HOST")
    chroma_port: int = Field(default=8000, validation_alias="CHROMA_PORT")

    model_threads: int | None = Field(
        default=None, ge=1, le=64, validation_alias="FWBOT_MODEL_THREADS",
        description="onnxruntime threads per inference; default 2, and 1 under `fwbot serve` "
        "(which runs one inference per core at once).",
    )
    database_url: str | None = Field(
        default=None, validation_alias="DATABASE_URL",
        description="SQLAlchemy URL; default: SQLite at <data dir>/fwbot.db.",
    )
    slack_bot_token: str | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: str | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: str | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default=SLACK_API_DEFAULT, validation_alias="SLACK_API_URL")

    # ---- progress tracking ----------------------------------------------------------------
    admin_user_ids: str = Field(
        default="", validation_alias="ADMIN_USER_IDS",
        description="Slack user ids of admins, separated by commas (U012AB3CD,U045EF6GH).",
    )
    admin_usergroup: str | None = Field(
        default=None, validation_alias="ADMIN_USERGROUP_ID",
        description="A Slack user group (S…) whose members are admins too.",
    )
    default_tz: str = Field(
        default="UTC", validation_alias="FWBOT_DEFAULT_TZ",
        description="Time zone for owners whose Slack time zone is not known yet.",
    )
    scheduler: bool = Field(
        default=True, validation_alias="FWBOT_SCHEDULER",
        description="Run nudges and the digest inside `fwbot serve` (off: use cron with "
        "`fwbot nudge run`).",
    )
    scheduler_interval: float = Field(default=60.0, ge=5, le=3600,
                                      validation_alias="FWBOT_SCHEDULER_INTERVAL")
    send_rate: float = Field(
        default=20.0, gt=0, le=10_000, validation_alias="FWBOT_SEND_RATE",
        description="Most nudges a second; the sender also slows down when Slack says so.",
    )
    nudge_workers: int = Field(default=4, ge=1, le=64, validation_alias="FWBOT_NUDGE_WORKERS")
    slack_timeout: float = Field(
        default=15.0, ge=1, le=120, validation_alias="FWBOT_SLACK_TIMEOUT",
        description="Seconds a nudge may wait for Slack's answer; an unanswered one is looked "
        "up in the history, not resent, after this long.",
    )
    digest_channel: str | None = Field(
        default=None, validation_alias="FWBOT_DIGEST_CHANNEL",
        description="Channel id (C…) for the weekly digest; unset: no digest.",
    )
    digest_day: str = Field(default="monday", validation_alias="FWBOT_DIGEST_DAY")
    digest_time: str = Field(default="12:00", validation_alias="FWBOT_DIGEST_TIME")
    digest_tz: str = Field(default="UTC", validation_alias="FWBOT_DIGEST_TZ")
    escalate_after_weeks: int | None = Field(
        default=None, ge=1, le=52, validation_alias="FWBOT_ESCALATE_AFTER_WEEKS",
        description="After this many weeks overdue, tell FWBOT_ESCALATE_TO (unset: never).",
    )
    escalate_to: str | None = Field(
        default=None, validation_alias="FWBOT_ESCALATE_TO",
        description="Channel (C…) or manager (U…) that hears about long-overdue initiatives.",
    )

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
        from bot.progress.records import WEEKDAYS

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
        return tuple(dict.fromkeys(u.strip() for u in self.admin_user_ids.split(",")
                                   if u.strip()))

    @field_validator("slack_api_url")
    @classmethod
    def _one_trailing_slash(cls, v: str) -> str:
        v = (v or SLACK_API_DEFAULT).strip()
        return v.rstrip("/") + "/"

    @field_validator("slack_bot_token", "slack_signing_secret", "slack_app_token",
                     "database_url", "chroma_host", "admin_usergroup", "digest_channel",
                     "escalate_to", "escalate_after_weeks", mode="before")
    @classmethod
    def _blank_is_unset(cls, v: str | None) -> str | None:
        return v.strip() or None if isinstance(v, str) else v

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
