"""Routing counts open work per agent from ix_followups_load, not from every open row.

`Router.staff` runs in every write transaction that creates or routes a follow-up (each
wrap-up's, each abandon's). Its count of open follow-ups per agent grouped every open row: 35-40
ms with 100,000 pending, on SQLite with the file's write lock held. Now it reads the index of
the rows that are someone's (migration 0018). Checked here with each database's EXPLAIN on
the statement `Router.staff` sends, and the counts against their definition: an open follow-up
counts for whoever holds it, else for whom it is assigned to.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select, text

from console.db import Database
from console.models import FollowUp
from console.services.routing.router import Router
from console.services.routing.rules_file import load_rules
from tests.unit.test_worklist import add_agent

NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
STATUSES = ("pending", "claimed", "done", "cancelled")


async def fill(db: Database, rows: int) -> list[int]:
    """Agents and `rows` follow-ups: most in the unassigned pool, some assigned, held (by
    their assignee or someone else) or finished."""
    agents = [await add_agent(db, f"Agent {n}") for n in range(4)]
    values = []
    for n in range(rows):
        assigned = n % 20 == 0
        status = STATUSES[n % 4] if assigned or n % 7 == 0 else "pending"
        held = status == "claimed" or (status == "done" and n % 3 == 0)
        values.append(
            {
                "kind": "task",
                "status": status,
                "summary": f"task {n}",
                "due_at": NOW + timedelta(minutes=n % 600 - 60),
                "priority": 1 + n % 5,
                "target_agent_id": agents[n % 4] if assigned else None,
                "claimed_by": agents[(n // 3) % 4] if held else None,
                "lease_expires_at": NOW + timedelta(minutes=5) if held else None,
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
    async with db.write_connection() as conn:
        await conn.execute(insert(FollowUp), values)
    return agents


async def loads_and_statement(db: Database) -> tuple[dict[int, int], tuple[str, Any]]:
    """Each agent's load as `Router.staff` sees it, and the statement (and parameters) that
    counted it."""
    sent: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, sql: str, params: Any, *_: Any) -> None:
        if "GROUP BY" in sql:
            sent.append((sql, params))

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        async with db.write_connection() as conn:
            staff = await Router(db, load_rules(), clock=lambda: NOW).staff(conn)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert len(sent) == 1
    return {m.id: m.load for m in staff.members.values()}, sent[0]


async def expected_loads(db: Database, agents: list[int]) -> dict[int, int]:
    """The definition, in Python: open follow-ups by holder, else by assignee."""
    async with db.session() as s:
        rows = (
            await s.execute(select(FollowUp.status, FollowUp.claimed_by, FollowUp.target_agent_id))
        ).all()
    owners = Counter(
        held if held is not None else target
        for status, held, target in rows
        if status in ("pending", "claimed") and (held or target) is not None
    )
    return {a: owners.get(a, 0) for a in agents}


async def test_staff_counts_from_the_load_index_on_sqlite(db: Database) -> None:
    agents = await fill(db, 600)
    loads, (sql, params) = await loads_and_statement(db)
    expected = await expected_loads(db, agents)
    assert {a: loads[a] for a in agents} == expected and sum(expected.values()) > 30
    path = db.sqlite_path
    assert path is not None
    with sqlite3.connect(path) as con:
        plan = [r[3] for r in con.execute("EXPLAIN QUERY PLAN " + sql, params)]
    # Only the index of the rows that are someone's, by status: not the table.
    reads = [line for line in plan if re.search(r"\bfollowups\b", line)]
    assert reads == ["SEARCH followups USING COVERING INDEX ix_followups_load (status=?)"], plan


@pytest.mark.postgres
async def test_staff_counts_from_the_load_index_on_postgres(pg_db: Database) -> None:
    agents = await fill(pg_db, 6000)
    async with pg_db.autocommit_connection() as conn:
        await conn.execute(text("VACUUM ANALYZE followups"))
    loads, (sql, params) = await loads_and_statement(pg_db)
    expected = await expected_loads(pg_db, agents)
    assert {a: loads[a] for a in agents} == expected and sum(expected.values()) > 300
    async with pg_db.engine.connect() as conn:
        plan = [r[0] for r in await conn.exec_driver_sql("EXPLAIN " + sql, tuple(params))]
    # The rows the load index lists (an index-only or a bitmap scan of it), not the table.
    assert any(re.search(r"(on|using) ix_followups_load\b", line) for line in plan), plan
    assert not any("Seq Scan" in line for line in plan), plan
