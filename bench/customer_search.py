"""Customer search latency on a 1M-customer SQLite database, by kind of query.

    python bench/customer_search.py [--db PATH] [--customers 1000000] [--queries 200]

Builds the database with the seeder if PATH does not exist (takes minutes), then times
`CustomerService.search` for name prefixes (typed in lower case, so every case variant is
looked up), names that only match inside ("contains": a table scan), phone numbers in national
format, email addresses and ticket numbers, and prints p50/p95/max per kind, the figure last.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import time
from datetime import date
from pathlib import Path

from console.db import open_database
from console.services.crm.customers import CustomerService
from console.services.seeding.seeding import SeedPlan, seed_database


def samples(path: Path, count: int, rng: random.Random) -> dict[str, list[str]]:
    con = sqlite3.connect(path)

    def pick(table: str, column: str) -> list[str]:
        top = con.execute(f"SELECT max(id) FROM {table}").fetchone()[0]
        found: list[str] = []
        while len(found) < count:
            row = con.execute(
                f"SELECT {column} FROM {table} WHERE id = ?", (rng.randrange(1, top + 1),)
            ).fetchone()
            if row and row[0]:
                found.append(str(row[0]))
        return found

    names = pick("customers", "display_name")
    phones = pick("phone_numbers", "e164")
    emails = pick("email_addresses", "address")
    tickets = pick("tickets", "id")
    con.close()
    return {
        "name prefix (3 chars)": [n[:3].lower() for n in names],
        "name prefix (word)": [n.split()[0].lower() for n in names],
        "name contains (surname)": [n.split()[-1].lower() + "x" for n in names[: count // 4]],
        "phone (national)": [
            f"({p[2:5]}) {p[5:8]}-{p[8:]}" if p.startswith("+1") else p for p in phones
        ],
        "email": [e.upper() for e in emails],
        "ticket": [f"#{t}" for t in tickets],
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=Path("bench/data/screenpop-1m.db"))
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    if not args.db.exists():
        print(f"building {args.db} with {args.customers:,} customers…", file=sys.stderr)
        db = open_database(f"sqlite:///{args.db}")
        await seed_database(db, SeedPlan(customers=args.customers, seed=1, as_of=date(2026, 11, 1)))
        await db.dispose()

    queries = samples(args.db, args.queries, random.Random(2026))
    db = open_database(f"sqlite:///{args.db}")
    service = CustomerService(db, "US")
    lines = []
    try:
        for kind, wanted in queries.items():
            for query in wanted[:10]:  # warm the page cache and the reader thread
                await service.search(query)
            times, hits = [], 0
            for query in wanted:
                started = time.perf_counter()
                found = await service.search(query)
                times.append((time.perf_counter() - started) * 1000)
                hits += bool(found)
            p50 = statistics.median(times)
            p95 = statistics.quantiles(times, n=20, method="inclusive")[18]
            lines.append(
                f"{kind:<26} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  max {max(times):7.2f} ms"
                f"  ({hits}/{len(wanted)} found something)"
            )
    finally:
        await db.dispose()
    print(f"database: {args.db} ({args.db.stat().st_size / 1e6:,.0f} MB)")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
