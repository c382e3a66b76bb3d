"""A console runs every statement of a pop at login, so its first call pops warm (issue 17).

A statement's first run on an engine compiles it: a few ms each, and the claim and pop
statements are large. Many consoles in one process (bench/seats.py) each compiled them on
their first call, stalling each other's pops. `ScreenPopService.warm_up` runs them at login.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine.default import CacheStats

from console.db import Database, open_database
from console.models import PhoneNumber
from console.services.desk.screenpop import ScreenPopService
from console.services.seeding.seeding import SeedPlan, seed_database

pytestmark = pytest.mark.postgres


async def test_after_the_warm_up_a_pop_compiles_nothing(pg_db: Database) -> None:
    await seed_database(pg_db, SeedPlan(customers=40, seed=3, as_of=date(2026, 11, 1)))
    async with pg_db.session() as session:
        number = await session.scalar(select(PhoneNumber.e164).order_by(PhoneNumber.id).limit(1))
    # A fresh engine, as a console's at login: nothing of it compiled yet.
    console = open_database(str(pg_db.url.render_as_string(hide_password=False)))
    compiled: list[str] = []

    def count(_c: Any, _cur: Any, sql: str, _p: Any, context: Any, _many: bool) -> None:
        if context is not None and context.cache_hit is CacheStats.CACHE_MISS:
            compiled.append(sql)

    event.listen(console.engine.sync_engine, "after_cursor_execute", count)
    try:
        pops = ScreenPopService(console)
        await pops.warm_up()
        assert compiled, "the warm-up compiled the pop's statements"
        compiled.clear()
        pop = await pops.lookup(number, linkedid="1733.9", agent_id=1, campaign=(1, 1))
        assert pop.profile is not None
        assert compiled == []
    finally:
        await console.dispose()
