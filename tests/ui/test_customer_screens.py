"""Customer work outside calls and the unknown caller: search, customer view, new/attach.

Each test pushes one screen on a tiny host App (no CTI, no simulator) over a private copy of
the seeded 400-customer SQLite CRM, and drives it with Pilot as an agent would.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Select, TabbedContent, TextArea

from console.db import Database, open_database
from console.screens.customer import TABS, CustomerScreen
from console.screens.customer_forms import EditProfileScreen
from console.screens.new_customer import AttachNumberScreen, NewCustomerScreen
from console.screens.search import CustomerSearchProvider, CustomerSearchSource, SearchScreen
from console.screens.ticket import TicketScreen
from console.services.crm.customers import CustomerService, MatchKind
from console.services.crm.tickets import TicketService
from console.services.desk.screenpop import ScreenPopService
from console.widgets.customer_search import CustomerSearch
from console.widgets.forms import ErrorLine
from tests.ui.conftest import until
from tests.ui.terminal import drawn_segments, screen_text

NOW = datetime(2026, 11, 1, 10, 30, tzinfo=UTC)
AGENT_ID = 1  # the seeded demo agent
SIZES = [(80, 24), (120, 36)]
HOSTILE_NAME = (
    "[@click=app.quit]x[/ [bold red]boom[/] \x1b[31mred\x1b]8;;http://evil\x1b\\link"
    "\x1b]8;;\x1b\\ \u202eevil\u202c " + "A" * 10_000
)


def clock() -> datetime:
    return NOW


@dataclass
class Services:
    customers: CustomerService
    tickets: TicketService
    screenpop: ScreenPopService

    def customer_screen(self, customer_id: int, **kwargs: Any) -> CustomerScreen:
        return CustomerScreen(
            customer_id,
            customers=self.customers,
            tickets=self.tickets,
            screenpop=self.screenpop,
            agent_id=AGENT_ID,
            clock=clock,
            **kwargs,
        )


def services(db: Database) -> Services:
    return Services(
        CustomerService(db, clock=clock),
        TicketService(db, clock=clock),
        ScreenPopService(db, clock=clock),
    )


class ScreenHost(App[None]):
    """Pushes one screen and keeps what it dismissed with."""

    def __init__(self, make_screen: Callable[[], Screen[Any]]) -> None:
        super().__init__()
        self._make_screen = make_screen
        self.results: list[object] = []

    def on_mount(self) -> None:
        self.push_screen(self._make_screen(), callback=self.results.append)


def rows(path: Path | None, sql: str, *params: object) -> list[tuple[Any, ...]]:
    assert path is not None
    con = sqlite3.connect(path)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def execute(path: Path | None, sql: str, *params: object) -> None:
    assert path is not None
    con = sqlite3.connect(path)
    try:
        con.execute(sql, params)
        con.commit()
    finally:
        con.close()


def us_customer(path: Path | None) -> tuple[str, int, str]:
    """A US number that belongs to one customer: (e164, customer id, display name)."""
    e164, customer_id, name = rows(
        path,
        "SELECT p.e164, min(p.customer_id), c.display_name FROM phone_numbers p "
        "JOIN customers c ON c.id = p.customer_id WHERE p.e164 LIKE '+1%' "
        "GROUP BY p.e164 HAVING count(*) = 1 ORDER BY p.e164 LIMIT 1",
    )[0]
    return str(e164), int(customer_id), str(name)


def national(e164: str) -> str:
    """`+12158280018` → `(215) 828-0018`, as an agent would type it."""
    digits = e164.removeprefix("+1")
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"


async def search_results(app: ScreenHost, query: str, *, full: bool = False) -> CustomerSearch:
    widget = app.screen.query_one(CustomerSearch)
    await until(lambda: widget.shown_query == query and widget.shown_full == full)
    return widget


def assert_literal(app: App[Any], text: str) -> None:
    """`text` is on screen as typed: no markup parsed, no escapes, no links or actions."""
    frame = drawn_segments(app)
    plain = "".join(s.text for s in frame)
    assert text in plain
    assert "\x1b" not in plain and "\u202e" not in plain
    for segment in frame:
        style = segment.style
        if style is not None:
            assert not style.link
            assert "@click" not in (style.meta or {})


# ---------------------------------------------------------------- search


@pytest.mark.parametrize("size", SIZES)
async def test_search_as_you_type_by_name_prefix_then_choose(
    crm: Database, size: tuple[int, int]
) -> None:
    _, customer_id, name = us_customer(crm.sqlite_path)
    prefix = name[:5].lower()
    app = ScreenHost(lambda: SearchScreen(services(crm).customers, clock=clock))
    async with app.run_test(size=size) as pilot:
        await pilot.press(*prefix)
        widget = await search_results(app, prefix)  # typed: the fast search, no Enter
        assert customer_id in [h.customer_id for h in widget.hits]
        assert all(h.matched_on is MatchKind.NAME_PREFIX for h in widget.hits)
        assert all(h.display_name.casefold().startswith(prefix) for h in widget.hits)
        assert name in screen_text(app)
        await pilot.press("enter")  # the full search, then the results have the focus
        await search_results(app, prefix, full=True)
        index = [h.customer_id for h in widget.hits].index(customer_id)
        await pilot.press(*["down"] * index, "enter")
        await until(lambda: bool(app.results))
    assert app.results == [customer_id]


async def test_search_finds_a_number_typed_in_national_format(crm: Database) -> None:
    e164, customer_id, name = us_customer(crm.sqlite_path)
    typed = national(e164)
    app = ScreenHost(lambda: SearchScreen(services(crm).customers, clock=clock))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*typed)
        widget = await search_results(app, typed)
        assert [(h.customer_id, h.matched_on) for h in widget.hits] == [
            (customer_id, MatchKind.PHONE)
        ]
        text = screen_text(app)
        assert name in text and f"phone number {e164}" in text
        await pilot.press("down", "enter")
        await until(lambda: bool(app.results))
    assert app.results == [customer_id]


async def test_search_by_email_and_by_ticket_number(crm: Database) -> None:
    address, email_owner = rows(
        crm.sqlite_path, "SELECT address, customer_id FROM email_addresses ORDER BY id LIMIT 1"
    )[0]
    ticket_id, ticket_owner, subject = rows(
        crm.sqlite_path, "SELECT id, customer_id, subject FROM tickets ORDER BY id LIMIT 1"
    )[0]
    app = ScreenHost(lambda: SearchScreen(services(crm).customers, clock=clock))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*address.upper())  # emails match whatever the case
        widget = await search_results(app, address.upper())
        assert [(h.customer_id, h.matched_on) for h in widget.hits] == [
            (email_owner, MatchKind.EMAIL)
        ]
        assert f"email {address}" in screen_text(app)

        query = app.screen.query_one("#customer-query", Input)
        query.value = ""
        await pilot.press(*f"#{ticket_id}")
        widget = await search_results(app, f"#{ticket_id}")
        assert [(h.customer_id, h.matched_on) for h in widget.hits] == [
            (ticket_owner, MatchKind.TICKET)
        ]
        await pilot.pause()
        assert f"ticket #{ticket_id} “{subject}”" in screen_text(app)

        await pilot.press("escape")
        await until(lambda: bool(app.results))
    assert app.results == [None]


async def test_search_with_no_match_says_so(crm: Database) -> None:
    app = ScreenHost(lambda: SearchScreen(services(crm).customers, clock=clock))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"Zzqx", "enter")
        widget = await search_results(app, "Zzqx", full=True)
        assert widget.hits == ()
        assert "No customer matches “Zzqx”" in screen_text(app)
        assert app.screen.query_one("#customer-query", Input).has_focus


class PaletteApp(App[None]):
    COMMANDS: ClassVar = App.COMMANDS | {CustomerSearchProvider}

    def __init__(self, customers: CustomerService) -> None:
        super().__init__()
        self.chosen: list[int] = []
        self.customer_search_source = CustomerSearchSource(customers, self.chosen.append, clock)


async def test_the_command_palette_finds_customers(crm: Database) -> None:
    e164, customer_id, name = us_customer(crm.sqlite_path)
    app = PaletteApp(services(crm).customers)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*national(e164))
        await until(lambda: name in screen_text(app))
        await pilot.press("down", "enter")
        await until(lambda: bool(app.chosen))
    assert app.chosen == [customer_id]


# ---------------------------------------------------------------- the unknown caller


async def test_a_new_customer_from_an_unknown_number_is_stored_normalised_and_findable(
    crm: Database,
) -> None:
    svc = services(crm)
    app = ScreenHost(
        lambda: NewCustomerScreen(svc.customers, agent_id=AGENT_ID, caller_number="212-555-0199")
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+s")  # no name: refused inline, nothing created
        error = app.screen.query_one(ErrorLine)
        await until(lambda: error.message != "")
        assert error.message == "name must not be empty"
        assert "name must not be empty" in screen_text(app)
        assert rows(crm.sqlite_path, "SELECT count(*) FROM customers")[0][0] == 400

        await pilot.press(*"Zed Newcomer")
        app.screen.query_one("#new-email", Input).value = "Zed@Example.COM"
        await pilot.press("ctrl+s")
        await until(lambda: bool(app.results))
    (customer_id,) = app.results
    assert isinstance(customer_id, int)
    assert rows(
        crm.sqlite_path,
        "SELECT display_name, kind, language FROM customers WHERE id = ?",
        customer_id,
    ) == [("Zed Newcomer", "person", "en")]
    assert rows(
        crm.sqlite_path, "SELECT e164 FROM phone_numbers WHERE customer_id = ?", customer_id
    ) == [("+12125550199",)]
    assert rows(
        crm.sqlite_path, "SELECT address FROM email_addresses WHERE customer_id = ?", customer_id
    ) == [("zed@example.com",)]
    assert rows(
        crm.sqlite_path,
        "SELECT actor_agent_id, action FROM audit_log WHERE entity_id = ? "
        "AND entity_type = 'customer'",
        customer_id,
    ) == [(AGENT_ID, "create")]

    # Findable straight away, by name and by the number in another format.
    finder = ScreenHost(lambda: SearchScreen(svc.customers, clock=clock))
    async with finder.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"Zed New")
        widget = await search_results(finder, "Zed New")
        assert [h.customer_id for h in widget.hits] == [customer_id]
        finder.screen.query_one("#customer-query", Input).value = ""
        await pilot.press(*"+1 212 555 0199")
        widget = await search_results(finder, "+1 212 555 0199")
        assert customer_id in [h.customer_id for h in widget.hits]


async def test_a_bad_number_for_a_new_customer_is_refused_on_one_line(crm: Database) -> None:
    svc = services(crm)
    app = ScreenHost(
        lambda: NewCustomerScreen(svc.customers, agent_id=AGENT_ID, caller_number="12")
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"Somebody", "enter")
        error = app.screen.query_one(ErrorLine)
        await until(lambda: error.message != "")
        assert "'12' is not a valid phone number" in error.message
        assert isinstance(app.screen, NewCustomerScreen)  # still open, nothing saved
    assert rows(crm.sqlite_path, "SELECT count(*) FROM customers")[0][0] == 400


async def test_attach_the_callers_number_to_an_existing_customer(crm: Database) -> None:
    _, customer_id, name = us_customer(crm.sqlite_path)
    svc = services(crm)
    app = ScreenHost(
        lambda: AttachNumberScreen(
            svc.customers, agent_id=AGENT_ID, caller_number="(212) 555-0123", clock=clock
        )
    )
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, AttachNumberScreen)
        assert screen.check_action("attach", ()) is None  # nobody chosen yet
        await pilot.press(*name, "enter")  # full search; the results get the focus
        widget = await search_results(app, name, full=True)
        index = [h.customer_id for h in widget.hits].index(customer_id)
        await pilot.press(*["down"] * index, "enter")
        await until(lambda: screen.chosen is not None)
        assert f"Attach to {name}" in screen_text(app)
        screen.query_one("#phone-kind", Select).value = "work"
        screen.query_one("#label", Input).value = "front desk"
        await pilot.press("ctrl+s")
        await until(lambda: bool(app.results))
    assert app.results == [customer_id]
    assert rows(
        crm.sqlite_path,
        "SELECT kind, label FROM phone_numbers WHERE customer_id = ? AND e164 = ?",
        customer_id,
        "+12125550123",
    ) == [("work", "front desk")]
    assert rows(
        crm.sqlite_path,
        "SELECT action FROM audit_log WHERE entity_type = 'customer' AND entity_id = ?",
        customer_id,
    ) == [("update",)]


# ---------------------------------------------------------------- the customer view


@pytest.mark.parametrize("size", SIZES)
async def test_the_customer_view_shows_the_record_and_audits_the_view(
    crm: Database, size: tuple[int, int]
) -> None:
    e164, customer_id, name = us_customer(crm.sqlite_path)
    app = ScreenHost(lambda: services(crm).customer_screen(customer_id))
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        assert isinstance(screen, CustomerScreen)
        await until(lambda: screen.loaded)
        text = screen_text(app)
        assert name in text and e164 in text
        assert screen.viewed
        await pilot.press("escape")
        await until(lambda: bool(app.results))
    assert rows(
        crm.sqlite_path,
        "SELECT actor_agent_id, action, entity_type, entity_id FROM audit_log",
    ) == [(AGENT_ID, "view", "customer", customer_id)]


async def test_edit_profile_refuses_a_bad_value_inline_then_saves_a_good_one(
    crm: Database,
) -> None:
    _, customer_id, name = us_customer(crm.sqlite_path)
    before = rows(crm.sqlite_path, "SELECT * FROM customers WHERE id = ?", customer_id)
    language = rows(crm.sqlite_path, "SELECT language FROM customers WHERE id = ?", customer_id)
    app = ScreenHost(lambda: services(crm).customer_screen(customer_id))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, CustomerScreen)
        await until(lambda: screen.loaded)
        await pilot.press("e")
        await until(lambda: isinstance(app.screen, EditProfileScreen))
        form = app.screen
        await pilot.press("tab", *"english please")  # language (Tab selects what is there)
        form.query_one("#edit-tier", Select).value = "gold"
        await pilot.press("ctrl+s")
        error = form.query_one(ErrorLine)
        await until(lambda: error.message != "")
        assert "'english please' is not a language code" in error.message
        assert "is not a language code" in screen_text(app)
        assert app.screen is form  # still open, with what was typed
        assert rows(crm.sqlite_path, "SELECT * FROM customers WHERE id = ?", customer_id) == (
            before
        )
        assert rows(crm.sqlite_path, "SELECT action FROM audit_log") == [("view",)]

        form.query_one("#edit-language", Input).value = "pt-BR"
        form.query_one("#edit-tags", Input).value = "vip, billing"
        form.query_one("#edit-notes", TextArea).text = "Prefers [b]email[/b]"
        await pilot.press("ctrl+s")
        await until(lambda: app.screen is screen)
        await until(lambda: screen.profile is not None and screen.profile.language == "pt-BR")
        text = screen_text(app)
        assert "GOLD" in text and "vip, billing" in text
        assert "Prefers [b]email[/b]" in text  # notes are text, not markup
    assert rows(
        crm.sqlite_path,
        "SELECT display_name, language, tier, tags, notes FROM customers WHERE id = ?",
        customer_id,
    ) == [(name, "pt-BR", "gold", '["vip", "billing"]', "Prefers [b]email[/b]")]
    ((details,),) = rows(
        crm.sqlite_path,
        "SELECT details FROM audit_log WHERE action = 'update' AND entity_id = ?",
        customer_id,
    )
    assert f'"language": {{"from": "{language[0][0]}", "to": "pt-BR"}}' in details
    assert '"notes": "changed"' in details


async def test_add_a_number_from_the_customer_view(crm: Database) -> None:
    _, customer_id, _ = us_customer(crm.sqlite_path)
    app = ScreenHost(lambda: services(crm).customer_screen(customer_id))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, CustomerScreen)
        await until(lambda: screen.loaded)
        await pilot.press("n")
        await until(lambda: app.screen is not screen)
        await pilot.press(*"not a number", "enter")
        error = app.screen.query_one(ErrorLine)
        await until(lambda: error.message != "")
        assert "is not a valid phone number" in error.message
        app.screen.query_one("#number", Input).value = "+44 20 7946 0958"
        await pilot.press("enter")
        await until(lambda: app.screen is screen)
        await until(lambda: "+442079460958" in screen_text(app))
    assert rows(
        crm.sqlite_path,
        "SELECT kind FROM phone_numbers WHERE customer_id = ? AND e164 = '+442079460958'",
        customer_id,
    ) == [("landline",)]


async def test_comment_on_a_ticket_and_change_its_status(crm: Database) -> None:
    ticket_id, customer_id = rows(
        crm.sqlite_path,
        "SELECT id, customer_id FROM tickets WHERE status = 'open' ORDER BY id LIMIT 1",
    )[0]
    app = ScreenHost(lambda: services(crm).customer_screen(customer_id))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, CustomerScreen)
        await until(lambda: screen.loaded)
        await pilot.press("2")
        assert screen.query_one(TabbedContent).active == TABS["tickets"]
        index = [t.id for t in screen.ticket_rows].index(ticket_id)
        await pilot.press(*["down"] * index, "enter")
        await until(lambda: isinstance(app.screen, TicketScreen))
        ticket = app.screen
        assert isinstance(ticket, TicketScreen)
        await until(lambda: ticket.detail is not None)
        before = len(ticket.detail.comments) if ticket.detail else 0

        await pilot.press("ctrl+s")  # an empty comment is refused
        error = ticket.query_one(ErrorLine)
        await until(lambda: error.message != "")
        assert error.message == "comment must not be empty"

        await pilot.press(*"Called back: [red]fixed[/red]")
        await pilot.press("ctrl+s")
        await until(lambda: ticket.detail is not None and len(ticket.detail.comments) > before)
        assert "Called back: [red]fixed[/red]" in screen_text(app)
        assert ticket.query_one("#tk-new-comment", TextArea).text == ""

        await pilot.press("ctrl+t")  # the status list: … new open pending resolved closed
        await pilot.pause(0.1)
        await pilot.press("down", "down", "enter")
        await until(lambda: ticket.detail is not None and ticket.detail.ticket.status == "resolved")
        await pilot.press("escape")
        await until(lambda: app.screen is screen)
        await until(lambda: all(t.id != ticket_id or not t.is_open for t in screen.ticket_rows))
    assert rows(crm.sqlite_path, "SELECT status FROM tickets WHERE id = ?", ticket_id) == [
        ("resolved",)
    ]
    assert rows(
        crm.sqlite_path,
        "SELECT body, author_agent_id FROM ticket_comments WHERE ticket_id = ? "
        "ORDER BY id DESC LIMIT 1",
        ticket_id,
    ) == [("Called back: [red]fixed[/red]", AGENT_ID)]
    assert rows(
        crm.sqlite_path,
        "SELECT action FROM audit_log WHERE entity_type = 'ticket' AND entity_id = ? ORDER BY id",
        ticket_id,
    ) == [("view",), ("comment",), ("status",)]


async def test_the_timeline_loads_page_by_page(crm: Database) -> None:
    customer_id, count = rows(
        crm.sqlite_path,
        "SELECT customer_id, count(*) n FROM interactions WHERE customer_id IS NOT NULL "
        "GROUP BY customer_id ORDER BY n DESC, customer_id LIMIT 1",
    )[0]
    assert count >= 9
    expected = [
        r[0]
        for r in rows(
            crm.sqlite_path,
            "SELECT id FROM interactions WHERE customer_id = ? ORDER BY offered_at DESC, id DESC",
            customer_id,
        )
    ]
    app = ScreenHost(lambda: services(crm).customer_screen(customer_id, page_size=4))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, CustomerScreen)
        await until(lambda: screen.loaded)
        assert [e.id for e in screen.timeline] == expected[:4]
        assert screen.check_action("more", ()) is False  # not on the history tab
        await pilot.press("3")
        assert screen.check_action("more", ()) is True
        assert "Newest 4 contacts" in screen_text(app)
        await pilot.press("m")  # a key…
        await until(lambda: len(screen.timeline) == 8)
        await pilot.press("ctrl+end")  # …or moving to the last row loads the next page
        await until(lambda: screen.timeline_complete)
        assert [e.id for e in screen.timeline] == expected
        assert f"All {count} contacts." in screen_text(app)
        assert screen.check_action("more", ()) is None  # shown, greyed out


async def test_a_customer_that_does_not_exist(crm: Database) -> None:
    app = ScreenHost(lambda: services(crm).customer_screen(999_999))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(lambda: "Customer #999999 does not exist" in screen_text(app))
        assert app.screen.check_action("edit", ()) is None
        await pilot.press("escape")
        await until(lambda: bool(app.results))
    assert rows(crm.sqlite_path, "SELECT count(*) FROM audit_log")[0][0] == 0


# ---------------------------------------------------------------- untrusted text


async def test_a_hostile_name_and_notes_are_shown_literally(crm: Database) -> None:
    e164, customer_id, _ = us_customer(crm.sqlite_path)
    execute(
        crm.sqlite_path,
        "UPDATE customers SET display_name = ?, notes = ? WHERE id = ?",
        HOSTILE_NAME,
        "[@click=app.quit]notes[/] \x1b[2J\x07 [link=http://evil]x[/link]",
        customer_id,
    )
    svc = services(crm)
    app = ScreenHost(lambda: SearchScreen(svc.customers, clock=clock))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press(*e164)
        await search_results(app, e164)
        assert_literal(app, "[@click=app.quit]x[/ [bold red]boom[/]")
        await pilot.click("#customer-results", offset=(8, 1))  # on the name: chooses it
        await until(lambda: bool(app.results))
        assert app.is_running and app.results == [customer_id]

    viewer = ScreenHost(lambda: svc.customer_screen(customer_id))
    async with viewer.run_test(size=(80, 24)) as pilot:
        screen = viewer.screen
        assert isinstance(screen, CustomerScreen)
        await until(lambda: screen.loaded)
        assert_literal(viewer, "[@click=app.quit]x[/ [bold red]boom[/]")
        assert_literal(viewer, "[@click=app.quit]notes[/]  [link=http://evil]x[/link]")
        await pilot.click("#cust-title")
        await pilot.click("#cust-profile-body")
        assert viewer.is_running and viewer.screen is screen


# ---------------------------------------------------------------- snapshots


def snapshot_db(path: Path) -> Services:
    return services(open_database(f"sqlite:///{path}"))


def test_snapshot_search_screen(snap_compare: Any, crm_copy: Path) -> None:
    svc = snapshot_db(crm_copy)
    app = ScreenHost(lambda: SearchScreen(svc.customers, clock=clock))

    async def type_query(pilot: Pilot[None]) -> None:
        await pilot.press(*"han")
        await search_results(app, "han")  # type: ignore[arg-type]
        await pilot.press("enter")
        await search_results(app, "han", full=True)  # type: ignore[arg-type]
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=type_query)


def test_snapshot_customer_view(snap_compare: Any, crm_copy: Path) -> None:
    customer_id = rows(
        crm_copy,
        "SELECT customer_id FROM tickets WHERE status = 'open' ORDER BY customer_id LIMIT 1",
    )[0][0]
    svc = snapshot_db(crm_copy)
    app = ScreenHost(lambda: svc.customer_screen(customer_id))

    async def loaded(pilot: Pilot[None]) -> None:
        screen = app.screen
        assert isinstance(screen, CustomerScreen)
        await until(lambda: screen.loaded)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=loaded)


def test_snapshot_customer_history_at_120x36(snap_compare: Any, crm_copy: Path) -> None:
    customer_id = rows(
        crm_copy,
        "SELECT customer_id FROM interactions WHERE customer_id IS NOT NULL "
        "GROUP BY customer_id ORDER BY count(*) DESC, customer_id LIMIT 1",
    )[0][0]
    svc = snapshot_db(crm_copy)
    app = ScreenHost(lambda: svc.customer_screen(customer_id))

    async def history(pilot: Pilot[None]) -> None:
        screen = app.screen
        assert isinstance(screen, CustomerScreen)
        await until(lambda: screen.loaded)
        await pilot.press("3")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 36), run_before=history)
