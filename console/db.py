"""Engines, sessions and transactions for SQLite (default) and PostgreSQL.

SQLite: WAL, foreign keys on, a busy timeout, `synchronous` from settings (FULL by default: a
committed interaction survives power loss), and writers begin with BEGIN IMMEDIATE — a deferred
read-then-write transaction fails at once with SQLITE_BUSY whatever the busy timeout.
Hot-path reads (the screen pop) run all their queries in one hop to a worker thread on a plain
sqlite3 connection, because aiosqlite costs a thread round-trip per statement.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine, Executable, create_engine, event, text
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
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


_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def normalise_url(raw: str) -> URL:
    """Parse a database URL and pick the async driver we use for its backend.

    A plain file path (``crm.db``, ``/srv/cc/crm.sqlite``, ``./data/crm``) means that SQLite
    file; anything else must be a URL (``sqlite:///PATH`` or ``postgresql://…``). SQLite URLs
    take no ``?options`` (SQLAlchemy would ignore ``?mode=ro`` with a warning and open the file
    read-write); libpq's ``sslmode`` becomes asyncpg's ``ssl``.
    """
    text = raw.strip()
    shown = _hide_password(raw)
    if not text:
        raise DatabaseError(
            "empty database URL: give a file path, sqlite:///PATH or postgresql://…"
        )
    if "://" not in text and text != ":memory:":
        if "/" in text or text.lower().endswith(_SQLITE_SUFFIXES):
            return make_url("sqlite+aiosqlite://").set(database=str(Path(text).expanduser()))
        raise DatabaseError(
            f"bad database URL {shown!r}: use sqlite:///PATH for a file, or postgresql://…"
        )
    try:
        url = make_url(text)
    except (ArgumentError, ValueError) as exc:
        raise DatabaseError(f"bad database URL {shown!r}: {_hide_password(str(exc))}") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.drivername != "sqlite+aiosqlite":
            url = url.set(drivername="sqlite+aiosqlite")
        if url.database in (None, "", ":memory:"):
            raise DatabaseError(
                "an in-memory SQLite database cannot be shared between connections; use a file"
            )
        if url.query:
            raise DatabaseError(
                f"bad database URL {shown!r}: SQLite takes no options here "
                f"({', '.join(sorted(url.query))}); give the file alone: sqlite:///PATH"
            )
    elif backend == "postgresql":
        if url.drivername != "postgresql+asyncpg":
            url = url.set(drivername="postgresql+asyncpg")
        if "sslmode" in url.query and "ssl" not in url.query:  # libpq's name, asyncpg's value
            url = url.difference_update_query(["sslmode"]).update_query_dict(
                {"ssl": url.query["sslmode"]}
            )
    else:
        raise DatabaseError(
            f"unsupported database {backend!r} in {shown!r}: use sqlite:///FILE or postgresql://…"
        )
    return url


def _hide_password(text: str) -> str:
    """``scheme://user:secret@host`` with the secret replaced by ``***``."""
    return re.sub(r"(://[^/@:\s]*:)[^@/\s]*@", r"\1***@", text)


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
    _reader_local: threading.local = field(default_factory=threading.local)
    _readers: list[_SqliteRowReader] = field(default_factory=list)

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

    @asynccontextmanager
    async def autocommit_connection(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection outside any transaction, each statement committed on its own:
        for one statement that is atomic by itself, sent without the BEGIN and COMMIT round
        trips of a transaction (PostgreSQL; SQLite writers need `write_connection`)."""
        async with self.engine.connect() as conn:
            yield await conn.execution_options(isolation_level="AUTOCOMMIT")

    @property
    def insert(self) -> Callable[..., Any]:
        """The dialect's ``insert`` (with ``on_conflict_do_nothing``/``on_conflict_do_update``)."""
        return sqlite_insert if self.is_sqlite else postgresql_insert

    @asynccontextmanager
    async def statements_connection(self) -> AsyncIterator[AsyncConnection]:
        """For statements each atomic and safe on its own (one UPDATE, an idempotent INSERT):
        outside a transaction on PostgreSQL (no BEGIN/COMMIT round trips), one write
        transaction on SQLite (whose writers must take the lock, and fsync once)."""
        if self.is_sqlite:
            async with self.write_connection() as conn:
                yield conn
        else:
            async with self.autocommit_connection() as conn:
                yield conn

    async def read_rows(self, fn: Callable[[RowReader], T]) -> T:
        """Run `fn(reader)`, all its queries in one hop.

        SQLite: a worker thread runs the statements' compiled SQL on a plain sqlite3 connection
        of its own (one thread hop for the whole function, and no per-statement SQLAlchemy
        execution or result processing: rows come back as the driver returns them, e.g.
        timestamps as epoch microseconds), in one read transaction. PostgreSQL: the async
        engine's run_sync, rows as SQLAlchemy returns them, outside a transaction (see below).
        Callers convert values with tolerant helpers (`console.models.base.from_db_time`, …)
        that accept either form.
        """
        if not self.is_sqlite:
            # Outside a transaction: under PostgreSQL's READ COMMITTED each statement takes its
            # own snapshot inside one as well, so BEGIN and COMMIT were two more round trips
            # (of nine for a pop) for nothing.
            async with self.autocommit_connection() as conn:
                return await conn.run_sync(_read_with_sqlalchemy, fn)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader_executor(), self._read_sqlite, fn)

    async def read_rows_on_each_connection(self, fn: Callable[[RowReader], object]) -> None:
        """Run `fn(reader)` once on each connection the pool keeps open (PostgreSQL; on
        SQLite once, as `read_rows`): held all at once, so each run is on a different one.

        A PostgreSQL connection prepares each statement on its first run there, and asyncpg
        then learns the types of its results (for an array of rows, a query of the server's
        catalogue): at login, on every standing connection, so that no call pays for it on
        whichever connection its pop happens to get.
        """
        if self.is_sqlite:
            await self.read_rows(fn)
            return
        size = getattr(self.engine.pool, "size", lambda: 1)()
        async with AsyncExitStack() as stack:
            connections = [
                await stack.enter_async_context(self.autocommit_connection())
                for _ in range(max(1, size))
            ]
            for conn in connections:
                await conn.run_sync(_read_with_sqlalchemy, fn)

    def _reader_executor(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="db-read")
        return self._executor

    def _read_sqlite(self, fn: Callable[[RowReader], T]) -> T:
        reader = getattr(self._reader_local, "reader", None)
        if reader is None:
            path = self.sqlite_path
            assert path is not None
            con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            con.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
            con.execute("PRAGMA query_only=ON")
            reader = _SqliteRowReader(con)
            self._reader_local.reader = reader
            self._readers.append(reader)
        return reader.transaction(fn)

    def sync_engine(self) -> Engine:
        """A synchronous pysqlite engine on the same file (bulk seeding)."""
        if self._sync_engine is None:
            sync_url = self.url.set(drivername="sqlite+pysqlite")
            engine = create_engine(sync_url, connect_args={"check_same_thread": False}, pool_size=4)
            _install_sqlite_hooks(engine, self.synchronous, self.busy_timeout_ms)
            self._sync_engine = engine
        return self._sync_engine

    async def check(self) -> None:
        """Open a connection once; turn driver errors into one clear line.

        A SQLite file is first checked for what SQLite will need, before it touches anything:
        the file, its folder and any ``-wal``/``-shm`` beside it writable by us (see
        `check_sqlite_writable`).
        """
        if self.sqlite_path is not None:
            check_sqlite_writable(self.sqlite_path)
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                if self.is_sqlite:
                    await conn.exec_driver_sql("PRAGMA schema_version")
        except (SQLAlchemyError, OSError) as exc:
            raise DatabaseError(self.explain(exc)) from None
        except TypeError as exc:  # the driver refused an option of the URL (?name=value)
            raise DatabaseError(
                f"bad database URL {describe_url(self.url)}: {exc}; check its ?options"
            ) from None

    def explain(self, exc: BaseException) -> str:
        """One line saying why this database can't be used (`explain_error`)."""
        return explain_error(self.url, exc, busy_timeout_ms=self.busy_timeout_ms)

    async def dispose(self) -> None:
        """Close every pooled connection and the reader thread."""
        await self.engine.dispose()
        if self._sync_engine is not None:
            self._sync_engine.dispose()
            self._sync_engine = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        for reader in self._readers:
            reader.close()
        self._readers.clear()
        self._reader_local = threading.local()


class RowReader(Protocol):
    """Runs a Core SELECT and returns its rows as tuples (see `Database.read_rows`)."""

    def rows(self, statement: Executable, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """All rows of `statement` with `params` bound."""
        ...


class _SqlAlchemyRowReader:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def rows(self, statement: Executable, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._conn.execute(statement, dict(params))]


def _read_with_sqlalchemy(conn: Connection, fn: Callable[[RowReader], T]) -> T:
    with conn.begin():
        return fn(_SqlAlchemyRowReader(conn))


@dataclass(frozen=True)
class CompiledRead:
    sql: str
    names: tuple[str, ...]  # parameter names in positional order
    constants: Mapping[str, Any]  # values fixed by the statement itself (e.g. IN lists)


class _SqliteRowReader:
    """Compiled SQL on a plain sqlite3 connection; one per reader thread."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self._con = con
        self._compiled: dict[int, tuple[Executable, CompiledRead]] = {}

    def transaction(self, fn: Callable[[RowReader], T]) -> T:
        self._con.execute("BEGIN")  # one snapshot for every query of the read
        try:
            return fn(self)
        finally:
            self._con.execute("COMMIT")

    def rows(self, statement: Executable, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        cached = self._compiled.get(id(statement))
        if cached is None or cached[0] is not statement:
            cached = (statement, compile_for_sqlite(statement, params))
            self._compiled[id(statement)] = cached
        compiled = cached[1]
        values = tuple(
            params[name] if name in params else compiled.constants[name] for name in compiled.names
        )
        return self._con.execute(compiled.sql, values).fetchall()

    def close(self) -> None:
        self._con.close()


def compile_for_sqlite(statement: Executable, params: Mapping[str, Any]) -> CompiledRead:
    """Positional SQL for `statement`; IN lists must be constants of the statement."""
    if any(isinstance(v, list | tuple | set | frozenset) for v in params.values()):
        raise TypeError("read_rows: pass list parameters as constants of the statement")
    compiled = statement.compile(dialect=sqlite_dialect.dialect())  # type: ignore[attr-defined]
    # Expand the constant IN lists once; the per-call parameters are bound positionally.
    expanded = compiled.construct_expanded_state(dict(params))
    return CompiledRead(
        sql=expanded.statement,
        names=tuple(expanded.positiontup or ()),
        constants=dict(expanded.parameters),
    )


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite's "database is locked": a writer waited its busy timeout for
    the file's lock while others wrote (many consoles at once). Nothing of it was kept, so
    trying again is safe."""
    orig = getattr(exc, "orig", None) or exc
    message = str(orig)
    return "database is locked" in message or "database table is locked" in message


# asyncpg's errors for a server that is going away or will not take writes (by class name:
# asyncpg is an optional dependency).
_PG_UNAVAILABLE = {
    "AdminShutdownError",
    "CannotConnectNowError",
    "ConnectionDoesNotExistError",
    "ConnectionFailureError",
    "CrashShutdownError",
    "DiskFullError",
    "InsufficientResourcesError",
    "OutOfMemoryError",
    "PostgresConnectionError",
    "ReadOnlySQLTransactionError",
    "TooManyConnectionsError",
}


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot take this write now — busy past its timeout,
    full, read-only, unreachable, shutting down — rather than that the write itself is wrong.
    Nothing of a refused write was kept, so it can be kept elsewhere and applied later."""
    if isinstance(exc, IntegrityError):
        return False  # the write itself breaks a rule: trying again changes nothing
    if isinstance(exc, OperationalError | InterfaceError | OSError | TimeoutError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    orig = getattr(exc, "orig", None)
    for cause in (exc, orig, getattr(orig, "__cause__", None), exc.__cause__):
        if cause is not None and any(c.__name__ in _PG_UNAVAILABLE for c in type(cause).__mro__):
            return True
    if isinstance(exc, SQLAlchemyError):
        message = str(orig or exc)
        return any(part in message for part in ("read-only transaction", "disk is full"))
    return False


def one_line_reason(exc: BaseException) -> str:
    """The driver's own first line for ``exc`` (e.g. "database or disk is full")."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0][:200] if text else type(orig).__name__


def explain_error(url: URL, exc: BaseException, *, busy_timeout_ms: int | None = None) -> str:
    """One line saying why the database at `url` can't be used, and what to do."""
    orig = getattr(exc, "orig", None) or exc
    message = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    where = _where(url)
    if "file is not a database" in message or "malformed" in message:
        return (
            f"{where} is not a usable SQLite database ({message}): check the path, or restore "
            "it from a backup; nothing was changed"
        )
    if "database is locked" in message or "database table is locked" in message:
        waited = "" if busy_timeout_ms is None else f" (waited {busy_timeout_ms / 1000:g} s)"
        return (
            f"{where} is locked by another program{waited}: close it (another callconsole "
            "seeding or upgrading, a sqlite3 shell in a transaction) and try again; nothing "
            "was changed"
        )
    if isinstance(orig, ConnectionError | TimeoutError) or "Connect call failed" in message:
        return (
            f"cannot reach the database server of {where} ({message}): check that it runs and "
            "the URL's host and port"
        )
    if "unable to open database file" in message:
        return f"cannot open {where}: check the folder exists and is writable by you"
    if "readonly" in message or "read-only" in message:
        return (
            f"{where} is read-only ({message}): make it and its folder writable by you, or "
            "copy it somewhere writable; nothing was changed"
        )
    return f"cannot use database {where}: {message}"


def _where(url: URL) -> str:
    """A SQLite database by its file, any other by its URL (password hidden)."""
    if url.get_backend_name() == "sqlite" and url.database:
        return str(url.database)
    return describe_url(url)


def check_sqlite_writable(path: Path) -> None:
    """Refuse, in one line, a SQLite file this process could not write, before SQLite opens it.

    In WAL mode SQLite writes beside the database even to read it (``-shm``, ``-wal``), and a
    read-only open leaves those behind with the file's read-only mode, which then breaks the
    next open once the file is writable again. So a read-only file, a read-only folder, or a
    read-only ``-wal``/``-shm`` left by an earlier open are refused up front, touching
    nothing. ``os.access`` asks the kernel with this process's own rights (root passes unless
    it lacks CAP_DAC_OVERRIDE; a read-only mount fails for everyone).
    """
    folder = path.parent if str(path.parent) else Path(".")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise DatabaseError(
            f"{path} is read-only for you: make it writable (chmod u+rw {_q(path)}) or copy it "
            "somewhere writable; nothing was changed"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DatabaseError(
            f"the folder {folder} is read-only for you, and SQLite must create "
            f"{path.name}-wal and {path.name}-shm beside {path.name}: make the folder "
            f"writable (chmod u+rwx {_q(folder)}) or copy the database somewhere writable; "
            "nothing was changed"
        )
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists() and not os.access(side, os.R_OK | os.W_OK):
            raise DatabaseError(
                f"{side} is read-only for you (left by an earlier read-only open?): make it "
                f"writable (chmod u+rw {_q(side)}) while no program uses {path.name}; nothing "
                "was changed"
            )


def _q(path: Path) -> str:
    return shlex.quote(str(path))


def open_database(
    raw_url: str,
    *,
    synchronous: str = "FULL",
    busy_timeout_ms: int = 5000,
    echo: bool = False,
    create_dir: bool = True,
    pool_size: int = 5,
    pool_max_overflow: int = 10,
) -> Database:
    """Build (but do not connect) a Database for the URL. Raises DatabaseError on a bad URL.

    PostgreSQL: the console keeps up to ``pool_size`` connections open and opens up to
    ``pool_max_overflow`` more at busy moments, so consoles x (both) must fit the server's
    max_connections (docs/seats.md).

    A new SQLite file is created readable by its owner only (0600: it holds customer data).
    ``create_dir`` False refuses a file whose folder does not exist (a mistyped path must not
    quietly become a new, empty CRM); the CLI creates only its default location.
    """
    url = normalise_url(raw_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "").expanduser()
        url = url.set(database=str(path))
        if not path.parent.is_dir() and not create_dir:
            raise DatabaseError(
                f"{path.parent} does not exist: check the path (or create the folder first)"
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(f"cannot create directory {path.parent}: {exc.strerror}") from None
        if path.is_dir():
            raise DatabaseError(f"{path} is a directory, not a database file")
        _create_private(path)
    pool: dict[str, int] = {}
    if url.get_backend_name() == "postgresql":
        pool = {"pool_size": pool_size, "max_overflow": pool_max_overflow}
    try:
        engine = create_async_engine(url, echo=echo, pool_pre_ping=False, **pool)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        hint = " (pip install 'callconsole[postgres]')" if "asyncpg" in str(exc) else ""
        raise DatabaseError(f"no driver for {describe_url(url)}{hint}") from None
    except (ArgumentError, TypeError) as exc:
        raise DatabaseError(f"bad database URL {describe_url(url)}: {exc}") from None
    if url.get_backend_name() == "sqlite":
        aiosqlite_stop_once()
        bound_aiosqlite_terminate()
        _install_sqlite_hooks(engine.sync_engine, synchronous, busy_timeout_ms)
    return Database(url, engine, synchronous=synchronous, busy_timeout_ms=busy_timeout_ms)


#: Seconds a cancelled task's aiosqlite connection may take to close before it is stopped.
TERMINATE_GRACE = 2.0


def bound_aiosqlite_terminate() -> None:
    """Bound SQLAlchemy's graceful close of an aiosqlite connection whose task was cancelled.

    SQLAlchemy's aiosqlite adapter closes such a connection with a shielded
    ``_terminate_graceful_close``; with aiosqlite 0.22 that close can wait forever on a future
    the worker thread never resolves (the cause, and its fix: `aiosqlite_stop_once`), and
    ``asyncio.run``'s shutdown then waits for it forever:
    a console quitting while a write waited on a lock never exited (seen as a hang at the end
    of tests/ui/test_database_outage.py; upstream: wapiti-scanner/wapiti#802). After
    `TERMINATE_GRACE` seconds the wait ends in TimeoutError, which SQLAlchemy's ``terminate``
    already answers with its forced close (aiosqlite's ``stop``). Idempotent.
    """
    from sqlalchemy.dialects.sqlite import aiosqlite as adapter

    cls: Any = adapter.AsyncAdapt_aiosqlite_connection
    if getattr(cls, "_callconsole_bounded", False):
        return
    graceful = cls._terminate_graceful_close

    async def bounded(self: Any) -> None:
        await asyncio.wait_for(graceful(self), TERMINATE_GRACE)

    cls._terminate_graceful_close = bounded
    cls._callconsole_bounded = True


def aiosqlite_stop_once() -> None:
    """Make aiosqlite's ``Connection.stop`` idempotent: every call after the first returns the
    first call's future instead of queueing a second stop.

    ``stop`` queues a sentinel on which the connection's worker thread resolves that call's
    future and exits, so a second ``stop`` queues a sentinel behind it that no thread ever
    reads, and its future never resolves. SQLAlchemy makes that second call when the task
    using a connection is cancelled twice during a statement (textual cancels a screen's
    workers when the screen unmounts and again when the app exits, e.g. AgentScreen's
    audit-view write of a pop shown just before quitting): the first cancel starts the
    shielded graceful close (aiosqlite's ``close()``: the sqlite3 close, then in a
    ``finally`` its own ``stop()``, awaited); the second cancel interrupts the shield and
    SQLAlchemy forces the close with ``stop()`` while that ``close()`` still waits on the
    sqlite3 close. The worker exits at the forced stop's sentinel, and ``close()`` awaits its
    own stop's future forever. In a running console `bound_aiosqlite_terminate`'s timeout
    cancels that last wait; but when asyncio's shutdown (``asyncio.run``, pytest-asyncio's
    loop teardown) comes first, its cancel and the bound's (passed on) can both land while the
    close still waits on the sqlite3 close, where they count as one: nothing cancels the last
    wait, and the loop never closes (the hang after tests/ui/test_scenario_callers.py passed,
    about 1 run in 25). With one stop per connection, ``close()`` awaits the forced stop's
    future, which the worker resolves just before it exits. Idempotent.
    """
    import aiosqlite

    cls: Any = aiosqlite.Connection
    if getattr(cls, "_callconsole_stop_once", False):
        return
    stop = cls.stop

    def stop_once(self: Any) -> Any:
        if "_callconsole_stopping" not in vars(self):
            self._callconsole_stopping = stop(self)
        return self._callconsole_stopping

    cls.stop = stop_once
    cls._callconsole_stop_once = True


def _create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist (SQLite gives its -wal and
    -shm files the database file's permissions)."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise DatabaseError(
            f"cannot create {path}: {exc.strerror}; choose a folder you can write (--db PATH)"
        ) from None
    os.close(fd)


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
