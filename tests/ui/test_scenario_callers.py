"""The shipped scenarios' callers pop as their scenario says, in a CRM seeded with any seed."""

from __future__ import annotations

import asyncio
import random
from datetime import date
from pathlib import Path

import pytest

from console.app import CallConsoleApp
from console.db import open_database
from console.factory import ConsoleContext, PbxAddress
from console.services.seeding.seeding import SeedPlan, seed_database
from console.services.training.training import Trainee, TrainingService
from console.widgets.profile_card import ProfileCard
from tests.pbx import running_pbx
from tests.ui.conftest import FAST, until
from tests.ui.test_agent_console import ready_agent
from tests.ui.test_training_runs import FLOOR


@pytest.mark.timeout(120)
async def test_the_platinum_scenario_pops_a_platinum_customer_whatever_the_seed(
    tmp_path: Path,
) -> None:
    seed = random.randrange(1, 2**31)
    path = tmp_path / "crm.db"
    crm = open_database(f"sqlite:///{path}")
    try:
        plan = SeedPlan(customers=60, seed=seed, as_of=date(2026, 11, 1), agents=4)
        await seed_database(crm, plan)
        async with running_pbx(FLOOR, crm_db=path, speed=4.0) as pbx:
            context = ConsoleContext(
                db=crm, pbx=PbxAddress("127.0.0.1", pbx.port, "agent", "s3cret"), timings=FAST
            )
            agent = await context.agents.authenticate("demo", "demo")
            assert agent is not None
            runtime = await context.session_for(agent)
            app = CallConsoleApp(runtime=runtime)
            training = TrainingService(crm)
            async with app.run_test(size=(120, 40)) as pilot:
                screen = await ready_agent(app, pilot)
                trainees: list[Trainee] = []
                async with asyncio.timeout(10):
                    while not trainees:
                        trainees = await training.trainees()
                        await asyncio.sleep(0.1)
                run = await training.start(
                    runtime.cti,
                    trainer_id=None,
                    trainee=trainees[0],
                    scenario_key="platinum_billing_dispute",
                    lead=0.5,
                )
                card = screen.query_one(ProfileCard)
                await until(
                    lambda: screen.desk.state.phase == "ringing" and card.pop is not None,
                    within=60,
                )
                pop = card.pop
                assert pop is not None and pop.profile is not None, f"seed {seed}"
                assert (pop.profile.tier, pop.profile.id) == ("platinum", 1), f"seed {seed}"
                assert len(pop.matches) == 1  # the number is theirs alone: no picker
                await training.stop(runtime.cti, run.id)
    finally:
        await crm.dispose()
