"""Engines, sessions and transactions for SQLite (default) and PostgreSQL.

SQLite: WAL, foreign keys on, a busy timeout, `synchronous` from settings (FULL by default: a
committed interaction survives power loss), and writers begin with BEGIN IMMEDIATE — a deferred
read-then-write transaction fails at once with SQLITE_BUSY whatever the busy timeout.
Hot-path reads (the screen pop) run all their queries in one hop to a worker thread on a plain
sqlite3 connection, because aiosqlite costs a thread round-trip per statement.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

T = TypeVar("T")

_WRITE_OPTION = "callconsole_write"


class DatabaseError(Exception):
    """The database cannot be used; the message is one line for the user."""


def normalise_url(raw: str) -> URL:
    """Parse a database URL and pick the async driver we use for its backend."""
    try:
        url = make_url(raw.strip())
    except (ArgumentError, ValueError) as exc:
        raise DatabaseError(f"bad database URL {raw!r}: {exc}") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.drivername != "sqlite+aiosqlite":
            url = url.set(drivername="sqlite+aiosqlite")
        if url.database in (None, "", ":memory:"):
            raise DatabaseError(
                "an in-memory SQLite database cannot be shared between connections; use a file"
            )
    elif backend == "postgresql":
        if url.drivername != "postgresql+asyncpg":
            url = url.set(drivername="postgresql+asyncpg")
    else:
        raise DatabaseError(
            f"unsupported database {backend!r} in {raw!r}: use sqlite:///FILE or postgresql://…"
        )
    return url


def describe_url(url: URL) -> str:
    """The URL for messages, password hidden."""
    return url.render_as_string(hide_password=True)


@dataclass
class Database:
    """One database: an async engine for services, plus a sync reader for hot-path lookups."""

    url: URL
    engine: AsyncEngine
    synchronous: str = "FULL"
    busy_timeout_ms: int = 5000
    _sync_engine: Engine | None = None
    _executor: ThreadPoolExecutor | None = None
    _sessions: async_sessionmaker[AsyncSession] = field(init=False)
    _write_sessions: async_sessionmaker[AsyncSession] = field(init=False)

    def __post_init__(self) -> None:
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(
            self.engine.execution_options(**{_WRITE_OPTION: True}), expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file, or None for other backends."""
        return Path(self.url.database or "") if self.is_sqlite else None

    def session(self) -> AsyncSession:
        """A session for reads (deferred transactions)."""
        return self._sessions()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session in one write transaction (BEGIN IMMEDIATE on SQLite), committed on exit."""
        async with self._write_sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def write_connection(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection in one write transaction, committed on exit."""
        async with self.engine.execution_options(**{_WRITE_OPTION: True}).begin() as conn:
            yield conn

    async def run_read(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn(connection)` inside one read transaction, all its queries in one hop.

        SQLite: a worker thread with a plain sqlite3 connection (one thread hop for the whole
        function instead of one per statement). PostgreSQL: the async engine's run_sync.
        """
        if not self.is_sqlite:
            async with self.engine.connect() as conn:
                return await conn.run_sync(_in_transaction, fn)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader_executor(), self._sync_read, fn)

    def _reader_executor(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="db-read")
        return self._executor

    def sync_engine(self) -> Engine:
        """A synchronous pysqlite engine on the same file (hot-path reads, bulk seeding)."""
        if self._sync_engine is None:
            sync_url = self.url.set(drivername="sqlite+pysqlite")
            engine = create_engine(sync_url, connect_args={"check_same_thread": False}, pool_size=4)
            _install_sqlite_hooks(engine, self.synchronous, self.busy_timeout_ms)
            self._sync_engine = engine
        return self._sync_engine

    def _sync_read(self, fn: Callable[[Connection], T]) -> T:
        with self.sync_engine().connect() as conn:
            return _in_transaction(conn, fn)

    async def check(self) -> None:
        """Open a connection once; turn driver errors into one clear line."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                if self.is_sqlite:
                    await conn.exec_driver_sql("PRAGMA schema_version")
        except (SQLAlchemyError, OSError) as exc:
            raise DatabaseError(explain_error(self.url, exc)) from None

    async def dispose(self) -> None:
        """Close every pooled connection and the reader thread."""
        await self.engine.dispose()
        if self._sync_engine is not None:
            self._sync_engine.dispose()
            self._sync_engine = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


def _in_transaction(conn: Connection, fn: Callable[[Connection], T]) -> T:
    with conn.begin():
        return fn(conn)


def explain_error(url: URL, exc: BaseException) -> str:
    """One line saying why the database at `url` can't be used."""
    orig = getattr(exc, "orig", None) or exc
    message = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    where = describe_url(url)
    if "file is not a database" in message or "malformed" in message:
        return f"{where} is not a usable SQLite database ({message}); nothing was changed"
    if "unable to open database file" in message:
        return f"cannot open {where}: check the directory exists and is writable"
    if "readonly" in message or "read-only" in message:
        return f"{where} is read-only: {message}"
    return f"cannot use database {where}: {message}"


def open_database(
    raw_url: str, *, synchronous: str = "FULL", busy_timeout_ms: int = 5000, echo: bool = False
) -> Database:
    """Build (but do not connect) a Database for the URL. Raises DatabaseError on a bad URL."""
    url = normalise_url(raw_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "").expanduser()
        url = url.set(database=str(path))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(f"cannot create directory {path.parent}: {exc.strerror}") from None
        if path.is_dir():
            raise DatabaseError(f"{path} is a directory, not a database file")
    try:
        engine = create_async_engine(url, echo=echo, pool_pre_ping=False)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        hint = " (pip install 'callconsole[postgres]')" if "asyncpg" in str(exc) else ""
        raise DatabaseError(f"no driver for {describe_url(url)}{hint}") from None
    except (ArgumentError, TypeError) as exc:
        raise DatabaseError(f"bad database URL {describe_url(url)}: {exc}") from None
    if url.get_backend_name() == "sqlite":
        _install_sqlite_hooks(engine.sync_engine, synchronous, busy_timeout_ms)
    return Database(url, engine, synchronous=synchronous, busy_timeout_ms=busy_timeout_ms)


def _install_sqlite_hooks(engine: Engine, synchronous: str, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (so writers can use BEGIN IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(_WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def is_database_error(exc: BaseException) -> bool:
    """True for errors that mean 'this database is unusable' rather than a bug."""
    return isinstance(exc, DBAPIError | OSError)
