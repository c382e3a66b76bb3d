"""The supervisor's campaign board: its figures from the database (today's dials, the 30-day
abandon rate against the cap, pacing, agents, the list left), the screen reached from the
wallboard with ``c``, pause and resume from it, and its snapshot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.text import Text
from sqlalchemy import insert, select, update
from textual.app import App
from textual.widgets import DataTable

from console.app import WallboardApp
from console.db import Database, open_database
from console.factory import PbxAddress, build_live
from console.models import Agent, Campaign, CampaignLead, ConsoleSession, DialAttempt
from console.schema import upgrade
from console.screens.campaign_board import CampaignBoardScreen
from console.services.outbound.board import CampaignBoard
from console.services.outbound.campaigns import CampaignService, load_campaign_file
from tests.campaign_calls import SALES_FILE, sales_campaign
from tests.ui.conftest import until

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


async def board_data(db: Database) -> tuple[int, int]:
    """Winback running with today's dials, older ones and agents; Quiet paused; a draft."""
    camp = await sales_campaign(db, NOW)
    service = CampaignService(db, clock=lambda: NOW)
    quiet = SALES_FILE.replace('"Winback"', '"Quiet"').replace('queue = "sales"', 'queue = "x"')
    await service.create(load_campaign_file("q.toml", quiet), agent_id=None)
    await service.start("Quiet", agent_id=None)
    await service.pause("Quiet", agent_id=None)
    draft = SALES_FILE.replace('"Winback"', '"Draft"')
    await service.create(load_campaign_file("d.toml", draft), agent_id=None)
    async with db.write_connection() as conn:
        leads = list(
            (
                await conn.scalars(
                    select(CampaignLead.id).where(CampaignLead.campaign_id == camp.id)
                )
            ).all()
        )
        await conn.execute(
            update(CampaignLead).where(CampaignLead.id == leads[0]).values(status="done")
        )

        async def dial(ago: timedelta, outcome: str, **more: Any) -> None:
            await conn.execute(
                insert(DialAttempt).values(
                    campaign_id=camp.id,
                    lead_id=leads[0],
                    e164="+14155550000",
                    placed_at=NOW - ago,
                    outcome=outcome,
                    abandoned=outcome == "abandoned",
                    ended_at=None if outcome == "" else NOW - ago + timedelta(minutes=1),
                    **more,
                )
            )

        hour = timedelta(hours=1)
        await dial(hour, "connected", connected_at=NOW - hour, disposition="sale")
        await dial(hour, "connected", connected_at=NOW - hour, disposition="wrong_party")
        await dial(hour, "noanswer")
        await dial(hour, "abandoned")
        await dial(timedelta(seconds=20), "")  # in flight
        await dial(hour, "refused")  # placed nothing: not a dial
        for _ in range(5):
            await dial(timedelta(days=10), "connected", connected_at=NOW - timedelta(days=10))
        for _ in range(3):  # outside the 30 days
            await dial(timedelta(days=40), "abandoned")
        # Agents: Sam alive in "sales"; Bob's console silent for 5 min; Cy in another queue.
        ids = {camp.agent_id: ["sales"]}
        for login, queues in (("bob", ["sales"]), ("cy", ["support"])):
            aid = await conn.scalar(
                insert(Agent).values(login=login, display_name=login).returning(Agent.id)
            )
            ids[int(aid or 0)] = queues
        for n, (aid, queues) in enumerate(ids.items()):
            beat = NOW - (timedelta(minutes=5) if queues == ["sales"] and n else timedelta(0))
            await conn.execute(
                update(Agent)
                .where(Agent.id == aid)
                .values(presence="ready", heartbeat_at=beat, presence_at=beat)
            )
            await conn.execute(
                insert(ConsoleSession).values(
                    id=f"s{aid}", agent_id=aid, started_at=NOW - hour, details={"queues": queues}
                )
            )
    return camp.id, camp.agent_id


async def test_the_boards_figures(db: Database) -> None:
    await board_data(db)
    tiles = await CampaignBoard(db, clock=lambda: NOW, tz=UTC).tiles()
    assert [(t.name, t.status) for t in tiles] == [
        ("Draft", "draft"),
        ("Quiet", "paused"),
        ("Winback", "running"),
    ]
    _draft, quiet, winback = tiles
    today = winback.today
    assert (today.dialled, today.connected, today.right_party, today.conversions) == (5, 2, 1, 1)
    # 30 days: live answers = 2 + 5 connected + 1 abandoned; the 40-day-old abandons are out.
    assert (winback.live_30d, winback.abandoned_30d) == (8, 1)
    assert winback.abandon_rate == 1 / 8 and winback.abandon_cap == 0.03
    assert (winback.in_flight, winback.agents, winback.pacing) == (1, 1, 1.0)
    assert winback.remaining == 2
    assert (quiet.agents, quiet.pacing, quiet.abandon_rate, quiet.remaining) == (0, None, None, 3)


async def test_the_board_from_the_wallboard_pauses_and_resumes(db: Database) -> None:
    campaign_id, supervisor = await board_data(db)
    board = CampaignBoard(db, clock=lambda: NOW, tz=UTC, agent_id=supervisor)
    live = build_live(PbxAddress("127.0.0.1", 1, "x", "x"), campaigns=board)
    app = WallboardApp(live, connect=False)
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.press("c")
        await until(lambda: isinstance(app.screen, CampaignBoardScreen))
        screen = app.screen
        assert isinstance(screen, CampaignBoardScreen)
        await until(lambda: screen.loads >= 1)
        table = screen.query_one(DataTable)
        first = [table.get_cell_at((2, c)) for c in range(len(table.columns))]
        assert [str(c) for c in first[:6]] == ["Winback", "running", "5", "2", "1", "1"]
        abandon = first[6]
        assert isinstance(abandon, Text) and str(abandon) == "12.5% (1/8) / 3.0%"
        assert "red" in str(abandon.style)  # over the cap
        assert [str(c) for c in first[7:]] == ["1.0", "1", "1", "2"]

        await pilot.press("down", "down")  # (the cursor starts on Draft, the first row)
        await pilot.press("p")
        await until(lambda: screen.loads >= 2 and screen.tiles[2].status == "paused")
        assert str(table.get_cell_at((2, 1))) == "paused"
        await pilot.press("r")
        await until(lambda: screen.tiles[2].status == "running")
        await pilot.press("p")  # Winback again: the cursor stayed on it
        await until(lambda: screen.tiles[2].status == "paused")
        await pilot.press("up", "p")  # Quiet is paused already: one line, nothing changed
        await pilot.pause()
        await pilot.press("up", "r")  # the draft starts: its list is built
        await until(lambda: screen.tiles[0].status == "running" and screen.tiles[0].remaining)
        await pilot.press("escape")
        await until(lambda: not isinstance(app.screen, CampaignBoardScreen))
    async with db.session() as conn:
        status = await conn.scalar(select(Campaign.status).where(Campaign.id == campaign_id))
    assert status == "paused"


async def test_the_wall_tv_has_no_campaign_key() -> None:
    app = WallboardApp(build_live(PbxAddress("127.0.0.1", 1, "x", "x")), connect=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("c")
        await pilot.pause()
        assert not isinstance(app.screen, CampaignBoardScreen)


class BoardHost(App[None]):
    def __init__(self, board: CampaignBoard) -> None:
        super().__init__()
        self.board = board

    def on_mount(self) -> None:
        self.push_screen(CampaignBoardScreen(self.board, now=lambda: NOW))


def test_snapshot_campaign_board(snap_compare: Any, tmp_path: Path) -> None:
    import asyncio

    path = tmp_path / "board.db"

    async def prepare() -> None:
        db = open_database(f"sqlite:///{path}")
        await upgrade(db)
        await board_data(db)
        await db.dispose()

    asyncio.run(prepare())
    db = open_database(f"sqlite:///{path}")
    app = BoardHost(CampaignBoard(db, clock=lambda: NOW, tz=UTC))

    async def loaded(pilot: Any) -> None:
        await until(lambda: isinstance(app.screen, CampaignBoardScreen) and app.screen.loads)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 20), run_before=loaded)


async def test_the_pbx_counts_a_queues_agents_where_it_knows_the_queue(db: Database) -> None:
    """Phones without a console (a softphone only; the demo's bots) work the campaign too:
    where the supervisor's live board knows the queue, its count of agents at work is the
    board's; elsewhere the consoles alive are counted."""
    await board_data(db)

    class Host(App[None]):
        def on_mount(self) -> None:
            counts = {"sales": 5}
            self.push_screen(
                CampaignBoardScreen(
                    CampaignBoard(db, clock=lambda: NOW, tz=UTC), agents_on=counts.get
                )
            )

    app = Host()
    async with app.run_test(size=(140, 30)):
        screen = app.screen
        assert isinstance(screen, CampaignBoardScreen)
        await until(lambda: screen.loads >= 1)
        by_name = {t.name: t for t in screen.tiles}
        assert (by_name["Winback"].agents, by_name["Winback"].pacing) == (5, 1 / 5)
        assert by_name["Quiet"].agents == 0  # queue "x": the PBX board does not know it
