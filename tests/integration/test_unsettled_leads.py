"""A connected campaign call whose wrap-up never settled its lead (the pop failed with the
database away, so it became a plain call) does not leave the lead ``dialing`` for ever: the
dialer's housekeeping makes it ``done`` / ``unsettled`` once the call is 12 hours over — and
touches no lead that is still in play."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select, update

from console.db import Database
from console.models import Agent, CampaignLead, DialAttempt, PreviewHold
from console.models.enums import LeadStatus
from console.services.outbound.dial_store import UNSETTLED_AFTER, DialStore
from tests.dialer_support import BASE, add_customers, campaign_file, number, start_campaign


async def test_forgotten_connected_leads_are_settled_and_nothing_else(db: Database) -> None:
    await forgotten_leads_are_settled(db)


async def test_the_same_on_postgresql(pg_db: Database) -> None:
    await forgotten_leads_are_settled(pg_db)


async def forgotten_leads_are_settled(db: Database) -> None:
    now = BASE
    numbers = [number(i) for i in range(7)]
    await add_customers(db, numbers)
    campaign_id = await start_campaign(db, campaign_file(), lambda: now - timedelta(days=1))
    old = now - UNSETTLED_AFTER - timedelta(minutes=5)
    recent = now - timedelta(hours=1)
    async with db.write_connection() as conn:
        agent = await conn.scalar(
            insert(Agent).values(login="ann", display_name="Ann").returning(Agent.id)
        )
        ids = {
            lead.e164: lead.id
            for lead in (
                await conn.execute(
                    select(CampaignLead.id, CampaignLead.e164).where(
                        CampaignLead.campaign_id == campaign_id
                    )
                )
            ).all()
        }
        lead = [ids[n] for n in numbers]

        async def dial(i: int, outcome: str, ended: object) -> None:
            await conn.execute(
                insert(DialAttempt).values(
                    campaign_id=campaign_id, lead_id=lead[i], e164=numbers[i],
                    placed_at=old - timedelta(minutes=10), outcome=outcome, ended_at=ended,
                    connected_at=None if outcome != "connected" else old - timedelta(minutes=9),
                )
            )  # fmt: skip

        await conn.execute(
            update(CampaignLead)
            .where(CampaignLead.id.in_(lead[:6]))
            .values(status=LeadStatus.DIALING)
        )
        await dial(0, "connected", old)  # forgotten: settled
        await dial(1, "connected", recent)  # its wrap-up may still come
        await dial(2, "noanswer", old)  # not connected: not the wrap-up's to settle
        await dial(3, "", None)  # a dial in flight
        await dial(4, "connected", old)  # an old call, and a new dial in flight
        await dial(4, "", None)
        await dial(5, "connected", old)  # held in preview by an agent
        await conn.execute(
            insert(PreviewHold).values(
                lead_id=lead[5], campaign_id=campaign_id, agent_id=agent, held_until=now
            )
        )
        await dial(6, "connected", old)  # settled by its wrap-up already (done)
        await conn.execute(
            update(CampaignLead).where(CampaignLead.id == lead[6]).values(status="done")
        )
    settled = await DialStore(db, clock=lambda: now, owner="t").settle_forgotten(now)
    assert settled == 1
    async with db.session() as conn:
        rows = dict(
            (
                await conn.execute(
                    select(CampaignLead.id, CampaignLead.status).where(CampaignLead.id.in_(lead))
                )
            ).all()
        )
        outcome = await conn.scalar(
            select(CampaignLead.last_outcome).where(CampaignLead.id == lead[0])
        )
    assert [rows[i] for i in lead] == ["done", *["dialing"] * 5, "done"]
    assert outcome == "unsettled"
