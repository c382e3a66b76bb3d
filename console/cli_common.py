"""What every `callconsole` command shares: the program name, the one-line error, and opening
the database the settings name."""

from __future__ import annotations

import argparse
from typing import Any

PROG = "callconsole"


class CommandError(Exception):
    """An expected failure; the message is printed as one line."""


def configured_database(args: argparse.Namespace) -> Any:
    """The database of `--db`, else of the settings (`--config`); not yet checked."""
    from console.config import load_settings
    from console.db import open_database
    from console.paths import default_database_url

    settings = load_settings(args.config, db_url=args.db)
    return open_database(
        settings.database.url.get_secret_value(),
        synchronous=settings.database.sqlite_synchronous,
        busy_timeout_ms=settings.database.sqlite_busy_timeout_ms,
        # Only the default location is created; a given path's folder must already exist.
        create_dir=settings.database.url.get_secret_value() == default_database_url(),
    )
