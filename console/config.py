"""Typed settings: defaults < settings.toml in the user config dir < CALLCONSOLE_* env < CLI flags.

The schema is nested: ``[database]``, ``[pbx]``, ``[crm]``, ``[desk]``, ``[metrics]`` and
``[files]`` tables in settings.toml, ``CALLCONSOLE_PBX__HOST``-style variables in the
environment (``__`` between the section and the key). The flat keys of earlier versions
(``ami_host = …`` at the top of the file, ``CALLCONSOLE_AMI_HOST``, ``db_url``, …) keep working:
`FLAT_KEYS` maps each to its new place. Giving one setting both ways in one place is an error.

Secrets (the PBX password, a database URL's password) are `SecretStr`: repr, str, logs and
error messages show ``**********``; `DatabaseSettings.display_url` is the URL for people.

Build a `Settings` with `load_settings()` and pass it into the app factory or the CLI command;
nothing here runs at import time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from callkit.metrics import AbandonTreatment, MetricDefinitions
from console import paths

ENV_PREFIX = "CALLCONSOLE_"


class _Section(BaseModel):
    """A settings table: unknown keys are errors (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid")


class DispositionSetting(_Section):
    """One wrap-up disposition in settings.toml (`[[desk.dispositions]]`)."""

    code: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")
    label: str = Field(min_length=1, max_length=60)
    requires_ticket: bool = False
    requires_followup: bool = False
    opt_out: bool = False  # "don't call me again": do-not-call list and consent withdrawn


class DatabaseSettings(_Section):
    """Where the data lives and how SQLite is tuned."""

    url: SecretStr = Field(
        default_factory=lambda: SecretStr(paths.default_database_url()),
        description="SQLAlchemy URL: sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db "
        "(secret: it may hold a password)",
    )
    sqlite_synchronous: str = Field(
        default="FULL",
        description="SQLite synchronous pragma: FULL keeps commits across power loss (default)",
    )
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)
    pool_size: int = Field(
        default=5,
        ge=1,
        description="PostgreSQL: connections a console keeps open (seats x (pool_size + "
        "pool_max_overflow) must fit the server's max_connections; docs/seats.md)",
    )
    pool_max_overflow: int = Field(
        default=10, ge=0, description="PostgreSQL: more connections a console may open when busy"
    )

    @property
    def display_url(self) -> str:
        """The URL for messages and logs, its password (if any) shown as ``***``."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        raw = self.url.get_secret_value()
        try:
            return make_url(raw).render_as_string(hide_password=True)
        except (ArgumentError, ValueError):  # not a URL (a bare path): nothing to hide
            return raw if "@" not in raw else "<unparsable database URL>"

    @field_validator("sqlite_synchronous")
    @classmethod
    def _synchronous_known(cls, value: str) -> str:
        mode = value.strip().upper()
        if mode not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError("sqlite_synchronous must be OFF, NORMAL, FULL or EXTRA")
        return mode


class PbxSettings(_Section):
    """The AMI server (Asterisk or the simulator) and the login to it."""

    host: str = "127.0.0.1"
    port: int = Field(default=5038, ge=0, le=65535)
    user: str = "callconsole"
    secret: SecretStr = SecretStr("callconsole")
    atxfer_threeway: str = Field(
        default="*3",
        pattern=r"^[0-9*#A-D]{1,10}$",
        description="the PBX's three-way feature code (features.conf atxferthreeway): the "
        "console sends it during a consult to make a conference",
    )
    event_filter: bool = Field(
        default=True,
        description="an agent's console asks the PBX (AMI Filter) for its own calls and queues "
        "only; false: the full event stream (supervisors and wallboards always get it)",
    )


class CrmSettings(_Section):
    """Customer records."""

    default_region: str = Field(
        default="US",
        description="ISO 3166 region used to read national-format phone numbers (US, GB, CN, …)",
    )

    @field_validator("default_region")
    @classmethod
    def _region_known(cls, value: str) -> str:
        import phonenumbers

        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region {value!r} (use an ISO 3166 code such as US, GB, CN)")
        return region


class DeskSettings(_Section):
    """This seat: its phone, the bell, wrap-up."""

    agent_interface: str = Field(
        default="",
        max_length=80,
        description="this seat's queue-member interface where the agent record's is not the "
        "PBX's (e.g. Local/1001@from-queue/n on FreePBX); empty: the agent record's",
    )
    agent_state_interface: str = Field(
        default="",
        max_length=80,
        description="this seat's phone device where it differs from the member interface "
        "(e.g. PJSIP/1001 for a Local/… member); empty: the agent record's",
    )
    ring_bell: bool = Field(
        default=True, description="ring the terminal bell when a call rings on another screen"
    )
    missed_call_not_ready: bool = Field(
        default=True,
        description="after a call rings out unanswered on the agent's phone, make them not "
        "ready with reason Missed in all their queues (like app_queue's autopause)",
    )
    wrap_up_seconds: int = Field(
        default=120, ge=10, le=3600, description="after-call work time limit (extendable once)"
    )
    record_calls: bool = Field(
        default=False,
        description="record each answered call with the PBX's MixMonitor (the agent can pause "
        "it while card details are taken)",
    )
    recording_pause_seconds: int = Field(
        default=120,
        ge=5,
        le=1800,
        description="a paused recording resumes by itself after this many seconds",
    )
    show_supervisor_listening: bool = Field(
        default=False,
        description="tell the agent when a supervisor listens to their call (off: silent "
        "monitoring)",
    )
    monitor_phone: str = Field(
        default="",
        max_length=80,
        description="the phone a supervisor's listening calls ring (e.g. PJSIP/2001); empty: "
        "their own phone",
    )
    dispositions: list[DispositionSetting] | None = Field(
        default=None,
        description="wrap-up dispositions in display order (default: the built-in list)",
    )

    @field_validator("dispositions")
    @classmethod
    def _codes_unique(
        cls, value: list[DispositionSetting] | None
    ) -> list[DispositionSetting] | None:
        if value is not None:
            codes = [d.code for d in value]
            if not codes:
                raise ValueError("give at least one disposition, or leave the list out")
            if len(set(codes)) != len(codes):
                raise ValueError("disposition codes must be unique")
        return value


class MetricSettings(_Section):
    """The metric definitions every view shares (docs/metrics.md)."""

    sl_threshold: float = Field(
        default=20.0, ge=0, description="service-level threshold, seconds (docs/metrics.md)"
    )
    sl_treatment: AbandonTreatment = Field(
        default=AbandonTreatment.ABANDONS_AGAINST,
        description="abandons in the service level: abandons_against, asterisk_sl, asterisk_sl2",
    )
    short_abandon_seconds: float = Field(
        default=5.0, ge=0, description="abandons with a shorter wait are not counted"
    )
    fcr_window_days: int = Field(
        default=7, ge=1, le=365, description="a repeat contact within this many days is not FCR"
    )

    def definitions(self) -> MetricDefinitions:
        """The metric definitions these settings choose."""
        return MetricDefinitions(
            sl_threshold=self.sl_threshold,
            treatment=self.sl_treatment,
            short_abandon=self.short_abandon_seconds,
            fcr_window_days=self.fcr_window_days,
        )


class FileSettings(_Section):
    """Other files the console reads."""

    routing_rules: Path | None = Field(
        default=None,
        description="follow-up routing rules (TOML) over the shipped defaults; see docs/routing.md",
    )
    queue_targets: Path | None = Field(
        default=None,
        description="per-queue targets and alert thresholds (TOML) over the shipped defaults",
    )
    queue_log: Path | None = Field(
        default=None,
        description="the PBX's queue_log file, read by `callconsole report` (docs/metrics.md)",
    )


#: The flat keys of earlier versions (top-level TOML keys, CALLCONSOLE_<KEY>, load_settings
#: keyword arguments) and where each lives now.
FLAT_KEYS: dict[str, tuple[str, str]] = {
    "db_url": ("database", "url"),
    "sqlite_synchronous": ("database", "sqlite_synchronous"),
    "sqlite_busy_timeout_ms": ("database", "sqlite_busy_timeout_ms"),
    "ami_host": ("pbx", "host"),
    "ami_port": ("pbx", "port"),
    "ami_user": ("pbx", "user"),
    "ami_secret": ("pbx", "secret"),
    "atxfer_threeway": ("pbx", "atxfer_threeway"),
    "default_region": ("crm", "default_region"),
    "agent_interface": ("desk", "agent_interface"),
    "agent_state_interface": ("desk", "agent_state_interface"),
    "ring_bell": ("desk", "ring_bell"),
    "missed_call_not_ready": ("desk", "missed_call_not_ready"),
    "wrap_up_seconds": ("desk", "wrap_up_seconds"),
    "dispositions": ("desk", "dispositions"),
    "sl_threshold": ("metrics", "sl_threshold"),
    "sl_treatment": ("metrics", "sl_treatment"),
    "short_abandon_seconds": ("metrics", "short_abandon_seconds"),
    "fcr_window_days": ("metrics", "fcr_window_days"),
    "routing_rules": ("files", "routing_rules"),
    "queue_targets": ("files", "queue_targets"),
    "queue_log": ("files", "queue_log"),
}


class SettingsError(Exception):
    """The settings could not be read; the message is one line for the user."""


def nest_flat_keys(data: dict[str, Any], where: str) -> dict[str, Any]:
    """``data`` with each flat key of `FLAT_KEYS` moved into its section.

    ``where`` names the source in the error raised when one setting is given both ways.
    """
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for flat, (section, key) in FLAT_KEYS.items():
        if flat not in out:
            continue
        value = out.pop(flat)
        table = out.setdefault(section, {})
        if not isinstance(table, dict):
            continue  # `section = 3`: validation reports the section itself
        if key in table:
            raise SettingsError(
                f"{where}: {flat} and [{section}] {key} are the same setting; keep one"
            )
        table[key] = value
    return out


class _FlatKeySource(PydanticBaseSettingsSource):
    """Another source's values with the flat keys of earlier versions nested."""

    def __init__(
        self, settings_cls: type[BaseSettings], inner: PydanticBaseSettingsSource, where: str
    ) -> None:
        super().__init__(settings_cls)
        self._inner, self._where = inner, where

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ is the whole source

    def __call__(self) -> dict[str, Any]:
        return nest_flat_keys(self._inner(), self._where)


class _FlatTomlSource(TomlConfigSettingsSource):
    """settings.toml, with the flat keys of earlier versions nested.

    A subclass rather than a wrapper: pydantic-settings looks for a TomlConfigSettingsSource
    among the sources to know the ``toml_file`` setting is used."""

    def __init__(self, settings_cls: type[BaseSettings], toml_file: Path) -> None:
        super().__init__(settings_cls, toml_file=toml_file)
        self._where = str(toml_file)

    def __call__(self) -> dict[str, Any]:
        return nest_flat_keys(super().__call__(), self._where)


class _FlatEnvSource(PydanticBaseSettingsSource):
    """``CALLCONSOLE_AMI_HOST``-style variables of earlier versions, nested."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found = {}
        for flat in FLAT_KEYS:
            value = os.environ.get(f"{ENV_PREFIX}{flat.upper()}")
            if value is not None and flat != "dispositions":  # a list has no flat env form
                found[flat] = value
        return nest_flat_keys(found, "environment")


class Settings(BaseSettings):
    """Every setting callconsole reads, by section (see the module docstring)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid"
    )

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    pbx: PbxSettings = Field(default_factory=PbxSettings)
    crm: CrmSettings = Field(default_factory=CrmSettings)
    desk: DeskSettings = Field(default_factory=DeskSettings)
    metrics: MetricSettings = Field(default_factory=MetricSettings)
    files: FileSettings = Field(default_factory=FileSettings)

    def metric_definitions(self) -> MetricDefinitions:
        """The metric definitions these settings choose (one set for every view)."""
        return self.metrics.definitions()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings sets toml_file to one path; the user's config file otherwise.
        toml_path = Path(str(settings_cls.model_config.get("toml_file") or paths.config_file()))
        return (
            _FlatKeySource(settings_cls, init_settings, "arguments"),
            env_settings,
            _FlatEnvSource(settings_cls),
            _FlatTomlSource(settings_cls, toml_path),
        )


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read settings from the TOML file, the environment and explicit overrides (CLI flags).

    ``overrides`` use the flat names (``db_url=…``) or sections (``pbx={"host": …}``).
    """
    from pydantic import ValidationError

    clean = {k: v for k, v in overrides.items() if v is not None}
    settings_cls: type[Settings] = Settings
    if config_file is not None:
        config = SettingsConfigDict(**{**Settings.model_config, "toml_file": config_file})
        settings_cls = type("Settings", (Settings,), {"model_config": config})
    try:
        return settings_cls(**clean)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        # msg, never input: the input may be a secret.
        raise SettingsError(f"invalid setting {where}: {first['msg']}") from None
    except SettingsError:
        raise
    except (OSError, ValueError) as exc:  # unreadable or malformed TOML
        where = str(config_file or paths.config_file())
        raise SettingsError(f"cannot read settings file {where}: {exc}") from None
