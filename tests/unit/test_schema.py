"""Migrations: an empty database upgrades itself; foreign, newer and corrupt files are refused."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, create_engine

from console.db import Database, DatabaseError, open_database
from console.models import Base, Customer
from console.models.base import compare_column_type
from console.schema import (
    SchemaError,
    alembic_config,
    head_revision,
    schema_state,
    upgrade,
)


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
        return list(
            compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": compare_column_type}),
                Base.metadata,
            )
        )

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


async def test_an_old_database_is_upgraded_keeping_its_data(db_path: Path) -> None:
    """A 0001 database (text timestamps, a UNIQUE table constraint) upgrades in place, exactly."""
    engine = create_engine(f"sqlite:///{db_path}")
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.exec_driver_sql(
            "INSERT INTO customers (id, kind, display_name, language, tier, lifecycle, "
            "rfm_recency, rfm_frequency, rfm_monetary, lifetime_value_cents, currency, tags, "
            "notes, created_at, updated_at) VALUES (1, 'person', 'Old Row', 'en', 'gold', 'new', "
            "1, 1, 1, 0, 'USD', '[]', '', '2025-03-04 05:06:07.123456', '2025-03-04 05:06:07')"
        )
    engine.dispose()
    database = open_database(f"sqlite:///{db_path}")
    try:
        assert (await upgrade(database)).is_current
        async with database.session() as session:
            customer = await session.get(Customer, 1)
            assert customer is not None
            assert customer.created_at == datetime(2025, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
            assert customer.updated_at == datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    finally:
        await database.dispose()
    con = sqlite3.connect(db_path)
    assert con.execute("SELECT typeof(created_at) FROM customers").fetchone() == ("integer",)
    unique = con.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'uq_interactions_uniqueid_agent_id'"
    ).fetchone()
    assert unique is not None and unique[0].startswith("CREATE UNIQUE INDEX")


async def test_a_plain_file_path_is_a_sqlite_database_created_private(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    database = open_database(str(path))
    try:
        await upgrade(database)
    finally:
        await database.dispose()
    assert database.is_sqlite and path.is_file()
    assert path.stat().st_mode & 0o777 == 0o600  # customer data: owner only
    assert open_database(f"{tmp_path}/other").is_sqlite  # a path with a folder, no suffix


def test_a_mistyped_folder_is_refused_not_made_into_a_new_crm(tmp_path: Path) -> None:
    wrong = tmp_path / "dta" / "crm.db"
    with pytest.raises(DatabaseError, match="does not exist"):
        open_database(str(wrong), create_dir=False)
    assert not wrong.parent.exists()  # nothing was created


def hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another console in the middle of a write: the file's write lock held until commit."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("BEGIN IMMEDIATE")
    return other


async def test_a_console_starting_while_another_writes_waits_for_it(db_path: Path) -> None:
    """Issue 17.1: 38 of 50 consoles started together died on "database is locked" after one
    busy timeout. Now a console waits (the schema already current) and starts."""
    database = open_database(f"sqlite:///{db_path}", busy_timeout_ms=50)
    try:
        await upgrade(database)
        other = hold_write_lock(db_path)
        waited: list[str] = []

        def told(message: str) -> None:  # the other console's write ends once we wait
            waited.append(message)
            other.commit()

        try:
            state = await upgrade(database, on_wait=told)
            assert state.is_current and len(waited) == 1
        finally:
            other.close()
    finally:
        await database.dispose()


async def test_an_upgrade_waits_for_a_busy_database_instead_of_dying(db_path: Path) -> None:
    database = open_database(f"sqlite:///{db_path}", busy_timeout_ms=50)
    sqlite3.connect(db_path).execute("PRAGMA journal_mode=WAL").close()
    other = hold_write_lock(db_path)
    waited: list[str] = []

    def told(message: str) -> None:  # the other console finishes its write once we wait
        waited.append(message)
        other.commit()

    try:
        state = await upgrade(database, on_wait=told)
        assert state.current == head_revision()
        assert waited == ["the database is busy (other consoles are writing to it): waiting…"]
    finally:
        other.close()
        await database.dispose()


async def test_a_database_busy_for_longer_than_the_wait_is_one_line(db_path: Path) -> None:
    database = open_database(f"sqlite:///{db_path}", busy_timeout_ms=50)
    sqlite3.connect(db_path).execute("PRAGMA journal_mode=WAL").close()
    other = hold_write_lock(db_path)
    try:
        with pytest.raises(DatabaseError, match=r"locked by another program \(waited [\d.]+ s\)"):
            await upgrade(database, wait=0.0)
    finally:
        other.rollback()
        other.close()
        await database.dispose()
