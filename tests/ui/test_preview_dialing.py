"""Preview dialing from the agent's desk (``o``) against the simulator: the agent sees the next
lead with the campaign's script (the customer's fields filled in), skips one for later, dials
the next from their own phone (the simulator's record of Originates shows it agent-first with
the campaign's variables), and the connected call pops with the script."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, select
from textual.widgets import Static

from console.app import CallConsoleApp
from console.cti.ami import AmiClient
from console.cti.tracker import CallTracker
from console.db import Database
from console.models import AuditLog, CampaignLead
from console.screens.preview_call import PreviewCallScreen
from console.services.context import ServiceContext
from console.services.desk.session import AgentSession
from tests.dialer_support import (
    CHANNELVARS,
    ShiftedClock,
    add_customers,
    campaign_file,
    number,
    originated,
    scenario,
    start_campaign,
)
from tests.factories import AGENT, ready_agent
from tests.pbx import running_pbx
from tests.ui.conftest import FAST, until

SCRIPT = """
[script]
text = "Hello {first_name}, this is {agent} with a notice about your {tier} account."
"""


def preview_app(db: Database, port: int, clock: ShiftedClock) -> CallConsoleApp:
    """The demo agent's console on the ``sales`` queue, its services on ``clock``."""
    cti = AmiClient("127.0.0.1", port, "agent", "s3cret", tracker=CallTracker(AGENT), timings=FAST)
    journal = None if db.sqlite_path is None else Path(db.sqlite_path).parent / "journal"
    runtime = AgentSession(
        ctx=ServiceContext(db=db, journal_dir=journal, clock=clock),
        cti=cti,
        agent_id=1,
        interface=AGENT,
        member_name="Demo Agent",
        queues=("sales",),
    )
    return CallConsoleApp(runtime=runtime)


async def test_an_agent_previews_skips_and_dials_a_lead_that_pops_with_the_script(
    crm: Database,
) -> None:
    clock = ShiftedClock()
    numbers = [number(i) for i in range(2)]
    await add_customers(crm, numbers)
    campaign_id = await start_campaign(crm, campaign_file("Notice", mode="preview") + SCRIPT, clock)
    async with crm.write_connection() as conn:  # the seeded gold customers' leads: not ours
        await conn.execute(
            delete(CampaignLead).where(
                CampaignLead.campaign_id == campaign_id, CampaignLead.e164.not_in(numbers)
            )
        )
    async with running_pbx(scenario(agents=1), channelvars=CHANNELVARS) as pbx:
        app = preview_app(crm, pbx.port, clock)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.agent_screen
            assert screen is not None
            await until(lambda: screen.bar_model.link == "connected")
            await pilot.press("o")
            await until(lambda: isinstance(app.screen, PreviewCallScreen) and app.screen.loads)
            preview = app.screen
            assert isinstance(preview, PreviewCallScreen)
            first = preview.lead
            assert first is not None and first.number in numbers
            script = str(preview.query_one("#pv-script", Static).render())
            assert script == (
                "Hello Customer, this is Demo Agent with a notice about your gold account."
            )
            await pilot.press("l")  # later: the other lead comes
            await until(lambda: preview.lead is not None and preview.lead.lead_id != first.lead_id)
            second = preview.lead
            assert second is not None
            await pilot.press("d")
            await until(lambda: not isinstance(app.screen, PreviewCallScreen))
            await until(lambda: len(originated(pbx)) == 1)
            (request,) = originated(pbx)
            assert request.channel == AGENT  # agent-first: the agent's own phone rings first
            assert ("CC_LEAD", str(second.lead_id)) in request.variables
            await until(lambda: screen.desk.state.phase == "talking", within=30)
            pop = screen.desk.state.pop
            assert pop is not None and pop.campaign is not None
            assert pop.campaign.campaign_id == campaign_id
            assert pop.profile is not None and pop.profile.id == second.customer_id
    async with crm.session() as conn:
        skipped = await conn.scalar(
            select(CampaignLead.status).where(CampaignLead.id == first.lead_id)
        )
        audited = await conn.scalar(
            select(AuditLog.details).where(
                AuditLog.entity_type == "campaign_lead", AuditLog.entity_id == first.lead_id
            )
        )
    assert skipped == "pending" and audited is not None and audited["reason"] == "later"


async def test_no_preview_campaign_says_so_in_one_line(crm: Database) -> None:
    clock = ShiftedClock()
    async with running_pbx(scenario(agents=1), channelvars=CHANNELVARS) as pbx:
        app = preview_app(crm, pbx.port, clock)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.agent_screen
            assert screen is not None
            await until(lambda: screen.bar_model.link == "connected")
            await pilot.press("o")
            await until(
                lambda: any("No preview campaign" in str(n.message) for n in app._notifications)
            )
            assert not isinstance(app.screen, PreviewCallScreen)


async def test_a_call_ringing_closes_the_preview_and_the_lead_waits(crm: Database) -> None:
    """A queue call rings while the agent previews: the preview steps aside (the ring's pop
    must not sit under it, F2 must answer), and ``o`` after it shows the same held lead."""
    clock = ShiftedClock()
    numbers = [number(i) for i in range(2)]
    await add_customers(crm, numbers)
    campaign_id = await start_campaign(crm, campaign_file("Notice", mode="preview") + SCRIPT, clock)
    async with crm.write_connection() as conn:
        await conn.execute(
            delete(CampaignLead).where(
                CampaignLead.campaign_id == campaign_id, CampaignLead.e164.not_in(numbers)
            )
        )
    async with running_pbx(scenario(agents=0), channelvars=CHANNELVARS) as pbx:
        app = preview_app(crm, pbx.port, clock)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await ready_agent(app, pilot)
            await pilot.press("o")
            await until(lambda: isinstance(app.screen, PreviewCallScreen) and app.screen.loads)
            preview = app.screen
            assert isinstance(preview, PreviewCallScreen) and preview.lead is not None
            held = preview.lead.lead_id
            pbx.ring("+14155550123", "Ann", queue="sales")
            await until(lambda: screen.desk.state.phase == "ringing", within=15)
            await until(lambda: not isinstance(app.screen, PreviewCallScreen))
            await pilot.press("f2")
            await until(lambda: screen.desk.state.phase == "talking", within=15)
            await pilot.press("o")  # on a call: preview waits
            await pilot.pause()
            assert not isinstance(app.screen, PreviewCallScreen)
    assert not [r for r in originated(pbx)]  # nothing was dialled
    async with crm.session() as conn:
        status = await conn.scalar(select(CampaignLead.status).where(CampaignLead.id == held))
    assert status == "dialing"  # still held for the agent
