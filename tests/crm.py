"""A seeded CRM file per test module, copied per test, and a clock tests move by hand."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path

from console.db import Database, open_database
from console.services.seeding.seeding import SeedPlan, seed_database

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # a Monday morning, the day after the seed


class Clock:
    """A clock that stands still until a test sets `now`."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def seed_file(path: Path, *, customers: int, seed: int, agents: int) -> Path:
    """Seed a new SQLite CRM at `path` (as of 2026-11-01)."""

    async def build() -> None:
        db = open_database(f"sqlite:///{path}")
        try:
            plan = SeedPlan(customers=customers, seed=seed, as_of=date(2026, 11, 1), agents=agents)
            await seed_database(db, plan)
        finally:
            await db.dispose()

    asyncio.run(build())
    return path


@asynccontextmanager
async def copy_of(seeded: Path, tmp_path: Path) -> AsyncIterator[Database]:
    """The seeded file copied into `tmp_path`, open."""
    shutil.copy(seeded, tmp_path / "crm.db")
    db = open_database(f"sqlite:///{tmp_path / 'crm.db'}")
    try:
        yield db
    finally:
        await db.dispose()
