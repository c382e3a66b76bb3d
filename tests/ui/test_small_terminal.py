"""An 80x24 terminal (a tmux pane): what must stay readable there, asserted in plain words so a
regression fails with a message and not only a snapshot diff (issue 15.7). The snapshots of the
same screens at 80x24 and 120x40 are in test_snapshots.py."""

from __future__ import annotations

import sqlite3
from typing import Any

from textual.app import App
from textual.widget import Widget

from console.db import Database
from console.widgets.profile_card import ProfileCard
from tests.pbx import running_pbx
from tests.ui.conftest import one_customer_number, until
from tests.ui.test_agent_console import make_app, ring_and_pop

SMALL = (80, 24)
LONG_NAME = "Maximiliana Featherstonehaugh"  # with its tier badge, wider than the card at 80


def lines_of(app: App[Any], widget: Widget) -> list[str]:
    """The text `widget` shows on the terminal, a line per row, trailing blanks dropped."""
    region = widget.region
    strips = app.screen._compositor.render_strips()
    return [
        strips[y].crop(region.x, region.right).text.rstrip()
        for y in range(region.y, min(region.bottom, len(strips)))
    ]


def rename_customer(path: object, customer_id: int, name: str) -> None:
    con = sqlite3.connect(str(path))
    try:
        con.execute("UPDATE customers SET display_name = ? WHERE id = ?", (name, customer_id))
        con.commit()
    finally:
        con.close()


async def test_the_caller_card_keeps_number_name_and_tier_whole_at_80x24(crm: Database) -> None:
    assert crm.sqlite_path is not None
    number, customer_id = one_customer_number(crm.sqlite_path)
    rename_customer(crm.sqlite_path, customer_id, LONG_NAME)
    async with running_pbx() as pbx:
        app = make_app(crm, pbx.port)
        async with app.run_test(size=SMALL) as pilot:
            await ring_and_pop(app, pilot, pbx, number)
            screen = app.agent_screen
            assert screen is not None
            card = screen.query_one(ProfileCard)
            await until(lambda: card.pop is not None and card.pop.profile is not None)
            await pilot.pause()
            pop = card.pop
            assert pop is not None and pop.profile is not None
            shown = [line.strip() for line in lines_of(app, card)]
            tier = pop.profile.tier.upper()
            details = ", ".join(p for p in (pop.caller.region or "", pop.caller.line_type) if p)
            rfm = "RFM {}{}{}".format(*pop.profile.rfm)
            # Each on a line of its own, whole: nothing runs into them or is cut off.
            assert f"☎ {pop.caller.international}" in shown, shown
            assert LONG_NAME in shown, shown
            assert tier in shown, shown
            # The rest of the facts are whole too (a part is never split across lines).
            assert details in shown, shown
            assert any(line.endswith(rfm) for line in shown), shown
