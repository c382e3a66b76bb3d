"""Follow-up routing at scale: decisions per second, and claim latency under contention.

    python bench/routing.py [--db PATH] [--pending 100000] [--agents 500] [--claimers 50]
    PYTHONPATH=. python bench/routing.py --pg      # the same on a throwaway PostgreSQL

Builds (or reuses) a SQLite CRM seeded with `callconsole seed` (20,000 customers), adds agents
up to `--agents` (ready, fresh heartbeat, skills spread over the queues) and `--pending`
unrouted pending follow-ups spread over those customers and their calls. Then:

1. routes every one of them with `Router.route_pending` (the shipped default rules: facts
   gathered in the database, rules matched, an agent chosen by the rule's strategy, the
   decision written back with its audit entry) and prints decisions per second;
2. runs `--claimers` consoles at once (each its own connection pool), each claiming with
   `Worklist.claim_next` for `--claims` claims, and prints the claim latency p50/p95/p99 and
   the number of distinct follow-ups claimed (must equal the claims).

By default the consoles claim back to back in one process: a stress test of the claim path,
not a contact center — 200 consoles claiming with no pause on two cores measure CPU
saturation. `--work SECONDS` makes each console work each item for that long on average and
complete it before claiming the next, as agents do; `--processes N` spreads the consoles over
N OS processes, as real seats are (SQLite's lock is then contended across processes).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import shutil
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update

from console.db import open_database
from console.models import Agent, AgentSkill, Customer, FollowUp
from console.models.enums import FollowUpKind, FollowUpOrigin, FollowUpStatus, Presence, Role
from console.schema import upgrade
from console.services.routing.router import Router
from console.services.routing.rules_file import load_rules
from console.services.routing.worklist import ClaimError, Worklist
from console.services.seeding.seeding import SKILLS, SeedPlan, seed_database

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # the day after the seed's as-of date


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return q[49], q[94], q[98]


PLAN = SeedPlan(customers=20_000, seed=5, as_of=date(2026, 11, 1))


async def build(url: str, pending: int, agents: int) -> None:
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        base = path.with_name("routing-base.db")
        if not base.exists():
            db = open_database(f"sqlite:///{base}")
            await seed_database(db, PLAN)
            await db.dispose()
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)  # an old WAL beside a fresh copy would corrupt it
        shutil.copy(base, path)
    else:  # a fresh PostgreSQL database
        db = open_database(url)
        await seed_database(db, PLAN)
        await db.dispose()
    db = open_database(url)
    await upgrade(db)  # a base seeded by an older callconsole gets this one's indexes
    rng = random.Random(11)
    async with db.write_connection() as conn:
        have = await conn.scalar(select(func.count()).select_from(Agent))
        top = await conn.scalar(select(func.max(Agent.id)))
        rows, skills = [], []
        for n in range(int(top or 0) + 1, int(top or 0) + 1 + agents - int(have or 0)):
            rows.append(
                dict(
                    id=n,
                    login=f"bench{n}",
                    display_name=f"Bench Agent {n}",
                    role=Role.AGENT,
                    team=rng.choice(("Red", "Blue", "Green")),
                    extension=str(5000 + n),
                    interface=f"PJSIP/{5000 + n}",
                    created_at=NOW,
                )
            )
            for skill in rng.sample(SKILLS, 3):
                skills.append(dict(agent_id=n, skill=skill, level=rng.randrange(1, 11)))
        if rows:
            await conn.execute(insert(Agent), rows)
            await conn.execute(insert(AgentSkill), skills)
        await conn.execute(update(Agent).values(presence=Presence.READY, heartbeat_at=NOW))
        customers = int(await conn.scalar(select(func.max(Customer.id))) or 1)
        kinds = (FollowUpKind.CALLBACK, FollowUpKind.TASK, FollowUpKind.ESCALATION)
        origins = (FollowUpOrigin.AGENT, FollowUpOrigin.ABANDONED, FollowUpOrigin.DISPOSITION)
        batch = [
            dict(
                kind=rng.choice(kinds),
                status=FollowUpStatus.PENDING,
                origin=rng.choice(origins),
                customer_id=rng.randrange(1, customers + 1),
                summary="bench",
                due_at=NOW + timedelta(minutes=rng.randrange(-600, 600)),  # half due now
                priority=rng.randrange(1, 6),
                created_at=NOW,
                updated_at=NOW,
            )
            for _ in range(pending)
        ]
        await conn.execute(insert(FollowUp), batch)
    await db.dispose()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=Path("bench/data/routing.db"))
    parser.add_argument(
        "--pg",
        action="store_true",
        help="run on a throwaway PostgreSQL server (Debian's postgresql) instead of SQLite",
    )
    parser.add_argument("--pending", type=int, default=100_000)
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--claimers", type=int, default=50)
    parser.add_argument("--claims", type=int, default=40, help="claims per claimer")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="spread the claimers over this many OS processes (a seat is a process of its own)",
    )
    parser.add_argument(
        "--work",
        type=float,
        default=0.0,
        help="seconds a console works each item (on average) before completing it and "
        "claiming the next; 0: claim back to back",
    )
    args = parser.parse_args()
    if args.pg:
        from tests.pg import postgres_server

        with postgres_server() as raw:
            url = raw.replace("postgresql://", "postgresql+asyncpg://", 1)
            return await run(args, url)
    args.db.parent.mkdir(parents=True, exist_ok=True)
    return await run(args, f"sqlite:///{args.db}")


async def run(args: argparse.Namespace, url: str) -> int:
    print(f"building {url} …", file=sys.stderr)
    await build(url, args.pending, args.agents)
    print(f"database: {url.split('://')[0]}")

    db = open_database(url)
    router = Router(db, load_rules(), clock=lambda: NOW)
    started = time.perf_counter()
    routed = await router.route_pending()
    seconds = time.perf_counter() - started
    await db.dispose()
    print(
        f"routed {routed:,} follow-ups for {args.agents} agents in {seconds:.1f} s: "
        f"{routed / seconds:,.0f} decisions/s"
    )

    async with open_database(url).session() as session:
        agent_ids = list(
            (await session.execute(select(Agent.id).where(Agent.role == Role.AGENT))).scalars()
        )
    rng = random.Random(3)
    alone = await claiming(url, rng.sample(agent_ids, 1), 201)
    together = await claiming(
        url,
        rng.sample(agent_ids, min(args.claimers, len(agent_ids))),
        args.claims,
        processes=args.processes,
        work=args.work,
    )
    return 0 if alone and together else 1


@dataclass
class Tally:
    """What a group of consoles saw: claim latencies (ms; each console's first claim apart),
    ids claimed, refusals."""

    latencies: list[float] = field(default_factory=list)
    first: list[float] = field(default_factory=list)
    claimed: list[int] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.latencies += other.latencies
        self.first += other.first
        self.claimed += other.claimed
        self.refused += other.refused


async def consoles(
    url: str, agents: list[int], claims: int, work: float, start: Any = None
) -> Tally:
    """`claims` claims from each of `agents`' consoles at once, each its own connection pool:
    back to back (`work` 0), or each item worked for `work` seconds on average (uniform, 0.5
    to 1.5 times) and completed before the next claim, as a console is used.

    Every console first makes one claim (it opens its connections and compiles the statement:
    a console's login, not its steady state) and then waits for all the others (and for
    `start`, a barrier of the other processes) before the claims that are timed."""
    tally = Tally()
    rng = random.Random(agents[0] if agents else 0)
    dbs = [open_database(url) for _ in agents]
    worklists = [Worklist(db, clock=lambda: NOW) for db in dbs]

    async def claim(worklist: Worklist, agent_id: int, times: list[float]) -> int | None:
        t = time.perf_counter()
        try:
            item = await worklist.claim_next(agent_id)
        except ClaimError as exc:  # e.g. SQLite's write lock not had within its timeout
            tally.refused.append(str(exc))
            return None
        times.append((time.perf_counter() - t) * 1000)
        if item is not None:
            tally.claimed.append(item.id)
        return None if item is None else item.id

    async def console(worklist: Worklist, agent_id: int) -> None:
        if work:  # consoles come in over one work time, not all in the same instant
            await asyncio.sleep(rng.uniform(0, work))
        for _ in range(claims - 1):
            fid = await claim(worklist, agent_id, tally.latencies)
            if fid is None:
                return
            if work:
                await asyncio.sleep(work * rng.uniform(0.5, 1.5))
                await worklist.complete(agent_id, fid, note="bench")

    try:
        await asyncio.gather(
            *(claim(w, a, tally.first) for w, a in zip(worklists, agents, strict=True))
        )
        if start is not None:
            await asyncio.to_thread(start.wait)
        await asyncio.gather(*(console(w, a) for w, a in zip(worklists, agents, strict=True)))
    finally:
        for db in dbs:
            await db.dispose()
    return tally


def consoles_in_process(url: str, agents: list[int], claims: int, work: float, start: Any) -> Tally:
    """`consoles` in a process of its own."""
    return asyncio.run(consoles(url, agents, claims, work, start))


async def claiming(
    url: str, agents: list[int], claims: int, *, processes: int = 1, work: float = 0.0
) -> bool:
    """Run `consoles`, spread over `processes` OS processes; print the figures."""
    processes = max(1, min(processes, len(agents)))
    started = time.perf_counter()
    if processes == 1:
        tally = await consoles(url, agents, claims, work)
    else:
        context = multiprocessing.get_context("spawn")  # no forked event loop or connections
        with context.Manager() as manager, ProcessPoolExecutor(processes, context) as pool:
            start = manager.Barrier(processes + 1)
            loop = asyncio.get_running_loop()
            runs = [
                loop.run_in_executor(
                    pool, consoles_in_process, url, agents[i::processes], claims, work, start
                )
                for i in range(processes)
            ]
            await asyncio.to_thread(start.wait)
            started = time.perf_counter()
            tally = Tally()
            for part in await asyncio.gather(*runs):
                tally.add(part)
    seconds = time.perf_counter() - started
    p50, p95, p99 = percentiles(tally.latencies)
    how = f"working {work:g} s an item" if work else "back to back"
    where = f" in {processes} processes" if processes > 1 else ""
    claimed = tally.claimed
    print(
        f"{len(agents)} console(s){where} claiming {how}: {len(claimed):,} claims in "
        f"{seconds:.1f} s ({len(claimed) / seconds:,.0f}/s), {len(set(claimed)):,} distinct, "
        f"{len(tally.refused)} refused; latency p50 {p50:.1f} ms  p95 {p95:.1f} ms  "
        f"p99 {p99:.1f} ms"
    )
    if tally.first:
        print(
            f"  each console's first claim (connections opened, statement compiled; not in the "
            f"figures above): p50 {statistics.median(tally.first):.1f} ms  "
            f"max {max(tally.first):.1f} ms"
        )
    if tally.refused:
        print(f"  refused: {tally.refused[0]}")
    return len(set(claimed)) == len(claimed)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
