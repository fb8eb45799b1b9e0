"""Settings, read from the environment (and a `.env` file) by pydantic-settings.

Six groups, each a :class:`BaseSettings` that declares its variables' prefix once
(``env_prefix``): a field ``timeout`` of the LLM group (prefix ``FWBOT_LLM_``) is
``FWBOT_LLM_TIMEOUT``. A variable whose name does not follow its group's prefix (``DATABASE_URL``,
``ADMIN_USER_IDS``, ``FWBOT_SLACK_TIMEOUT``) names itself with ``validation_alias``. The names
are the operators' contract: :func:`settings_table` lists them for the README, and
``tests/test_settings.py`` checks the README's tables against it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic_core import InitErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

SLACK_API_DEFAULT = "https://slack.com/api/"
ADMIN_PORT_DEFAULT = 9464  # the admin listener (metrics): a port in Prometheus exporters' range


class MissingSetting(RuntimeError):
    """A setting that the requested mode needs is not set; the message names the variable."""


class UnusableSetting(RuntimeError):
    """A setting is given but what it points to refuses or cannot be reached (Slack refused
    SLACK_BOT_TOKEN, no database answers at DATABASE_URL); the message names the setting and
    what to check."""


def _shown(default: str) -> dict[str, Any]:
    """The default as the README says it, when the value itself says too little (None, a
    relative path)."""
    return {"shown_default": default}


def _blank_is_unset(v: Any) -> Any:
    return v.strip() or None if isinstance(v, str) else v


class _Group(BaseSettings):
    """One group of settings; each reads the environment and ``.env`` itself."""

    # Inputs stay out of pydantic's report (a --debug traceback): tokens and URLs are secrets.
    # Not populate_by_name: pydantic-settings would then also read prefix + name for a field
    # with an alias (SLACK_TIMEOUT beside FWBOT_SLACK_TIMEOUT, FWBOT_DATABASE_URL beside
    # DATABASE_URL); keyword arguments go through :meth:`key` instead.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", hide_input_in_errors=True
    )

    @classmethod
    def variable(cls, name: str) -> str:
        """The environment variable of field ``name``: its alias, else prefix + name."""
        alias = cls.model_fields[name].validation_alias
        if isinstance(alias, str):
            return alias
        return (cls.model_config.get("env_prefix", "") + name).upper()

    @classmethod
    def key(cls, name: str) -> str:
        """The keyword argument that sets field ``name``: its alias, else its name."""
        alias = cls.model_fields[name].validation_alias
        return alias if isinstance(alias, str) else name

    def replace(self, **changes: Any) -> Self:
        """A validated copy with ``changes`` (field names), e.g. ``api_url`` normalised."""
        values = {**self.model_dump(), **changes}
        return type(self)(_env_file=None, **{self.key(n): v for n, v in values.items()})


class StorageSettings(_Group):
    model_config = SettingsConfigDict(env_prefix="FWBOT_")

    framework: Path | None = Field(
        default=None,
        description="framework file (YAML/JSON)",
        json_schema_extra=_shown("the packaged INTERPOL framework"),
    )
    data_dir: Path = Field(
        default=Path("data"),
        description="the search index (embedded Chroma) and the SQLite database",
        json_schema_extra=_shown("`./data` (`/app/data` in the image)"),
    )
    database_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="SQLAlchemy URL, e.g. `postgresql://user:pass@host:5432/db` (sqlite or "
        "postgresql; psycopg is used for postgresql)",
        json_schema_extra=_shown("SQLite at `$FWBOT_DATA_DIR/fwbot.db`"),
    )
    chroma_host: str | None = Field(
        default=None,
        validation_alias="CHROMA_HOST",
        description="Chroma server host; unset: embedded Chroma in `$FWBOT_DATA_DIR/index`",
    )
    chroma_port: int = Field(
        default=8000, validation_alias="CHROMA_PORT", description="Chroma server port"
    )

    _blank = field_validator("database_url", "chroma_host", mode="before")(_blank_is_unset)

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


class RuntimeSettings(_Group):
    model_config = SettingsConfigDict(env_prefix="FWBOT_")

    model_threads: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="onnxruntime threads per inference; `fwbot serve` runs one inference per "
        "core at once",
        json_schema_extra=_shown("2 (1 under `fwbot serve`)"),
    )
    stop_grace: float = Field(
        default=8.0,
        ge=0,
        le=60,
        description="seconds `fwbot serve` gives acknowledged work after SIGTERM / SIGINT "
        "before it exits; what is unfinished then is logged as handed back, and the next start "
        "finishes it",
    )

    log_format: Literal["text", "json"] = Field(
        default="text",
        description="`fwbot serve`'s log lines on stderr: `text` (one line per record) or "
        "`json` (one JSON object per line, with a `request_id` and Slack's ids, and an "
        "access line per HTTP request; see deploy/README.md)",
    )

    max_queued_work: int | None = Field(
        default=None,
        ge=1,
        le=10000,
        description="questions and alignments `fwbot serve` queues or runs at once per replica; "
        "past it, a new one is acknowledged, its asker told it waits a minute, and it is done "
        "by the first replica with room",
        json_schema_extra=_shown("32 per work thread (64 on 2 cores)"),
    )

    _blank = field_validator("model_threads", "max_queued_work", mode="before")(_blank_is_unset)

    @field_validator("log_format", mode="before")
    @classmethod
    def _format_word(cls, v: Any) -> Any:
        if isinstance(v, str):
            return v.strip().lower() or "text"
        return v


class AdminSettings(_Group):
    """The admin listener of `fwbot serve`: metrics and detailed readiness, off the public
    port (bot/slack/server.py)."""

    model_config = SettingsConfigDict(env_prefix="FWBOT_ADMIN_")

    host: str = Field(
        default="127.0.0.1",
        description="the admin listener's address (`/metrics`, `/readyz` with each check's "
        "error, `/healthz`); `0.0.0.0` for a scraper outside the host or container",
    )
    port: int | None = Field(
        default=ADMIN_PORT_DEFAULT,
        ge=0,
        le=65535,
        description="the admin listener's port; 0: any free port (logged); `off`: no admin "
        "listener",
    )
    token: str | None = Field(
        default=None,
        description="a bearer token that also opens `/metrics` and `/readyz`'s detail on the "
        "public port (`Authorization: Bearer …`); unset: the public port has no metrics",
    )

    _blank = field_validator("token", mode="before")(_blank_is_unset)

    @field_validator("port", mode="before")
    @classmethod
    def _off(cls, v: Any) -> Any:
        if isinstance(v, str) and v.strip().lower() in ("off", "none", "false", "no"):
            return None
        if isinstance(v, str) and not v.strip():  # blank: unset, the default
            return ADMIN_PORT_DEFAULT
        return v


class SlackSettings(_Group):
    model_config = SettingsConfigDict(env_prefix="SLACK_")

    bot_token: str | None = Field(
        default=None,
        description="the bot token (`xoxb-…`, *OAuth & Permissions*)",
        json_schema_extra=_shown("unset (required to serve)"),
    )
    app_token: str | None = Field(
        default=None,
        description="app-level token (`xapp-…`, scope `connections:write`); set: Socket Mode",
    )
    signing_secret: str | None = Field(
        default=None,
        description="signing secret (*Basic Information*); HTTP mode verifies every request "
        "with it",
    )
    api_url: str = Field(
        default=SLACK_API_DEFAULT,
        description="Web API base URL (a proxy, or the local fake in tests)",
    )
    timeout: float = Field(
        default=15.0,
        ge=1,
        le=120,
        validation_alias="FWBOT_SLACK_TIMEOUT",
        description="seconds a Web API call may wait for Slack's answer; an unanswered nudge is "
        "looked up in the history, not resent, after this long, and a request taken over after "
        "a crash waits this + 5 s before it looks for its reply",
    )
    socket_client: Literal["fwbot", "bolt"] = Field(
        default="fwbot",
        validation_alias="FWBOT_SOCKET_CLIENT",
        description="Socket Mode's client: `fwbot` (a second connection during a refresh, "
        "a reconnect at once after a close, pings that find a dead link within 10 s) or "
        "`bolt` (bolt's builtin `SocketModeHandler`, the baseline of `bench/bench_socket.py`)",
    )
    streaming: bool = Field(
        default=True,
        validation_alias="FWBOT_SLACK_STREAMING",
        description="model-written answers in threads and the assistant pane appear as they are "
        "written (`chat.startStream`); `false`: each answer is posted whole",
    )
    trust_local_slack: bool = Field(
        default=False,
        validation_alias="FWBOT_TRUST_LOCAL_SLACK",
        description="tests and local runs only: replies and file downloads may also go to "
        "`SLACK_API_URL`'s own origin over http (the local fake, `local_slack/`); refused "
        "unless that URL is on loopback. Otherwise only `https://hooks.slack.com` (and "
        "`hooks.slack-gov.com`) get replies and only `https://files.slack.com` (and "
        "`files.slack-gov.com`) the bot token",
    )

    _blank = field_validator("bot_token", "signing_secret", "app_token", mode="before")(
        _blank_is_unset
    )

    @field_validator("api_url")
    @classmethod
    def _one_trailing_slash(cls, v: str) -> str:
        v = (v or SLACK_API_DEFAULT).strip()
        if not v.lower().startswith(("http://", "https://")):
            raise ValueError(
                f"{v!r} is not an http(s) URL; leave it unset for Slack itself "
                f"({SLACK_API_DEFAULT})"
            )
        return v.rstrip("/") + "/"

    @field_validator("trust_local_slack")
    @classmethod
    def _only_a_local_slack(cls, v: bool, info: ValidationInfo) -> bool:
        from ..slack_api.hosts import local_origin

        api_url = info.data.get("api_url")
        if v and api_url and local_origin(api_url) is None:
            raise ValueError(
                "is for tests and local runs against the fake Slack only: SLACK_API_URL must "
                "then be on loopback (127.0.0.1, ::1, localhost); unset it for Slack itself"
            )
        return v

    @property
    def socket_mode(self) -> bool:
        return self.app_token is not None

    def require_token(self) -> None:
        """Raise :class:`MissingSetting` unless the bot token (all Web API calls) is set."""
        if not self.bot_token:
            raise MissingSetting(
                "SLACK_BOT_TOKEN is not set: the bot token (xoxb-…) from your Slack app's "
                "“OAuth & Permissions” page; see deploy/README.md."
            )

    def require(self) -> None:
        """Raise :class:`MissingSetting` naming the first variable that serving Slack needs."""
        self.require_token()
        if self.socket_mode:
            if not self.app_token.startswith("xapp-"):  # type: ignore[union-attr]
                raise MissingSetting(
                    "SLACK_APP_TOKEN must be an app-level token (xapp-…) with the "
                    "connections:write scope, for Socket Mode."
                )
        elif not self.signing_secret:
            raise MissingSetting(
                "SLACK_SIGNING_SECRET is not set: HTTP mode verifies every request with it "
                "(“Basic Information” page of your Slack app), or set SLACK_APP_TOKEN for "
                "Socket Mode."
            )


class LLMSettings(_Group):
    model_config = SettingsConfigDict(env_prefix="FWBOT_LLM_")

    model: str | None = Field(
        default=None,
        validation_alias="FWBOT_LLM",
        description="`provider:model` of a chat model for answers (LangChain's "
        "`init_chat_model`), e.g. `openai:gpt-4o-mini`; unset: the offline composer",
    )
    base_url: str | None = Field(default=None, description="the model's endpoint")
    timeout: float = Field(
        default=20.0,
        gt=0,
        le=300,
        description="seconds before the offline answer is given instead",
    )
    max_tokens: int = Field(default=600, ge=16, le=32_000, description="tokens per answer")
    temperature: float = Field(default=0.0, ge=0, le=2, description="the model's temperature")
    json_mode: Literal["schema", "object", "off"] = Field(
        default="schema",
        description="how the provider holds answers and /align reviews to JSON: `schema` "
        "(the reply's JSON schema: OpenAI's `json_schema`, a compatible server's "
        "`json_object` + `schema`, decoded by grammar on llama.cpp and vLLM, Ollama's `format` "
        "schema), `object` (any JSON object), `off` for a server that refuses both "
        "(`true`/`false` mean `schema`/`off`; replies are checked either way)",
    )

    @field_validator("json_mode", mode="before")
    @classmethod
    def _json_mode_words(cls, value: object) -> object:
        words = {"true": "schema", "1": "schema", "false": "off", "0": "off"}
        if isinstance(value, bool):
            return "schema" if value else "off"
        return words.get(str(value).strip().lower(), str(value).strip().lower())

    calls_per_user_hour: int = Field(
        default=60,
        ge=0,
        le=100_000,
        description="model calls one user may cause in an hour, 0: no limit; over it, the "
        "offline answer",
    )
    calls_per_hour: int = Field(
        default=2000,
        ge=0,
        le=10_000_000,
        description="model calls in all in an hour, 0: no limit",
    )
    prompts_dir: Path | None = Field(
        default=None,
        validation_alias="FWBOT_PROMPTS_DIR",
        description="a folder of prompt files that replaces the packaged one",
        json_schema_extra=_shown("the packaged `prompts/`"),
    )

    @field_validator("model")
    @classmethod
    def _provider_and_model(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        provider, sep, model = value.strip().partition(":")
        if not sep or not provider or not model or " " in value.strip():
            raise ValueError("use provider:model, e.g. openai:gpt-4o-mini or ollama:llama3.1")
        return value.strip()


class ProgressSettings(_Group):
    model_config = SettingsConfigDict(env_prefix="FWBOT_")

    admin_user_ids: str = Field(
        default="",
        validation_alias="ADMIN_USER_IDS",
        description="progress admins: Slack user ids, comma-separated (`U012AB3CD,U045EF6GH`)",
        json_schema_extra=_shown("unset"),
    )
    admin_usergroup: str | None = Field(
        default=None,
        validation_alias="ADMIN_USERGROUP_ID",
        description="members of this Slack user group (`S…`) are admins too",
    )
    default_tz: str = Field(
        default="UTC",
        description="owners' time zone until Slack's `users.info` told it",
    )
    progress_visibility: Literal["workspace", "owners_admins", "open"] = Field(
        default="workspace",
        description="who sees what in answers about progress: `workspace` (titles, owners, "
        "statuses, dates to everyone; update notes to each initiative's owner and admins; who "
        "went quiet to admins), `owners_admins` (an initiative's details to its owner and "
        "admins only), `open` (everything to everyone)",
    )
    scheduler: bool = Field(
        default=True,
        description="nudge and digest passes inside `fwbot serve`; `false`: use cron with "
        "`fwbot nudge run`",
    )
    scheduler_interval: float = Field(
        default=60.0,
        ge=5,
        le=3600,
        description="seconds between two of those passes",
    )
    send_rate: float = Field(
        default=20.0,
        gt=0,
        le=10_000,
        description="most nudges a second; the sender also slows down when Slack says so",
    )
    nudge_workers: int = Field(default=4, ge=1, le=64, description="sending threads")
    digest_channel: str | None = Field(
        default=None,
        description="channel id (`C…`) for the weekly digest; unset: no digest",
    )
    digest_day: str = Field(default="monday", description="the digest's weekday")
    digest_time: str = Field(default="12:00", description="the digest's time of day")
    digest_tz: str = Field(default="UTC", description="the time zone of that day and time")
    escalate_after_weeks: int | None = Field(
        default=None,
        ge=1,
        le=52,
        description="after this many weeks overdue, tell `FWBOT_ESCALATE_TO`; unset: never",
    )
    escalate_to: str | None = Field(
        default=None,
        description="channel (`C…`) or manager (`U…`) that hears about long-overdue initiatives",
    )

    _blank = field_validator(
        "admin_usergroup", "digest_channel", "escalate_to", "escalate_after_weeks", mode="before"
    )(_blank_is_unset)

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


GROUPS: dict[str, type[_Group]] = {
    "slack": SlackSettings,
    "storage": StorageSettings,
    "llm": LLMSettings,
    "progress": ProgressSettings,
    "runtime": RuntimeSettings,
    "admin": AdminSettings,
}

# Every variable: its group's attribute name and the field in it.
VARIABLES: dict[str, tuple[str, str]] = {
    group.variable(name): (attr, name)
    for attr, group in GROUPS.items()
    for name in group.model_fields
}


class Settings(BaseModel):
    """All settings, one group each: ``settings.slack.bot_token``, ``settings.llm.timeout``.

    ``Settings()`` reads every group from the environment and ``.env``; keyword arguments name
    variables (``Settings(FWBOT_LLM="openai:gpt-4o-mini", slack_bot_token="xoxb-…")``, any
    case) and win over both; ``_env_file=None`` reads no ``.env``. Bad values in any group
    are reported together, in one :class:`ValidationError` titled "Settings" whose locations
    are the variables' names (:func:`describe_settings_error` makes a line of it).
    """

    slack: SlackSettings
    storage: StorageSettings
    llm: LLMSettings
    progress: ProgressSettings
    runtime: RuntimeSettings
    admin: AdminSettings

    def __init__(self, _env_file: str | Path | None = ".env", **variables: Any) -> None:
        given: dict[str, dict[str, Any]] = {attr: {} for attr in GROUPS}
        for key, value in variables.items():
            if key.upper() not in VARIABLES:
                raise TypeError(f"Settings() got an unknown variable {key!r}")
            attr, name = VARIABLES[key.upper()]
            given[attr][GROUPS[attr].key(name)] = value
        groups: dict[str, _Group] = {}
        errors: list[InitErrorDetails] = []
        for attr, group in GROUPS.items():
            try:
                groups[attr] = group(_env_file=_env_file, **given[attr])
            except ValidationError as exc:
                errors.extend(_by_variable(group, exc))
        if errors:
            raise ValidationError.from_exception_data("Settings", errors, hide_input=True)
        super().__init__(**groups)


def _by_variable(group: type[_Group], exc: ValidationError) -> list[InitErrorDetails]:
    """``exc``'s errors, each located at its variable's name (pydantic says the field's name
    or the alias, by where the value came from)."""
    names = {n.upper(): n for n in group.model_fields} | {
        group.variable(n): n for n in group.model_fields
    }
    out: list[InitErrorDetails] = []
    for err in exc.errors():
        loc = err["loc"]
        if loc and str(loc[0]).upper() in names:
            loc = (group.variable(names[str(loc[0]).upper()]), *loc[1:])
        detail = InitErrorDetails(type=err["type"], loc=loc, input=err.get("input"))
        if "ctx" in err:
            detail["ctx"] = err["ctx"]
        out.append(detail)
    return out


# ---- the README's table --------------------------------------------------------------------


def _field(variable: str) -> FieldInfo | None:
    if variable not in VARIABLES:
        return None
    attr, name = VARIABLES[variable]
    return GROUPS[attr].model_fields[name]


def _default(field: FieldInfo) -> str:
    extra = field.json_schema_extra
    if isinstance(extra, dict) and "shown_default" in extra:
        return str(extra["shown_default"])
    value = field.default
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int | float):
        return _number(value)
    return f"`{value}`"


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def _bounds(field: FieldInfo) -> dict[str, float]:
    return {
        k: getattr(m, k)
        for m in field.metadata
        for k in ("ge", "gt", "le", "lt")
        if getattr(m, k, None) is not None
    }


def settings_table(*groups: str) -> str:
    """The Markdown table of the variables of ``groups`` (all when none are named), in order:
    variable, default, meaning (the field's description, and its range)."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for attr in groups or tuple(GROUPS):
        group = GROUPS[attr]
        for name, field in group.model_fields.items():
            meaning = field.description or ""
            bounds = _bounds(field)
            if {"ge", "le"} <= bounds.keys():
                meaning += f" ({_number(bounds['ge'])}–{_number(bounds['le'])})"
            elif {"gt", "le"} <= bounds.keys():
                meaning += f" (above {_number(bounds['gt'])}, at most {_number(bounds['le'])})"
            lines.append(f"| `{group.variable(name)}` | {_default(field)} | {meaning} |")
    return "\n".join(lines)


# ---- one line per bad setting (the CLI prints it instead of pydantic's report) -------------

_SECRET_VARS = {
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "DATABASE_URL",
    "FWBOT_ADMIN_TOKEN",
}
_BOUND_WORDS = {"ge": "at least", "gt": "above", "le": "at most", "lt": "below"}


def _valid_range(variable: str) -> str:
    """``FWBOT_MODEL_THREADS`` -> "a whole number from 1 to 64", from the field's bounds."""
    field = _field(variable)
    if field is None:
        return "a valid value"
    whole = int in getattr(field.annotation, "__args__", (field.annotation,))
    kind = "a whole number" if whole else "a number"
    bounds = {k: v for k, v in _bounds(field).items() if k in _BOUND_WORDS}
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
