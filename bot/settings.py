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

    @field_validator("slack_api_url")
    @classmethod
    def _one_trailing_slash(cls, v: str) -> str:
        v = (v or SLACK_API_DEFAULT).strip()
        return v.rstrip("/") + "/"

    @field_validator("slack_bot_token", "slack_signing_secret", "slack_app_token",
                     "database_url", "chroma_host")
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
