"""A console says at start-up when more consoles share its SQLite file than SQLite holds well."""

from __future__ import annotations

import pytest

from console.app import CallConsoleApp
from console.db import Database
from console.services.seats import SQLITE_SEAT_LIMIT, SqliteSeat, consoles_sharing
from tests.ui.terminal import Notifications
from tests.ui.test_worklist_screens import session_for

SIZE = (120, 36)


@pytest.mark.parametrize(
    ("others", "warned"), [(SQLITE_SEAT_LIMIT - 1, False), (SQLITE_SEAT_LIMIT, True)]
)
async def test_a_console_beyond_the_sqlite_limit_is_told_to_use_postgresql(
    crm: Database, others: int, warned: bool
) -> None:
    path = crm.sqlite_path
    assert path is not None
    seats = [SqliteSeat.take(path) for _ in range(others)]  # the other consoles, running
    try:
        app = CallConsoleApp(runtime=await session_for(crm), connect=False)
        notified = Notifications(app)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert consoles_sharing(path) == others + 1  # this one holds a seat too
            assert notified.any("PostgreSQL") is warned
            if warned:
                assert notified.any(f"{others + 1} consoles share this SQLite database")
        assert consoles_sharing(path) == others  # quitting gave the seat up
    finally:
        for seat in seats:
            seat.release()
