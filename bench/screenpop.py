"""Screen-pop latency on a 1M-customer database, beside the same queries in raw sqlite3.

    python bench/screenpop.py [--db PATH] [--customers 1000000] [--lookups 2000]

Builds the database with `callconsole seed` if PATH does not exist (takes minutes), then:
1. runs `ScreenPopService.lookup` (the real service, one worker hop per pop) for a random mix of
   known and unknown numbers, and
2. runs the same compiled SQL statements with the standard `sqlite3` module in one thread (the
   lower bound: no asyncio, no thread hop, no phone parsing, no result objects),
and prints p50/p95/p99 of both and the ratio. Targets: service p99 <= 5 ms, ratio <= 5x.

Every pop carries its call's Linkedid, as the console's does: the warm-handoff query (a leg
of the same call another agent answered) runs on both sides; one call in ten is such a
transfer (an existing Linkedid), the rest are new calls.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from console.db import CompiledRead, compile_for_sqlite, open_database
from console.services.crm.phones import to_e164
from console.services.desk import screenpop
from console.services.desk.screenpop import ScreenPopService
from console.services.seeding.seeding import SeedPlan, seed_database


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return q[49], q[94], q[98]


def numbers(path: Path, lookups: int, rng: random.Random) -> list[str]:
    con = sqlite3.connect(path)
    top = con.execute("SELECT max(id) FROM phone_numbers").fetchone()[0]
    known = []
    while len(known) < lookups // 2:
        row = con.execute(
            "SELECT e164 FROM phone_numbers WHERE id = ?", (rng.randrange(1, top + 1),)
        ).fetchone()
        if row:
            known.append(row[0])
    # Unknown: valid numbers (so the service really queries) that nobody in the seed has.
    unknown: list[str] = []
    while len(unknown) < lookups // 2:
        candidate = f"+1{rng.choice(['212', '415', '646', '312'])}{rng.randrange(2_000_000, 10**7)}"
        if (
            to_e164(candidate) == candidate
            and not con.execute(
                "SELECT 1 FROM phone_numbers WHERE e164 = ?", (candidate,)
            ).fetchone()
        ):
            unknown.append(candidate)
    mixed = known + unknown
    rng.shuffle(mixed)
    return mixed


def linkedids(path: Path, count: int, rng: random.Random) -> list[str]:
    """A Linkedid for each pop: one in ten an existing call's (a transfer), else new."""
    con = sqlite3.connect(path)
    try:
        existing = [
            r[0]
            for r in con.execute(
                "SELECT linkedid FROM interactions WHERE linkedid != '' LIMIT 5000"
            )
        ]
    finally:
        con.close()
    return [
        rng.choice(existing) if existing and i % 10 == 0 else f"bench-{i}.1" for i in range(count)
    ]


def raw_pop(
    con: sqlite3.Connection, e164: str, sql: dict[str, CompiledRead], linkedid: str = ""
) -> Any:
    """The service's queries, bound and run with sqlite3 directly."""

    def run(name: str, **params: Any) -> list[Any]:
        read = sql[name]
        values = tuple(params[n] if n in params else read.constants[n] for n in read.names)
        return con.execute(read.sql, values).fetchall()

    con.execute("BEGIN")
    try:
        run("handoff", lid=linkedid, aid=1)
        matches = run("matches", e164=e164)
        if not matches:
            return None
        cid = matches[0][0]
        return (
            run("profile", cid=cid),
            run("contacts", cid=cid),
            run("history", cid=cid),
            run("tickets", cid=cid),
            run("followups", cid=cid),
        )
    finally:
        con.execute("COMMIT")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=Path("bench/data/screenpop-1m.db"))
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=2000)
    args = parser.parse_args()
    if not args.db.exists():
        print(f"building {args.db} with {args.customers:,} customers…", file=sys.stderr)
        db = open_database(f"sqlite:///{args.db}")
        summary = await seed_database(
            db, SeedPlan(customers=args.customers, seed=1, as_of=date(2026, 11, 1))
        )
        await db.dispose()
        print(f"seeded in {summary.seconds:.1f} s", file=sys.stderr)

    rng = random.Random(2026)
    wanted = numbers(args.db, args.lookups, rng)
    calls = linkedids(args.db, len(wanted), rng)
    now = datetime(2026, 11, 1, tzinfo=UTC)

    db = open_database(f"sqlite:///{args.db}")
    service = ScreenPopService(db, region="US", clock=lambda: now)
    for e164 in wanted[:50]:  # warm caches and the reader thread
        await service.lookup(e164)
    service_ms = []
    found = 0
    for e164, lid in zip(wanted, calls, strict=True):
        started = time.perf_counter()
        pop = await service.lookup(e164, linkedid=lid, agent_id=1)
        service_ms.append((time.perf_counter() - started) * 1000)
        found += pop.profile is not None
    await db.dispose()

    sql = {
        "handoff": compile_for_sqlite(screenpop._HANDOFF, {"lid": "", "aid": 0}),
        "matches": compile_for_sqlite(screenpop._MATCHES, {"e164": ""}),
        "profile": compile_for_sqlite(screenpop._PROFILE, {"cid": 0}),
        "contacts": compile_for_sqlite(screenpop._CONTACT_POINTS, {"cid": 0}),
        "history": compile_for_sqlite(screenpop._HISTORY, {"cid": 0}),
        "tickets": compile_for_sqlite(screenpop._TICKETS, {"cid": 0}),
        "followups": compile_for_sqlite(screenpop._FOLLOWUPS, {"cid": 0}),
    }
    con = sqlite3.connect(args.db, isolation_level=None)
    for e164 in wanted[:50]:
        raw_pop(con, e164, sql)
    raw_ms = []
    for e164, lid in zip(wanted, calls, strict=True):
        started = time.perf_counter()
        raw_pop(con, e164, sql, lid)
        raw_ms.append((time.perf_counter() - started) * 1000)
    con.close()

    s50, s95, s99 = percentiles(service_ms)
    r50, r95, r99 = percentiles(raw_ms)
    print(f"database: {args.db} ({args.db.stat().st_size / 1e6:,.0f} MB)")
    print(f"lookups: {len(wanted)} ({found} known customers popped, rest unknown)")
    print(f"service  p50 {s50:.2f} ms  p95 {s95:.2f} ms  p99 {s99:.2f} ms")
    print(f"raw      p50 {r50:.2f} ms  p95 {r95:.2f} ms  p99 {r99:.2f} ms")
    print(f"ratio    p50 {s50 / r50:.1f}x  p99 {s99 / r99:.1f}x   (targets: p99 <= 5 ms, <= 5x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
