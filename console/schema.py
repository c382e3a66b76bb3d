"""Schema migrations, run in-process with Alembic: `callconsole db upgrade` and on app start."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect
from sqlalchemy.exc import SQLAlchemyError

from console.db import Database, DatabaseError, explain_error, is_busy


class SchemaError(DatabaseError):
    """The database's schema cannot be used by this version of callconsole."""


@dataclass(frozen=True)
class SchemaState:
    """What is in the database now, against what this callconsole knows."""

    current: str | None
    head: str
    foreign_tables: tuple[str, ...]  # tables present in a database with no schema version

    @property
    def is_current(self) -> bool:
        return self.current == self.head


def alembic_config() -> Config:
    """An Alembic config pointing at the migrations shipped inside the package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("console") / "migrations"))
    return cfg


def head_revision() -> str:
    """The newest migration this callconsole ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _state(conn: Connection) -> SchemaState:
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    assert head is not None
    current = MigrationContext.configure(conn).get_current_revision()
    tables = tuple(sorted(t for t in inspect(conn).get_table_names() if t != "alembic_version"))
    if current is None:
        return SchemaState(None, head, tables)
    try:
        known = script.get_revision(current) is not None
    except Exception:  # alembic raises several kinds for an unknown id
        known = False
    if not known:
        raise SchemaError(
            f"the database schema is at revision {current}, newer than this callconsole knows "
            f"(up to {head}); upgrade callconsole. Nothing was changed"
        )
    return SchemaState(current, head, ())


def _check_not_foreign(state: SchemaState, where: str) -> None:
    if state.current is None and state.foreign_tables:
        shown = ", ".join(state.foreign_tables[:5])
        raise SchemaError(
            f"{where} is not a callconsole database (it has tables {shown} and no schema "
            "version); nothing was changed"
        )


async def schema_state(db: Database, *, raw: bool = False) -> SchemaState:
    """Read the schema revision; SchemaError for a newer database (``raw``: driver errors
    are raised as they are, for a caller that retries some of them)."""
    try:
        async with db.engine.connect() as conn:
            state = await conn.run_sync(_state)
    except (SQLAlchemyError, OSError) as exc:
        if raw:
            raise
        raise DatabaseError(db.explain(exc)) from None
    return state


def _upgrade(conn: Connection) -> SchemaState:
    state = _state(conn)
    _check_not_foreign(state, conn.engine.url.render_as_string(hide_password=True))
    if not state.is_current:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return _state(conn)


def upgrade_sync(engine: Engine) -> SchemaState:
    """`upgrade` for a synchronous engine (bulk seeding builds a side file this way)."""
    with engine.connect() as conn, conn.begin():
        return _upgrade(conn)


#: How many busy timeouts a console starting while others write to the same SQLite file
#: waits for its write lock (5 s each by default: a minute) before it gives up in one line.
STARTUP_BUSY_TIMEOUTS = 12


async def upgrade(
    db: Database,
    *,
    wait: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> SchemaState:
    """Bring the database to the newest schema and make sure this console can write to it.
    Refuses foreign and newer databases.

    A busy SQLite file ("database is locked": other consoles writing) is waited for with
    growing pauses, up to ``wait`` seconds (default `STARTUP_BUSY_TIMEOUTS` busy timeouts),
    then refused in one line saying how long it waited; ``on_wait`` hears once that it waits.
    A current schema is only read, then one empty write transaction checks the lock can be
    had: a file locked for good by another program is refused at start, not at the first call.
    """
    loop = asyncio.get_running_loop()
    if wait is None:
        wait = STARTUP_BUSY_TIMEOUTS * db.busy_timeout_ms / 1000
    started = loop.time()
    pause, told = 0.1, False
    while True:
        try:
            state = await schema_state(db, raw=True)
            async with db.write_connection() as conn:
                if state.is_current:
                    return state
                return await conn.run_sync(_upgrade)
        except SchemaError:
            raise
        except (SQLAlchemyError, OSError) as exc:
            waited = loop.time() - started
            if not is_busy(exc) or waited + pause > wait:
                waited_ms = max(db.busy_timeout_ms, int(round(waited, 1) * 1000))
                raise DatabaseError(explain_error(db.url, exc, busy_timeout_ms=waited_ms)) from None
            if on_wait is not None and not told:
                on_wait("the database is busy (other consoles are writing to it): waiting…")
                told = True
        await asyncio.sleep(pause * random.uniform(0.5, 1.0))  # consoles do not retry in step
        pause = min(pause * 2, 2.0)
