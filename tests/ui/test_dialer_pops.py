"""Progressive and predictive calls placed by the real dialer pop on the agent's console with
the campaign's script (issue 18: "Pilot tests of preview, progressive and predictive calls
popping with the script"; preview: tests/ui/test_preview_dialing.py). The dialer runs on its
own AMI session against the simulator; the agent's desk phone auto-answers the campaign
queue's calls (the queue's ``autoanswer``, as predictive agents' headsets do), so the live
answer reaches them within Queue()'s 2 s whatever the machine's speed."""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from console.db import Database
from console.models import CampaignLead
from console.widgets.profile_card import ProfileCard
from tests.dialer_support import (
    CHANNELVARS,
    CONTEXT,
    ShiftedClock,
    add_customers,
    campaign_file,
    number,
    running_dialer,
    start_campaign,
)
from tests.factories import ready_agent
from tests.pbx import running_pbx
from tests.ui.conftest import until
from tests.ui.test_preview_dialing import preview_app

SCRIPT = """
[script]
text = "Hello {first_name}, this is {agent} about your {tier} account."
"""
# The campaign queue: the agent's phone only (no bots), answering by itself in 0.3 s.
SCENARIO = f"""
name = "dialer-pops"
[[queues]]
name = "sales"
extension = "700"
timeout = 15
autoanswer = 0.3
[outbound]
answer = 1
ring_seconds = [0.3, 0.6]
talk_time = 60
[[outbound.campaigns]]
context = "{CONTEXT}"
queue = "sales"
queue_timeout = 2
message_seconds = 1
safe_harbor_seconds = 1
"""


@pytest.mark.parametrize("mode", ["progressive", "predictive"])
async def test_a_dialled_call_pops_with_the_campaigns_script(crm: Database, mode: str) -> None:
    clock = ShiftedClock()
    numbers = [number(i) for i in range(3)]
    customers = await add_customers(crm, numbers)
    body = campaign_file("Notice", mode=mode) + SCRIPT
    campaign_id = await start_campaign(crm, body, clock)
    async with crm.write_connection() as conn:  # the seeded gold customers' leads: not ours
        await conn.execute(
            delete(CampaignLead).where(
                CampaignLead.campaign_id == campaign_id, CampaignLead.e164.not_in(numbers)
            )
        )
    async with running_pbx(SCENARIO, channelvars=CHANNELVARS) as pbx:
        app = preview_app(crm, pbx.port, clock)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await ready_agent(app, pilot)
            async with running_dialer(crm, pbx, clock):
                await until(lambda: screen.desk.state.phase == "talking", within=30)
                card = screen.query_one(ProfileCard)
                pop = screen.desk.state.pop
                assert pop is not None and pop.campaign is not None
                assert pop.campaign.campaign_id == campaign_id
                assert pop.profile is not None and pop.profile.id in customers
                shown = str(card.render())
                assert "Campaign Notice" in shown
                assert "Hello Customer, this is Demo Agent about your gold account." in shown
