"""Wrap-up speed (issue 15.4), with the real simulator and a real SQLite CRM: notes and
disposition during the call, number keys, the cursor where the agent types, labelled fields,
checkboxes readable without colour, and the key counts — a simple call in two keys after
hang-up, a ticket and a callback in four plus typing."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import timedelta

from textual.widgets import Input, Label, Select, TextArea

from console.db import Database
from console.models.base import from_db_time
from console.screens.wrapup import OTHER_TICKET, WrapUpScreen
from console.services.routing.rules_file import load_rules
from console.widgets.tick import Tick
from tests.factories import agent_console_app as make_app
from tests.factories import answer_and_hang_up, interaction_row, wrap_up_ready
from tests.pbx import running_pbx
from tests.ui.conftest import one_customer_number, until


class Keys:
    """Pilot key presses, counted (typing text is not a key press here: it is typing)."""

    def __init__(self, pilot: object) -> None:
        self._pilot = pilot
        self.count = 0

    async def press(self, *keys: str) -> None:
        self.count += len(keys)
        await self._pilot.press(*keys)  # type: ignore[attr-defined]

    async def type(self, text: str) -> None:
        await self._pilot.press(*text)  # type: ignore[attr-defined]


def ticket_and_followup(path: object, row: dict[str, object]) -> tuple[object, object]:
    con = sqlite3.connect(str(path))
    try:
        ticket = con.execute(
            "SELECT customer_id, subject FROM tickets WHERE id = ?", (row["ticket_id"],)
        ).fetchone()
        followup = con.execute(
            "SELECT kind, ticket_id FROM followups WHERE interaction_id = ?", (row["id"],)
        ).fetchone()
    finally:
        con.close()
    return ticket, followup


async def test_a_simple_call_is_two_keys_after_hang_up(crm: Database) -> None:
    assert crm.sqlite_path is not None
    number, _ = one_customer_number(crm.sqlite_path)
    async with running_pbx() as pbx:
        app = make_app(crm, pbx.port)
        async with app.run_test(size=(80, 24)) as pilot:
            await answer_and_hang_up(app, pilot, pbx, number)
            wrap = app.screen
            assert isinstance(wrap, WrapUpScreen)
            # The cursor is on the disposition (none chosen yet), which shows its numbers.
            assert wrap.focused is wrap.query_one("#disposition", Select)
            labels = [str(label.render()) for label in wrap.query(".field-label").results(Label)]
            assert labels == [
                "Disposition",
                "Notes",
                "Ticket",
                "New ticket",
                "Follow-up",
                "Quality",
            ]
            keys = Keys(pilot)
            await keys.press("1")  # Resolved; the cursor goes to the notes
            assert wrap.focused is wrap.query_one("#notes", TextArea)
            await keys.press("ctrl+s")
            await until(lambda: not isinstance(app.screen, WrapUpScreen))
            assert keys.count == 2 <= 4
    row = interaction_row(crm.sqlite_path)
    assert (row["status"], row["disposition"]) == ("completed", "resolved")


async def test_a_digit_picks_the_disposition_with_its_list_open_too(crm: Database) -> None:
    """The prompt says "1-9 or Enter to choose": an agent who pressed Enter first, then
    a digit, gets that disposition (the open list's type-ahead used to swallow it)."""
    assert crm.sqlite_path is not None
    number, _ = one_customer_number(crm.sqlite_path)
    async with running_pbx() as pbx:
        app = make_app(crm, pbx.port)
        async with app.run_test(size=(80, 24)) as pilot:
            await answer_and_hang_up(app, pilot, pbx, number)
            wrap = app.screen
            assert isinstance(wrap, WrapUpScreen)
            chooser = wrap.query_one("#disposition", Select)
            await pilot.press("enter")
            await until(lambda: chooser.expanded)
            await pilot.press("2")
            await until(lambda: chooser.value == wrap._codes[1] and not chooser.expanded)
            await pilot.press("ctrl+s")
            await until(lambda: not isinstance(app.screen, WrapUpScreen))
    row = interaction_row(crm.sqlite_path)
    assert (row["status"], row["disposition"]) == ("completed", wrap._codes[1])


async def test_a_ticket_and_a_callback_are_four_keys_plus_typing(crm: Database) -> None:
    assert crm.sqlite_path is not None
    number, customer = one_customer_number(crm.sqlite_path)
    async with running_pbx() as pbx:
        app = make_app(crm, pbx.port)
        async with app.run_test(size=(80, 24)) as pilot:
            await answer_and_hang_up(app, pilot, pbx, number)
            wrap = app.screen
            assert isinstance(wrap, WrapUpScreen)
            keys = Keys(pilot)
            # Typing on the disposition goes to the notes: no keystroke is lost.
            await keys.type("Charged twice; refund promised")
            assert wrap.query_one("#notes", TextArea).text == "Charged twice; refund promised"
            await keys.press("shift+tab")  # back to the disposition
            await keys.press("5")  # Ticket opened
            await keys.press("ctrl+t")  # a new ticket; its subject is the notes' start
            await keys.press("ctrl+b")  # call back (24 h)
            assert wrap.query_one("#callback", Tick).value
            await keys.press("ctrl+s")
            await until(lambda: not isinstance(app.screen, WrapUpScreen))
            assert keys.count == 5 <= 10
    row = interaction_row(crm.sqlite_path)
    assert (row["status"], row["disposition"]) == ("completed", "ticket_opened")
    ticket, followup = ticket_and_followup(crm.sqlite_path, row)
    assert ticket == (customer, "Charged twice; refund promised")
    assert followup == ("callback", row["ticket_id"])


async def test_notes_and_disposition_written_during_the_call_become_the_wrap_up(
    crm: Database,
) -> None:
    assert crm.sqlite_path is not None
    number, _ = one_customer_number(crm.sqlite_path)
    async with running_pbx() as pbx:
        app = make_app(crm, pbx.port)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.agent_screen
            assert screen is not None
            await until(lambda: screen.bar_model.link == "connected")
            await pilot.press("f6")
            await until(lambda: screen.bar_model.agent_ready)
            pbx.ring(number, "Ann Caller")
            await until(lambda: screen.desk.state.phase == "ringing")
            await pilot.press("f2")
            await until(lambda: screen.desk.state.phase == "talking")
            await pilot.press("f9")  # notes, during the call
            await until(lambda: wrap_up_ready(app))
            notes = app.screen
            assert isinstance(notes, WrapUpScreen) and notes.live
            assert not notes.query_one("#ticket-row").display  # only what drafts keep
            await pilot.press("2")  # Information given
            await pilot.press(*"Asked about the invoice")
            await until(lambda: "invoice" in str(interaction_row(crm.sqlite_path)["notes"]))
            assert interaction_row(crm.sqlite_path)["status"] == "active"  # still talking
            await pilot.press("escape")  # back to the call, the draft kept
            await until(lambda: app.screen is screen)
            await pilot.press("f9")
            await until(lambda: wrap_up_ready(app))
            notes = app.screen
            assert isinstance(notes, WrapUpScreen)
            assert notes.query_one("#notes", TextArea).text == "Asked about the invoice"
            await pilot.press(*"; sent a copy")
            await pilot.press("f5")  # hang up from the notes: they become the wrap-up
            await until(lambda: not notes.live)
            assert app.screen is notes and notes.query_one("#ticket-row").display
            keys = Keys(pilot)
            await keys.press("ctrl+s")  # one key after hang-up
            await until(lambda: not isinstance(app.screen, WrapUpScreen))
            assert keys.count == 1
    row = interaction_row(crm.sqlite_path)
    assert row["status"] == "completed" and row["disposition"] == "info_given"
    assert row["notes"] == "Asked about the invoice; sent a copy"


async def test_a_checkbox_reads_without_colour_and_a_needed_ticket_is_asked_for_where_it_goes(
    crm: Database,
) -> None:
    assert crm.sqlite_path is not None
    number, _ = one_customer_number(crm.sqlite_path)
    con = sqlite3.connect(crm.sqlite_path)
    try:
        (ticket_id,) = con.execute("SELECT min(id) FROM tickets").fetchone()
    finally:
        con.close()
    async with running_pbx() as pbx:
        app = make_app(crm, pbx.port)
        async with app.run_test(size=(80, 24)) as pilot:
            await answer_and_hang_up(app, pilot, pbx, number)
            wrap = app.screen
            assert isinstance(wrap, WrapUpScreen)
            fcr = wrap.query_one("#fcr", Tick)
            assert "✔" not in fcr._button.plain
            fcr.value = True
            assert "✔" in fcr._button.plain  # a tick, not only another colour
            await pilot.press("4")  # Escalated: needs a ticket
            await pilot.press("ctrl+s")
            error = wrap.query_one("#wrap-error", Label)
            await until(lambda: "needs a ticket" in str(error.render()))
            ticket = wrap.query_one("#ticket", Select)
            assert wrap.focused is ticket  # the cursor is on the field the message asks for
            ticket.value = OTHER_TICKET  # "Ticket number…": the field to enter its number
            number_input = wrap.query_one("#ticket-number", Input)
            await until(lambda: wrap.focused is number_input)
            await pilot.press(*str(ticket_id), "ctrl+s")
            await until(lambda: not isinstance(app.screen, WrapUpScreen))
    row = interaction_row(crm.sqlite_path)
    assert row["status"] == "completed" and row["ticket_id"] == ticket_id


async def test_an_escalation_from_the_wrap_up_is_due_when_the_routing_rules_say(
    crm: Database,
) -> None:
    """Not a copy of the shipped rule's 4 h: a centre whose escalation rule says 90 min gets
    escalations due in 90 min."""
    assert crm.sqlite_path is not None
    number, _ = one_customer_number(crm.sqlite_path)
    shipped = load_rules()
    rules = replace(
        shipped,
        rules=tuple(
            replace(r, due_in=timedelta(minutes=90)) if r.name == "escalations" else r
            for r in shipped.rules
        ),
    )
    async with running_pbx() as pbx:
        app = make_app(crm, pbx.port)
        assert app.runtime is not None
        app.runtime.ctx.rules = rules
        async with app.run_test(size=(80, 24)) as pilot:
            await answer_and_hang_up(app, pilot, pbx, number)
            wrap = app.screen
            assert isinstance(wrap, WrapUpScreen)
            await pilot.press("1")
            wrap.query_one("#escalate", Tick).value = True
            await pilot.press("ctrl+s")
            await until(lambda: not isinstance(app.screen, WrapUpScreen))
    row = interaction_row(crm.sqlite_path)
    con = sqlite3.connect(crm.sqlite_path)
    try:
        (due,) = con.execute(
            "SELECT due_at FROM followups WHERE interaction_id = ? AND kind = 'escalation'",
            (row["id"],),
        ).fetchone()
    finally:
        con.close()
    wrapped, due_at = from_db_time(row["wrapped_at"]), from_db_time(due)
    assert wrapped is not None and due_at is not None
    assert timedelta(minutes=89) <= due_at - wrapped <= timedelta(minutes=91)


async def test_notes_typed_steadily_are_saved_during_the_typing_not_only_after_it(
    crm: Database,
) -> None:
    """Issue 17.7: a kill mid-typing loses at most the last moment, not the whole burst. The
    agent types with short gaps (shorter than the after-typing delay) for longer than the
    drafts' longest wait: a draft is saved before they stop. (A slow machine that stretches
    the gaps saves sooner still: this cannot fail for being slow.)"""
    assert crm.sqlite_path is not None
    number, _ = one_customer_number(crm.sqlite_path)
    async with running_pbx() as pbx:
        app = make_app(crm, pbx.port)
        async with app.run_test(size=(100, 30)) as pilot:
            await answer_and_hang_up(app, pilot, pbx, number)
            wrap = app.screen
            assert isinstance(wrap, WrapUpScreen)
            wrap.query_one("#notes", TextArea).focus()
            typed = "Customer disputes the March invoice"
            for key in typed[:20]:  # 20 keys, 0.1 s apart: 2 s of steady typing
                await pilot.press(key if key != " " else "space")
                await pilot.pause(0.1)
            saved_while_typing = interaction_row(crm.sqlite_path)["notes"]
            assert isinstance(saved_while_typing, str) and saved_while_typing
            assert typed.startswith(saved_while_typing)
