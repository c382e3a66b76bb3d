"""Real database outages for tests: SQLite's own errors, caused as they are in the field.

- ``locked``: another connection holds the write lock (BEGIN EXCLUSIVE), so a writer waits its
  busy timeout and gets "database is locked" (many consoles, a long seeding, a sqlite3 shell).
- ``full``: the database may not grow (``max_page_count`` at its current size): SQLite's
  SQLITE_FULL, "database or disk is full", as on a full disk — for the writes that need a new
  page; writes that fit in pages the file already has go through, as they do on a full disk.
  (tests/integration/test_full_disk.py fills a real file system.)
- ``readonly``: every connection is read-only (``query_only``): SQLite's SQLITE_READONLY,
  "attempt to write a readonly database", as for a file made read-only under a running console.

The pragmas are set on each connection of the database's pool as it is checked out (on or off:
the pool is never emptied under a running console, as nothing empties it in the field), never
on the test's own checking connection.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import event

from console.db import Database

KINDS = ("locked", "full", "readonly")
NO_LIMIT = 2**32 - 2  # SQLite's largest max_page_count: no limit


class SqliteFaults:
    """Switch a real outage of one SQLite database on and off."""

    def __init__(self, db: Database) -> None:
        assert db.sqlite_path is not None
        self._db = db
        self._pragmas = self._off()
        self._holder: sqlite3.Connection | None = None
        self.kind: str | None = None
        event.listen(db.engine.sync_engine, "checkout", self._on_checkout)

    @staticmethod
    def _off() -> list[str]:
        return [f"PRAGMA max_page_count={NO_LIMIT}", "PRAGMA query_only=OFF"]

    def _on_checkout(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            for pragma in self._pragmas:
                cursor.execute(pragma)
        finally:
            cursor.close()

    async def set(self, kind: str | None) -> None:
        """Start outage ``kind`` (one of `KINDS`), or end the current one (None)."""
        if self._holder is not None:
            self._holder.execute("ROLLBACK")
            self._holder.close()
            self._holder = None
        self._pragmas = self._off()
        path = self._db.sqlite_path
        assert path is not None
        if kind == "locked":
            self._holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._holder.execute("BEGIN EXCLUSIVE")
        elif kind == "full":
            with sqlite3.connect(path) as con:
                pages = con.execute("PRAGMA page_count").fetchone()[0]
            self._pragmas = [f"PRAGMA max_page_count={pages}", "PRAGMA query_only=OFF"]
        elif kind == "readonly":
            self._pragmas = [f"PRAGMA max_page_count={NO_LIMIT}", "PRAGMA query_only=ON"]
        elif kind is not None:
            raise ValueError(kind)
        self.kind = kind

    async def close(self) -> None:
        """End the outage. The checkout hook stays (setting the pragmas off): a pooled
        connection that was made read-only keeps that setting until it is set off again."""
        await self.set(None)
