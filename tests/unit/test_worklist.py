"""The follow-up worklist on a real SQLite file: who may take what, in what order, and claims."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select

from console.db import Database, compile_for_sqlite, open_database
from console.models import Agent, AgentSkill, Customer, FollowUp, Queue, QueueSkill
from console.models import AuditLog as AuditRow
from console.models.enums import FollowUpStatus
from console.schema import upgrade
from console.services.crm.agents import AgentDirectory
from console.services.crm.queues import QueueDirectory
from console.services.routing.worklist import ClaimError, Worklist
from console.services.routing.worklist_sql import served_queue_ids, sources
from tests.factories import add_followup

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# ------------------------------------------------------------------ data helpers (Core inserts)


async def add_agent(
    db: Database,
    name: str,
    *,
    role: str = "agent",
    team: str = "",
    skills: Mapping[str, int] | None = None,
) -> int:
    async with db.write_connection() as conn:
        login = name.lower().replace(" ", ".")
        agent_id = int(
            await conn.scalar(
                insert(Agent)
                .values(login=login, display_name=name, role=role, team=team)
                .returning(Agent.id)
            )
            or 0
        )
        for skill, level in (skills or {}).items():
            await conn.execute(
                insert(AgentSkill).values(agent_id=agent_id, skill=skill, level=level)
            )
    return agent_id


async def add_queue(db: Database, name: str, needs: Mapping[str, int] | None = None) -> int:
    async with db.write_connection() as conn:
        queue_id = int(await conn.scalar(insert(Queue).values(name=name).returning(Queue.id)) or 0)
        for skill, level in (needs or {}).items():
            await conn.execute(
                insert(QueueSkill).values(queue_id=queue_id, skill=skill, min_level=level)
            )
    return queue_id


async def add_customer(db: Database, name: str) -> int:
    async with db.write_connection() as conn:
        return int(
            await conn.scalar(insert(Customer).values(display_name=name).returning(Customer.id))
            or 0
        )


async def row_of(db: Database, fid: int) -> Any:
    async with db.session() as s:
        return (await s.execute(select(FollowUp).where(FollowUp.id == fid))).scalar_one()


async def audit_actions(db: Database, fid: int) -> list[str]:
    async with db.session() as s:
        rows = await s.scalars(
            select(AuditRow.action)
            .where(AuditRow.entity_type == "followup", AuditRow.entity_id == fid)
            .order_by(AuditRow.id)
        )
        return list(rows)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def worklist(db: Database, clock: Clock) -> Worklist:
    return Worklist(db, clock=clock, lease=LEASE)


async def team(db: Database) -> dict[str, int]:
    """Ann (billing 5, spanish 4), Bob (billing 2, spanish 3), Cat (no skills), Sue (supervisor);
    queues billing (needs billing >= 3) and general (needs nothing)."""
    return {
        "ann": await add_agent(db, "Ann Lee", team="red", skills={"billing": 5, "spanish": 4}),
        "bob": await add_agent(db, "Bob Roy", team="blue", skills={"billing": 2, "spanish": 3}),
        "cat": await add_agent(db, "Cat Poe", team="blue"),
        "sue": await add_agent(db, "Sue Boss", role="supervisor"),
        "billing": await add_queue(db, "billing", {"billing": 3}),
        "general": await add_queue(db, "general"),
    }


# ------------------------------------------------------------------ eligibility


async def test_eligibility_table(db: Database, worklist: Worklist) -> None:
    t = await team(db)
    past, future = T0 - timedelta(minutes=1), T0 + timedelta(hours=1)
    cases = {
        "billing queue": ({"target_queue_id": t["billing"]}, {"ann"}),
        "general queue": ({"target_queue_id": t["general"]}, {"ann", "bob", "cat"}),
        "skill spanish>=4": ({"target_skill": "spanish", "target_min_level": 4}, {"ann"}),
        "queue and skill": (
            {"target_queue_id": t["general"], "target_skill": "billing", "target_min_level": 2},
            {"ann", "bob"},
        ),
        "assigned to bob, billing pool": (
            {"target_queue_id": t["billing"], "target_agent_id": t["bob"]},
            {"ann", "bob"},
        ),
        "bob only": (
            {"target_queue_id": t["general"], "target_agent_id": t["bob"], "agent_only": True},
            {"bob"},
        ),
        "untargeted": ({}, {"ann", "bob", "cat"}),
        "snoozed": ({"snoozed_until": future, "snooze_reason": "asked"}, set()),
        "snooze over": ({"snoozed_until": past, "snooze_reason": "asked"}, {"ann", "bob", "cat"}),
        "held by sue": (
            {"status": "claimed", "claimed_by": t["sue"], "lease_expires_at": future},
            set(),
        ),
        "sue's lease lapsed": (
            {"status": "claimed", "claimed_by": t["sue"], "lease_expires_at": past},
            {"ann", "bob", "cat"},
        ),
        "done": ({"status": "done", "completed_at": past}, set()),
        "cancelled": ({"status": "cancelled"}, set()),
    }
    ids = {
        name: await add_followup(db, T0, summary=name, **values)
        for name, (values, _) in cases.items()
    }
    for who in ("ann", "bob", "cat"):
        seen = {item.summary for item in await worklist.available(t[who])}
        expected = {name for name, (_, agents) in cases.items() if who in agents}
        assert seen == expected, who
    # Claiming by id follows the same rule, with a reason.
    with pytest.raises(ClaimError, match=rf"^follow-up {ids['billing queue']} is not for you$"):
        await worklist.claim(t["bob"], ids["billing queue"])
    with pytest.raises(ClaimError, match=rf"^follow-up {ids['bob only']} is not for you$"):
        await worklist.claim(t["ann"], ids["bob only"])
    with pytest.raises(ClaimError, match=r"is already claimed by Sue Boss$"):
        await worklist.claim(t["ann"], ids["held by sue"])
    with pytest.raises(ClaimError, match=r"is snoozed until 2026-11-02 10:00 UTC$"):
        await worklist.claim(t["ann"], ids["snoozed"])
    with pytest.raises(ClaimError, match=rf"^follow-up {ids['done']} is done$"):
        await worklist.claim(t["ann"], ids["done"])
    with pytest.raises(ClaimError, match=r"is cancelled$"):
        await worklist.claim(t["ann"], ids["cancelled"])
    with pytest.raises(ClaimError, match=r"^follow-up 999 does not exist$"):
        await worklist.claim(t["ann"], 999)
    taken = await worklist.claim(t["cat"], ids["sue's lease lapsed"])
    assert (taken.claimed_by, taken.claimed_by_name) == (t["cat"], "Cat Poe")


async def test_served_queues_match_the_queue_directory(db: Database) -> None:
    t = await team(db)
    await add_queue(db, "vip", {"billing": 5, "spanish": 4})
    await add_queue(db, "latam", {"spanish": 4, "portuguese": 1})
    directory, queues = AgentDirectory(db), QueueDirectory(db)
    for who in ("ann", "bob", "cat"):
        identity = await directory.get(t[who])
        assert identity is not None
        expected = await queues.queues_for(identity)
        async with db.session() as s:
            served = await s.scalars(
                select(Queue.name).where(Queue.id.in_(served_queue_ids(t[who]))).order_by(Queue.id)
            )
            assert list(served) == expected, who
    assert expected == ["general"]  # Cat, without skills


async def test_unknown_or_inactive_agent_is_refused(db: Database, worklist: Worklist) -> None:
    t = await team(db)
    fid = await add_followup(db, T0)
    with pytest.raises(ClaimError, match=r"^agent 77 does not exist$"):
        await worklist.claim(77, fid)
    async with db.write_connection() as conn:
        await conn.execute(
            Agent.__table__.update().where(Agent.id == t["cat"]).values(active=False)
        )
    with pytest.raises(ClaimError, match=r"^Cat Poe is not active$"):
        await worklist.claim_next(t["cat"])
    with pytest.raises(ClaimError, match="agent id must be a positive record id"):
        await worklist.claim(0, fid)


# ------------------------------------------------------------------ ordering


async def test_available_order_due_by_priority_then_upcoming_by_time(
    db: Database, worklist: Worklist
) -> None:
    t = await team(db)
    q = t["general"]
    hours = lambda n: T0 + timedelta(hours=n)  # noqa: E731
    late_p3 = await add_followup(db, T0, target_queue_id=q, priority=3, due_at=hours(-5))
    p1 = await add_followup(db, T0, target_queue_id=q, priority=1, due_at=hours(-1))
    p1_older = await add_followup(db, T0, target_queue_id=q, priority=1, due_at=hours(-2))
    p3_same_due = await add_followup(db, T0, priority=3, due_at=hours(-5))  # queue-less, higher id
    soon_p1 = await add_followup(db, T0, target_queue_id=q, priority=1, due_at=hours(1))
    mine_p2 = await add_followup(db, T0, target_agent_id=t["bob"], priority=2, due_at=hours(-1))
    sooner_p5 = await add_followup(db, T0, target_queue_id=q, priority=5, due_at=hours(0.5))
    listed = [i.id for i in await worklist.available(t["bob"])]
    assert listed == [p1_older, p1, mine_p2, late_p3, p3_same_due, sooner_p5, soon_p1]
    assert [i.id for i in await worklist.available(t["bob"], limit=2)] == [p1_older, p1]
    # claim_next takes them in that order and never an upcoming one.
    got = [await worklist.claim_next(t["bob"]) for _ in range(6)]
    assert [g.id if g else None for g in got] == [p1_older, p1, mine_p2, late_p3, p3_same_due, None]
    # mine: what I hold and what targets me, soonest due first.
    assert [i.id for i in await worklist.mine(t["bob"])] == [
        late_p3,
        p3_same_due,
        p1_older,
        p1,
        mine_p2,
    ]
    # An upcoming one is not handed out, but may be chosen.
    assert (await worklist.claim(t["bob"], soon_p1)).claimed_by == t["bob"]


async def test_mine_lists_held_and_targeted_not_others(db: Database, worklist: Worklist) -> None:
    t = await team(db)
    for_me = await add_followup(db, T0, target_agent_id=t["ann"], due_at=T0 + timedelta(hours=3))
    for_me_held_by_bob = await add_followup(
        db, T0, target_agent_id=t["ann"], target_queue_id=t["general"]
    )
    other = await add_followup(db, T0, target_agent_id=t["bob"])
    await worklist.claim(t["bob"], for_me_held_by_bob)
    held = await worklist.claim(t["ann"], await add_followup(db, T0, target_queue_id=t["general"]))
    assert [i.id for i in await worklist.mine(t["ann"])] == [held.id, for_me]
    assert [i.id for i in await worklist.mine(t["bob"])] == [for_me_held_by_bob, other]


# ------------------------------------------------------------------ claim and the holder's moves


async def test_claim_sets_lease_version_and_audit(
    db: Database, worklist: Worklist, clock: Clock
) -> None:
    t = await team(db)
    customer = await add_customer(db, "Dan Dare")
    fid = await add_followup(
        db,
        T0,
        kind="callback",
        customer_id=customer,
        target_queue_id=t["billing"],
        sla_due_at=T0 - timedelta(minutes=5),
        snoozed_until=T0 - timedelta(hours=1),
        snooze_reason="call after 8",
    )
    item = await worklist.claim(t["ann"], fid)
    assert item.status is FollowUpStatus.CLAIMED and item.claimed_by_name == "Ann Lee"
    assert item.customer_name == "Dan Dare" and item.target_queue_name == "billing"
    assert item.lease_expires_at == T0 + LEASE and item.claimed_at == T0
    assert item.overdue and item.version == 2 and item.updated_at == T0
    assert (item.snoozed_until, item.snooze_reason) == (None, "")
    assert await audit_actions(db, fid) == ["claim"]
    with pytest.raises(ClaimError, match=rf"^follow-up {fid} is already claimed by Ann Lee$"):
        await worklist.claim(t["bob"], fid)
    # Claiming what I hold renews the lease; it is not a new claim.
    clock.advance(minutes=2)
    again = await worklist.claim(t["ann"], fid)
    assert again.lease_expires_at == clock.now + LEASE and again.version == 2
    assert await audit_actions(db, fid) == ["claim"]
    assert await worklist.available(t["bob"]) == []


async def test_complete_only_by_holder(db: Database, worklist: Worklist, clock: Clock) -> None:
    t = await team(db)
    fid = await add_followup(db, T0, target_queue_id=t["general"])
    with pytest.raises(
        ClaimError, match=rf"^follow-up {fid} is not claimed by you; claim it first$"
    ):
        await worklist.complete(t["ann"], fid)
    await worklist.claim(t["ann"], fid)
    with pytest.raises(ClaimError, match=rf"^follow-up {fid} is claimed by Ann Lee, not you$"):
        await worklist.complete(t["bob"], fid)
    with pytest.raises(ClaimError, match="note is too long"):
        await worklist.complete(t["ann"], fid, note="x" * 501)
    clock.advance(minutes=1)
    done = await worklist.complete(t["ann"], fid, note="called, sorted")
    assert done.status is FollowUpStatus.DONE and done.version == 3
    assert done.lease_expires_at is None and done.claimed_by == t["ann"]
    assert (await row_of(db, fid)).completed_at == clock.now
    with pytest.raises(ClaimError, match=rf"^follow-up {fid} is done$"):
        await worklist.complete(t["ann"], fid)
    with pytest.raises(ClaimError, match=rf"^follow-up {fid} is done$"):
        await worklist.claim(t["bob"], fid)
    assert await audit_actions(db, fid) == ["claim", "complete"]


async def test_snooze_hides_until_its_time(db: Database, worklist: Worklist, clock: Clock) -> None:
    t = await team(db)
    fid = await add_followup(
        db, T0, target_queue_id=t["general"], sla_due_at=T0 + timedelta(hours=1)
    )
    await worklist.claim(t["ann"], fid)
    until = T0 + timedelta(hours=2)
    with pytest.raises(ClaimError, match="snooze reason must not be empty"):
        await worklist.snooze(t["ann"], fid, until, "  ")
    with pytest.raises(ClaimError, match="must be in the future"):
        await worklist.snooze(t["ann"], fid, T0 - timedelta(seconds=1), "later")
    with pytest.raises(ClaimError, match="30 days at most"):
        await worklist.snooze(t["ann"], fid, T0 + timedelta(days=31), "later")
    with pytest.raises(ClaimError, match="no time zone"):
        await worklist.snooze(t["ann"], fid, datetime(2026, 11, 2, 12), "later")
    with pytest.raises(ClaimError, match="is claimed by Ann Lee, not you"):
        await worklist.snooze(t["bob"], fid, until, "later")
    item = await worklist.snooze(t["ann"], fid, until, "customer at work\x1b[31m")
    assert item.status is FollowUpStatus.PENDING and item.claimed_by is None
    assert (item.snoozed_until, item.snooze_reason) == (until, "customer at work")
    assert item.version == 3
    assert await worklist.available(t["bob"]) == [] and await worklist.claim_next(t["bob"]) is None
    clock.advance(hours=2)
    assert [i.id for i in await worklist.available(t["bob"])] == [fid]
    assert (await worklist.claim_next(t["bob"])) is not None
    entries = await worklist_audit(db, fid)
    assert entries[-2] == ("snooze", True)  # past its SLA: allowed, and said so


async def worklist_audit(db: Database, fid: int) -> list[tuple[str, bool]]:
    async with db.session() as s:
        rows = await s.execute(
            select(AuditRow.action, AuditRow.details)
            .where(AuditRow.entity_type == "followup", AuditRow.entity_id == fid)
            .order_by(AuditRow.id)
        )
        return [(a, bool(d.get("beyond_sla"))) for a, d in rows]


async def test_hand_back_clears_my_assignment_unless_mine_only(
    db: Database, worklist: Worklist
) -> None:
    t = await team(db)
    assigned = await add_followup(db, T0, target_queue_id=t["general"], target_agent_id=t["ann"])
    only = await add_followup(db, T0, target_agent_id=t["ann"], agent_only=True)
    for fid in (assigned, only):
        await worklist.claim(t["ann"], fid)
    with pytest.raises(ClaimError, match="reason must not be empty"):
        await worklist.hand_back(t["ann"], assigned, "")
    back = await worklist.hand_back(t["ann"], assigned, "not my area")
    assert back.status is FollowUpStatus.PENDING and back.target_agent_id is None
    assert back.claimed_by is None and back.version == 3
    kept = await worklist.hand_back(t["ann"], only, "later")
    assert kept.target_agent_id == t["ann"] and kept.status is FollowUpStatus.PENDING
    assert [i.id for i in await worklist.available(t["bob"])] == [assigned]
    assert await audit_actions(db, assigned) == ["claim", "hand_back"]


async def test_reassign_is_for_supervisors(db: Database, worklist: Worklist) -> None:
    t = await team(db)
    held_by_ann = await add_followup(db, T0, target_queue_id=t["general"])
    held_by_bob = await add_followup(db, T0, target_queue_id=t["general"])
    loose = await add_followup(db, T0, target_skill="spanish", target_min_level=4)
    finished = await add_followup(db, T0, status="done")
    await worklist.claim(t["ann"], held_by_ann)
    await worklist.claim(t["bob"], held_by_bob)
    with pytest.raises(ClaimError, match=r"^only a supervisor can reassign follow-ups$"):
        await worklist.reassign(t["ann"], [loose], t["cat"])
    assert (await row_of(db, loose)).target_agent_id is None
    ids = [held_by_ann, held_by_bob, loose, finished, loose]
    assert await worklist.reassign(t["sue"], ids, t["bob"]) == 3
    rows = {fid: await row_of(db, fid) for fid in (held_by_ann, held_by_bob, loose, finished)}
    assert {fid: r.target_agent_id for fid, r in rows.items()} == {
        held_by_ann: t["bob"],
        held_by_bob: t["bob"],
        loose: t["bob"],
        finished: None,
    }
    # Ann's claim is released (her complete is refused); Bob keeps the one he was working.
    assert (rows[held_by_ann].status, rows[held_by_ann].claimed_by) == ("pending", None)
    assert (rows[held_by_bob].status, rows[held_by_bob].claimed_by) == ("claimed", t["bob"])
    assert rows[held_by_ann].version == 3 and rows[loose].version == 2
    with pytest.raises(ClaimError, match="is not claimed by you"):
        await worklist.complete(t["ann"], held_by_ann)
    assert await audit_actions(db, held_by_ann) == ["claim", "reassign"]
    assert await audit_actions(db, finished) == []
    with pytest.raises(ClaimError, match="agent 404 does not exist"):
        await worklist.reassign(t["sue"], [loose], 404)


async def test_renew_and_release_all(db: Database, worklist: Worklist, clock: Clock) -> None:
    t = await team(db)
    a, b, c = [await add_followup(db, T0, target_queue_id=t["general"]) for _ in range(3)]
    await worklist.claim(t["ann"], a)
    clock.advance(minutes=4)
    await worklist.claim(t["ann"], b)
    await worklist.claim(t["bob"], c)
    clock.advance(minutes=2)  # a's lease lapsed, b's has not
    assert await worklist.renew(t["ann"]) == 1
    assert (await row_of(db, b)).lease_expires_at == clock.now + LEASE
    assert (await row_of(db, a)).lease_expires_at == T0 + LEASE
    assert (await row_of(db, b)).version == 2  # a heartbeat is not a change of state
    assert await worklist.release_all(t["ann"]) == 2
    assert (await row_of(db, a)).status == "pending" and (await row_of(db, b)).claimed_by is None
    assert (await row_of(db, c)).claimed_by == t["bob"]
    assert await audit_actions(db, b) == ["claim", "release"]
    assert await worklist.release_all(t["ann"]) == 0


async def test_lapsed_lease_is_reclaimed_and_old_holder_refused(
    db: Database, worklist: Worklist, clock: Clock
) -> None:
    t = await team(db)
    first, second = [await add_followup(db, T0, target_queue_id=t["general"]) for _ in range(2)]
    await worklist.claim(t["ann"], first)
    await worklist.claim(t["ann"], second)
    assert await worklist.reclaim_expired() == 0
    clock.advance(minutes=5)
    assert await worklist.reclaim_expired() == 0  # the lease ends at, not before, this instant
    with pytest.raises(ClaimError, match="already claimed by Ann Lee"):
        await worklist.claim(t["bob"], first)
    clock.advance(seconds=1)
    # Ann's console died: Bob may take one over at once; the sweep frees the other.
    taken = await worklist.claim(t["bob"], first)
    assert taken.claimed_by == t["bob"] and taken.version == 3
    assert await worklist.reclaim_expired() == 1
    assert await worklist.reclaim_expired() == 0
    freed = await row_of(db, second)
    assert (freed.status, freed.claimed_by, freed.version) == ("pending", None, 3)
    assert await audit_actions(db, second) == ["claim", "reclaim"]
    with pytest.raises(ClaimError, match=rf"^follow-up {first} is claimed by Bob Roy, not you$"):
        await worklist.complete(t["ann"], first)
    with pytest.raises(ClaimError, match=rf"^follow-up {second} is not claimed by you"):
        await worklist.complete(t["ann"], second)
    assert (await worklist.claim_next(t["cat"])) is not None


async def test_team_view_overdue_first_and_by_team(db: Database, worklist: Worklist) -> None:
    t = await team(db)
    calm = await add_followup(db, T0, target_agent_id=t["ann"], priority=1)
    late = await add_followup(db, T0, target_agent_id=t["bob"], priority=4, sla_due_at=T0)
    flagged = await add_followup(db, T0, target_queue_id=t["general"], priority=5, overdue_at=T0)
    held = await add_followup(db, T0, target_queue_id=t["general"], priority=2)
    await add_followup(db, T0, status="done", sla_due_at=T0 - timedelta(days=1))
    await worklist.claim(t["cat"], held)
    view = await worklist.team_view()
    assert [i.id for i in view] == [late, flagged, calm, held]
    assert [i.overdue for i in view] == [True, True, False, False]
    assert [i.id for i in await worklist.team_view(overdue_only=True)] == [late, flagged]
    assert [i.id for i in await worklist.team_view(team="blue")] == [late, held]
    assert [i.id for i in await worklist.team_view(team="red")] == [calm]


# ------------------------------------------------------------------ the plan on 100,000 rows


@pytest.mark.slow
async def test_claim_next_uses_indexes_on_a_big_pool(db: Database, worklist: Worklist) -> None:
    t = await team(db)
    queues = [t["billing"], t["general"], None]
    rows = [
        {
            "kind": "task",
            "status": "pending",
            "summary": f"task {n}",
            "due_at": T0 - timedelta(minutes=n % 997),
            "priority": 1 + n % 5,
            "target_queue_id": queues[n % 3],
            # Ann lacks zh: a third of the queue-less pool she must never read.
            "target_skill": ("spanish", "zh", "", "")[n % 4] if n % 3 == 2 else "",
            "target_min_level": 4 if n % 3 == 2 and n % 4 < 2 else 0,
            "target_agent_id": t["bob"] if n % 11 == 0 else None,
            "created_at": T0,
            "updated_at": T0,
        }
        for n in range(100_000)
    ]
    with db.sync_engine().begin() as conn:
        conn.execute(insert(FollowUp), rows)
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, sql: str, params: Any, *_: Any) -> None:
        if sql.lstrip().startswith("WITH"):
            statements.append((sql, params))

    writer = db.engine.sync_engine
    event.listen(writer, "before_cursor_execute", capture)
    got = [await worklist.claim_next(t["ann"]) for _ in range(20)]
    event.remove(writer, "before_cursor_execute", capture)
    assert all(g is not None and g.priority == 1 for g in got)
    assert len({g.id for g in got if g}) == 20
    # Speed is bench/routing.py's; here: the claim uses the index (the plan, below).
    sql, params = statements[-1]
    path = db.sqlite_path
    assert path is not None
    with sqlite3.connect(path) as con:
        plan = [r[3] for r in con.execute("EXPLAIN QUERY PLAN " + sql, params)]
    touching = [line for line in plan if re.search(r"\bfollowups\b", line)]
    assert touching and all(line.startswith("SEARCH followups USING") for line in touching), plan
    async with db.session() as s:
        claimed = await s.scalar(select(func.count()).where(FollowUp.status == "claimed"))
    assert claimed == 20


IN_ORDER = {  # what each kind of source reads, first row first
    "queue": "ix_followups_pool (status=? AND target_queue_id=? AND priority=? AND due_at<?)",
    "skill": "ix_followups_skill_pool (status=? AND target_skill=? AND priority=? AND due_at<?)",
    "mine": "ix_followups_target_agent (target_agent_id=? AND status=?)",
}


async def test_every_claim_source_reads_an_index_in_order(db: Database) -> None:
    """Issue 17.5: the queue-less skill pool was read through ix_followups_pool, every row
    needing a skill the agent lacks read and skipped. Now every source of a claim finds its
    first row by one index probe in the index's order: no scan, no sort (USE TEMP B-TREE),
    but for lapsed leases (only dead consoles' claims) sorted after a range on their index."""
    queues, skills = 2, 3
    params = {"me": 1, "now": 0, "lease_until": 0, "size": 5}
    params |= {f"q{i}": i + 1 for i in range(queues)}
    params |= {f"s{i}": f"skill{i}" for i in range(skills)} | {f"l{i}": 3 for i in range(skills)}
    kinds = ["queue"] * queues * 5 + ["skill"] * (skills + 1) * 5 + ["mine", "lapsed"]
    found = sources(queues, skills)
    assert len(found) == len(kinds)
    path = db.sqlite_path
    assert path is not None
    with sqlite3.connect(path) as con:
        for kind, (where, order) in zip(kinds, found, strict=True):
            stmt = select(FollowUp.id).where(*where).order_by(*order).limit(1)
            compiled = compile_for_sqlite(stmt, params)
            values = [params.get(n, compiled.constants.get(n)) for n in compiled.names]
            plan = [r[3] for r in con.execute("EXPLAIN QUERY PLAN " + compiled.sql, values)]
            read = [line for line in plan if re.search(r"\bfollowups\b", line)]
            if kind == "lapsed":
                assert read == [
                    "SEARCH followups USING INDEX ix_followups_lease "
                    "(status=? AND lease_expires_at<?)"
                ], plan
                continue
            assert read == [f"SEARCH followups USING INDEX {IN_ORDER[kind]}"], (kind, plan)
            assert not any("TEMP B-TREE" in line for line in plan), (kind, plan)


# ------------------------------------------------------------------ a busy file


def hold_write_lock(path: Any) -> sqlite3.Connection:
    """Another program's connection in the middle of a write transaction."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


async def test_claim_next_waits_out_a_busy_file(db_path: Any) -> None:
    """A claim that finds the file's write lock taken tries again: "database is locked" never
    reaches its caller while the lock comes free within the wait. The other writer commits
    when the claim has been refused the lock once (no timing involved)."""
    seed = open_database(f"sqlite:///{db_path}")
    await upgrade(seed)
    t = await team(seed)
    fid = await add_followup(seed, T0, target_skill="billing")
    await seed.dispose()
    busy = open_database(f"sqlite:///{db_path}", busy_timeout_ms=20)
    other = hold_write_lock(db_path)
    refused: list[str] = []

    def on_error(context: Any) -> None:
        if "database is locked" in str(context.original_exception):
            refused.append("locked")
            other.commit()  # the other program's write ends once ours has waited

    event.listen(busy.engine.sync_engine, "handle_error", on_error)
    try:
        item = await Worklist(busy, clock=lambda: T0).claim_next(t["ann"])
    finally:
        other.close()
        await busy.dispose()
    assert item is not None and item.id == fid and item.claimed_by == t["ann"]
    assert refused == ["locked"]


async def test_a_file_busy_beyond_the_wait_is_a_claim_error(db_path: Any) -> None:
    seed = open_database(f"sqlite:///{db_path}")
    await upgrade(seed)
    t = await team(seed)
    await add_followup(seed, T0)
    await seed.dispose()
    busy = open_database(f"sqlite:///{db_path}", busy_timeout_ms=1)
    other = hold_write_lock(db_path)
    try:
        with pytest.raises(ClaimError, match="too busy"):
            await Worklist(busy, clock=lambda: T0).claim_next(t["ann"])
    finally:
        other.rollback()
        other.close()
        await busy.dispose()


async def test_claims_of_one_process_take_turns_and_never_share_an_item(db: Database) -> None:
    """Consoles of one process claiming at once (each its own connections) queue for their
    turn: each item is claimed once, by one of them, and every claim is answered."""
    t = await team(db)
    fids = [await add_followup(db, T0, due_at=T0 - timedelta(minutes=n)) for n in range(1, 31)]
    path = db.sqlite_path
    consoles = [open_database(f"sqlite:///{path}") for _ in range(10)]
    try:
        got = await asyncio.gather(
            *(
                Worklist(c, clock=lambda: T0).claim_next(t["ann" if n % 2 else "bob"])
                for _ in range(3)
                for n, c in enumerate(consoles)
            )
        )
    finally:
        for c in consoles:
            await c.dispose()
    ids = [g.id for g in got if g is not None]
    assert sorted(ids) == sorted(fids)
