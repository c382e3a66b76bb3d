"""A campaign call in the agent console end to end: the simulator dials the list's customer
first (Originate customer-first with CC_CAMPAIGN / CC_LEAD, as the dialer sends it), the
answered call reaches the agent through the campaign's queue, the agent asks the survey with
``v``, hangs up and wraps up with the campaign's dispositions: a sale with its amount, or a
call back with a time while the database is read-only (journaled, then applied once)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from textual.widgets import Input, Select

from console.db import Database
from console.screens.survey import SurveyScreen
from console.screens.wrapup import WrapUpScreen
from telephony_sim.outbound import OriginateRequest
from tests.campaign_calls import connect, lead_of, sales_campaign
from tests.db_faults import SqliteFaults
from tests.factories import agent_console_app, ready_agent, wrap_up_ready
from tests.pbx import Pbx, running_pbx
from tests.ui.conftest import until
from tests.ui.terminal import Notifications

CAMPAIGN_VARS = ("CC_CAMPAIGN", "CC_LEAD")  # manager.conf [general] channelvars


def rows(path: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(path)
    try:
        return [tuple(r) for r in con.execute(sql, args).fetchall()]
    finally:
        con.close()


async def campaign_call(db: Database, pbx: Pbx) -> tuple[int, int, int, int, str]:
    """A campaign over the seeded CRM plus three new gold customers; the dialer's hand-off for
    one of them (dialing, a connected attempt) and the customer-first Originate the dialer
    sends. (campaign, lead, attempt, customer, number)."""
    now = datetime.now(UTC)
    camp = await sales_campaign(db, now)
    customer = camp.customers[1]
    lead = await lead_of(db, camp.id, customer)
    attempt = await connect(db, camp.id, lead, uniqueid="", placed_at=now)
    number = "+14155550001"
    pbx.engine.outbound_outcome(number, "answer")
    pbx.engine.originate(
        OriginateRequest(
            channel=f"PJSIP/{number}@trunk",
            exten=number,
            application="Queue",
            data="sales,,,,30",
            caller_id='"Acme" <+14155550999>',
            action_id="dial-1",
            variables=(("CC_CAMPAIGN", str(camp.id)), ("CC_LEAD", str(lead))),
        )
    )
    return camp.id, lead, attempt, customer, number


async def test_a_campaign_call_is_sold_from_the_wrap_up(crm: Database) -> None:
    assert crm.sqlite_path is not None
    path = crm.sqlite_path
    async with running_pbx(channelvars=CAMPAIGN_VARS) as pbx:
        app = agent_console_app(crm, pbx.port, queues=("sales",))
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await ready_agent(app, pilot)
            campaign, lead, attempt, customer, _ = await campaign_call(crm, pbx)
            await until(lambda: screen.desk.state.phase == "ringing", within=30)
            pop = screen.desk.state.pop
            assert pop is not None and pop.campaign is not None
            assert pop.campaign.campaign_id == campaign and pop.profile is not None
            assert pop.profile.id == customer
            await pilot.press("f2")
            await until(lambda: screen.desk.state.phase == "talking", within=30)

            await pilot.press("v")  # the survey: "yes" skips "why", then the score
            await until(lambda: isinstance(app.screen, SurveyScreen) and app.screen.is_mounted)
            for answer in ("y", "9"):
                app.screen.query_one(Input).value = answer
                await pilot.press("enter")
                await pilot.pause()
            await until(lambda: not isinstance(app.screen, SurveyScreen))

            await pilot.press("f5")
            await until(lambda: wrap_up_ready(app), within=30)
            wrap = app.screen
            assert isinstance(wrap, WrapUpScreen)
            offered = [str(label) for label, _ in wrap.query_one("#disposition", Select)._options]
            assert offered[1:4] == ["1  Sale", "2  Not interested", "3  Call back later"]
            assert not wrap.query_one("#followup-row").display  # the list's retry instead
            assert not wrap.query_one("#sale-row").display
            await pilot.press("1")  # Sale: the cursor goes to the amount
            assert wrap.query_one("#sale-row").display
            assert wrap.focused is wrap.query_one("#sale-amount", Input)
            await pilot.press("ctrl+s")  # no amount yet: one line, nothing saved
            await pilot.pause()
            assert isinstance(app.screen, WrapUpScreen)
            for key in "129.90":
                await pilot.press(key)
            await pilot.press("ctrl+s")
            await until(lambda: not wrap_up_ready(app), within=30)

    sold = rows(path, "SELECT customer_id, amount_cents, currency, dial_attempt_id FROM sales")
    currency = rows(path, "SELECT currency FROM customers WHERE id = ?", customer)[0][0]
    assert sold == [(customer, 12_990, currency, attempt)]
    assert rows(path, "SELECT lifetime_value_cents, rfm_recency FROM customers WHERE id = ?",
                customer) == [(12_990, 5)]  # fmt: skip
    assert rows(path, "SELECT status, last_outcome FROM campaign_leads WHERE id = ?", lead) == [
        ("done", "right_party")
    ]
    assert rows(path, "SELECT agent_id, disposition FROM dial_attempts WHERE id = ?", attempt) == [
        (1, "sale")
    ]
    assert sorted(rows(path, "SELECT question, answer FROM survey_answers")) == [
        ("happy", "yes"),
        ("score", "9"),
    ]
    (row,) = rows(
        path, "SELECT direction, campaign_id, lead_id, disposition, status FROM interactions "
        "WHERE campaign_id IS NOT NULL",
    )  # fmt: skip
    assert row == ("outbound", campaign, lead, "sale", "completed")


async def test_a_campaign_wrap_up_during_an_outage_settles_its_lead_once(crm: Database) -> None:
    assert crm.sqlite_path is not None
    path = crm.sqlite_path
    async with running_pbx(channelvars=CAMPAIGN_VARS) as pbx:
        app = agent_console_app(crm, pbx.port, queues=("sales",))
        notified = Notifications(app)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await ready_agent(app, pilot)
            _campaign, lead, attempt, _customer, _ = await campaign_call(crm, pbx)
            await until(lambda: screen.desk.state.phase == "ringing", within=30)
            await pilot.press("f2")
            await until(lambda: screen.desk.state.phase == "talking", within=30)
            faults = SqliteFaults(crm)
            await faults.set("readonly")
            try:
                await pilot.press("f5")
                await until(lambda: wrap_up_ready(app), within=30)
                wrap = app.screen
                assert isinstance(wrap, WrapUpScreen)
                await pilot.press("3")  # Call back later: the cursor goes to the time
                assert wrap.focused is wrap.query_one("#retry-at", Input)
                for key in "+2h":
                    await pilot.press(key)
                submitted = datetime.now(UTC)
                await pilot.press("ctrl+s")
                await until(lambda: not wrap_up_ready(app), within=30)
                assert notified.any("unavailable")
                assert rows(path, "SELECT status FROM campaign_leads WHERE id = ?", lead) == [
                    ("dialing",)
                ]  # nothing reached the database yet
            finally:
                await faults.close()
            await until(lambda: notified.any("Database back"), within=30)

    (status, outcome, due_us), = rows(
        path, "SELECT status, last_outcome, next_attempt_at FROM campaign_leads WHERE id = ?", lead
    )  # fmt: skip
    due = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=due_us)
    assert (status, outcome) == ("pending", "no_answer")
    assert submitted + timedelta(hours=2) - timedelta(minutes=1) <= due
    assert due <= submitted + timedelta(hours=2, minutes=1)
    assert rows(path, "SELECT disposition FROM dial_attempts WHERE id = ?", attempt) == [
        ("callback",)
    ]
    assert rows(path, "SELECT count(*) FROM sales") == [(0,)]
