"""The agent console end to end: the real simulator over a socket, a real SQLite CRM, Pilot."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, OptionList, Select, TextArea

from console.app import CallConsoleApp
from console.db import Database
from console.factory import ConsoleContext, PbxAddress
from console.screens.agent import AgentScreen
from console.screens.choice import QuitScreen
from console.screens.new_customer import NewCustomerScreen
from console.screens.picker import PickCustomerScreen
from console.screens.search import SearchScreen
from console.screens.transfer import TransferScreen
from console.screens.wrapup import NEW_TICKET, WrapUpScreen
from console.services.desk.dispositions import Disposition, DispositionCatalog
from console.widgets.call_bar import CallBar
from console.widgets.profile_card import ProfileCard
from tests.factories import (
    AGENT,
    agent_console_app,
    answer_and_hang_up,
    interaction_row,
    ready_agent,
    ring_and_pop,
    wrap_up_ready,
)
from tests.pbx import Pbx, running_pbx
from tests.ui.conftest import one_customer_number, until
from tests.ui.terminal import Notifications, drawn_segments


def audit_views(path: Path, customer_id: int) -> int:
    con = sqlite3.connect(path)
    try:
        return int(
            con.execute(
                "SELECT count(*) FROM audit_log WHERE action = 'view' "
                "AND entity_type = 'customer' AND entity_id = ?",
                (customer_id,),
            ).fetchone()[0]
        )
    finally:
        con.close()


def followup_outcome(path: Path, followup_id: int) -> str:
    con = sqlite3.connect(path)
    try:
        row = con.execute(
            "SELECT last_outcome FROM followups WHERE id = ?", (followup_id,)
        ).fetchone()
        return str(row[0])
    finally:
        con.close()


async def test_ring_pops_the_customer_before_answer_then_the_call_is_logged(
    crm: Database,
) -> None:
    assert crm.sqlite_path is not None
    number, customer_id = one_customer_number(crm.sqlite_path)
    async with running_pbx() as pbx:
        app = agent_console_app(crm, pbx.port, event_filter=True)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.agent_screen
            assert screen is not None
            await until(lambda: screen.bar_model.link == "connected")
            await until(lambda: screen.bar_model.agent_state != "Not ready")
            await pilot.press("f6")  # ready
            await until(lambda: screen.bar_model.agent_ready)
            # A PBX sends the number in national format; the pop must still find the customer.
            pbx.ring(number[2:] if number.startswith("+1") else number, "Ann Caller")
            card = screen.query_one(ProfileCard)
            await until(lambda: card.pop is not None and card.pop.profile is not None)
            assert screen.desk.state.phase == "ringing"  # popped before the answer
            assert card.pop is not None and card.pop.profile is not None
            assert card.pop.profile.id == customer_id
            # How long the caller waited: asked of the PBX (the agent's filtered session does
            # not hear callers join), shown on the bar while it rings.
            await until(lambda: screen.bar_model.waited is not None)
            assert screen.desk.state.phase == "ringing"
            await until(
                lambda: (
                    screen.desk.state.call is not None
                    and screen.desk.state.call.interaction_id is not None
                )
            )
            assert interaction_row(crm.sqlite_path)["status"] == "ringing"
            await until(lambda: audit_views(crm.sqlite_path, customer_id) == 1)  # audited

            await pilot.press("f2")
            await until(lambda: screen.desk.state.phase == "talking")
            await pilot.pause(1.1)
            await pilot.press("f3")
            await until(lambda: screen.desk.state.phase == "held")
            await pilot.pause(1.1)
            await pilot.press("f3")
            await until(lambda: screen.desk.state.phase == "talking")
            await pilot.press("f5")
            await until(lambda: screen.desk.state.phase == "wrapup")
            row = interaction_row(crm.sqlite_path)
            assert row["status"] == "wrapup"
            assert row["customer_id"] == customer_id
            assert row["answered_at"] is not None and row["ended_at"] is not None
            assert row["hold_seconds"] >= 1
            assert row["talk_seconds"] >= 1

            # Wrap-up: notes are saved as drafts while typed, then submitted.
            await until(lambda: wrap_up_ready(app))
            wrap = app.screen
            assert isinstance(wrap, WrapUpScreen)
            wrap.query_one("#disposition", Select).value = "resolved"
            await pilot.press(*"Fixed the invoice")
            await until(lambda: "Fixed" in str(interaction_row(crm.sqlite_path)["notes"]))
            await pilot.pause(1.1)
            await pilot.press("ctrl+s")
            await until(lambda: not isinstance(app.screen, WrapUpScreen))
            row = interaction_row(crm.sqlite_path)
            assert row["status"] == "completed"
            assert row["disposition"] == "resolved"
            assert row["notes"] == "Fixed the invoice"
            assert row["wrap_seconds"] >= 1
            assert screen.desk.state.phase == "idle"


async def test_a_console_killed_mid_wrap_up_offers_the_draft_back(crm: Database) -> None:
    assert crm.sqlite_path is not None
    number, _ = one_customer_number(crm.sqlite_path)
    async with running_pbx() as pbx:
        app = agent_console_app(crm, pbx.port)
        async with app.run_test(size=(120, 36)) as pilot:
            await answer_and_hang_up(app, pilot, pbx, number)
            await pilot.press(*"Half-written note")
            # The whole text saved (a draft may also be saved mid-typing: issue 17.7).
            await until(lambda: interaction_row(crm.sqlite_path)["notes"] == "Half-written note")
        # The console is gone without submitting (as after a kill); a new one starts.
        again = agent_console_app(crm, pbx.port)
        async with again.run_test(size=(120, 36)):
            await until(lambda: isinstance(again.screen, WrapUpScreen))
            wrap = again.screen
            assert isinstance(wrap, WrapUpScreen)
            # Let the modal finish mounting before the test tears the app down.
            await until(
                lambda: (
                    wrap.query("#notes")
                    and all(s.query("SelectOverlay") for s in wrap.query(Select))
                )
            )
            assert wrap.query_one("#notes", TextArea).text == "Half-written note"
    row = interaction_row(crm.sqlite_path)
    assert row["status"] == "wrapup" and row["notes"] == "Half-written note"


HOSTILE_NAME = (
    "[bold red]x[/] [@click=app.quit]quit[/] [/ \x1b[31mred\x1b]8;;http://evil\x1b\\link"
    "\x1b]8;;\x1b\\ \u202eevil\u202c " + "A" * 10_000
)


def set_up_numbers(path: Path) -> dict[str, object]:
    """A shared office line (two customers), and a customer with a hostile name."""
    con = sqlite3.connect(path)
    try:
        shared, first = con.execute(
            "SELECT e164, customer_id FROM phone_numbers ORDER BY id LIMIT 1"
        ).fetchone()
        second = con.execute(
            "SELECT id FROM customers WHERE id != ? ORDER BY id LIMIT 1 OFFSET 5", (first,)
        ).fetchone()[0]
        con.execute(
            "INSERT INTO phone_numbers (customer_id, e164, kind, label) "
            "VALUES (?, ?, 'work', 'front desk')",
            (second, shared),
        )
        hostile_number, hostile = con.execute(
            "SELECT e164, min(customer_id) FROM phone_numbers WHERE customer_id NOT IN (?, ?) "
            "GROUP BY e164 HAVING count(*) = 1 ORDER BY e164 DESC LIMIT 1",
            (first, second),
        ).fetchone()
        con.execute("UPDATE customers SET display_name = ? WHERE id = ?", (HOSTILE_NAME, hostile))
        con.commit()
    finally:
        con.close()
    return {"shared": shared, "pair": {first, second}, "hostile": hostile_number}


async def test_shared_number_picker_withheld_malformed_and_hostile_names(crm: Database) -> None:
    assert crm.sqlite_path is not None
    numbers = set_up_numbers(crm.sqlite_path)
    async with running_pbx() as pbx:
        app = agent_console_app(crm, pbx.port)
        notified = Notifications(app)
        async with app.run_test(size=(100, 30)) as pilot:
            screen = app.agent_screen
            assert screen is not None
            card = screen.query_one(ProfileCard)

            # Several customers share the number: best match shown, the picker switches.
            await ring_and_pop(app, pilot, pbx, str(numbers["shared"]))
            pop = card.pop
            assert pop is not None and pop.is_ambiguous
            assert {m.customer_id for m in pop.matches} == numbers["pair"]
            assert "share this number" in str(card.render())
            other = next(m.customer_id for m in pop.matches if m.customer_id != pop.profile.id)
            await pilot.press("p")
            await until(lambda: isinstance(app.screen, PickCustomerScreen))
            options = app.screen.query_one(OptionList)
            options.highlighted = [m.customer_id for m in pop.matches].index(other)
            await pilot.press("enter")
            await until(
                lambda: (
                    card.pop is not None
                    and card.pop.profile is not None
                    and card.pop.profile.id == other
                )
            )
            await until(
                lambda: (
                    screen.desk.state.call is not None
                    and screen.desk.state.call.interaction_id is not None
                )
            )
            await pilot.press("f5")  # reject: rings out as missed
            await until(lambda: screen.desk.state.phase == "idle")
            row = interaction_row(crm.sqlite_path)
            assert row["customer_id"] == other  # the choice is on the record
            assert row["status"] == "missed"
            assert row["end_reason"] == "noanswer"
            # A missed call makes the agent Not ready (Missed), and says so; F6 is back.
            await until(lambda: screen.bar_model.agent_state == "Not ready: Missed")
            assert screen.missed == 1
            assert notified.any("you are Not ready (Missed)")
            await pilot.press("f6")
            await until(lambda: screen.bar_model.agent_state == "Available")

            # Withheld and malformed caller IDs: a clear label, nothing matched.
            for raw, label in (("anonymous", "Withheld number"), ("12", "Unusable caller ID")):
                await ring_and_pop(app, pilot, pbx, raw)
                assert card.pop is not None and card.pop.profile is None
                assert label in str(card.render())
                # The search box comes up focused, to find the caller by name.
                await until(lambda: isinstance(app.screen, SearchScreen))
                await until(lambda: isinstance(app.focused, Input))
                await pilot.press("escape")
                await until(lambda: app.screen is screen)
                await pilot.press("f5")
                await until(lambda: screen.desk.state.phase == "idle")

            # A hostile name is shown literally: no markup, no escapes, no links.
            await ring_and_pop(app, pilot, pbx, str(numbers["hostile"]))
            assert card.pop is not None and card.pop.profile is not None
            await pilot.pause(0.1)
            segments = drawn_segments(app)
            text = "".join(s.text for s in segments)
            assert "\x1b" not in text and "\u202e" not in text
            assert "[@click=app.quit]quit[/]" in text  # literally, as the customer is named
            for segment in segments:
                style = segment.style
                if style is not None:
                    assert not style.link
                    assert "@click" not in (style.meta or {})


async def test_blind_transfer_to_another_queue(crm: Database) -> None:
    assert crm.sqlite_path is not None
    number, _ = one_customer_number(crm.sqlite_path)
    async with running_pbx() as pbx:
        app = agent_console_app(crm, pbx.port)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.agent_screen
            assert screen is not None
            await ring_and_pop(app, pilot, pbx, number)
            await pilot.press("f2")
            await until(lambda: screen.desk.state.phase == "talking")
            await pilot.press("f4")
            await until(lambda: isinstance(app.screen, TransferScreen))
            app.screen.query_one("#extension", Input).focus()
            await pilot.press(*"600", "enter")  # the sales queue's extension
            await until(lambda: wrap_up_ready(app))
            row = interaction_row(crm.sqlite_path)
            assert row["transferred_to"] == "600"
            assert row["status"] == "wrapup"
            assert row["end_reason"] == "transfer"


async def test_transfer_offers_the_pbxs_queues_and_a_refusal_reaches_the_agent(
    crm: Database,
) -> None:
    """F4 lists only the queues the PBX has (the seeded CRM knows tier2 and vip too); a
    transfer the PBX refuses is one line for the agent, and the call stays up."""
    assert crm.sqlite_path is not None
    number, _ = one_customer_number(crm.sqlite_path)
    async with running_pbx() as pbx:
        app = agent_console_app(crm, pbx.port)
        notified = Notifications(app)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.agent_screen
            assert screen is not None
            await ring_and_pop(app, pilot, pbx, number)
            await pilot.press("f2")
            await until(lambda: screen.desk.state.phase == "talking")
            await pilot.press("f4")
            await until(lambda: isinstance(app.screen, TransferScreen))
            offered = {str(o.id) for o in app.screen.query_one(OptionList).options}
            assert offered == {"600", "601"}  # sales and support: what the simulator runs
            app.screen.query_one("#extension", Input).focus()
            await pilot.press(*"9999", "enter")
            await until(lambda: notified.any("transfer to 9999 failed: Transfer invalid"))
            assert screen.desk.state.phase == "talking"


async def test_a_pbx_without_desk_phone_actions_disables_them_and_follows_events(
    crm: Database,
) -> None:
    assert crm.sqlite_path is not None
    number, _ = one_customer_number(crm.sqlite_path)
    async with running_pbx(sim_phone=False) as pbx:
        app = agent_console_app(crm, pbx.port)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.agent_screen
            assert screen is not None
            await ring_and_pop(app, pilot, pbx, number)
            assert screen.check_action("answer", ()) is None  # shown, disabled
            assert "answer/hold on your phone" in str(screen.query_one(CallBar).render())
            await pilot.press("f2")  # does nothing: the agent answers on their phone
            await pilot.pause(0.3)
            assert screen.desk.state.phase == "ringing"
            # The agent picks up the real phone: the console follows the events.
            pbx.engine.phone(AGENT, "answer")
            await until(lambda: screen.desk.state.phase == "talking")
            await pilot.press("f5")  # standard Hangup on the agent's leg works everywhere
            await until(lambda: screen.desk.state.phase == "wrapup")


def interaction_count(path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        return int(con.execute("SELECT count(*) FROM interactions").fetchone()[0])
    finally:
        con.close()


async def hold_a_popped_call(
    app: CallConsoleApp, pilot: Pilot[None], pbx: Pbx, number: str
) -> tuple[AgentScreen, int]:
    """Ring from `number`, answer (F2), hold (F3): the agent screen and the call's row id."""
    screen = app.agent_screen
    assert screen is not None
    await ring_and_pop(app, pilot, pbx, number)
    await pilot.press("f2")
    await until(lambda: screen.desk.state.phase == "talking")
    await pilot.press("f3")
    await until(lambda: screen.desk.state.phase == "held")
    call = screen.desk.state.call
    assert call is not None and call.interaction_id is not None
    return screen, call.interaction_id


async def test_the_ami_link_dropping_mid_call_keeps_the_call(crm: Database) -> None:
    """The manager goes away while the PBX keeps the call (a reload, a network drop)."""
    assert crm.sqlite_path is not None
    number, customer_id = one_customer_number(crm.sqlite_path)
    before = interaction_count(crm.sqlite_path)
    async with running_pbx() as pbx:
        app = agent_console_app(crm, pbx.port)
        async with app.run_test(size=(120, 36)) as pilot:
            screen, interaction_id = await hold_a_popped_call(app, pilot, pbx, number)
            await pilot.pause(1.2)  # on hold for over a second before the link drops
            await pbx.stop()  # the AMI side goes away mid-call…
            await until(lambda: screen.bar_model.link == "reconnecting")
            assert "reconnecting" in str(screen.query_one(CallBar).render())
            await pbx.start()  # …and comes back on the same port
            await until(lambda: screen.bar_model.link == "connected")
            assert screen.desk.state.phase == "held"  # the call state survived the resync
            await pilot.press("f3")
            await until(lambda: screen.desk.state.phase == "talking")
            await pilot.press("f5")
            await until(lambda: screen.desk.state.phase == "wrapup")
            row = interaction_row(crm.sqlite_path)
    # One call, one row: the resync did not log the call again, and kept its hold time.
    assert interaction_count(crm.sqlite_path) == before + 1
    assert row["id"] == interaction_id and row["customer_id"] == customer_id
    assert row["status"] == "wrapup" and row["answered_at"] is not None
    assert row["hold_seconds"] >= 1


async def test_the_simulator_restarting_mid_call_ends_the_call_into_wrap_up(
    crm: Database,
) -> None:
    """The simulator process dies and a new one starts: the held call is gone, as it would be
    after an Asterisk restart. The console resyncs, sees the call vanished, and takes the
    agent to wrap-up with the interaction closed (hold time kept), not left "held" forever."""
    assert crm.sqlite_path is not None
    number, customer_id = one_customer_number(crm.sqlite_path)
    before = interaction_count(crm.sqlite_path)
    async with running_pbx() as pbx:
        app = agent_console_app(crm, pbx.port)
        async with app.run_test(size=(120, 36)) as pilot:
            screen, interaction_id = await hold_a_popped_call(app, pilot, pbx, number)
            await pilot.pause(1.2)
            old_engine = pbx.engine
            await pbx.restart()
            assert pbx.engine is not old_engine and not pbx.engine.pbx.channels
            await until(lambda: screen.bar_model.link == "connected")
            await until(lambda: screen.desk.state.phase == "wrapup")
            await until(lambda: wrap_up_ready(app))  # what the agent sees next
            wrap = app.screen
            await until(lambda: any(b.region.height > 0 for b in wrap.query("#save")))  # mounted
            await pilot.pause()
            row = interaction_row(crm.sqlite_path)
    assert interaction_count(crm.sqlite_path) == before + 1
    assert row["id"] == interaction_id and row["customer_id"] == customer_id
    assert row["status"] == "wrapup" and row["ended_at"] is not None
    assert row["end_reason"] == "unknown"  # vanished while the link was down
    assert row["hold_seconds"] >= 1


async def test_wrap_up_opens_a_ticket_and_schedules_a_callback(crm: Database) -> None:
    assert crm.sqlite_path is not None
    number, customer_id = one_customer_number(crm.sqlite_path)
    async with running_pbx() as pbx:
        app = agent_console_app(crm, pbx.port)
        async with app.run_test(size=(120, 40)) as pilot:
            await answer_and_hang_up(app, pilot, pbx, number)
            wrap = app.screen
            assert isinstance(wrap, WrapUpScreen)
            await pilot.press(*"Charged twice; refund promised")
            wrap.query_one("#disposition", Select).value = "ticket_opened"
            wrap.query_one("#ticket", Select).value = NEW_TICKET
            await until(lambda: wrap.query_one("#new-ticket").display)
            wrap.query_one("#ticket-subject", Input).value = "Double charge"
            wrap.query_one("#callback", Checkbox).value = True
            await pilot.press("ctrl+s")
            await until(lambda: not isinstance(app.screen, WrapUpScreen))
    row = interaction_row(crm.sqlite_path)
    assert row["status"] == "completed" and row["disposition"] == "ticket_opened"
    con = sqlite3.connect(crm.sqlite_path)
    try:
        ticket = con.execute(
            "SELECT customer_id, subject FROM tickets WHERE id = ?", (row["ticket_id"],)
        ).fetchone()
        followup = con.execute(
            "SELECT kind, customer_id, ticket_id FROM followups WHERE interaction_id = ?",
            (row["id"],),
        ).fetchone()
    finally:
        con.close()
    assert ticket == (customer_id, "Double charge")
    assert followup == ("callback", customer_id, row["ticket_id"])


async def test_call_keys_work_while_a_dialog_is_open(crm: Database) -> None:
    """A ringing phone never waits for the agent to close the picker (or any dialog)."""
    assert crm.sqlite_path is not None
    numbers = set_up_numbers(crm.sqlite_path)
    async with running_pbx() as pbx:
        app = agent_console_app(crm, pbx.port)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.agent_screen
            assert screen is not None
            await ring_and_pop(app, pilot, pbx, str(numbers["shared"]))
            await pilot.press("p")
            await until(lambda: isinstance(app.screen, PickCustomerScreen))
            await pilot.press("f2")
            await until(lambda: screen.desk.state.phase == "talking")
            assert isinstance(app.screen, PickCustomerScreen)  # still open, call answered
            await pilot.press("escape")
            await pilot.press("f5")
            await until(lambda: screen.desk.state.phase == "wrapup")


async def test_an_unknown_caller_is_created_from_the_call(crm: Database) -> None:
    assert crm.sqlite_path is not None
    async with running_pbx() as pbx:
        app = agent_console_app(crm, pbx.port)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.agent_screen
            assert screen is not None
            card = screen.query_one(ProfileCard)
            await ring_and_pop(app, pilot, pbx, "(212) 555-0199")
            assert card.pop is not None and card.pop.is_unknown
            await until(
                lambda: (
                    screen.desk.state.call is not None
                    and screen.desk.state.call.interaction_id is not None
                )
            )
            await pilot.press("n")
            await until(lambda: isinstance(app.screen, NewCustomerScreen))
            await pilot.press(*"Nadia New")
            await pilot.press("ctrl+s")
            await until(lambda: card.pop is not None and card.pop.profile is not None)
            assert card.pop is not None and card.pop.profile is not None
            assert card.pop.profile.display_name == "Nadia New"
            assert any(p.value == "+12125550199" for p in card.pop.profile.phones)
            await until(
                lambda: interaction_row(crm.sqlite_path)["customer_id"] == card.pop.profile.id
            )  # type: ignore[union-attr]


async def test_configured_dispositions_reach_the_wrap_up(crm: Database) -> None:
    custom = DispositionCatalog((Disposition("sold", "Sale made"),))
    context = ConsoleContext(
        db=crm, pbx=PbxAddress("127.0.0.1", 1, "agent", "x"), dispositions=custom
    )
    agent = await context.agents.authenticate("demo", "demo")
    assert agent is not None
    runtime = await context.session_for(agent)
    assert runtime.interactions.catalog is custom
    assert runtime.interface == AGENT and "support" in runtime.queues


async def test_a_callback_from_the_worklist_pops_dials_and_is_rescheduled_when_busy(
    crm: Database,
) -> None:
    from sqlalchemy import select

    from console.models import FollowUp
    from console.models.enums import FollowUpKind, FollowUpOrigin
    from console.screens.worklist import WorklistScreen
    from console.services.routing.router import Router
    from console.services.routing.rules_file import load_rules

    assert crm.sqlite_path is not None
    number, customer_id = one_customer_number(crm.sqlite_path)
    routed = await Router(crm, load_rules()).create(
        FollowUpKind.CALLBACK,
        origin=FollowUpOrigin.AGENT,
        customer_id=customer_id,
        summary="promised a call back",
    )
    assert routed is not None
    followup_id = routed.followup_id
    async with running_pbx() as pbx:
        app = agent_console_app(crm, pbx.port)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.agent_screen
            assert screen is not None
            await until(lambda: screen.bar_model.link == "connected")
            await until(lambda: screen.bar_model.agent_state != "Not ready")
            scripted = await app.runtime.cti.send_action(  # type: ignore[union-attr]
                "SimOutbound", Number=number, Outcome="busy"
            )
            assert scripted.ok
            await pilot.press("w")
            await until(lambda: isinstance(app.screen, WorklistScreen))
            worklist = app.screen
            assert isinstance(worklist, WorklistScreen)
            await until(lambda: worklist.loads > 0)
            table = "mine" if str(followup_id) in worklist.items["mine"] else "available"
            worklist.query_one(f"#{table}").focus()
            await until(lambda: worklist.current() is not None)
            while (current := worklist.current()) is not None and current.id != followup_id:
                await pilot.press("down")
            await pilot.press("c")
            await until(lambda: app.screen is screen)  # back on the agent screen: the pop
            card = screen.query_one(ProfileCard)
            await until(lambda: card.pop is not None and card.pop.profile is not None)
            assert card.pop is not None and card.pop.profile is not None
            assert card.pop.profile.id == customer_id
            await until(lambda: screen.desk.state.phase == "idle", within=10)
            await until(lambda: "busy" in followup_outcome(crm.sqlite_path, followup_id))
            async with crm.session() as s:
                row = (await s.scalars(select(FollowUp).where(FollowUp.id == followup_id))).one()
            assert (row.attempts, row.last_outcome, row.status) == (1, "busy", "pending")
            assert row.claimed_by is None and row.due_at > row.last_attempt_at  # retry later
            logged = interaction_row(crm.sqlite_path)
            assert (logged["direction"], logged["customer_id"]) == ("outbound", customer_id)


async def due_callback_for_the_demo_agent(crm: Database) -> tuple[str, int, int]:
    """A callback routed to the demo agent and due now: (number, customer id, follow-up id)."""
    from sqlalchemy import update

    from console.models import FollowUp
    from console.models.enums import FollowUpKind, FollowUpOrigin
    from console.services.routing.router import Router
    from console.services.routing.rules_file import load_rules

    assert crm.sqlite_path is not None
    number, customer_id = one_customer_number(crm.sqlite_path)
    routed = await Router(crm, load_rules()).create(
        FollowUpKind.CALLBACK,
        origin=FollowUpOrigin.AGENT,
        customer_id=customer_id,
        summary="ring back",
    )
    assert routed is not None
    async with crm.write_connection() as conn:
        await conn.execute(
            update(FollowUp)
            .where(FollowUp.id == routed.followup_id)
            .values(target_agent_id=1, due_at=FollowUp.created_at)
        )
    return number, customer_id, routed.followup_id


async def test_a_due_callback_is_offered_to_the_idle_ready_agent_and_enter_dials_it(
    crm: Database,
) -> None:
    from datetime import timedelta

    from sqlalchemy import select

    from console.models import FollowUp
    from console.screens.callback_offer import CallbackOfferScreen

    number, customer_id, followup_id = await due_callback_for_the_demo_agent(crm)
    async with running_pbx() as pbx:
        app = agent_console_app(crm, pbx.port)
        assert app.runtime is not None
        app.runtime.options.upkeep_seconds = 0.2
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await ready_agent(app, pilot)
            # Offered; Esc puts it off, and it is not offered again straight away.
            await until(lambda: isinstance(app.screen, CallbackOfferScreen))
            await pilot.press("escape")
            await until(lambda: app.screen is screen)
            await pilot.pause(0.7)  # several upkeep passes
            assert app.screen is screen
            # Once the put-off time has passed it is offered again; Enter dials it.
            app.runtime.offers.reoffer_after = timedelta(0)
            scripted = await app.runtime.cti.send_action(  # type: ignore[union-attr]
                "SimOutbound", Number=number, Outcome="busy"
            )
            assert scripted.ok
            await until(lambda: isinstance(app.screen, CallbackOfferScreen))
            await pilot.press("enter")
            card = screen.query_one(ProfileCard)
            await until(lambda: card.pop is not None and card.pop.profile is not None)
            assert card.pop is not None and card.pop.profile is not None
            assert card.pop.profile.id == customer_id
            await until(lambda: "busy" in followup_outcome(crm.sqlite_path, followup_id))
            async with crm.session() as s:
                row = (await s.scalars(select(FollowUp).where(FollowUp.id == followup_id))).one()
            assert (row.attempts, row.last_outcome) == (1, "busy")


async def test_a_ringing_call_closes_the_callback_offer_so_the_pop_is_in_front(
    crm: Database,
) -> None:

    from console.screens.callback_offer import CallbackOfferScreen

    number, _customer, _followup = await due_callback_for_the_demo_agent(crm)
    async with running_pbx() as pbx:
        app = agent_console_app(crm, pbx.port)
        assert app.runtime is not None
        app.runtime.options.upkeep_seconds = 0.2
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await ready_agent(app, pilot)
            await until(lambda: isinstance(app.screen, CallbackOfferScreen))
            pbx.ring(number)
            await until(lambda: screen.desk.state.phase == "ringing")
            await until(lambda: app.screen is screen)  # the pop is in front, not the offer
            await pilot.press("f2")
            await until(lambda: screen.desk.state.phase == "talking")
            assert app.screen is screen  # not offered during the call


async def test_quitting_during_a_call_asks_first(crm: Database) -> None:
    """ctrl+q with a live call asks; Esc stays on the call; 'Quit anyway' quits."""
    assert crm.sqlite_path is not None
    number, _ = one_customer_number(crm.sqlite_path)
    async with running_pbx() as pbx:
        app = agent_console_app(crm, pbx.port)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.agent_screen
            assert screen is not None
            await ring_and_pop(app, pilot, pbx, number)
            await pilot.press("ctrl+q")
            await until(lambda: isinstance(app.screen, QuitScreen))
            assert "A call is ringing for you." in str(app.screen.title_content)
            await pilot.press("escape")
            await until(lambda: app.screen is screen)
            await pilot.press("f2")
            await until(lambda: screen.desk.state.phase == "talking")
            await pilot.press("ctrl+q")
            await until(lambda: isinstance(app.screen, QuitScreen))
            assert app.is_running
            await pilot.press("down", "enter")  # "Quit anyway"
            await until(lambda: not app.is_running)


async def test_a_supervisor_joins_no_queue_until_asking_to_take_calls(crm: Database) -> None:
    """Supervisors and trainers mostly watch: logging in joins no queue, so no call rings them;
    F6 joins their queues and makes them available."""
    from console.models.enums import Role
    from console.services.crm.agents import AgentIdentity

    async with running_pbx() as pbx:
        app = agent_console_app(crm, pbx.port)
        notified = Notifications(app)
        assert app.runtime is not None
        app.runtime.agent = AgentIdentity(
            id=1,
            login="super",
            display_name="Sam Supervisor",
            role=Role.SUPERVISOR,
            team="",
            extension="1001",
            interface=AGENT,
            member_name="Demo Agent",
            skills=(),
        )
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.agent_screen
            assert screen is not None
            await until(lambda: notified.any("You are in no queue"))
            assert app.joined_queues == ()
            assert not pbx.engine.acd.queues["support"].members  # nothing rings here
            card = screen.query_one(ProfileCard)
            await until(lambda: "You are in no queue: F6 to take calls" in str(card.render()))
            await pilot.press("f6")
            await until(lambda: screen.bar_model.agent_state == "Available")
            assert AGENT in pbx.engine.acd.queues["support"].members
            await until(lambda: "Waiting for the next one" in str(card.render()))
            # The idle line says the real state: not ready, with the reason.
            await app.runtime.set_ready(False, reason="lunch")
            await until(lambda: "You are Not ready (Lunch): F6" in str(card.render()))


async def test_f1_shows_the_keys_and_the_palette_finds_every_screen_action(crm: Database) -> None:
    """F1 opens Textual's keys panel for the screen in front; the command palette offers the
    screen's actions by name: typing "trans" finds Transfer (F4)."""
    from textual.command import CommandPalette

    async with running_pbx() as pbx:
        app = agent_console_app(crm, pbx.port)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.agent_screen
            assert screen is not None
            await until(lambda: app.screen is screen)
            await pilot.press("f1")
            await until(lambda: bool(screen.query("HelpPanel")))
            await pilot.press("f1")
            await until(lambda: not screen.query("HelpPanel"))
            titles = [c.title for c in app.get_system_commands(screen)]
            assert {"Transfer", "Answer", "Hang up", "Worklist"} <= set(titles)
            await pilot.press("ctrl+p")
            await until(lambda: isinstance(app.screen, CommandPalette))
            await pilot.press(*"trans")
            results = app.screen.query_one(OptionList)
            await until(lambda: any("Transfer" in str(o.prompt) for o in results.options))


async def test_a_ring_on_the_worklist_is_shown_there_and_answered_from_there(
    crm: Database,
) -> None:
    """A call that rings while the worklist is in front: a banner there (caller, tier, queue,
    wait, the answer key) and the bell; F2 answers it and brings the caller's pop to front."""
    from console.screens.worklist import WorklistScreen

    assert crm.sqlite_path is not None
    number, _ = one_customer_number(crm.sqlite_path)
    async with running_pbx() as pbx:
        app = agent_console_app(crm, pbx.port)
        notified = Notifications(app)
        bells: list[int] = []
        app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.agent_screen
            assert screen is not None
            await until(lambda: screen.bar_model.link == "connected")
            await until(lambda: screen.bar_model.agent_state != "Not ready")
            if not screen.bar_model.agent_ready:
                await pilot.press("f6")
                await until(lambda: screen.bar_model.agent_ready)
            await pilot.press("w")
            await until(lambda: isinstance(app.screen, WorklistScreen))
            pbx.ring(number, "Caller")
            await until(lambda: notified.any("F2 answer"))
            (banner,) = [n for n in notified.shown if "F2 answer" in n.message]
            assert banner.title == "☎ Incoming call" and "support" in str(banner.message)
            assert bells
            assert isinstance(app.screen, WorklistScreen)  # nothing was taken from the agent
            await pilot.press("f2")
            await until(lambda: screen.desk.state.phase == "talking")
            await until(lambda: app.screen is screen)  # the caller's pop, in front


async def test_the_wrap_up_fits_80x24_with_save_and_extend_visible(crm: Database) -> None:
    """On an 80x24 terminal the wrap-up's Save and Extend are on screen, not cut off."""
    from textual.widgets import Button

    assert crm.sqlite_path is not None
    number, _ = one_customer_number(crm.sqlite_path)
    async with running_pbx() as pbx:
        app = agent_console_app(crm, pbx.port)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.agent_screen
            assert screen is not None
            await ring_and_pop(app, pilot, pbx, number)
            await pilot.press("f2")
            await until(lambda: screen.desk.state.phase == "talking")
            await pilot.press("f5")
            await until(lambda: wrap_up_ready(app))
            await pilot.pause()
            region = app.screen.region
            for button_id in ("#save", "#extend"):
                button = app.screen.query_one(button_id, Button)
                await until(lambda b=button: b.region.height > 0)
                assert region.contains_region(button.region), (button_id, button.region, region)


async def test_a_ready_agent_is_ready_again_after_the_simulator_restarts(crm: Database) -> None:
    """Issue 17.6: the PBX restarts and forgets its members; the console joins the queues
    again and, since the agent was ready, unpauses them: the next call reaches them."""
    assert crm.sqlite_path is not None
    number, _ = one_customer_number(crm.sqlite_path)
    async with running_pbx() as pbx:
        app = agent_console_app(crm, pbx.port)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await ready_agent(app, pilot)
            cti = app.runtime.cti  # type: ignore[union-attr]
            logins = cti.stats.connections  # type: ignore[attr-defined]
            await pbx.restart()
            await until(lambda: cti.stats.connections > logins)  # type: ignore[attr-defined]
            await until(lambda: screen.bar_model.link == "connected")
            # The new PBX reports the agent as a member again, and not paused.
            await until(lambda: screen.bar_model.agent_ready, within=10)
            assert screen.bar_model.agent_state == "Available"
            pbx.ring(number, "Ann Caller")
            await until(lambda: screen.desk.state.phase == "ringing")
