"""The worklist and the supervisor's team view, driven with Pilot over the seeded SQLite CRM.

The app runs without a PBX (`connect=False`); the runtime's clock is fixed, and each test seeds
its own follow-ups (the seeded pending ones are cancelled first, so the lists are known).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from textual.pilot import Pilot
from textual.widgets import Checkbox, DataTable, Input, OptionList, Static

from console.app import CallConsoleApp
from console.cti.ami import AmiClient
from console.cti.tracker import CallTracker
from console.db import Database, open_database
from console.models import AuditLog as AuditRow
from console.models import FollowUp
from console.models.enums import PENDING_FOLLOWUP_STATUSES
from console.screens.agent import AgentScreen
from console.screens.team import PickAgentScreen, TeamScreen
from console.screens.worklist import ReasonScreen, SnoozeScreen, WorklistScreen, parse_duration
from console.services.context import ServiceContext
from console.services.crm.agents import AgentDirectory, AgentIdentity
from console.services.desk.session import AgentSession
from console.widgets.forms import ErrorLine
from tests.factories import add_followup
from tests.ui.conftest import until
from tests.ui.terminal import Notifications

NOW = datetime(2026, 11, 1, 10, 30, tzinfo=UTC)
DEMO, SUPERVISOR, NICHOLSON = 1, 2, 5  # seeded agents: Demo Agent, Sam Supervisor, an agent
SALES, SUPPORT, BILLING = 1, 2, 3  # seeded queues, all served by the demo agent
SIZE = (120, 36)


def clock() -> datetime:
    return NOW


async def session_for(db: Database, agent_id: int = DEMO) -> AgentSession:
    agent = await AgentDirectory(db).get(agent_id)
    assert agent is not None
    return make_runtime(db, agent)


def make_runtime(db: Database, agent: AgentIdentity) -> AgentSession:
    return AgentSession(
        ctx=ServiceContext(db=db, clock=clock),
        cti=AmiClient("127.0.0.1", 1, "agent", "x", tracker=CallTracker(agent.interface)),
        agent_id=agent.id,
        interface=agent.interface,
        member_name=agent.member_name,
        queues=("support",),
        agent=agent,
    )


async def followup(db: Database, fid: int) -> Any:
    async with db.session() as session:
        return (await session.execute(select(FollowUp).where(FollowUp.id == fid))).scalar_one()


async def audit(db: Database, action: str) -> list[int]:
    async with db.session() as session:
        rows = await session.scalars(
            select(AuditRow.entity_id)
            .where(AuditRow.entity_type == "followup", AuditRow.action == action)
            .order_by(AuditRow.entity_id)
        )
        return [int(fid) for fid in rows if fid is not None]


async def seed(db: Database) -> dict[str, int]:
    """The seeded pending follow-ups cancelled; then, for the demo agent at NOW (10:30):

    available: billing P1 due 10:25 (SLA in 1h05m), support P2 due 10:00 (SLA 12m overdue),
    sales P3 due in 25m; mine: one claimed (due 9:30), one assigned callback (due in 2h);
    another agent's own follow-up, which the demo agent never sees.
    """
    async with db.write_connection() as conn:
        await conn.execute(
            update(FollowUp)
            .where(FollowUp.status.in_(PENDING_FOLLOWUP_STATUSES))
            .values(status="cancelled")
        )
    return {
        "billing": await add_followup(
            db,
            NOW,
            summary="Refund the double charge",
            target_queue_id=BILLING,
            priority=1,
            due_at=NOW - timedelta(minutes=5),
            sla_due_at=NOW + timedelta(minutes=65),
            customer_id=1,
        ),
        "support": await add_followup(
            db,
            NOW,
            kind="escalation",
            summary="Router keeps dropping",
            target_queue_id=SUPPORT,
            priority=2,
            due_at=NOW - timedelta(minutes=30),
            sla_due_at=NOW - timedelta(minutes=12),
            escalation_level=1,
        ),
        "sales": await add_followup(
            db,
            NOW,
            summary="Quote for 20 seats",
            target_queue_id=SALES,
            due_at=NOW + timedelta(minutes=25),
            sla_due_at=NOW + timedelta(days=1),
        ),
        "claimed": await add_followup(
            db,
            NOW,
            summary="Confirm the new address",
            target_queue_id=SUPPORT,
            status="claimed",
            claimed_by=DEMO,
            claimed_at=NOW - timedelta(minutes=2),
            lease_expires_at=NOW + timedelta(minutes=5),
            due_at=NOW - timedelta(hours=1),
        ),
        "assigned": await add_followup(
            db,
            NOW,
            kind="callback",
            summary="Call back about the contract",
            target_agent_id=DEMO,
            attempts=1,
            due_at=NOW + timedelta(hours=2),
            customer_id=2,
        ),
        "other": await add_followup(
            db, NOW, summary="Not yours", target_agent_id=NICHOLSON, agent_only=True
        ),
    }


def keys(screen: WorklistScreen, table: str) -> list[int]:
    return [int(key) for key in screen.items[table]]


def current_id(screen: WorklistScreen) -> int | None:
    item = screen.current()
    return None if item is None else item.id


def row_text(table: DataTable[Any], fid: int) -> list[str]:
    return [str(value) for value in table.get_row(str(fid))]


async def open_worklist(app: CallConsoleApp, pilot: Pilot[None]) -> WorklistScreen:
    await until(lambda: isinstance(app.screen, AgentScreen))
    await pilot.press("w")
    await until(lambda: isinstance(app.screen, WorklistScreen) and app.screen.loads > 0)
    screen = app.screen
    assert isinstance(screen, WorklistScreen)
    await pilot.pause()
    return screen


async def reloaded(screen: WorklistScreen | TeamScreen, pilot: Pilot[None], loads: int) -> None:
    await until(lambda: screen.loads > loads)
    await pilot.pause()


# ---------------------------------------------------------------------- the worklist


async def test_both_lists_in_order_with_due_sla_and_state(crm: Database) -> None:
    ids = await seed(crm)
    app = CallConsoleApp(runtime=await session_for(crm), connect=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_worklist(app, pilot)
        # Due ones by priority, then upcoming; the assigned callback is in Mine only.
        assert keys(screen, "available") == [ids["billing"], ids["support"], ids["sales"]]
        assert keys(screen, "mine") == [ids["claimed"], ids["assigned"]]
        available = screen.query_one("#available", DataTable)
        billing = row_text(available, ids["billing"])
        assert billing[0] == "P1" and billing[4] == "5m ago" and billing[5] == "1h05m left"
        support = available.get_row(str(ids["support"]))
        assert str(support[5]) == "overdue 12m" and "red" in str(support[5].style)
        assert row_text(available, ids["support"])[6] == "escalated L1"
        assert row_text(available, ids["sales"])[4] == "in 25m"
        mine = screen.query_one("#mine", DataTable)
        assert row_text(mine, ids["claimed"])[6] == "claimed to 10:35"
        callback = row_text(mine, ids["assigned"])
        assert callback[1] == "callback" and callback[6] == "assigned" and callback[7] == "1"
        assert callback[4] == "in 2h00m"
        assert ids["other"] not in keys(screen, "available") + keys(screen, "mine")

        # Keys follow the highlighted row: a held one can be worked, not accepted.
        assert current_id(screen) == ids["claimed"]
        assert screen.check_action("done", ()) and not screen.check_action("accept", ())

        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, AgentScreen))


async def test_accept_moves_a_row_to_mine_and_next_takes_the_first_due(crm: Database) -> None:
    ids = await seed(crm)
    app = CallConsoleApp(runtime=await session_for(crm), connect=False)
    notified = Notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_worklist(app, pilot)
        screen.query_one("#available", DataTable).focus()
        await pilot.press("down")  # the overdue support escalation
        assert screen.check_action("accept", ()) and not screen.check_action("done", ())
        loads = screen.loads
        await pilot.press("a")
        await reloaded(screen, pilot, loads)
        row = await followup(crm, ids["support"])
        assert row.status == "claimed" and row.claimed_by == DEMO
        assert ids["support"] in keys(screen, "mine")
        assert ids["support"] not in keys(screen, "available")
        assert current_id(screen) == ids["support"]

        loads = screen.loads
        await pilot.press("n")  # the billing P1: the only due one left
        await reloaded(screen, pilot, loads)
        assert (await followup(crm, ids["billing"])).claimed_by == DEMO
        assert keys(screen, "available") == [ids["sales"]]

        loads = screen.loads
        await pilot.press("n")  # the sales one is not due until 10:55
        await reloaded(screen, pilot, loads)
        assert "Nothing due for you" in notified.messages()
        assert (await followup(crm, ids["sales"])).status == "pending"


async def test_done_with_a_note(crm: Database) -> None:
    ids = await seed(crm)
    app = CallConsoleApp(runtime=await session_for(crm), connect=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_worklist(app, pilot)
        await pilot.press("d")
        await until(lambda: isinstance(app.screen, ReasonScreen))
        await pilot.press(*"address confirmed", "enter")
        await until(lambda: ids["claimed"] not in keys(screen, "mine"))
        row = await followup(crm, ids["claimed"])
        assert row.status == "done" and row.completed_at is not None
        assert await audit(crm, "complete") == [ids["claimed"]]


async def test_snooze_refuses_a_bad_duration_then_hides_the_item(crm: Database) -> None:
    ids = await seed(crm)
    app = CallConsoleApp(runtime=await session_for(crm), connect=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_worklist(app, pilot)
        await pilot.press("s")
        await until(lambda: isinstance(app.screen, SnoozeScreen))
        dialog = app.screen
        await pilot.press(*"3x", "tab", *"customer is travelling", "enter")
        error = dialog.query_one(ErrorLine)
        assert error.message == "“3x” is not a duration: write e.g. 30m, 2h or 1d"
        assert app.screen is dialog  # still asking
        row = await followup(crm, ids["claimed"])
        assert row.status == "claimed" and row.snoozed_until is None

        for_input = dialog.query_one("#for", Input)
        for_input.value = "2h"
        for_input.focus()
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, WorklistScreen))
        await until(lambda: ids["claimed"] not in keys(screen, "mine"))
        row = await followup(crm, ids["claimed"])
        assert row.status == "pending" and row.claimed_by is None
        assert row.snoozed_until == NOW + timedelta(hours=2)
        assert row.snooze_reason == "customer is travelling"
        assert ids["claimed"] not in keys(screen, "available")  # hidden until 12:30


async def test_hand_back_needs_a_reason(crm: Database) -> None:
    ids = await seed(crm)
    app = CallConsoleApp(runtime=await session_for(crm), connect=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_worklist(app, pilot)
        await pilot.press("h")
        await until(lambda: isinstance(app.screen, ReasonScreen))
        dialog = app.screen
        await pilot.press("enter")
        assert dialog.query_one(ErrorLine).message == "Reason is required"
        assert app.screen is dialog
        assert (await followup(crm, ids["claimed"])).status == "claimed"

        await pilot.press(*"wrong queue", "enter")
        await until(lambda: ids["claimed"] in keys(screen, "available"))
        row = await followup(crm, ids["claimed"])
        assert row.status == "pending" and row.claimed_by is None
        assert await audit(crm, "hand_back") == [ids["claimed"]]


async def test_a_refused_claim_is_one_message(crm: Database) -> None:
    ids = await seed(crm)
    app = CallConsoleApp(runtime=await session_for(crm), connect=False)
    notified = Notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_worklist(app, pilot)
        screen.query_one("#available", DataTable).focus()
        await pilot.pause()
        # Someone else takes the billing item after the list was read.
        async with crm.write_connection() as conn:
            await conn.execute(
                update(FollowUp)
                .where(FollowUp.id == ids["billing"])
                .values(
                    status="claimed",
                    claimed_by=NICHOLSON,
                    lease_expires_at=NOW + timedelta(minutes=5),
                )
            )
        loads = screen.loads
        await pilot.press("enter")
        await reloaded(screen, pilot, loads)
        assert (
            f"follow-up {ids['billing']} is already claimed by Anthony Nicholson"
            in notified.messages()
        )
        assert ids["billing"] not in keys(screen, "available")


async def test_the_lists_refresh_by_themselves_and_keep_the_cursor(crm: Database) -> None:
    ids = await seed(crm)
    runtime = await session_for(crm)
    app = CallConsoleApp(runtime=runtime, connect=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: isinstance(app.screen, AgentScreen))
        screen = WorklistScreen(runtime.worklist, agent_id=DEMO, clock=clock, refresh_seconds=0.2)
        await app.push_screen(screen)
        await until(lambda: screen.loads > 0)
        available = screen.query_one("#available", DataTable)
        available.focus()
        available.move_cursor(row=2)
        await pilot.pause()
        assert current_id(screen) == ids["sales"]
        urgent = await add_followup(
            crm, NOW, summary="Outage callback", target_queue_id=SUPPORT, priority=1
        )
        await until(lambda: urgent in keys(screen, "available"))
        assert keys(screen, "available")[0] == urgent
        assert current_id(screen) == ids["sales"]


# ---------------------------------------------------------------------- the team view


async def test_agents_have_no_team_view(crm: Database) -> None:
    await seed(crm)
    app = CallConsoleApp(runtime=await session_for(crm), connect=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: isinstance(app.screen, AgentScreen))
        shown = {b.binding.key for b in app.screen.active_bindings.values()}
        assert "w" in shown and "t" not in shown
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, AgentScreen)


async def test_a_supervisor_reassigns_two_follow_ups(crm: Database) -> None:
    ids = await seed(crm)
    app = CallConsoleApp(runtime=await session_for(crm, SUPERVISOR), connect=False)
    notified = Notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: isinstance(app.screen, AgentScreen))
        assert "t" in {b.binding.key for b in app.screen.active_bindings.values()}
        await pilot.press("t")
        await until(lambda: isinstance(app.screen, TeamScreen) and app.screen.loads > 0)
        team = app.screen
        assert isinstance(team, TeamScreen)
        await pilot.pause()
        order = [int(key) for key in team.items]
        assert order[0] == ids["support"]  # overdue first
        assert set(order) == set(ids.values())
        table = team.query_one(DataTable)
        assert str(table.get_row(str(ids["other"]))[-2]) == "→ Anthony Nicholson"

        await pilot.press("space", "down", "space")
        chosen = sorted(order[:2])
        assert team.marked == {str(fid) for fid in chosen}
        assert str(table.get_row(str(order[0]))[0]) == "✓"
        await pilot.press("R")
        await until(lambda: isinstance(app.screen, PickAgentScreen))
        options = app.screen.query_one(OptionList)
        options.highlighted = options.get_option_index(str(NICHOLSON))
        loads = team.loads
        await pilot.press("enter")
        await reloaded(team, pilot, loads)
        assert "Reassigned 2 follow-ups to Anthony Nicholson" in notified.messages()
        for fid in chosen:
            row = await followup(crm, fid)
            assert row.target_agent_id == NICHOLSON and row.status == "pending"
        assert await audit(crm, "reassign") == chosen
        assert not team.marked

        # Only overdue ones; Escape goes back to the agent screen.
        team.query_one("#overdue-only", Checkbox).toggle()
        await until(lambda: [int(key) for key in team.items] == [ids["support"]])
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, AgentScreen))


async def test_select_all_then_escape_clears_before_leaving(crm: Database) -> None:
    ids = await seed(crm)
    app = CallConsoleApp(runtime=await session_for(crm, SUPERVISOR), connect=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: isinstance(app.screen, AgentScreen))
        await pilot.press("t")
        await until(lambda: isinstance(app.screen, TeamScreen) and app.screen.loads > 0)
        team = app.screen
        assert isinstance(team, TeamScreen)
        await pilot.press("A")
        assert team.marked == {str(fid) for fid in ids.values()}
        await pilot.press("escape")
        assert not team.marked and app.screen is team
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, AgentScreen))


# ---------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        (" 1h 30m ", timedelta(minutes=90)),
        ("2H", timedelta(hours=2)),
    ],
)
def test_durations(text: str, length: timedelta) -> None:
    assert parse_duration(text) == length


@pytest.mark.parametrize("text", ["", "30", "3x", "m", "-2h", "0m", "31d", "1h junk", "1.5h"])
def test_bad_durations_are_one_clear_line(text: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_duration(text)
    assert "\n" not in str(refused.value) and str(refused.value)


# ---------------------------------------------------------------------- snapshot


def test_snapshot_worklist(snap_compare: Any, crm_copy: Path) -> None:
    async def prepare() -> AgentIdentity:
        seeding = open_database(f"sqlite:///{crm_copy}")
        try:
            await seed(seeding)
            agent = await AgentDirectory(seeding).get(DEMO)
        finally:
            await seeding.dispose()
        assert agent is not None
        return agent

    agent = asyncio.run(prepare())
    runtime = make_runtime(open_database(f"sqlite:///{crm_copy}"), agent)
    app = CallConsoleApp(runtime=runtime, connect=False)

    async def open_it(pilot: Pilot[None]) -> None:
        await open_worklist(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=open_it)


# ---------------------------------------------------------------------- due times and overdue


async def one_rule_followups(db: Database) -> dict[str, int]:
    """Callbacks for the supervisor about customer 1 (nothing else pending): one due a while
    ago with its SLA ahead, one whose SLA deadline is now (overdue: no grace), one upcoming."""
    async with db.write_connection() as conn:
        await conn.execute(
            update(FollowUp)
            .where(FollowUp.status.in_(PENDING_FOLLOWUP_STATUSES))
            .values(status="cancelled")
        )
    common = {"kind": "callback", "customer_id": 1, "target_agent_id": SUPERVISOR}
    return {
        "due": await add_followup(
            db,
            NOW,
            **common,
            summary="Due, SLA ahead",
            due_at=NOW - timedelta(minutes=35),
            sla_due_at=NOW + timedelta(hours=1),
        ),
        "overdue": await add_followup(
            db,
            NOW,
            **common,
            summary="SLA out now",
            due_at=NOW - timedelta(hours=2),
            sla_due_at=NOW,
        ),
        "upcoming": await add_followup(
            db,
            NOW,
            **common,
            summary="Later today",
            due_at=NOW + timedelta(hours=2, minutes=10),
            sla_due_at=NOW + timedelta(days=1),
        ),
    }


async def test_a_follow_up_reads_the_same_and_is_overdue_alike_on_every_screen(
    crm: Database,
) -> None:
    from console.screens.callback_offer import CallbackOfferScreen
    from console.screens.customer import CustomerScreen
    from console.services.desk.desk import DeskState
    from console.widgets.format import LEVEL_CONTENT_STYLES, LEVEL_STYLES
    from console.widgets.tables import FollowUpTable

    ids = await one_rule_followups(crm)
    expected = {"due": "35m ago", "overdue": "2h00m ago", "upcoming": "in 2h10m"}
    levels = {"due": "warning", "overdue": "error", "upcoming": ""}
    summaries = {"due": "Due, SLA ahead", "overdue": "SLA out now", "upcoming": "Later today"}
    app = CallConsoleApp(runtime=await session_for(crm, SUPERVISOR), connect=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: isinstance(app.screen, AgentScreen))
        agent = app.screen
        assert isinstance(agent, AgentScreen)

        # The agent screen's follow-ups (customer 1's pop).
        pop = await agent.runtime.screenpop.for_customer(1)
        agent.show(DeskState(None, pop))
        rows = agent.query_one(FollowUpTable).rows
        by_summary = {row[3][0]: row[0] for row in rows}
        for name, summary in summaries.items():
            assert by_summary[summary] == (expected[name], LEVEL_CONTENT_STYLES[levels[name]])

        # The worklist: the same words and the same level; "overdue" in the SLA column alone.
        worklist = await open_worklist(app, pilot)
        mine = worklist.query_one("#mine", DataTable)
        for name, fid in ids.items():
            due, sla = mine.get_row(str(fid))[4:6]
            assert (str(due), str(due.style)) == (expected[name], LEVEL_STYLES[levels[name]])
            assert ("overdue" in str(sla)) is (name == "overdue")
        items = {item.id: item for item in worklist.items["mine"].values()}
        await pilot.press("escape")

        # The callback prompt says "overdue" exactly for the one the team view counts.
        for name, fid in ids.items():
            offer = CallbackOfferScreen(items[fid], NOW)
            await app.push_screen(offer)
            timing = offer.query_one("#offer-timing", Static).render()
            assert f"due {expected[name]}" in str(timing)
            assert ("overdue" in str(timing)) is (name == "overdue")
            offer.dismiss(None)
            await until(lambda: app.screen is agent)

        await pilot.press("t")
        await until(lambda: isinstance(app.screen, TeamScreen) and app.screen.loads > 0)
        team = app.screen
        assert isinstance(team, TeamScreen)
        await pilot.pause()
        assert {name: team.items[str(fid)].overdue for name, fid in ids.items()} == {
            "due": False,
            "overdue": True,
            "upcoming": False,
        }
        table = team.query_one(DataTable)
        for name, fid in ids.items():
            assert str(table.get_row(str(fid))[5]) == expected[name]  # the same Due text
        assert "1 overdue" in str(team.query_one("#team-title", Static).render())
        loads = team.loads
        team.query_one("#overdue-only", Checkbox).toggle()
        await reloaded(team, pilot, loads)
        assert list(team.items) == [str(ids["overdue"])]
        await pilot.press("escape")
        await until(lambda: app.screen is agent)

        # The customer view's pending follow-ups: the same words again.
        agent.open_customer(1)
        await until(lambda: isinstance(app.screen, CustomerScreen) and app.screen.profile)
        await pilot.pause()
        body = str(app.screen.query_one("#cust-profile-body", Static).render())
        for name in ids:
            assert f"{expected[name]:<10}  callback  {summaries[name]}" in body
