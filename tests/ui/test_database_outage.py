"""Issue 17.1 as the agent lives it: the database turns read-only (or locked) in the middle of
a shift. The call still rings with the caller's card, is answered, hung up and wrapped up; the
agent is told once that the database is away and once that it is back; then the row is in the
database exactly as if nothing had happened. (Locked, the first refused write waits out the
5 s busy timeout before it is journaled: the waits below are generous for a loaded machine,
not timing checks.)"""

from __future__ import annotations

import pytest

from console.db import Database
from tests.db_faults import SqliteFaults
from tests.factories import agent_console_app, interaction_row, ready_agent, wrap_up_ready
from tests.pbx import running_pbx
from tests.ui.conftest import one_customer_number, until
from tests.ui.terminal import Notifications


@pytest.mark.parametrize("kind", ["readonly", "locked"])
async def test_a_call_during_a_database_outage_is_taken_and_saved_when_it_is_back(
    crm: Database, kind: str
) -> None:
    assert crm.sqlite_path is not None
    number, _ = one_customer_number(crm.sqlite_path)
    before = interaction_row(crm.sqlite_path)["id"]
    async with running_pbx() as pbx:
        app = agent_console_app(crm, pbx.port)
        notified = Notifications(app)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await ready_agent(app, pilot)
            faults = SqliteFaults(crm)
            await faults.set(kind)
            try:
                pbx.ring(number, "Ann Caller")
                await until(lambda: screen.desk.state.phase == "ringing", within=30)
                await pilot.press("f2")
                await until(lambda: screen.desk.state.phase == "talking", within=30)
                await pilot.press("f5")
                await until(lambda: wrap_up_ready(app), within=30)
                await pilot.press("1")  # the first disposition: resolved
                for key in "fixed":
                    await pilot.press(key)
                await pilot.press("ctrl+s")
                await until(lambda: not wrap_up_ready(app), within=30)
                away = [n for n in notified.shown if n.title == "Database"]
                assert len(away) == 1 and "unavailable" in away[0].message
                assert interaction_row(crm.sqlite_path)["id"] == before  # nothing reached it
            finally:
                await faults.close()
            await until(lambda: notified.any("Database back"), within=20)
            row = interaction_row(crm.sqlite_path)
            assert row["id"] != before
            assert row["status"] == "completed"
            assert row["disposition"] == "resolved"
            assert row["notes"] == "fixed"
            assert row["answered_at"] is not None and row["ended_at"] is not None
            assert not notified.any("Could not handle")  # no event failed on the way
