"""The router on a real seeded SQLite CRM: rules applied, decisions stored, SLA and escalation
driven by a controllable clock, automatic callbacks from CTI events."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from console.cti.protocol import CallAbandoned, CallbackRequested
from console.db import Database
from console.models import Agent, Customer, FollowUp, PhoneNumber
from console.models import AuditLog as AuditRow
from console.models.enums import FollowUpKind, FollowUpOrigin, Presence, Role
from console.services.desk.screenpop import ScreenPop, ScreenPopService
from console.services.routing.auto_followups import SPREAD_SECONDS, AutoFollowUps, turn_delay
from console.services.routing.router import Router, RoutingError
from console.services.routing.routing_rules import RouteDecision
from console.services.routing.rules_file import load_rules
from console.services.routing.sla import SlaEngine
from tests.crm import T0, Clock, copy_of, seed_file


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_file(tmp_path_factory.mktemp("router") / "crm.db", customers=300, seed=3, agents=6)


@pytest.fixture
async def crm(seeded: Path, tmp_path: Path) -> AsyncIterator[Database]:
    async with copy_of(seeded, tmp_path) as db:
        yield db


async def everyone_ready(db: Database, at: datetime) -> None:
    async with db.write_connection() as conn:
        await conn.execute(update(Agent).values(presence=Presence.READY, heartbeat_at=at))


async def customer_of_tier(db: Database, tier: str) -> int:
    async with db.session() as s:
        found = (await s.scalars(select(Customer.id).where(Customer.tier == tier))).first()
    assert found is not None
    return found


async def followup(db: Database, fid: int) -> FollowUp:
    async with db.session() as s:
        return (await s.scalars(select(FollowUp).where(FollowUp.id == fid))).one()


async def audit_actions(db: Database, fid: int) -> list[str]:
    async with db.session() as s:
        rows = await s.scalars(
            select(AuditRow.action)
            .where(AuditRow.entity_type == "followup", AuditRow.entity_id == fid)
            .order_by(AuditRow.id)
        )
        return list(rows)


async def test_a_platinum_callback_goes_to_the_vip_desk_with_its_sla(crm: Database) -> None:
    clock = Clock()
    await everyone_ready(crm, T0)
    router = Router(crm, load_rules(), clock=clock)
    customer = await customer_of_tier(crm, "platinum")
    routed = await router.create(
        FollowUpKind.CALLBACK, origin=FollowUpOrigin.AGENT, customer_id=customer, summary="x"
    )
    assert routed is not None and routed.decision.rule == "vip-callbacks"
    row = await followup(crm, routed.followup_id)
    assert row.rule == "vip-callbacks" and row.priority == 1
    assert row.sla_due_at == T0 + timedelta(hours=1)
    assert row.target_queue_id is not None
    assert routed.agent_id is not None and row.target_agent_id == routed.agent_id
    assert not row.agent_only
    stored = RouteDecision.from_json(row.routing)
    assert stored.rule == "vip-callbacks" and "tier is platinum" in " ".join(stored.reasons)
    assert row.routing["assigned_to"] == routed.agent_id
    assert await audit_actions(crm, routed.followup_id) == ["create", "route"]


async def test_nobody_ready_leaves_it_to_the_pool(crm: Database) -> None:
    router = Router(crm, load_rules(), clock=Clock())  # seeded agents are offline
    customer = await customer_of_tier(crm, "iron")
    routed = await router.create(
        FollowUpKind.TASK, origin=FollowUpOrigin.AGENT, customer_id=customer, summary="x"
    )
    assert routed is not None and routed.agent_id is None
    assert "nobody available" in routed.why


async def test_a_stale_heartbeat_counts_as_gone(crm: Database) -> None:
    await everyone_ready(crm, T0 - timedelta(minutes=10))
    router = Router(crm, load_rules(), clock=Clock())
    routed = await router.create(
        FollowUpKind.TASK, origin=FollowUpOrigin.AGENT, customer_id=1, summary="x"
    )
    assert routed is not None and routed.agent_id is None


async def test_route_pending_routes_only_what_no_rule_decided(crm: Database) -> None:
    router = Router(crm, load_rules(), clock=Clock())
    async with crm.write_connection() as conn:
        await conn.execute(
            insert(FollowUp),
            [
                dict(kind="task", customer_id=n, summary="unrouted", due_at=T0, created_at=T0)
                for n in range(1, 21)
            ],
        )
    assert await router.route_pending(batch=7) == 20
    assert await router.route_pending() == 0
    async with crm.session() as s:
        rules = (await s.scalars(select(FollowUp.rule).where(FollowUp.summary == "unrouted"))).all()
        seeded = (await s.scalars(select(FollowUp.rule).where(FollowUp.rule == "seed"))).all()
    assert len(rules) == 20 and "" not in rules
    assert seeded  # the seed's own routing is left alone


async def test_one_follow_up_per_event_key(crm: Database) -> None:
    router = Router(crm, load_rules(), clock=Clock())
    kwargs = dict(origin=FollowUpOrigin.ABANDONED, customer_id=1, summary="x", source_key="k:1")
    first = await router.create(FollowUpKind.CALLBACK, **kwargs)  # type: ignore[arg-type]
    again = await router.create(FollowUpKind.CALLBACK, **kwargs)  # type: ignore[arg-type]
    assert first is not None and again is None


async def test_finished_work_is_not_rerouted(crm: Database) -> None:
    router = Router(crm, load_rules(), clock=Clock())
    async with crm.session() as s:
        done = (await s.scalars(select(FollowUp.id).where(FollowUp.status == "done"))).first()
    assert done is not None
    with pytest.raises(RoutingError, match="only open work"):
        await router.route(done)
    with pytest.raises(RoutingError, match="does not exist"):
        await router.route(10**9)


async def test_overdue_then_each_escalation_step_once(crm: Database) -> None:
    clock = Clock()
    await everyone_ready(crm, T0)
    router = Router(crm, load_rules(), clock=clock)
    engines = [SlaEngine(crm, router, clock=clock) for _ in range(3)]  # three consoles
    customer = await customer_of_tier(crm, "platinum")
    routed = await router.create(
        FollowUpKind.CALLBACK, origin=FollowUpOrigin.AGENT, customer_id=customer, summary="x"
    )
    assert routed is not None
    fid = routed.followup_id

    async def tick_all() -> None:
        await asyncio.gather(*(e.tick() for e in engines))

    clock.now = T0 + timedelta(minutes=59)  # not due yet
    await tick_all()
    assert (await followup(crm, fid)).overdue_at is None

    clock.now = T0 + timedelta(hours=1, seconds=1)  # overdue, not long enough to escalate
    await tick_all()
    row = await followup(crm, fid)
    assert row.overdue_at == clock.now and row.escalation_level == 0

    clock.now = T0 + timedelta(hours=1, minutes=31)  # 31 min overdue: step 1, team lead
    await tick_all()
    await tick_all()
    row = await followup(crm, fid)
    assert row.escalation_level == 1 and row.agent_only
    async with crm.session() as s:
        lead = (await s.scalars(select(Agent).where(Agent.id == row.target_agent_id))).one()
    assert lead.role is Role.SUPERVISOR

    clock.now = T0 + timedelta(hours=3, minutes=1)  # 2 h overdue: step 2, supervisor, P1
    await tick_all()
    row = await followup(crm, fid)
    assert (row.escalation_level, row.priority) == (2, 1)
    actions = await audit_actions(crm, fid)
    assert actions.count("overdue") == 1 and actions.count("escalate") == 2


async def test_a_console_down_for_hours_applies_the_furthest_step_once(crm: Database) -> None:
    clock = Clock()
    await everyone_ready(crm, T0)
    router = Router(crm, load_rules(), clock=clock)
    customer = await customer_of_tier(crm, "platinum")
    routed = await router.create(
        FollowUpKind.CALLBACK, origin=FollowUpOrigin.AGENT, customer_id=customer, summary="x"
    )
    assert routed is not None
    clock.now = T0 + timedelta(hours=9)
    await SlaEngine(crm, router, clock=clock).tick()
    row = await followup(crm, routed.followup_id)
    assert row.escalation_level == 2
    assert (await audit_actions(crm, routed.followup_id)).count("escalate") == 1


def known_number(db_path: Path) -> tuple[str, int]:
    con = sqlite3.connect(db_path)
    try:
        e164, customer = con.execute(
            "SELECT e164, min(customer_id) FROM phone_numbers GROUP BY e164 "
            "HAVING count(*) = 1 ORDER BY e164 LIMIT 1"
        ).fetchone()
        return str(e164), int(customer)
    finally:
        con.close()


def abandoned(number: str, waited: int | None, uniqueid: str = "1762077600.7") -> CallAbandoned:
    return CallAbandoned(
        uniqueid=uniqueid,
        linkedid=uniqueid,
        queue="billing",
        caller_id=number,
        caller_name="",
        position=1,
        original_position=1,
        waited=waited,
        at=T0,
    )


async def test_a_known_callers_abandon_becomes_one_callback_in_that_queue(
    crm: Database,
) -> None:
    assert crm.sqlite_path is not None
    number, customer = known_number(crm.sqlite_path)
    router = Router(crm, load_rules(), clock=Clock())
    auto = [AutoFollowUps(router, ScreenPopService(crm)) for _ in range(2)]  # two consoles
    results = await asyncio.gather(*(a.on_abandoned(abandoned(number, 40)) for a in auto))
    made = [r for r in results if r is not None]
    assert len(made) == 1
    row = await followup(crm, made[0].followup_id)
    assert (row.customer_id, row.origin, row.callback_number) == (customer, "abandoned", number)
    # An abandoned call from a non-VIP customer is called back from the queue it was in.
    if made[0].decision.rule == "abandoned-callbacks":
        async with crm.session() as s:
            queue = await s.scalar(select(FollowUp.target_queue_id).where(FollowUp.id == row.id))
        assert queue == 3  # billing


def test_each_call_orders_the_seats_of_a_queue_afresh() -> None:
    seats = [f"PJSIP/{6001 + n}" for n in range(130)]
    firsts = set()
    for call in range(40):
        delays = [turn_delay(f"1762077600.{call}", seat) for seat in seats]
        assert all(0 <= d < SPREAD_SECONDS for d in delays)
        assert delays == [turn_delay(f"1762077600.{call}", seat) for seat in seats]  # stable
        firsts.add(min(range(len(seats)), key=delays.__getitem__))
        # The first acts within a small part of the window, not all at once at zero.
        early = [d for d in delays if d < SPREAD_SECONDS / 10]
        assert 1 <= len(early) < len(seats) / 3
    assert len(firsts) > 20  # not the same console first every time


async def test_the_seats_of_a_queue_act_in_turn_and_one_makes_the_callback(
    crm: Database,
) -> None:
    assert crm.sqlite_path is not None
    number, customer = known_number(crm.sqlite_path)
    router = Router(crm, load_rules(), clock=Clock())
    looked_up: list[str] = []

    class Counting(ScreenPopService):
        async def lookup(self, caller_id: object, **kwargs: Any) -> ScreenPop:
            looked_up.append(str(caller_id))
            return await super().lookup(caller_id, **kwargs)

    event = abandoned(number, 40)
    seats = sorted(
        (f"PJSIP/{6001 + n}" for n in range(6)), key=lambda s: turn_delay(event.uniqueid, s)
    )
    # Each in its turn (the waits themselves are `turn_delay`'s, above; none here).
    results = [
        await AutoFollowUps(router, Counting(crm), seat=seat, spread=0).in_turn(event)
        for seat in seats
    ]
    made = [r for r in results if r is not None]
    assert len(made) == 1
    assert looked_up == [number]  # the later seats found it made: no pop, no write
    row = await followup(crm, made[0].followup_id)
    assert (row.customer_id, row.origin) == (customer, "abandoned")


async def test_short_and_unknown_abandons_make_nothing(crm: Database) -> None:
    assert crm.sqlite_path is not None
    number, _ = known_number(crm.sqlite_path)
    auto = AutoFollowUps(Router(crm, load_rules(), clock=Clock()), ScreenPopService(crm))
    assert await auto.on_abandoned(abandoned(number, 2)) is None  # a misdial
    assert await auto.on_abandoned(abandoned("+12025550199", 60)) is None  # nobody we know
    assert await auto.on_abandoned(abandoned("anonymous", 60)) is None


async def test_a_callback_request_is_kept_even_for_an_unknown_number(crm: Database) -> None:
    auto = AutoFollowUps(Router(crm, load_rules(), clock=Clock()), ScreenPopService(crm))
    request = CallbackRequested(
        uniqueid="1762077600.9", queue="support", number="+12025550199", waited=300, at=T0
    )
    made = await auto.on_callback_request(request)
    assert made is not None
    row = await followup(crm, made.followup_id)
    assert (row.customer_id, row.callback_number, row.origin) == (None, "+12025550199", "overflow")
    assert await auto.on_callback_request(request) is None  # the same request, seen again
    async with crm.session() as s:  # the number is kept on the callback, not made a customer
        assert (
            await s.scalar(select(PhoneNumber.id).where(PhoneNumber.e164 == "+12025550199")) is None
        )


async def test_an_agents_own_target_stands_and_the_rest_is_routed(crm: Database) -> None:
    from console.services.routing.followups import CHOSEN_BY_AGENT, FollowUpService

    clock = Clock()
    service = FollowUpService(crm, clock=clock)
    chosen = await service.create(
        "task", customer_id=1, due_at=T0, summary="mine", agent_id=1, target_queue="billing"
    )
    open_ = await service.create(
        "callback", customer_id=1, due_at=T0, summary="rules", agent_id=1, origin="disposition"
    )
    assert await Router(crm, load_rules(), clock=clock).route_pending() == 1
    kept, routed = await followup(crm, chosen.id), await followup(crm, open_.id)
    assert (kept.rule, kept.target_queue_id) == (CHOSEN_BY_AGENT, 3)
    assert routed.rule not in ("", CHOSEN_BY_AGENT) and routed.origin == "disposition"
