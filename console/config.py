"""Typed settings: defaults < settings.toml in the user config dir < CALLCONSOLE_* env < CLI flags.

Build a `Settings` with `load_settings()` and pass it into the app factory or the CLI command;
nothing here runs at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from callkit.metrics import AbandonTreatment, MetricDefinitions
from console import paths


class DispositionSetting(BaseModel):
    """One wrap-up disposition in settings.toml (`[[dispositions]]`)."""

    code: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")
    label: str = Field(min_length=1, max_length=60)
    requires_ticket: bool = False
    requires_followup: bool = False


class Settings(BaseSettings):
    """Every setting callconsole reads; env vars use the prefix CALLCONSOLE_ (e.g. _DB_URL)."""

    model_config = SettingsConfigDict(env_prefix="CALLCONSOLE_", extra="forbid")

    db_url: str = Field(
        default_factory=paths.default_database_url,
        description="SQLAlchemy URL: sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db",
    )
    default_region: str = Field(
        default="US",
        description="ISO 3166 region used to read national-format phone numbers (US, GB, CN, …)",
    )
    sqlite_synchronous: str = Field(
        default="FULL",
        description="SQLite synchronous pragma: FULL keeps commits across power loss (default)",
    )
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)
    ami_host: str = "127.0.0.1"
    ami_port: int = Field(default=5038, ge=0, le=65535)
    ami_user: str = "callconsole"
    ami_secret: str = "callconsole"
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
    atxfer_threeway: str = Field(
        default="*3",
        pattern=r"^[0-9*#A-D]{1,10}$",
        description="the PBX's three-way feature code (features.conf atxferthreeway): the "
        "console sends it during a consult to make a conference",
    )
    missed_call_not_ready: bool = Field(
        default=True,
        description="after a call rings out unanswered on the agent's phone, make them not "
        "ready with reason Missed in all their queues (like app_queue's autopause)",
    )
    wrap_up_seconds: int = Field(
        default=120, ge=10, le=3600, description="after-call work time limit (extendable once)"
    )
    routing_rules: Path | None = Field(
        default=None,
        description="follow-up routing rules (TOML) over the shipped defaults; see docs/routing.md",
    )
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
    queue_targets: Path | None = Field(
        default=None,
        description="per-queue targets and alert thresholds (TOML) over the shipped defaults",
    )
    queue_log: Path | None = Field(
        default=None,
        description="the PBX's queue_log file, read by `callconsole report` (docs/metrics.md)",
    )
    dispositions: list[DispositionSetting] | None = Field(
        default=None,
        description="wrap-up dispositions in display order (default: the built-in list)",
    )

    def metric_definitions(self) -> MetricDefinitions:
        """The metric definitions these settings choose (one set for every view)."""
        return MetricDefinitions(
            sl_threshold=self.sl_threshold,
            treatment=self.sl_treatment,
            short_abandon=self.short_abandon_seconds,
            fcr_window_days=self.fcr_window_days,
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

    @field_validator("default_region")
    @classmethod
    def _region_known(cls, value: str) -> str:
        import phonenumbers

        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region {value!r} (use an ISO 3166 code such as US, GB, CN)")
        return region

    @field_validator("sqlite_synchronous")
    @classmethod
    def _synchronous_known(cls, value: str) -> str:
        mode = value.strip().upper()
        if mode not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError("sqlite_synchronous must be OFF, NORMAL, FULL or EXTRA")
        return mode

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = settings_cls.model_config.get("toml_file") or paths.config_file()
        toml = TomlConfigSettingsSource(settings_cls, toml_file=toml_path)
        return (init_settings, env_settings, toml)


class SettingsError(Exception):
    """The settings could not be read; the message is one line for the user."""


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read settings from the TOML file, the environment and explicit overrides (CLI flags)."""
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
        raise SettingsError(f"invalid setting {where}: {first['msg']}") from None
    except (OSError, ValueError) as exc:  # unreadable or malformed TOML
        where = str(config_file or paths.config_file())
        raise SettingsError(f"cannot read settings file {where}: {exc}") from None
