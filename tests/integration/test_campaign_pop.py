"""A connected campaign call pops like an inbound one, plus the campaign: the list entry's
customer (even when the number is shared), the script with their fields, the dispositions;
its row is outbound and carries the campaign."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select

from console.cti.protocol import CallOffered
from console.db import Database
from console.models import Agent, CampaignLead, Customer, Interaction, PhoneNumber
from console.services.desk.desk import AgentDesk
from console.services.desk.interactions import InteractionLog
from console.services.desk.screenpop import ScreenPopService
from console.services.outbound.campaigns import CampaignService, load_campaign_file

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
FILE = """\
name = "Survey"
purpose = "survey"
mode = "progressive"
queue = "outbound"

[segment]
tiers = ["gold"]

[script]
text = "Hello {first_name}, I am {agent}. You are one of our {tier} customers."

[[script.questions]]
id = "happy"
text = "Are you happy with us?"
kind = "yes_no"
"""


async def crm(db: Database) -> tuple[int, int, int]:
    """An agent, a gold customer and an iron one sharing the gold one's number."""
    async with db.write_connection() as conn:
        agent = await conn.scalar(
            insert(Agent).values(login="sam", display_name="Sam Agent").returning(Agent.id)
        )
        ids = []
        for name, tier in (("Ann Lee", "gold"), ("\x1b[31mBob[/] Shared", "iron")):
            cid = await conn.scalar(
                insert(Customer).values(display_name=name, tier=tier).returning(Customer.id)
            )
            await conn.execute(
                insert(PhoneNumber).values(customer_id=cid, e164="+14155550123", region="US")
            )
            ids.append(cid)
    return int(agent or 0), ids[0], ids[1]


def offered(campaign: str, lead: str, caller_id: str = "+14155550123") -> CallOffered:
    return CallOffered(
        uniqueid="1700000000.5",
        linkedid="1700000000.5",
        queue="outbound",
        caller_id=caller_id,
        caller_name="<unknown>",
        interface="PJSIP/1001",
        member_name="Sam",
        channel="PJSIP/trunk-00000005",
        agent_channel="PJSIP/1001-00000006",
        waited=0.4,
        at=NOW,
        campaign=campaign,
        lead=lead,
    )


async def test_a_campaign_call_pops_its_customer_script_and_dispositions(db: Database) -> None:
    agent, gold, iron = await crm(db)
    campaigns = CampaignService(db, clock=lambda: NOW)
    campaign_id = await campaigns.create(load_campaign_file("s.toml", FILE), agent_id=None)
    assert await campaigns.start("Survey", agent_id=None) == 1
    async with db.session() as conn:
        lead = await conn.scalar(select(CampaignLead.id))
    desk = AgentDesk(
        agent_id=agent, screenpop=ScreenPopService(db), interactions=InteractionLog(db)
    )

    # The customer's leg shows the campaign's own caller ID (the Originate's CallerID).
    state = await desk.offer(offered(str(campaign_id), str(lead), caller_id="+14155550000"))
    pop = state.pop
    assert pop is not None and pop.campaign is not None
    assert pop.caller.e164 == "+14155550123"  # the number the list dialled
    assert pop.profile is not None and pop.profile.id == gold  # not the picker: the list's
    assert pop.campaign.name == "Survey" and pop.campaign.script.first() == "happy"
    fields = pop.campaign.fields(
        name=pop.profile.display_name, kind=pop.profile.kind, tier=pop.profile.tier,
        language=pop.profile.language, lifetime_value="", agent="Sam Agent",
    )  # fmt: skip
    assert pop.campaign.text(fields) == (
        "Hello Ann, I am Sam Agent. You are one of our gold customers."
    )
    assert [d.code for d in pop.campaign.dispositions][:2] == ["survey_done", "refused"]

    await desk.log_offer()
    async with db.session() as conn:
        row = (
            await conn.execute(
                select(Interaction.direction, Interaction.campaign_id, Interaction.caller_e164)
            )
        ).one()
    assert tuple(row) == ("outbound", campaign_id, "+14155550123")

    # The same number on an inbound call: the usual picker, no campaign.
    inbound = await AgentDesk(
        agent_id=agent, screenpop=ScreenPopService(db), interactions=InteractionLog(db)
    ).offer(offered("", ""))
    assert inbound.pop is not None and inbound.pop.campaign is None
    assert {m.customer_id for m in inbound.pop.matches} == {gold, iron}


async def test_a_campaign_call_of_an_unknown_lead_pops_as_a_plain_call(db: Database) -> None:
    agent, _gold, _iron = await crm(db)
    desk = AgentDesk(
        agent_id=agent, screenpop=ScreenPopService(db), interactions=InteractionLog(db)
    )
    state = await desk.offer(offered("99", "12345"))
    assert state.pop is not None and state.pop.campaign is None
    assert len(state.pop.matches) == 2
