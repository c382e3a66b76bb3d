"""A campaign with a list and a call the dialer connected, as the wrap-up tests need them.

The dialer leaves a lead whose call reached an agent in ``dialing``, its attempt counted, and
its dial with outcome ``connected`` (console/services/outbound/dial_store.py); `connect`
writes exactly that, so the wrap-up's settlement is tested against the dialer's hand-off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from console.db import Database
from console.models import Agent, CampaignLead, Customer, DialAttempt, PhoneNumber
from console.models.enums import LeadStatus
from console.services.outbound.campaigns import CampaignService, load_campaign_file

SALES_FILE = """\
name = "Winback"
purpose = "sales"
mode = "progressive"
queue = "sales"
segment = { tiers = ["gold"] }

[[dispositions]]
code = "sale"
label = "Sale"
right_party = true
sale = true

[[dispositions]]
code = "not_interested"
label = "Not interested"
right_party = true

[[dispositions]]
code = "callback"
label = "Call back later"
right_party = true
retry = true

[[dispositions]]
code = "wrong_party"
label = "Wrong person"
retry = true

[[dispositions]]
code = "wrong_number"
label = "Wrong number"

[[dispositions]]
code = "do_not_call"
label = "Do not call me"
right_party = true
opt_out = true

[[dispositions]]
code = "survey_done"
label = "Survey completed"
right_party = true
survey_complete = true

[script]
text = "Hello {first_name}, this is {agent}."

[[script.questions]]
id = "happy"
text = "Are you happy with us?"
kind = "yes_no"
next = { no = "why" }
then = "score"

[[script.questions]]
id = "why"
text = "Why not?"

[[script.questions]]
id = "score"
text = "From 1 to 10?"
kind = "scale"
low = 1
high = 10
"""


@dataclass(frozen=True)
class Campaign:
    id: int
    agent_id: int
    customers: tuple[int, ...]


async def sales_campaign(
    db: Database,
    now: datetime,
    *,
    customers: int = 3,
    body: str = SALES_FILE,
    rules: dict[str, Any] | None = None,
) -> Campaign:
    """An agent, ``customers`` gold customers (USD, RFM 1 1 1, no lifetime value) with one
    mobile each, and the campaign in ``body`` started (its list built); ``rules`` are merged
    into the stored rules (the dialer's ``attempts``, say)."""
    async with db.write_connection() as conn:
        agent = await conn.scalar(
            insert(Agent).values(login="sam", display_name="Sam Agent").returning(Agent.id)
        )
        ids = []
        for n in range(customers):
            cid = await conn.scalar(
                insert(Customer)
                .values(display_name=f"Customer {n}", tier="gold", currency="USD")
                .returning(Customer.id)
            )
            await conn.execute(
                insert(PhoneNumber).values(
                    customer_id=cid, e164=f"+1415555{n:04d}", kind="mobile", region="US"
                )
            )
            ids.append(int(cid or 0))
    service = CampaignService(db, clock=lambda: now)
    spec = load_campaign_file("campaign.toml", body)
    campaign_id = await service.create(spec, agent_id=None)
    if rules:
        from console.models import Campaign as CampaignRow

        async with db.write_connection() as conn:
            stored = await conn.scalar(
                select(CampaignRow.rules).where(CampaignRow.id == campaign_id)
            )
            await conn.execute(
                update(CampaignRow)
                .where(CampaignRow.id == campaign_id)
                .values(rules={**dict(stored or {}), **rules})
            )
    await service.start(spec.name, agent_id=None)
    return Campaign(campaign_id, int(agent or 0), tuple(ids))


async def lead_of(db: Database, campaign_id: int, customer_id: int) -> int:
    async with db.session() as conn:
        found = await conn.scalar(
            select(CampaignLead.id).where(
                CampaignLead.campaign_id == campaign_id, CampaignLead.customer_id == customer_id
            )
        )
    assert found is not None
    return int(found)


async def connect(
    db: Database,
    campaign_id: int,
    lead_id: int,
    *,
    uniqueid: str,
    placed_at: datetime,
    agent_id: int | None = None,
) -> int:
    """What the dialer leaves for a call an agent took: the lead dialing (one more attempt),
    its dial connected. The dial's id."""
    async with db.write_connection() as conn:
        await conn.execute(
            update(CampaignLead)
            .where(CampaignLead.id == lead_id)
            .values(
                status=LeadStatus.DIALING,
                attempts=CampaignLead.attempts + 1,
                last_outcome="connected",
            )
        )
        e164 = await conn.scalar(select(CampaignLead.e164).where(CampaignLead.id == lead_id))
        attempt = await conn.scalar(
            insert(DialAttempt)
            .values(
                campaign_id=campaign_id,
                lead_id=lead_id,
                e164=e164,
                uniqueid=uniqueid,
                placed_at=placed_at,
                answered_at=placed_at + timedelta(seconds=8),
                connected_at=placed_at + timedelta(seconds=9),
                agent_id=agent_id,
                outcome="connected",
            )
            .returning(DialAttempt.id)
        )
    return int(attempt or 0)
