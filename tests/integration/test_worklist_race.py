"""The claim race: many consoles claiming follow-ups at once, each follow-up claimed exactly once.

SQLite: every claimer has its own `open_database` (its own connections), all in one event loop,
and again spread over separate OS processes on the same file. PostgreSQL: the same claimers on
the throwaway server (`FOR UPDATE SKIP LOCKED`). Then the lease sweep run by several consoles
at once: each lapsed claim is released once.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from console.db import Database, open_database
from console.models import Agent, AgentSkill, FollowUp, Queue, QueueSkill
from console.models import AuditLog as AuditRow
from console.services.routing import worklist as worklist_module
from console.services.routing.worklist import Worklist

ITEMS = 1000
CLAIMERS = 50
SWEEPERS = 6
T0 = datetime.now(UTC).replace(microsecond=0)


# ------------------------------------------------------------------ data helpers (Core inserts)


async def seed(db: Database) -> tuple[list[int], list[int]]:
    """CLAIMERS agents (billing 5) and ITEMS due follow-ups every one of them may take:
    a skill-gated queue, an open queue, a queue-less skill, untargeted, and some assigned."""
    async with db.write_connection() as conn:
        billing = await conn.scalar(insert(Queue).values(name="billing").returning(Queue.id))
        general = await conn.scalar(insert(Queue).values(name="general").returning(Queue.id))
        await conn.execute(
            insert(QueueSkill).values(queue_id=billing, skill="billing", min_level=3)
        )
        agents = [
            int(
                await conn.scalar(
                    insert(Agent)
                    .values(login=f"agent{n}", display_name=f"Agent {n}")
                    .returning(Agent.id)
                )
                or 0
            )
            for n in range(CLAIMERS)
        ]
        await conn.execute(
            insert(AgentSkill), [{"agent_id": a, "skill": "billing", "level": 5} for a in agents]
        )
        targets = [
            {"target_queue_id": billing},
            {"target_queue_id": general},
            {"target_skill": "billing", "target_min_level": 2},
            {},
        ]
        rows = [
            {
                "kind": "callback" if n % 2 else "task",
                "status": "pending",
                "summary": f"follow-up {n}",
                "due_at": T0 - timedelta(minutes=1 + n % 240),
                "priority": 1 + n % 5,
                "target_agent_id": agents[n % CLAIMERS] if n % 10 == 0 else None,
                "created_at": T0 - timedelta(days=1),
                "updated_at": T0 - timedelta(days=1),
                "target_queue_id": None,
                "target_skill": "",
                "target_min_level": 0,
                **targets[n % len(targets)],
            }
            for n in range(ITEMS)
        ]
        await conn.execute(insert(FollowUp), rows)
        ids = list(await conn.scalars(select(FollowUp.id).order_by(FollowUp.id)))
    return agents, ids


async def claim_until_empty(url: str, agent_id: int) -> list[int]:
    """One console: its own connection pool, claiming until nothing is left."""
    db = open_database(url)
    worklist = Worklist(db)
    got: list[int] = []
    try:
        while (item := await worklist.claim_next(agent_id)) is not None:
            assert item.claimed_by == agent_id
            got.append(item.id)
    finally:
        await db.dispose()
    return got


async def race(url: str, agents: list[int]) -> dict[int, list[int]]:
    """Every agent claims at once; any exception fails the test (none is "nothing left")."""
    results = await asyncio.gather(
        *(claim_until_empty(url, a) for a in agents), return_exceptions=True
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, f"{len(errors)} claimers failed, first: {errors[0]!r}"
    return {a: r for a, r in zip(agents, results, strict=True) if isinstance(r, list)}


def claim_in_process(url: str, agents: list[int]) -> dict[int, list[int]]:
    """A separate OS process running its share of the claimers."""
    return asyncio.run(race(url, agents))


async def assert_claimed_once(db: Database, ids: list[int], got: dict[int, list[int]]) -> None:
    claims = Counter(fid for mine in got.values() for fid in mine)
    twice = [fid for fid, n in claims.items() if n > 1]
    assert not twice, f"claimed more than once: {twice[:10]}"
    assert sorted(claims) == ids and sum(claims.values()) == ITEMS
    async with db.session() as s:
        claimed = select(FollowUp.id, FollowUp.claimed_by).where(FollowUp.status == "claimed")
        stored = {fid: agent for fid, agent in await s.execute(claimed)}
        audited = Counter(
            await s.scalars(
                select(AuditRow.entity_id).where(
                    AuditRow.entity_type == "followup", AuditRow.action == "claim"
                )
            )
        )
        versions = set(await s.scalars(select(FollowUp.version)))
    holder = {fid: agent for agent, mine in got.items() for fid in mine}
    assert stored == holder  # the database agrees with what each claimer was given
    assert sorted(audited) == ids and set(audited.values()) == {1}
    assert versions == {2}
    assert sum(1 for mine in got.values() if mine) > 1  # it really was a race


# ------------------------------------------------------------------ the claim race


@pytest.mark.slow
async def test_claim_race_sqlite_one_process(db: Database, db_path: Path) -> None:
    agents, ids = await seed(db)
    got = await race(f"sqlite:///{db_path}", agents)
    await assert_claimed_once(db, ids, got)  # how fast: bench/routing.py, not a test


@pytest.mark.slow
async def test_claim_race_sqlite_several_processes(db: Database, db_path: Path) -> None:
    agents, ids = await seed(db)
    processes = 3
    shares = [agents[i::processes] for i in range(processes)]
    loop = asyncio.get_running_loop()
    context = multiprocessing.get_context("spawn")  # no forked event loop or connections
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        results = await asyncio.gather(
            *(
                loop.run_in_executor(pool, claim_in_process, f"sqlite:///{db_path}", share)
                for share in shares
            )
        )
    got = {agent: mine for result in results for agent, mine in result.items()}
    assert len(got) == CLAIMERS
    await assert_claimed_once(db, ids, got)
    assert all(any(result.values()) for result in results)  # every process won some


@pytest.mark.slow
@pytest.mark.postgres
async def test_claim_race_postgres(pg_db: Database, postgres_url: str) -> None:
    agents, ids = await seed(pg_db)
    got = await race(postgres_url, agents)
    await assert_claimed_once(pg_db, ids, got)


# ------------------------------------------------------------------ the lease sweep race


async def sweep_race(db: Database, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Small batches, so the consoles' sweeps interleave instead of one taking everything.
    monkeypatch.setattr(worklist_module, "RECLAIM_BATCH", 20)
    agents, ids = await seed(db)
    lapsed, live = ids[:300], ids[300:310]
    # Leases against the clock the sweep reads (not the module's T0: a long suite run before
    # this test would let "live" leases set from T0 lapse too).
    now = datetime.now(UTC)
    async with db.write_connection() as conn:
        for fid in lapsed + live:
            ends = now - timedelta(minutes=1) if fid in lapsed else now + timedelta(hours=6)
            await conn.execute(
                FollowUp.__table__.update()
                .where(FollowUp.id == fid)
                .values(status="claimed", claimed_by=agents[fid % CLAIMERS], lease_expires_at=ends)
            )
    consoles = [open_database(url) for _ in range(SWEEPERS)]
    try:
        counts = await asyncio.gather(*(Worklist(c).reclaim_expired() for c in consoles))
        again = await Worklist(consoles[0]).reclaim_expired()
    finally:
        for console in consoles:
            await console.dispose()
    assert sum(counts) == len(lapsed) and again == 0
    async with db.session() as s:
        reclaimed = Counter(
            await s.scalars(select(AuditRow.entity_id).where(AuditRow.action == "reclaim"))
        )
        still = await s.scalar(select(func.count()).where(FollowUp.status == "claimed"))
        pending_lapsed = await s.scalar(
            select(func.count()).where(
                FollowUp.id.in_(lapsed), FollowUp.status == "pending", FollowUp.claimed_by.is_(None)
            )
        )
    assert sorted(reclaimed) == lapsed and set(reclaimed.values()) == {1}
    assert still == len(live) and pending_lapsed == len(lapsed)


@pytest.mark.slow
async def test_reclaim_race_sqlite(
    db: Database, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sweep_race(db, f"sqlite:///{db_path}", monkeypatch)


@pytest.mark.slow
@pytest.mark.postgres
async def test_reclaim_race_postgres(
    pg_db: Database, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sweep_race(pg_db, postgres_url, monkeypatch)
