"""A cancelled task's aiosqlite connection is closed within a bound (console/db.py
`bound_aiosqlite_terminate`): SQLAlchemy's shielded graceful close could wait forever with
aiosqlite 0.22, and the console then never exited after a quit during a locked write. Its
cause, a forced stop overtaking that close (`aiosqlite_stop_once`), is tested below too."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection

from console import db as db_module
from console.db import aiosqlite_stop_once, bound_aiosqlite_terminate


class NeverCloses:
    """An aiosqlite connection whose worker never answers the close."""

    async def close(self) -> None:
        await asyncio.Event().wait()


async def test_a_close_that_never_finishes_ends_in_timeout_so_sqlalchemy_forces_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(db_module, "TERMINATE_GRACE", 0.01)
    bound_aiosqlite_terminate()
    bound_aiosqlite_terminate()  # idempotent: wrapped once
    conn = object.__new__(AsyncAdapt_aiosqlite_connection)
    conn._connection = NeverCloses()  # type: ignore[assignment]
    with pytest.raises(TimeoutError):
        await conn._terminate_graceful_close()
    # SQLAlchemy's terminate() answers exactly this exception with its forced close.
    assert TimeoutError in conn._terminate_handled_exceptions()


async def test_a_database_opened_by_the_console_has_the_bound(tmp_path: object) -> None:
    db_module.open_database(f"{tmp_path}/x.db")
    assert getattr(AsyncAdapt_aiosqlite_connection, "_callconsole_bounded", False)
    assert getattr(aiosqlite.Connection, "_callconsole_stop_once", False)


async def test_a_close_overtaken_by_a_forced_stop_still_finishes(tmp_path: Path) -> None:
    """The order of the aiosqlite worker's queue when tests/ui/test_scenario_callers.py's loop
    teardown hung: the graceful close's sqlite3 close, SQLAlchemy's forced stop, then the
    close's own stop."""
    aiosqlite_stop_once()
    aiosqlite_stop_once()  # idempotent: wrapped once
    conn = await aiosqlite.connect(tmp_path / "x.db")
    closing = asyncio.create_task(conn.close())  # SQLAlchemy's graceful close
    await asyncio.sleep(0)  # it has queued the sqlite3 close and waits for it
    conn.stop()  # SQLAlchemy's forced close: the terminating task was cancelled again
    # Before: the worker exited at the forced stop's sentinel, and close() then waited
    # forever on the future of the second stop it queued behind it.
    await asyncio.wait_for(closing, 5)
    conn._thread.join(5)
    assert not conn._thread.is_alive()
