"""The dialer against the real simulator over AMI (console/services/outbound/dialer.py): progressive
and predictive campaigns place customer-first calls, live answers reach bot agents carrying
CC_CAMPAIGN / CC_LEAD, unanswered outcomes are rescheduled by the campaign's attempt rules,
abandons are counted, and forbidden leads never reach the PBX (checked on the simulator's own
record of the Originates it accepted, not on what the dialer says it did)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select

from console.db import Database
from console.models import ComplianceDecision, DncEntry
from console.models.enums import LeadStatus
from console.services.outbound.campaigns import CampaignService
from console.services.outbound.dial_store import DialStore
from tests.dialer_support import (
    BASE,
    CHANNELVARS,
    ShiftedClock,
    add_customers,
    attempts,
    campaign_file,
    dialled_numbers,
    leads,
    number,
    originated,
    running_dialer,
    scenario,
    start_campaign,
    wait_until,
)
from tests.pbx import running_pbx


def agent_called_vars(frames: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(f["campaign"], f["lead"]) for f in frames]


async def test_a_progressive_campaign_connects_its_customers_to_the_bots(db: Database) -> None:
    clock = ShiftedClock()
    numbers = [number(i) for i in range(6)]
    await add_customers(db, numbers)
    campaign_id = await start_campaign(db, campaign_file(), clock)
    async with running_pbx(scenario(agents=3), channelvars=CHANNELVARS) as pbx:
        called: list[dict[str, str]] = []  # the simulator's AgentConnect channel variables

        def listen(name: str, fields: list[tuple[str, str]]) -> None:
            if name == "AgentConnect":
                values = dict(v.partition("=")[::2] for k, v in fields if k == "ChanVariable")
                called.append({"campaign": values["CC_CAMPAIGN"], "lead": values["CC_LEAD"]})

        pbx.engine.add_listener(listen)
        async with running_dialer(db, pbx, clock) as dialer:

            async def all_connected() -> bool:
                rows = await attempts(db, campaign_id)
                return len(rows) == 6 and all(a.outcome == "connected" for a in rows)

            await wait_until(all_connected)
            assert any("running here (progressive)" in line for line in dialer.lines)
        # The simulator's record: each number dialled once, customer-first, with the variables.
        assert sorted(dialled_numbers(pbx)) == sorted(numbers)
        by_lead = {lead.id: lead for lead in (await leads(db, campaign_id)).values()}
        for request in originated(pbx):
            assert request.context == "campaign-sales"
            variables = dict(request.variables)
            assert variables["CC_CAMPAIGN"] == str(campaign_id)
            assert by_lead[int(variables["CC_LEAD"])].e164 in request.channel
        # Every connected call reached a bot (AgentConnect) carrying its campaign and entry.
        assert sorted(agent_called_vars(called)) == sorted(
            (str(campaign_id), str(lead_id)) for lead_id in by_lead
        )
    rows = await attempts(db, campaign_id)
    assert all(a.agent_id is None and a.connected_at and a.live_at for a in rows)
    # The wrap-up settles a connected lead; until then it stays claimed.
    assert {(lead.status, lead.last_outcome, lead.attempts) for lead in by_lead.values()} == {
        (LeadStatus.DIALING, "connected", 1)
    }


async def test_unanswered_calls_are_rescheduled_by_the_attempt_rules(db: Database) -> None:
    clock = ShiftedClock()
    numbers = {"busy": number(1), "noanswer": number(2), "machine": number(3)}
    await add_customers(db, list(numbers.values()))
    rules = """
[attempts]
max = 3
[attempts.spacing]
busy = "15m"
no_answer = "3h"
machine = "5h"
"""
    campaign_id = await start_campaign(db, campaign_file(extra=rules), clock)
    async with running_pbx(scenario(agents=3), channelvars=CHANNELVARS) as pbx:
        pbx.engine.outbound_outcome(numbers["busy"], "busy", 1, "")
        pbx.engine.outbound_outcome(numbers["noanswer"], "noanswer", 1, "")
        pbx.engine.outbound_outcome(numbers["machine"], "machine", 1, "MACHINE")
        async with running_dialer(db, pbx, clock):

            async def all_ended() -> bool:
                rows = await attempts(db, campaign_id)
                return len(rows) == 3 and all(a.ended_at is not None for a in rows)

            await wait_until(all_ended)
        assert sorted(dialled_numbers(pbx)) == sorted(numbers.values())
    by_number = {a.e164: a for a in await attempts(db, campaign_id)}
    listed = await leads(db, campaign_id)
    spacing = {"busy": timedelta(minutes=15), "noanswer": timedelta(hours=3)}
    spacing["machine"] = timedelta(hours=5)
    for outcome, e164 in numbers.items():
        attempt, lead = by_number[e164], listed[e164]
        assert attempt.outcome == outcome
        assert (lead.status, lead.attempts, lead.last_outcome) == (LeadStatus.PENDING, 1, outcome)
        assert lead.next_attempt_at == attempt.placed_at + spacing[outcome]
    assert by_number[numbers["busy"]].cause == 17
    assert by_number[numbers["machine"]].amd_status == "MACHINE"


async def test_abandoned_live_answers_are_counted(db: Database) -> None:
    clock = ShiftedClock()
    numbers = [number(i) for i in range(2)]
    await add_customers(db, numbers)
    campaign_id = await start_campaign(db, campaign_file(), clock)
    # The bots answer after 5 s: the 2 s Queue() timeout passes first.
    async with (
        running_pbx(scenario(agents=2, answer_delay=5.0), channelvars=CHANNELVARS) as pbx,
        running_dialer(db, pbx, clock) as dialer,
    ):

        async def both_ended() -> bool:
            rows = await attempts(db, campaign_id)
            return len(rows) == 2 and all(a.ended_at is not None for a in rows)

        await wait_until(both_ended)
        assert dialer.campaigns[campaign_id].abandoned_30d == 2
        sim = pbx.engine.customers.stats["campaign-sales"]
        assert sim["abandoned"] == 2
    rows = await attempts(db, campaign_id)
    assert [(a.outcome, a.abandoned) for a in rows] == [("abandoned", True)] * 2
    store = DialStore(db, owner="x")
    assert await store.counts_30d(campaign_id, clock()) == (2, 2)  # live, abandoned


async def test_a_predictive_campaign_dials_ahead_of_its_free_agents(db: Database) -> None:
    clock = ShiftedClock()
    numbers = [number(i) for i in range(60)]
    await add_customers(db, numbers)
    campaign_id = await start_campaign(db, campaign_file(mode="predictive"), clock)
    agents = 10
    async with running_pbx(
        scenario(agents=agents, ring="[2.0, 3.0]", talk=3.0), channelvars=CHANNELVARS
    ) as pbx:
        for e164 in numbers[::3]:  # a third answer live; the rest do not
            pbx.engine.outbound_outcome(e164, "answer", 1, "HUMAN")
        for e164 in [n for n in numbers if n not in numbers[::3]]:
            pbx.engine.outbound_outcome(e164, "busy", 1, "")
        answers: list[float] = []  # the simulator's times of its customers' answers

        def listen(name: str, fields: list[tuple[str, str]]) -> None:
            values = dict(fields)
            if name == "DialEnd" and "Channel" not in values and values["DialStatus"] == "ANSWER":
                answers.append(pbx.engine.pbx.epoch_now())

        pbx.engine.add_listener(listen)
        async with running_dialer(db, pbx, clock) as dialer:
            await wait_until(lambda: len(originated(pbx)) >= 2 * agents and bool(answers))
            ahead = [at for at, _r in pbx.engine.originated if at < answers[0]]
            # Predictive dials more customers than there are free agents, before any answers.
            assert len(ahead) > agents
            assert dialer.campaigns[campaign_id].decision is not None
    assert len(set(dialled_numbers(pbx))) == len(dialled_numbers(pbx))


async def test_dnc_unconsented_and_out_of_window_leads_never_reach_the_pbx(
    db: Database,
) -> None:
    clock = ShiftedClock()  # 17:00 UTC: noon in New York, 07:00 in Honolulu
    ok, dnc, withdrawn, none, hawaii = (
        number(1),
        number(2),
        number(3),
        number(4),
        number(5, area="808"),
    )
    await add_customers(
        db, [ok, dnc, withdrawn, none, hawaii], consent=[True, True, False, None, True]
    )
    async with db.write_connection() as conn:
        await conn.execute(insert(DncEntry).values(e164=dnc, source="us-national"))
    campaign_id = await start_campaign(db, campaign_file(purpose="sales"), clock)
    async with running_pbx(scenario(agents=3), channelvars=CHANNELVARS) as pbx:
        async with running_dialer(db, pbx, clock) as dialer:

            async def decided() -> bool:
                async with db.session() as session:
                    rows = (
                        await session.execute(
                            select(ComplianceDecision.number).where(
                                ComplianceDecision.campaign_id == campaign_id
                            )
                        )
                    ).all()
                return len({r[0] for r in rows}) == 5 and len(await attempts(db, campaign_id)) == 1

            await wait_until(decided)
            rounds = len(dialer.decision_ns)
            await wait_until(lambda: len(dialer.decision_ns) >= rounds + 5)  # and more rounds
        assert dialled_numbers(pbx) == [ok]
    listed = await leads(db, campaign_id)
    assert listed[dnc].status == LeadStatus.BLOCKED and listed[dnc].last_outcome == "dnc"
    assert listed[withdrawn].status == LeadStatus.BLOCKED
    assert listed[withdrawn].last_outcome == "no_consent"
    assert listed[none].status == LeadStatus.BLOCKED
    # Honolulu opens at 08:00 (18:00 UTC): pending until then, not blocked.
    assert listed[hawaii].status == LeadStatus.PENDING
    assert listed[hawaii].last_outcome == "outside_window"
    assert listed[hawaii].next_attempt_at == BASE.replace(hour=18)


async def test_a_paused_campaign_places_no_new_dial(db: Database) -> None:
    clock = ShiftedClock()
    numbers = [number(i) for i in range(30)]
    await add_customers(db, numbers)
    campaign_id = await start_campaign(db, campaign_file(), clock)
    service = CampaignService(db, clock=clock)
    async with (
        running_pbx(scenario(agents=2, talk=1.0), channelvars=CHANNELVARS) as pbx,
        running_dialer(db, pbx, clock) as dialer,
    ):
        await wait_until(lambda: len(originated(pbx)) >= 3)
        await service.pause("Test", agent_id=None)
        await wait_until(lambda: any("paused: no new dials" in x for x in dialer.lines))
        placed = len(originated(pbx))

        async def settled() -> bool:
            rows = await attempts(db, campaign_id)
            return all(a.ended_at is not None for a in rows)

        await wait_until(settled)  # the calls in flight finish
        assert len(originated(pbx)) == placed
        assert len(await attempts(db, campaign_id)) == placed
        await service.start("Test", agent_id=None)  # resumed: dialling again
        await wait_until(lambda: len(originated(pbx)) > placed)
