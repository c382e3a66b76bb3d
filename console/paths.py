"""Where callconsole keeps its files. Functions, never import-time constants."""

from __future__ import annotations

import hashlib
from pathlib import Path

import platformdirs

APP_NAME = "callconsole"


def data_dir() -> Path:
    """The user data directory (the default SQLite database lives here)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    """The user config directory (settings.toml, routing rules)."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def config_file() -> Path:
    """The settings file read on start, if it exists."""
    return config_dir() / "settings.toml"


def default_database_path() -> Path:
    """The default embedded database file."""
    return data_dir() / "callconsole.db"


def default_database_url() -> str:
    """SQLAlchemy URL of the default embedded database."""
    return f"sqlite+aiosqlite:///{default_database_path()}"


def journal_dir(database: str) -> Path:
    """This user's call journal for one database (`console.services.desk.journal`); the
    folder is named by a hash of the database's URL or path, never by its password."""
    digest = hashlib.sha256(database.encode()).hexdigest()[:16]
    return data_dir() / "journal" / digest
