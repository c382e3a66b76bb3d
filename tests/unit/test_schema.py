"""Migrations: an empty database upgrades itself; foreign, newer and corrupt files are refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from console.db import Database, DatabaseError, open_database
from console.models import Base
from console.schema import SchemaError, head_revision, schema_state, upgrade


async def test_empty_database_upgrades_to_head(db_path: Path) -> None:
    database = open_database(f"sqlite:///{db_path}")
    try:
        before = await schema_state(database)
        assert before.current is None
        after = await upgrade(database)
        assert after.current == head_revision()
        again = await upgrade(database)  # idempotent
        assert again.is_current
    finally:
        await database.dispose()
    tables = {r[0] for r in sqlite3.connect(db_path).execute("select name from sqlite_master")}
    assert {
        "customers",
        "phone_numbers",
        "interactions",
        "tickets",
        "followups",
        "call_events",
    } <= tables


async def test_migrations_match_the_models(db: Database) -> None:
    def diff(conn: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))

    async with db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_sqlite_pragmas(db: Database) -> None:
    async with db.engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
        assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
        assert (await conn.exec_driver_sql("PRAGMA synchronous")).scalar() == 2  # FULL


async def test_a_foreign_database_is_refused_untouched(db_path: Path) -> None:
    raw = sqlite3.connect(db_path)
    raw.execute("create table orders (id integer primary key)")
    raw.commit()
    raw.close()
    database = open_database(f"sqlite:///{db_path}")
    try:
        with pytest.raises(SchemaError, match="not a callconsole database"):
            await upgrade(database)
    finally:
        await database.dispose()
    tables = {r[0] for r in sqlite3.connect(db_path).execute("select name from sqlite_master")}
    assert tables == {"orders"}


async def test_a_newer_database_is_refused(db: Database) -> None:
    async with db.write_connection() as conn:
        await conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffff9999'")
    with pytest.raises(SchemaError, match="newer than this callconsole knows"):
        await upgrade(db)


async def test_a_corrupt_file_gets_one_clear_message(db_path: Path) -> None:
    db_path.write_bytes(b"this is not sqlite at all" * 100)
    database = open_database(f"sqlite:///{db_path}")
    try:
        with pytest.raises(DatabaseError, match="not a usable SQLite database") as info:
            await upgrade(database)
        assert "\n" not in str(info.value)
    finally:
        await database.dispose()
    assert db_path.read_bytes().startswith(b"this is not sqlite")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://x/y", "unsupported database"),
        ("sqlite:///:memory:", "in-memory"),
        ("not a url", "bad database URL"),
    ],
)
def test_bad_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(DatabaseError, match=message):
        open_database(url)


def test_a_directory_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="is a directory"):
        open_database(f"sqlite:///{tmp_path}")
