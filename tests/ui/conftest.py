"""Console tests: a small seeded CRM (copied per test), the real simulator, the real app."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path

import pytest

from console.cti.ami import AmiTimings, Backoff
from console.db import Database, open_database
from console.services.seeding.seeding import SeedPlan, seed_database

FAST = AmiTimings(
    connect_timeout=2.0,
    action_timeout=2.0,
    ping_interval=0.5,
    ping_timeout=1.0,
    stable_after=5.0,
    backoff=Backoff(initial=0.05, cap=0.2, jitter=0.5),
)


@pytest.fixture(scope="session")
def seeded_crm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("crm") / "crm.db"

    async def build() -> None:
        database = open_database(f"sqlite:///{path}")
        try:
            await seed_database(
                database, SeedPlan(customers=400, seed=7, as_of=date(2026, 11, 1), agents=4)
            )
        finally:
            await database.dispose()

    asyncio.run(build())
    return path


@pytest.fixture
async def crm(seeded_crm: Path, tmp_path: Path) -> AsyncIterator[Database]:
    path = tmp_path / "crm.db"
    shutil.copy(seeded_crm, path)
    database = open_database(f"sqlite:///{path}")
    try:
        yield database
    finally:
        await database.dispose()


def one_customer_number(path: Path) -> tuple[str, int]:
    """A number that belongs to exactly one customer, and that customer."""
    con = sqlite3.connect(path)
    try:
        e164, customer = con.execute(
            "SELECT e164, min(customer_id) FROM phone_numbers GROUP BY e164 "
            "HAVING count(*) = 1 ORDER BY e164 LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    return str(e164), int(customer)


async def until(check: Callable[[], object], *, within: float = 5.0, step: float = 0.02) -> None:
    """Wait until `check()` is truthy (fails the test after `within` seconds)."""
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110 - polling what the UI shows is the point
            await asyncio.sleep(step)


@pytest.fixture
def crm_copy(seeded_crm: Path, tmp_path: Path) -> Path:
    """A private copy of the seeded CRM file (for tests that open it themselves)."""
    path = tmp_path / "crm.db"
    shutil.copy(seeded_crm, path)
    return path
