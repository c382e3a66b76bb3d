"""Router.staff: what routing reads in each write that creates or routes a follow-up.

    python bench/staff.py [--pending 100000] [--agents 500]
    PYTHONPATH=. python bench/staff.py --pg      # the same on a throwaway PostgreSQL

Builds bench/routing.py's database (`--pending` follow-ups routed by the shipped rules to
`--agents` available agents, so nearly every one is assigned) and times, inside a write
transaction as routing runs it, the open-work count `Router.staff` sends (from
ix_followups_load) against the GROUP BY over every open row it replaced, and the whole of
`Router.staff`; then again with 1 % of the follow-ups assigned (a pool nobody was available
for). Each figure is the median of 15 runs, the better of two rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text, update

from bench.routing import NOW, build
from console.db import Database, open_database
from console.models import FollowUp
from console.models.enums import PENDING_FOLLOWUP_STATUSES
from console.services.routing import router as routing
from console.services.routing.rules_file import load_rules

EVERY_OPEN_ROW = (
    select(func.coalesce(FollowUp.claimed_by, FollowUp.target_agent_id).label("who"), func.count())
    .where(FollowUp.status.in_(PENDING_FOLLOWUP_STATUSES))
    .group_by("who")
)


async def timed(db: Database, count: Any) -> tuple[float, float]:
    """Median ms of `count` alone and of `Router.staff` counting with it."""
    router = routing.Router(db, load_rules(), clock=lambda: NOW)
    shipped, routing._LOAD = routing._LOAD, count
    alone, whole = [], []
    try:
        for _ in range(15):
            async with db.write_connection() as conn:
                started = time.perf_counter()
                await conn.execute(count)
                middle = time.perf_counter()
                await router.staff(conn)
                alone.append((middle - started) * 1000)
                whole.append((time.perf_counter() - middle) * 1000)
    finally:
        routing._LOAD = shipped
    return statistics.median(alone), statistics.median(whole)


async def report(db: Database, label: str) -> None:
    async with db.session() as s:
        open_ = FollowUp.status.in_(PENDING_FOLLOWUP_STATUSES)
        rows = await s.scalar(select(func.count()).where(open_))
        mine = FollowUp.claimed_by.is_not(None) | FollowUp.target_agent_id.is_not(None)
        assigned = await s.scalar(select(func.count()).where(open_, mine))
    figures = {}
    for _ in range(2):
        for name, count in (("every open row", EVERY_OPEN_ROW), ("load index", routing._LOAD)):
            best = figures.get(name, (float("inf"), float("inf")))
            figures[name] = min(best, await timed(db, count))
    said = "; ".join(
        f"{name}: count {c:.1f} ms, Router.staff {s:.1f} ms" for name, (c, s) in figures.items()
    )
    print(f"{label}, {rows:,} open, {assigned:,} assigned: {said}")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=Path("bench/data/staff.db"))
    parser.add_argument("--pg", action="store_true", help="on a throwaway PostgreSQL server")
    parser.add_argument("--pending", type=int, default=100_000)
    parser.add_argument("--agents", type=int, default=500)
    args = parser.parse_args()
    if args.pg:
        from tests.pg import postgres_server

        with postgres_server() as raw:
            await run(args, raw.replace("postgresql://", "postgresql+asyncpg://", 1))
        return 0
    args.db.parent.mkdir(parents=True, exist_ok=True)
    await run(args, f"sqlite:///{args.db}")
    return 0


async def run(args: argparse.Namespace, url: str) -> None:
    print(f"building {url} …", file=sys.stderr)
    await build(url, args.pending, args.agents)
    db = open_database(url)
    try:
        await routing.Router(db, load_rules(), clock=lambda: NOW).route_pending()
        name = "SQLite" if db.is_sqlite else "PostgreSQL"
        await analyzed(db)
        await report(db, f"{name}, routed to available agents")
        async with db.write_connection() as conn:
            await conn.execute(
                update(FollowUp).where(FollowUp.id % 100 != 0).values(target_agent_id=None)
            )
        await analyzed(db)
        await report(db, f"{name}, 1 % assigned")
    finally:
        await db.dispose()


async def analyzed(db: Database) -> None:
    """PostgreSQL: statistics as autovacuum would have them (SQLite runs without ANALYZE)."""
    if not db.is_sqlite:
        async with db.autocommit_connection() as conn:
            await conn.execute(text("VACUUM ANALYZE followups"))


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
