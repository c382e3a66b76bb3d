"""Every console's routing upkeep reads the follow-ups through indexes (issue 17: seats).

Each console runs the upkeep every 15 s; with 100,000 follow-ups pending, a read that scans
the table inside its write transaction holds SQLite's write lock from every other console
(bench/seats.py measured claims and call writes waiting on it). Here every statement one pass
sends is checked with EXPLAIN QUERY PLAN: no `SCAN followups`. SQLite's plans do not depend on
the row count without ANALYZE, so a few hundred rows show what 100,000 get.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, insert

from console.db import Database
from console.models import FollowUp
from console.services.context import ServiceContext
from console.services.routing.upkeep import RoutingUpkeep
from tests.unit.test_worklist import add_agent

# A scan, or a search on the status alone (every pending row), reads the table; but for
# ix_followups_load, whose rows are only those that are someone's (Router.staff's count).
WHOLE = re.compile(
    r"SCAN followups\b"
    r"|SEARCH followups USING (COVERING )?INDEX (?!ix_followups_load )\S+ \(status=\?\)$"
)
NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


async def test_an_upkeep_pass_scans_no_follow_up_table(db: Database) -> None:
    agent = await add_agent(db, "Ann Agent")
    rows = [
        {
            "kind": "task",
            "status": ("pending", "claimed", "done")[n % 3],
            "summary": f"task {n}",
            "due_at": NOW + timedelta(minutes=n % 600 - 60),
            "sla_due_at": NOW + timedelta(minutes=n % 900 - 30),
            "overdue_at": NOW - timedelta(minutes=5) if n % 50 == 0 else None,
            "rule": "" if n % 40 == 0 else "default",
            "claimed_by": agent if n % 3 == 1 else None,
            "lease_expires_at": NOW + timedelta(minutes=(n % 7) - 2) if n % 3 == 1 else None,
            "priority": 1 + n % 5,
            "created_at": NOW,
            "updated_at": NOW,
        }
        for n in range(600)
    ]
    async with db.write_connection() as conn:
        await conn.execute(insert(FollowUp), rows)
    ctx = ServiceContext(db=db, clock=lambda: NOW)
    upkeep = RoutingUpkeep(agent, ctx.presence, ctx.worklist, ctx.sla)
    statements: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, sql: str, params: Any, _ctx: Any, many: bool) -> None:
        if re.search(r"\bfollowups\b", sql) and not sql.lstrip().upper().startswith("INSERT"):
            statements.append((sql, params[0] if many else params))

    writer = db.engine.sync_engine
    event.listen(writer, "before_cursor_execute", capture)
    try:
        await upkeep.tick()
    finally:
        event.remove(writer, "before_cursor_execute", capture)
    assert len(statements) >= 4  # renew, lapsed leases, strays, overdue, escalations
    path = db.sqlite_path
    assert path is not None
    with sqlite3.connect(path) as con:
        for sql, params in statements:
            plan = [r[3] for r in con.execute("EXPLAIN QUERY PLAN " + sql, params)]
            whole = [line for line in plan if WHOLE.match(line)]
            assert not whole, (sql, plan)
