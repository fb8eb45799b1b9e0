"""Settings, read from the environment (and a `.env` file) by pydantic-settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    framework: Path | None = Field(
        default=None, validation_alias="FWBOT_FRAMEWORK",
        description="Framework file (YAML/JSON); default: the packaged INTERPOL framework.",
    )
    data_dir: Path = Field(default=Path("data"), validation_alias="FWBOT_DATA_DIR")
    chroma_host: str | None = Field(default=None, validation_alias="CHROMA_HOST")
    chroma_port: int = Field(default=8000, validation_alias="CHROMA_PORT")
