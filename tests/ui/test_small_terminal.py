"""An 80x24 terminal (a tmux pane): what must stay readable there, asserted in plain words so a
regression fails with a message and not only a snapshot diff (issue 15.7). The snapshots of the
same screens at 80x24 and 120x40 are in test_snapshots.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from textual.widgets import DataTable

from console.app import CallConsoleApp, WallboardApp
from console.db import Database
from console.screens.scorecard import ScoreCardScreen
from console.screens.wallboard import WallboardScreen
from console.widgets.profile_card import ProfileCard
from console.widgets.queue_tile import BigQueueTile, QueueTile
from tests.factories import agent_console_app as make_app
from tests.factories import ring_and_pop, wrap_up_ready
from tests.pbx import running_pbx
from tests.ui.conftest import one_customer_number, until
from tests.ui.shift import sloppy_card
from tests.ui.terminal import lines_of
from tests.ui.test_snapshots import snapshot_app
from tests.ui.test_wallboard import MANY_QUEUE_NAMES, board_after, many_queues
from tests.ui.test_worklist_screens import open_worklist, seed, session_for

SMALL = (80, 24)
LONG_NAME = "Maximiliana Featherstonehaugh"  # with its tier badge, wider than the card at 80


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


async def test_the_wrap_up_shows_save_and_extend_at_80x24_with_every_row(crm: Database) -> None:
    """With a known customer (so the follow-up row shows too) the buttons are drawn inside the
    dialog, not under its bottom border (a region check against the screen missed that)."""
    assert crm.sqlite_path is not None
    number, _ = one_customer_number(crm.sqlite_path)
    async with running_pbx() as pbx:
        app = make_app(crm, pbx.port)
        async with app.run_test(size=SMALL) as pilot:
            screen = app.agent_screen
            assert screen is not None
            await ring_and_pop(app, pilot, pbx, number)
            await pilot.press("f2")
            await until(lambda: screen.desk.state.phase == "talking")
            await pilot.press("f5")
            await until(lambda: wrap_up_ready(app))
            wrap = app.screen
            await until(lambda: wrap.query_one("#save").region.height > 0)
            await pilot.pause()
            assert wrap.query_one("#followup-row").display  # the tallest wrap-up
            dialog = wrap.query_one("#wrapup")
            inside = dialog.scrollable_content_region
            shown = "\n".join(lines_of(app, dialog))
            for button_id, label in (("#save", "Save (ctrl+s)"), ("#extend", "Extend (ctrl+e)")):
                button = wrap.query_one(button_id)
                assert inside.contains_region(button.region), (button_id, button.region, inside)
                assert label in shown, (label, shown)


# ---------------------------------------------------------------------- the wallboard


def page_of(board: WallboardScreen) -> list[str]:
    """The queues whose tiles are on the terminal, each asserted whole inside the tiles' area."""
    area = board.query_one("#wb-tiles").region
    shown = []
    for tile in board.query(BigQueueTile if board.large else QueueTile):
        if tile.display:
            assert area.contains_region(tile.region), (tile.queue, tile.region, area)
            shown.append(tile.queue)
    return shown


async def test_the_wallboard_pages_its_queues_at_80x24_and_says_where_it_is() -> None:
    live, _ = board_after(20, many_queues())
    app = WallboardApp(live, connect=False)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        board = app.screen
        assert isinstance(board, WallboardScreen)
        pager = board.query_one("#wb-pager")
        first = page_of(board)
        assert first and first == list(MANY_QUEUE_NAMES[: len(first)])
        assert f"queues 1-{len(first)} of 14" in str(pager.render()), str(pager.render())
        assert pager.region.bottom <= app.size.height - 2  # above the definitions and footer

        seen = list(first)
        for _ in MANY_QUEUE_NAMES:  # at most a page per queue: every page turn shows more
            if seen[-1] == MANY_QUEUE_NAMES[-1]:
                break
            await pilot.press("pagedown")
            await pilot.pause()
            page = page_of(board)
            assert page and page[-1] not in seen, (page, seen)
            seen += [name for name in page if name not in seen]
        assert seen == list(MANY_QUEUE_NAMES)  # every queue, in order, the last one reached
        assert str(pager.render()).startswith(f"queues {15 - len(page)}-14 of 14")

        await pilot.press("home")
        await pilot.pause()
        assert page_of(board) == first
        await pilot.press("down")  # a row of tiles (one column at 80)
        await pilot.pause()
        assert page_of(board)[0] == MANY_QUEUE_NAMES[1]
        await pilot.press("end")
        await pilot.pause()
        assert page_of(board)[-1] == MANY_QUEUE_NAMES[-1]

        await pilot.press("l")  # the wall TV's big tiles page the same way
        await pilot.pause()
        big = page_of(board)
        assert big and big[-1] == MANY_QUEUE_NAMES[-1], big
        assert str(pager.render()).startswith(f"queues {15 - len(big)}-14 of 14")
        await pilot.press("home")
        await pilot.pause()
        assert page_of(board) == list(MANY_QUEUE_NAMES[: len(big)])


async def test_a_wallboard_whose_queues_all_fit_has_no_pager() -> None:
    live, _ = board_after(5)  # three queues
    app = WallboardApp(live, connect=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        board = app.screen
        assert isinstance(board, WallboardScreen)
        assert len(page_of(board)) == 3
        assert not board.query_one("#wb-pager").display
        assert not board.check_action("page", (1,))


# ---------------------------------------------------------------------- the worklist

WORKLIST_KEY_COLUMNS = ("Kind", "Customer", "Due", "State")


async def test_the_worklist_keeps_kind_customer_due_and_state_whole_at_80x24(
    crm: Database,
) -> None:
    ids = await seed(crm)
    app = CallConsoleApp(runtime=await session_for(crm), connect=False)
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_worklist(app, pilot)
        for name in ("mine", "available"):
            table = screen.query_one(f"#{name}", DataTable)
            wide, room = table.virtual_size.width, table.scrollable_content_region.width
            assert wide <= room, f"{name}: columns {wide} cells wide in a table showing {room}"
            header = lines_of(app, table)[0]
            for label in WORKLIST_KEY_COLUMNS:
                assert f" {label} " in f"{header} ", (name, label, header)
        shown = "\n".join(lines_of(app, screen))
        # The key cells of the seeded follow-ups, whole: state, due time, kind.
        for whole in ("claimed to 10:35", "escalated L1", "in 2h00m", "escalation", "callback"):
            assert whole in shown, (whole, shown)
        # The summary is cut in the table; the highlighted row's is whole under the tables.
        current = screen.current()
        assert current is not None and current.id == ids["claimed"]
        detail = screen.query_one("#wl-detail")
        assert detail.display and "Confirm the new address" in str(detail.render())
        await pilot.press("down")
        await pilot.pause()
        assert "Call back about the contract" in str(detail.render())


# ---------------------------------------------------------------------- the score card


async def test_the_score_card_keeps_result_criterion_and_weight_at_80x24(
    crm_copy: Path, tmp_path: Path
) -> None:
    card = sloppy_card("demo")  # two calls: the call column shows too
    app, _ = snapshot_app(crm_copy)
    async with app.run_test(size=SMALL) as pilot:
        await app.push_screen(ScoreCardScreen(card, run_id=7, export_dir=tmp_path))
        table = app.screen.query_one("#card-criteria", DataTable)
        await until(lambda: table.row_count == len(card.results))
        await pilot.pause()
        wide, room = table.virtual_size.width, table.scrollable_content_region.width
        assert wide <= room, f"columns {wide} cells wide in a table showing {room}"
        header = lines_of(app, table)[0]
        for label in ("Criterion", "Weight", "Call", "Evidence"):
            assert f" {label} " in f"{header} ", (label, header)
        # Every line the table shows, cursor row by row (it scrolls), cut into its columns.
        columns = {str(c.label): c for c in table.ordered_columns}
        seen: list[str] = []
        for index in range(len(card.results)):
            table.move_cursor(row=index, animate=False)
            await pilot.pause()
            seen += lines_of(app, table)[1:]

        def column(label: str) -> str:
            start = 0
            for name, col in columns.items():
                width = col.get_render_width(table)
                if name == label:
                    return " ".join(line[start : start + width].strip() for line in seen)
                start += width
            raise AssertionError(label)

        criteria, evidence = column("Criterion"), column("Evidence")
        for result in card.results:
            # Its result, the start of its criterion and its weight on one line…
            mark, first_word = ("pass" if result.passed else "FAIL"), result.label.split()[0]
            assert any(
                line.split()[:2] == [mark, first_word] and f"{result.weight:g}" in line.split()
                for line in seen
            ), (result.id, seen)
            # …and the criterion and the evidence whole, wrapped over the row's lines.
            assert all(word in criteria.split() for word in result.label.split()), result.label
            for word in result.evidence.split():
                assert word in evidence or len(word) > columns["Evidence"].width, word
