"""What every `callconsole` command shares: the program name, the one-line errors, and opening
the database the settings name."""

from __future__ import annotations

import argparse
import sys
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
        pool_size=settings.database.pool_size,
        pool_max_overflow=settings.database.pool_max_overflow,
        # Only the default location is created; a given path's folder must already exist.
        create_dir=settings.database.url.get_secret_value() == default_database_url(),
    )


def simulator_missing(exc: ModuleNotFoundError | None) -> str:
    """One line for `sim` and `demo` when the simulator package cannot be imported."""
    detail = f"{exc}; " if exc is not None else ""
    return (
        f"the simulator (telephony_sim) is not installed: {detail}`{PROG} sim` and "
        f"`{PROG} demo` need it; `{PROG} run` works against a real Asterisk without it"
    )


def say_waiting(message: str) -> None:
    """One line on stderr while a command waits (e.g. for a busy database)."""
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)
