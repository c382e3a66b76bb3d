"""Shared fixtures: a real SQLite file per test, migrated to the newest schema."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
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


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server for the session; skips with the reason if none can start
    (fails instead under CI: tests/pg.py `unavailable`)."""
    from tests.pg import PostgresUnavailable, postgres_server, unavailable

    try:
        with postgres_server() as url:
            yield url
    except PostgresUnavailable as exc:
        unavailable(str(exc))


@pytest.fixture
async def pg_db(postgres_url: str) -> AsyncIterator[Database]:
    """An empty, migrated PostgreSQL database (tables dropped afterwards)."""
    from sqlalchemy import text

    database = open_database(postgres_url)
    async with database.write_connection() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await upgrade(database)
    try:
        yield database
    finally:
        await database.dispose()
