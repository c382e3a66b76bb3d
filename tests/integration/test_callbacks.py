"""Callbacks end to end: a routed callback is claimed, dialled with Originate on the real
simulator over a socket, and its outcome — answered, no answer, busy — reschedules it by the
rule's retry policy until the attempts run out and it escalates."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from console.cti.ami import AmiClient
from console.cti.protocol import CallAnswered, CallEnded, CallOffered, EndReason, LinkState
from console.cti.tracker import CallTracker
from console.db import Database
from console.models import Agent, FollowUp, Interaction
from console.models.enums import FollowUpKind, FollowUpOrigin, Role
from console.services.routing.callbacks import ANSWERED, CallbackDialer
from console.services.routing.router import Router
from console.services.routing.rules_file import load_rules
from console.services.routing.worklist import Worklist
from tests.crm import T0, Clock, copy_of, seed_file
from tests.pbx import SCENARIO, running_pbx
from tests.ui.conftest import FAST

AGENT = "PJSIP/1001"  # the seeded demo agent's phone
OUTBOUND = (
    SCENARIO + '\n[outbound]\nanswer = 1.0\nring_seconds = [0.2, 0.4]\nno_answer_seconds = "0.5s"\n'
)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_file(
        tmp_path_factory.mktemp("callbacks") / "crm.db", customers=200, seed=4, agents=4
    )


@pytest.fixture
async def crm(seeded: Path, tmp_path: Path) -> AsyncIterator[Database]:
    async with copy_of(seeded, tmp_path) as db:
        yield db


async def next_of(stream: object, kind: type, within: float = 10.0) -> object:
    async with asyncio.timeout(within):
        async for event in stream:  # type: ignore[attr-defined]
            if isinstance(event, kind):
                return event
    raise AssertionError(f"no {kind.__name__}")


async def test_no_answer_busy_no_answer_then_escalate_and_an_answered_one(crm: Database) -> None:
    clock = Clock()
    router = Router(crm, load_rules(), clock=clock)
    worklist = Worklist(crm, clock=clock)
    dialer = CallbackDialer(crm, worklist, router, clock=clock)
    async with crm.session() as s:
        demo = (await s.scalars(select(Agent.id).where(Agent.login == "demo"))).one()
    number = "+14155550123"
    routed = await router.create(
        FollowUpKind.CALLBACK,
        origin=FollowUpOrigin.OVERFLOW,
        customer_id=None,
        summary="asked for a callback",
        callback_number=number,
        origin_queue="support",
    )
    assert routed is not None and routed.decision.rule == "abandoned-callbacks"
    fid = routed.followup_id

    async with running_pbx(OUTBOUND) as pbx:
        cti = AmiClient(
            "127.0.0.1", pbx.port, "agent", "s3cret", tracker=CallTracker(AGENT), timings=FAST
        )
        events = cti.events()
        await cti.start()
        await cti.wait_connected()
        assert cti.link_state.state is LinkState.CONNECTED
        added = await cti.send_action("QueueAdd", Queue="support", Interface=AGENT, Paused="true")
        assert added.ok

        async def dial(outcome: str) -> CallEnded:
            scripted = await cti.send_action("SimOutbound", Number=number, Outcome=outcome)
            assert scripted.ok, scripted.response
            placed = await dialer.place(cti, demo, AGENT, fid)
            await asyncio.sleep(0.05)
            assert (await cti.sim_phone(AGENT, "answer")).ok  # the agent picks up their phone
            offered = await next_of(events, CallOffered)
            assert isinstance(offered, CallOffered)
            assert (offered.direction, offered.caller_id) == ("outbound", number)
            assert offered.action_id == placed.action_id
            if outcome == "answer":
                answered = await next_of(events, CallAnswered)
                assert isinstance(answered, CallAnswered)
                assert (await cti.hangup(answered.agent_channel)).ok
            ended = await next_of(events, CallEnded)
            assert isinstance(ended, CallEnded)
            return ended

        ended = await dial("noanswer")
        assert ended.reason is EndReason.NO_ANSWER
        first = await dialer.settle(demo, fid, str(ended.reason))
        assert first.next_attempt == T0 + timedelta(minutes=20)  # the rule's first spacing

        clock.now = T0 + timedelta(minutes=20)
        ended = await dial("busy")
        assert ended.reason is EndReason.BUSY
        second = await dialer.settle(demo, fid, str(ended.reason))
        assert second.next_attempt == clock.now + timedelta(hours=2)

        clock.now += timedelta(hours=2)
        ended = await dial("noanswer")
        third = await dialer.settle(demo, fid, str(ended.reason))
        assert third.escalated and third.next_attempt is None  # 3 attempts: the chain's first step

        async with crm.session() as s:
            row = (await s.scalars(select(FollowUp).where(FollowUp.id == fid))).one()
            lead = await s.scalar(select(Agent.role).where(Agent.id == row.target_agent_id))
        assert (row.attempts, row.status, row.last_outcome) == (3, "pending", "noanswer")
        assert row.escalation_level == 1 and row.agent_only and lead is Role.SUPERVISOR

        # A second callback that the customer answers: done.
        other = await router.create(
            FollowUpKind.CALLBACK,
            origin=FollowUpOrigin.OVERFLOW,
            customer_id=None,
            summary="another",
            callback_number="+14155550124",
            origin_queue="support",
        )
        assert other is not None
        number = "+14155550124"
        fid = other.followup_id
        ended = await dial("answer")
        assert ended.answered
        done = await dialer.settle(demo, fid, ANSWERED)
        assert done.status == "done"
        await cti.close()


async def test_a_call_that_never_reached_the_customer_gives_the_attempt_back(
    crm: Database,
) -> None:
    clock = Clock()
    router = Router(crm, load_rules(), clock=clock)
    dialer = CallbackDialer(crm, Worklist(crm, clock=clock), router, clock=clock)
    routed = await router.create(
        FollowUpKind.CALLBACK,
        origin=FollowUpOrigin.OVERFLOW,
        customer_id=None,
        summary="x",
        callback_number="+14155550125",
    )
    assert routed is not None
    async with running_pbx(OUTBOUND) as pbx:
        cti = AmiClient("127.0.0.1", pbx.port, "agent", "s3cret", timings=FAST)
        await cti.start()
        await cti.wait_connected()
        # The demo agent's phone is not on this PBX: Originate fails at once.
        placed = await dialer.place(cti, 1, "PJSIP/7777", routed.followup_id)
        settled = await dialer.settle(1, placed.followup_id, "agent")
        await cti.close()
    assert settled.status == "pending"
    async with crm.session() as s:
        row = (await s.scalars(select(FollowUp).where(FollowUp.id == routed.followup_id))).one()
        outbound = await s.scalar(
            select(Interaction.id).where(Interaction.caller_raw == "+14155550125")
        )
    assert (row.attempts, row.claimed_by) == (0, None)
    assert outbound is None
