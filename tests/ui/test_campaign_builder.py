"""The supervisor's campaign builder: a segment built in the console, counted and previewed
as it is typed, then a predictive campaign created and started from it — the issue's "gold
customers with no contact in 90 days, consented to marketing" — and bad fields refused with
one line and nothing written."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from textual.app import App
from textual.widgets import DataTable, Input, Select

from console.db import Database
from console.models import AuditLog, Campaign, CampaignLead, Segment
from console.screens.campaign_board import CampaignBoardScreen
from console.screens.campaign_new import CampaignBuilderScreen
from console.services.outbound.board import CampaignBoard
from console.services.outbound.campaign_desk import CampaignDesk
from console.services.outbound.segments import SegmentCriteria, SegmentService
from console.widgets.forms import ErrorLine
from tests.crm import T0
from tests.ui.conftest import until


class BoardHost(App[None]):
    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db

    def on_mount(self) -> None:
        board = CampaignBoard(self.db, clock=lambda: T0, agent_id=2)
        desk = CampaignDesk(self.db, clock=lambda: T0, agent_id=2)
        self.push_screen(CampaignBoardScreen(board, desk=desk))


async def type_into(pilot: Any, screen: CampaignBuilderScreen, field: str, text: str) -> None:
    screen.query_one(f"#{field}", Input).focus()
    await pilot.press(*text)


async def test_a_supervisor_builds_a_segment_and_starts_a_predictive_campaign(
    crm: Database,
) -> None:
    wanted = SegmentCriteria(
        tiers=("gold",),
        no_contact_days=90,
        consent=("marketing_calls",),  # type: ignore[arg-type]
    )
    expected = await SegmentService(crm, clock=lambda: T0).count(wanted)
    loose = await SegmentService(crm, clock=lambda: T0).count(SegmentCriteria(tiers=("gold",)))  # type: ignore[arg-type]
    assert 0 < expected < loose  # the criteria narrow the gold customers down
    app = BoardHost(crm)
    async with app.run_test(size=(150, 50)) as pilot:
        await until(lambda: isinstance(app.screen, CampaignBoardScreen))
        board = app.screen
        assert isinstance(board, CampaignBoardScreen)
        await pilot.press("n")
        await until(lambda: isinstance(app.screen, CampaignBuilderScreen))
        screen = app.screen
        assert isinstance(screen, CampaignBuilderScreen)
        await until(lambda: screen.counts >= 1)
        await type_into(pilot, screen, "seg-tiers", "gold")
        await until(lambda: screen.counted == loose)
        await type_into(pilot, screen, "seg-quiet", "90")
        screen.query_one("#seg-consent", Select).value = "marketing_calls"
        await until(lambda: screen.counted == expected)
        table = screen.query_one("#nc-table", DataTable)
        assert table.row_count == min(expected, 20)
        await type_into(pilot, screen, "seg-name", "Gold, quiet, consented")
        await type_into(pilot, screen, "nc-name", "Gold winback")
        assert screen.query_one("#nc-mode", Select).value == "predictive"
        await until(lambda: screen.query_one("#nc-queue", Select).value == "outbound")
        await pilot.press("ctrl+r")
        await until(lambda: isinstance(app.screen, CampaignBoardScreen))
        await until(lambda: any(t.name == "Gold winback" for t in board.tiles))
        tile = next(t for t in board.tiles if t.name == "Gold winback")
        assert (tile.status, tile.mode, tile.queue, tile.remaining) == (
            "running",
            "predictive",
            "outbound",
            expected,
        )
    async with crm.session() as conn:
        campaign = (
            await conn.execute(select(Campaign).where(Campaign.name == "Gold winback"))
        ).scalar_one()
        leads = await conn.scalar(
            select(func.count()).where(CampaignLead.campaign_id == campaign.id)
        )
        segment = (
            await conn.execute(select(Segment).where(Segment.id == campaign.segment_id))
        ).scalar_one()
        audited = (
            await conn.execute(
                select(AuditLog.entity_type, AuditLog.action).where(AuditLog.actor_agent_id == 2)
            )
        ).all()
    assert leads == expected and segment.name == "Gold, quiet, consented"
    assert SegmentCriteria.parse(dict(segment.criteria)) == wanted
    assert "Hello {first_name}" in campaign.script  # the purpose's starting script
    assert {("segment", "create"), ("campaign", "create"), ("campaign", "status")} <= {
        (e, a) for e, a in audited
    }


async def test_bad_fields_are_named_and_nothing_is_written(crm: Database) -> None:
    app = BoardHost(crm)
    async with app.run_test(size=(150, 50)) as pilot:
        await until(lambda: isinstance(app.screen, CampaignBoardScreen))
        await pilot.press("n")
        await until(lambda: isinstance(app.screen, CampaignBuilderScreen))
        screen = app.screen
        assert isinstance(screen, CampaignBuilderScreen)
        await type_into(pilot, screen, "seg-tiers", "diamond")
        await until(lambda: screen.criteria is None)
        await pilot.press("ctrl+s")
        error = screen.query_one("#nc-error", ErrorLine)
        assert error.message.startswith("tiers"), error.message
        screen.query_one("#seg-tiers", Input).value = "gold"
        await pilot.press("ctrl+s")  # no name
        assert error.message == "name: the campaign needs a name"
        await type_into(pilot, screen, "nc-name", "Bad script")
        screen.query_one("#nc-script").load_text("Hi {password}")  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        assert "unknown field {password}" in error.message, error.message
        assert isinstance(app.screen, CampaignBuilderScreen)
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, CampaignBoardScreen))
    async with crm.session() as conn:
        assert await conn.scalar(select(func.count()).select_from(Campaign)) == 0
        assert await conn.scalar(select(func.count()).select_from(Segment)) == 0


async def test_starting_from_a_saved_segment_keeps_what_the_form_cannot_show(
    crm: Database,
) -> None:
    """A segment saved with criteria the form has no field for (an RFM maximum, all-of tags,
    a second consent): starting from it keeps them in the count and in the campaign, and the
    saved segment itself is not rewritten. Names with markup are shown literally."""
    rich = SegmentCriteria(
        tiers=("gold", "iron"),  # type: ignore[arg-type]
        recency_max=3,
        consent=("marketing_calls", "surveys"),  # type: ignore[arg-type]
    )
    service = SegmentService(crm, clock=lambda: T0)
    await service.save("[/]odd [b]name", rich, agent_id=None)
    expected = await service.count(rich)
    assert expected < await service.count(SegmentCriteria(tiers=("gold", "iron")))  # type: ignore[arg-type]
    app = BoardHost(crm)
    async with app.run_test(size=(150, 50)) as pilot:
        await until(lambda: isinstance(app.screen, CampaignBoardScreen))
        await pilot.press("n")
        await until(lambda: isinstance(app.screen, CampaignBuilderScreen))
        screen = app.screen
        assert isinstance(screen, CampaignBuilderScreen)
        await until(lambda: len(screen.segments) == 1)
        screen.query_one("#seg-saved", Select).value = "[/]odd [b]name"
        await until(lambda: screen.counted == expected)
        assert screen.query_one("#seg-tiers", Input).value == "gold, iron"
        assert screen.query_one("#seg-name", Input).value == ""  # not saved over
        await type_into(pilot, screen, "nc-name", "Kept")
        await pilot.press("ctrl+s")
        await until(lambda: isinstance(app.screen, CampaignBoardScreen))
    assert (await service.get("[/]odd [b]name")).criteria == rich
    async with crm.session() as conn:
        segment_id = await conn.scalar(select(Campaign.segment_id).where(Campaign.name == "Kept"))
        stored = await conn.scalar(select(Segment.criteria).where(Segment.id == segment_id))
    assert SegmentCriteria.parse(dict(stored)) == rich
