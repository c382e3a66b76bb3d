"""A rehearsal: a `Database` on which every transaction is a savepoint of one transaction
that is rolled back at the end.

Services built on it run their real statements: SQLAlchemy compiles each into the engine's
cache and asyncpg prepares it on the connection, as a real call would. And nothing is left
behind: no row, no audit entry, no claim. A console rehearses a call at login
(`console/services/desk/rehearsal.py`), so its first call of the shift runs as warm as the
rest (issue 17: 200 consoles each compiling ~25 statements on their first call stalled each
other's pops).

PostgreSQL only. On SQLite the rehearsal's first write would hold the file's one write lock
for the whole rehearsal (compiling included), and every other console's call writes would
wait behind it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from console.db import Database, RowReader, _SqlAlchemyRowReader

T = TypeVar("T")


@dataclass
class _Rehearsal(Database):
    """`Database` on one connection inside one transaction: its sessions and connections are
    savepoints of it (committing one releases the savepoint, nothing more)."""

    conn: AsyncConnection | None = None

    @property
    def _on(self) -> AsyncConnection:
        assert self.conn is not None
        return self.conn

    def session(self) -> AsyncSession:
        return AsyncSession(
            bind=self._on, join_transaction_mode="create_savepoint", expire_on_commit=False
        )

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        async with self.session() as session, session.begin():
            yield session

    @asynccontextmanager
    async def write_connection(self) -> AsyncIterator[AsyncConnection]:
        async with self._on.begin_nested():
            yield self._on

    # Outside a transaction elsewhere; here a savepoint too (the whole stays rolled back).
    autocommit_connection = write_connection
    statements_connection = write_connection

    async def read_rows(self, fn: Callable[[RowReader], T]) -> T:
        return await self._on.run_sync(_read_in_savepoint, fn)

    async def dispose(self) -> None:
        """Nothing: the engine is the console's own."""


def _read_in_savepoint(conn: Connection, fn: Callable[[RowReader], T]) -> T:
    with conn.begin_nested():
        return fn(_SqlAlchemyRowReader(conn))


@asynccontextmanager
async def rehearsal(db: Database) -> AsyncIterator[Database]:
    """A `Database` on `db`'s engine whose writes are all rolled back when the block ends
    (however it ends). Raises ValueError on SQLite (see the module docstring)."""
    if db.is_sqlite:
        raise ValueError("a rehearsal needs PostgreSQL: on SQLite it would hold the write lock")
    async with db.engine.connect() as conn:
        outer = await conn.begin()
        try:
            yield _Rehearsal(url=db.url, engine=db.engine, conn=conn)
        finally:
            await outer.rollback()
