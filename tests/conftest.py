"""Shared fixtures: a real SQLite file per test, migrated to the newest schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from console.db import Database, open_database
from console.schema import upgrade


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "callconsole.db"


@pytest.fixture
async def db(db_path: Path) -> AsyncIterator[Database]:
    """An empty, migrated SQLite database in a temporary file (not :memory:)."""
    database = open_database(f"sqlite:///{db_path}")
    await upgrade(database)
    try:
        yield database
    finally:
        await database.dispose()
