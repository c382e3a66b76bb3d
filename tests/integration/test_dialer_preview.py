"""Preview dialing (console/services/outbound/preview.py) against the simulator: an agent gets the
next lead with the campaign's script, holds it, dials it from their own phone (the running
dialer follows the call), or skips it with a reason; a lead that became forbidden after it was
previewed is not dialled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, update

from console.cti.ami import AmiClient
from console.db import Database
from console.models import Agent, DncEntry, PreviewHold
from console.models.enums import LeadStatus
from console.services.outbound.preview import PreviewError, PreviewService, SkipChoice
from tests.dialer_support import (
    CHANNELVARS,
    ShiftedClock,
    add_customers,
    attempts,
    campaign_file,
    dialled_numbers,
    leads,
    number,
    running_dialer,
    scenario,
    start_campaign,
    wait_until,
)
from tests.pbx import running_pbx

SCRIPT = """
[script]
text = "Hello {first_name}, this is {agent}."
"""


async def add_agent(db: Database, login: str, interface: str) -> int:
    async with db.write_connection() as conn:
        agent_id = await conn.scalar(
            insert(Agent)
            .values(login=login, display_name=login.title(), interface=interface)
            .returning(Agent.id)
        )
    return int(agent_id or 0)


async def test_an_agent_previews_dials_and_skips(db: Database) -> None:
    clock = ShiftedClock()
    numbers = [number(i) for i in range(3)]
    await add_customers(db, numbers)
    ann = await add_agent(db, "ann", "PJSIP/2001")
    bob = await add_agent(db, "bob", "PJSIP/2002")
    body = campaign_file(mode="preview", extra="") + SCRIPT
    campaign_id = await start_campaign(db, body, clock)
    preview = PreviewService(db, clock=clock)
    async with (
        running_pbx(scenario(agents=2), channelvars=CHANNELVARS) as pbx,
        running_dialer(db, pbx, clock) as dialer,
    ):
        first = await preview.next_lead(ann, "Test")
        assert first is not None and first.number == numbers[0]
        assert first.call.text(first.call.fields(
            name=first.customer_name, kind=first.kind, tier=first.tier,
            language=first.language, lifetime_value="", agent="Ann",
        )) == "Hello Customer, this is Ann."  # fmt: skip
        again = await preview.next_lead(ann, "Test")
        assert again is not None and again.lead_id == first.lead_id  # held: the same lead
        other = await preview.next_lead(bob, "Test")
        assert other is not None and other.lead_id != first.lead_id
        await preview.skip(bob, other.lead_id, SkipChoice.LATER, note="customer at work")
        with pytest.raises(PreviewError, match="not held by you"):
            await preview.dial(dialer.cti, bob, "PJSIP/2002", other.lead_id)

        async with AmiClient("127.0.0.1", pbx.port, "agent", "s3cret") as phone_link:
            await phone_link.wait_connected()
            placed = await preview.dial(phone_link, ann, "PJSIP/2001", first.lead_id)

            async def connected() -> bool:
                rows = await attempts(db, campaign_id)
                return bool(rows) and rows[0].connected_at is not None

            await wait_until(connected)  # the dialer follows the agent's own dial
            dial = dialer.tracker.dials[(campaign_id, first.lead_id)]
            await phone_link.hangup(dial.channel)

            async def ended() -> bool:
                return (await attempts(db, campaign_id))[0].ended_at is not None

            await wait_until(ended)
        assert dialled_numbers(pbx) == [numbers[0]]
        request = pbx.engine.originated[0][1]
        assert request.channel == "PJSIP/2001" and request.exten == numbers[0]
    (row,) = await attempts(db, campaign_id)
    assert (row.id, row.outcome, row.agent_id) == (placed.attempt_id, "connected", ann)
    listed = await leads(db, campaign_id)
    assert listed[numbers[0]].status == LeadStatus.DIALING  # for the wrap-up to settle
    skipped = listed[other.number]
    assert (skipped.status, skipped.last_outcome) == (LeadStatus.PENDING, "skip:later")
    assert skipped.next_attempt_at is not None
    assert skipped.next_attempt_at - clock() > timedelta(minutes=55)


async def test_a_lead_that_became_forbidden_after_its_preview_is_not_dialled(
    db: Database,
) -> None:
    clock = ShiftedClock()
    await add_customers(db, [number(1)])
    ann = await add_agent(db, "ann", "PJSIP/2001")
    campaign_id = await start_campaign(db, campaign_file(mode="preview"), clock)
    preview = PreviewService(db, clock=clock)
    async with running_pbx(scenario(agents=1), channelvars=CHANNELVARS) as pbx:
        lead = await preview.next_lead(ann, "Test")
        assert lead is not None
        async with db.write_connection() as conn:  # the customer opts out meanwhile
            await conn.execute(insert(DncEntry).values(e164=lead.number, source="internal"))
        async with AmiClient("127.0.0.1", pbx.port, "agent", "s3cret") as link:
            await link.wait_connected()
            with pytest.raises(PreviewError, match="dnc"):
                await preview.dial(link, ann, "PJSIP/2001", lead.lead_id)
        assert pbx.engine.originated == []
    assert await attempts(db, campaign_id) == []
    assert (await leads(db, campaign_id))[lead.number].status == LeadStatus.BLOCKED
    assert await preview.next_lead(ann, "Test") is None


async def test_a_hold_that_lapsed_is_not_dialled(db: Database) -> None:
    """The dialer's housekeeping may give a lapsed hold's lead back to the list between the
    agent's last look and their dial: the dial is refused, nothing is written or sent."""
    clock = ShiftedClock()
    await add_customers(db, [number(1)])
    ann = await add_agent(db, "ann", "PJSIP/2001")
    campaign_id = await start_campaign(db, campaign_file(mode="preview"), clock)
    preview = PreviewService(db, clock=clock)
    async with running_pbx(scenario(agents=1), channelvars=CHANNELVARS) as pbx:
        lead = await preview.next_lead(ann, "Test")
        assert lead is not None
        async with db.write_connection() as conn:  # the hold ran out a moment ago
            await conn.execute(
                update(PreviewHold).values(held_until=clock() - timedelta(seconds=1))
            )
        async with AmiClient("127.0.0.1", pbx.port, "agent", "s3cret") as link:
            await link.wait_connected()
            with pytest.raises(PreviewError, match="lapsed"):
                await preview.dial(link, ann, "PJSIP/2001", lead.lead_id)
        assert pbx.engine.originated == []
    assert await attempts(db, campaign_id) == []
