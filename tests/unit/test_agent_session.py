"""The agent's side of the desk without a terminal (issue 16.1): their state over all queues,
after-call work, the missed-call pause, crash recovery, callback outcomes and re-offers, the
routing upkeep loop and the wrap-up submit's "created once" guarantee — with a `FakeLink`
standing in for the PBX and a real SQLite file for the database."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, update

from console.cti.ami_types import Capabilities
from console.cti.fake import FakeLink
from console.cti.link import CtiLink
from console.cti.protocol import (
    AgentStateChanged,
    CallEnded,
    EndReason,
    LinkState,
    LinkStateChanged,
)
from console.db import Database
from console.models import Agent, Customer, FollowUp, Ticket
from console.models.enums import FollowUpKind, FollowUpStatus
from console.services.context import ServiceContext
from console.services.desk.agent_state import AgentState
from console.services.desk.call_control import CallControl
from console.services.desk.desk import DeskCall
from console.services.desk.interactions import InteractionLog, WrapUpError
from console.services.desk.recovery import recover_unfinished
from console.services.desk.session import AgentSession, DeskOptions
from console.services.desk.wrapup import NewTicket, WrapUpForm, WrapUpSubmission
from console.services.routing.callback_offers import CallbackOffers
from console.services.routing.callbacks import dial_outcome
from console.services.routing.upkeep import RoutingUpkeep
from console.services.routing.worklist import WorkItem

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
ME = "PJSIP/1001"


def member(queue: str, *, paused: bool = False, reason: str = "", logged_in: bool = True):  # type: ignore[no-untyped-def]
    return AgentStateChanged(
        interface=ME,
        member_name="Alice",
        queue=queue,
        logged_in=logged_in,
        paused=paused,
        reason=reason,
        status=1,
        status_text="Not in use",
        in_call=False,
        at=T0,
    )


async def add_agent(db: Database) -> int:
    async with db.write_connection() as conn:
        return int(
            await conn.scalar(
                insert(Agent)
                .values(login="alice", display_name="Alice", interface=ME)
                .returning(Agent.id)
            )
            or 0
        )


async def add_customer(db: Database) -> int:
    async with db.write_connection() as conn:
        return int(
            await conn.scalar(insert(Customer).values(display_name="Ann").returning(Customer.id))
            or 0
        )


def session(db: Database, agent_id: int, link: FakeLink, **options: object) -> AgentSession:
    return AgentSession(
        ctx=ServiceContext(db=db, clock=lambda: T0),
        cti=link,
        agent_id=agent_id,
        interface=ME,
        member_name="Alice",
        queues=("support", "sales"),
        options=DeskOptions(**options),  # type: ignore[arg-type]
    )


def pauses(link: FakeLink) -> list[tuple[str, str]]:
    return [(str(f["Paused"]), str(f.get("Reason", ""))) for f in link.actions("QueuePause")]


# ---------------------------------------------------------------- the agent's state


def test_one_unpaused_queue_makes_the_agent_available() -> None:
    state = AgentState()
    assert state.apply(member("support", paused=True, reason="lunch")).label == "Not ready: Lunch"
    status = state.apply(member("sales"))
    assert (status.ready, status.label) == (True, "Available")


def test_leaving_one_queue_does_not_log_the_agent_out_of_the_others() -> None:
    state = AgentState()
    state.apply(member("support"))
    state.apply(member("sales"))
    assert state.apply(member("sales", logged_in=False)).label == "Available"
    status = state.apply(member("support", logged_in=False))
    assert (status.ready, status.label, status.in_queues) == (False, "Logged out", False)


def test_paused_everywhere_shows_a_reason_the_pbx_gave_even_an_unknown_one() -> None:
    state = AgentState()
    state.apply(member("support", paused=True))
    status = state.apply(member("sales", paused=True, reason="Auto-Pause"))
    assert (status.ready, status.reason_label) == (False, "Missed (auto-pause)")
    assert state.apply(member("sales", paused=True, reason="meeting")).label == "Not ready: meeting"


# ---------------------------------------------------------------- after-call work


async def test_a_ready_agent_is_paused_for_after_call_work_and_ready_again_once(
    db: Database,
) -> None:
    link = FakeLink()
    desk = session(db, await add_agent(db), link)
    desk.state.apply(member("support"))
    await desk.begin_after_call_work()
    assert pauses(link) == [("true", "acw")]
    await desk.end_after_call_work()
    await desk.end_after_call_work()  # a second save (or a stray call) does not resume again
    assert pauses(link) == [("true", "acw"), ("false", "")]


async def test_an_agent_not_ready_before_the_call_stays_not_ready_after_the_wrap_up(
    db: Database,
) -> None:
    link = FakeLink()
    desk = session(db, await add_agent(db), link)
    desk.state.apply(member("support", paused=True, reason="lunch"))
    await desk.begin_after_call_work()
    await desk.end_after_call_work()
    assert pauses(link) == []


async def test_a_missed_ring_pauses_a_ready_agent_unless_the_seat_says_not(db: Database) -> None:
    agent_id = await add_agent(db)
    link = FakeLink()
    desk = session(db, agent_id, link)
    desk.state.apply(member("support"))
    assert await desk.missed_call() is True
    assert pauses(link) == [("true", "missed")]

    trainer_link = FakeLink()
    trainer = session(db, agent_id, trainer_link, missed_call_not_ready=False)
    trainer.state.apply(member("support"))
    assert await trainer.missed_call() is False
    assert pauses(trainer_link) == []


async def test_a_state_change_during_an_outage_raises_and_sends_nothing(db: Database) -> None:
    link = FakeLink(connected=False)
    desk = session(db, await add_agent(db), link)
    desk.state.apply(member("support"))
    with pytest.raises(Exception, match="not sent"):
        await desk.begin_after_call_work()
    assert link.sent == []


async def test_logging_in_joins_every_queue_paused_with_the_phone_device(db: Database) -> None:
    link = FakeLink()
    desk = dataclasses.replace(
        session(db, await add_agent(db), link), state_interface="PJSIP/1001-phone"
    )
    assert isinstance(link, CtiLink)  # the fake really is a CtiLink
    assert await desk.log_in_to_queues() == ["support", "sales"]
    added = link.actions("QueueAdd")
    assert [a["Queue"] for a in added] == ["support", "sales"]
    assert {(a["Paused"], a["StateInterface"]) for a in added} == {("true", "PJSIP/1001-phone")}


async def test_desk_phone_buttons_follow_the_pbx_capabilities(db: Database) -> None:
    agent_id = await add_agent(db)
    real = session(db, agent_id, FakeLink())
    with pytest.raises(Exception, match="no SimPhone"):
        await real.cti.sim_phone(ME, "answer")
    sim = session(db, agent_id, FakeLink(capabilities=Capabilities(sim_phone=True)))
    assert (await sim.cti.sim_phone(ME, "answer")).ok


# ---------------------------------------------------------------- crash recovery


async def ring(log: InteractionLog, agent_id: int, uniqueid: str, customer_id: int | None = None):  # type: ignore[no-untyped-def]
    return await log.ring(
        uniqueid=uniqueid,
        linkedid=uniqueid,
        agent_id=agent_id,
        queue_name="support",
        caller_raw="+14155550123",
        caller_e164="+14155550123",
        caller_name="Ann",
        customer_id=customer_id,
        offered_at=T0,
    )


async def test_recovery_closes_calls_that_ended_meanwhile_and_offers_the_wrap_up_back(
    db: Database,
) -> None:
    agent_id = await add_agent(db)
    log = InteractionLog(db)
    rang = await ring(log, agent_id, "1.1")  # rang, never answered, gone
    talked = await ring(log, agent_id, "1.2")  # answered, then the console died, call gone
    await log.answered(talked.id, T0 + timedelta(seconds=5))
    live = await ring(log, agent_id, "1.3")  # still up on the PBX
    await log.answered(live.id, T0 + timedelta(seconds=5))

    offered = await recover_unfinished(log, agent_id, {"1.3"}, T0 + timedelta(minutes=3))

    assert offered is not None and offered.id == talked.id and offered.status == "wrapup"
    assert (await log.get(rang.id)).status == "missed"  # type: ignore[union-attr]
    assert (await log.get(live.id)).status == "active"  # type: ignore[union-attr]
    assert await recover_unfinished(log, agent_id, set(), T0) is not None  # offered until done


# ---------------------------------------------------------------- callbacks


def ended(answered: bool, reason: EndReason) -> CallEnded:
    return CallEnded(
        uniqueid="9.1",
        linkedid="9.1",
        queue="",
        interface=ME,
        reason=reason,
        answered=answered,
        cause=16,
        cause_text="Normal Clearing",
        talk_time=None,
        at=T0,
    )


def test_a_dial_outcome_is_what_the_call_came_to() -> None:
    assert dial_outcome(None) == "agent"  # the agent's own phone never answered
    assert dial_outcome(ended(True, EndReason.CALLER)) == "answered"
    assert dial_outcome(ended(False, EndReason.BUSY)) == "busy"
    assert dial_outcome(ended(False, EndReason.NO_ANSWER)) == "noanswer"
    assert dial_outcome(ended(False, EndReason.FAILED)) == "failed"


def item(followup_id: int, *, due: datetime, kind: FollowUpKind = FollowUpKind.CALLBACK,
         claimed_by: int | None = None) -> WorkItem:  # fmt: skip
    return WorkItem(
        id=followup_id, kind=kind, status=FollowUpStatus.PENDING, customer_id=1,
        customer_name="Ann", summary="", due_at=due, sla_due_at=None, priority=3,
        target_queue_id=None, target_queue_name="", target_skill="", target_min_level=0,
        target_agent_id=1, target_agent_name="Alice", agent_only=False, claimed_by=claimed_by,
        claimed_by_name="", claimed_at=None, lease_expires_at=None, attempts=0,
        last_outcome="", escalation_level=0, overdue=False, snoozed_until=None,
        snooze_reason="", interaction_id=None, ticket_id=None, version=1, updated_at=T0,
    )  # fmt: skip


def test_a_due_callback_is_offered_once_then_not_again_for_five_minutes() -> None:
    offers = CallbackOffers()
    items = [
        item(1, due=T0 + timedelta(hours=1)),  # not due yet
        item(2, due=T0, kind=FollowUpKind.TASK),  # not a callback
        item(3, due=T0, claimed_by=7),  # someone holds it
        item(4, due=T0 - timedelta(minutes=1)),
    ]
    assert offers.next_offer(items, T0) == items[3]
    assert offers.next_offer(items, T0 + timedelta(minutes=4, seconds=59)) is None
    assert offers.next_offer(items, T0 + timedelta(minutes=5)) == items[3]


def test_an_offer_a_ring_interrupted_comes_back_at_once() -> None:
    offers = CallbackOffers()
    due = [item(4, due=T0)]
    assert offers.next_offer(due, T0) is not None
    offers.interrupted(4)
    assert offers.next_offer(due, T0 + timedelta(seconds=1)) is not None


async def test_an_unknown_originate_is_not_settled(db: Database) -> None:
    desk = session(db, await add_agent(db), FakeLink())
    assert await desk.settle_callback("cc-other-1", None) is None
    assert await desk.settle_callback("", ended(True, EndReason.CALLER)) is None


# ---------------------------------------------------------------- routing upkeep


class Flaky(RoutingUpkeep):
    """An upkeep whose passes fail or succeed as scripted (the database away and back)."""

    def __init__(self, script: list[bool]) -> None:
        self.script = script
        self.passes = 0
        self.interval = 0.0

    async def tick(self) -> None:
        ok = self.script[min(self.passes, len(self.script) - 1)]
        self.passes += 1
        if not ok:
            raise OSError("database is locked")


async def run_until(upkeep: Flaky, passes: int, **hooks: object) -> None:
    task = asyncio.create_task(upkeep.run(**hooks))  # type: ignore[arg-type]
    while upkeep.passes < passes:  # noqa: ASYNC110 - each pass yields once (interval 0)
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_the_upkeep_says_once_per_outage_that_routing_paused_and_keeps_going() -> None:
    notices: list[str] = []
    good: list[int] = []

    async def after() -> None:
        good.append(1)

    upkeep = Flaky([False, False, False, True, False, False])
    await run_until(upkeep, 8, after_tick=after, on_failure=lambda e: notices.append(str(e)))
    assert notices == ["database is locked", "database is locked"]  # two outages, one line each
    assert good == [1]


# ---------------------------------------------------------------- the wrap-up submit


async def wrapup_row(db: Database, agent_id: int, customer_id: int | None):  # type: ignore[no-untyped-def]
    log = InteractionLog(db, clock=lambda: T0)
    row = await ring(log, agent_id, "5.1", customer_id)
    await log.answered(row.id, T0 + timedelta(seconds=5))
    return log, await log.ended(row.id, T0 + timedelta(minutes=2))


async def counts(db: Database) -> tuple[int, int]:
    async with db.session() as s:
        tickets = await s.scalar(select(func.count()).select_from(Ticket))
        followups = await s.scalar(select(func.count()).select_from(FollowUp))
    return int(tickets or 0), int(followups or 0)


async def test_a_retried_wrap_up_reuses_the_ticket_and_follow_ups_it_already_made(
    db: Database,
) -> None:
    agent_id, customer_id = await add_agent(db), await add_customer(db)
    ctx = ServiceContext(db=db, clock=lambda: T0)
    log, record = await wrapup_row(db, agent_id, customer_id)
    submit = WrapUpSubmission(
        log, record, agent_id=agent_id, tickets=ctx.tickets, followups=ctx.followups,
        router=ctx.router, clock=lambda: T0 + timedelta(minutes=3),
    )  # fmt: skip
    form = WrapUpForm(
        disposition="no_such_code",  # refused by the row's step, after the rest was made
        notes="Double charge on the March invoice",
        ticket=NewTicket(priority="high"),
        callback_hours=2,
        escalate=True,
    )
    with pytest.raises(WrapUpError):
        await submit.submit(form)
    assert await counts(db) == (1, 2)
    first = (submit.created_ticket, submit.created_callback, submit.created_escalation)

    saved = await submit.submit(dataclasses.replace(form, disposition="ticket_opened"))

    assert await counts(db) == (1, 2)  # nothing made twice
    assert (saved.ticket_opened, saved.callback_id, saved.escalation_id) == first
    assert saved.record.status == "completed" and saved.record.ticket_id == first[0]
    async with db.session() as s:
        subject = await s.scalar(select(Ticket.subject))
        due = await s.scalar(select(FollowUp.due_at).where(FollowUp.kind == "callback"))
    assert subject == "Double charge on the March invoice"  # no subject: the notes name it
    assert due is not None and due.replace(tzinfo=UTC) == T0 + timedelta(hours=2, minutes=3)


async def test_a_new_ticket_needs_a_subject_or_notes(db: Database) -> None:
    agent_id, customer_id = await add_agent(db), await add_customer(db)
    ctx = ServiceContext(db=db, clock=lambda: T0)
    log, record = await wrapup_row(db, agent_id, customer_id)
    submit = WrapUpSubmission(log, record, agent_id=agent_id, tickets=ctx.tickets)
    with pytest.raises(WrapUpError, match="subject"):
        await submit.submit(WrapUpForm(disposition="ticket_opened", ticket=NewTicket()))
    assert await counts(db) == (0, 0)


# ---------------------------------------------------------------- call control


def on_call() -> DeskCall:
    return DeskCall(
        uniqueid="7.1",
        linkedid="7.1",
        queue="support",
        caller_id="+14155550123",
        caller_name="Ann",
        channel="PJSIP/trunk-7",
        agent_channel="PJSIP/1001-8",
        offered_at=T0,
        waited=2.0,
        phase="talking",
    )


async def test_a_transfer_is_the_transferers_blind_transfer_or_redirect_on_an_old_pbx() -> None:
    modern = FakeLink(capabilities=Capabilities(actions=frozenset({"blindtransfer", "atxfer"})))
    await CallControl(modern, ME).transfer(on_call(), "2000")
    assert [(s.action, s.fields["Channel"]) for s in modern.sent] == [
        ("BlindTransfer", "PJSIP/1001-8")  # the agent's leg, not the caller's
    ]
    old = FakeLink(capabilities=Capabilities(actions=frozenset({"redirect"})))
    await CallControl(old, ME).transfer(on_call(), "2000")
    assert [(s.action, s.fields["Channel"]) for s in old.sent] == [("Redirect", "PJSIP/trunk-7")]


async def test_hanging_up_is_the_desk_phone_on_the_simulator_and_hangup_on_asterisk() -> None:
    sim = FakeLink(capabilities=Capabilities(sim_phone=True))
    await CallControl(sim, ME).hang_up(on_call())
    assert [(s.action, s.fields.get("Command")) for s in sim.sent] == [("SimPhone", "hangup")]
    real = FakeLink()
    await CallControl(real, ME).hang_up(on_call())
    assert real.actions("Hangup") == [{"Channel": "PJSIP/1001-8", "Cause": "16"}]


async def test_the_conference_plays_the_pbxs_three_way_code_on_the_agents_leg() -> None:
    link = FakeLink()
    control = CallControl(link, ME, threeway_code="#3")
    await control.conference(on_call())
    await control.cancel_consult(on_call())
    assert [(s.action, s.fields.get("Digit")) for s in link.sent] == [
        ("PlayDTMF", "#"),  # digit by digit, received as if the phone dialled them
        ("PlayDTMF", "3"),
        ("CancelAtxfer", None),
    ]


async def test_a_refused_action_is_returned_not_raised() -> None:
    link = FakeLink(refuse={"Atxfer": "No call in progress"})
    result = await CallControl(link, ME).consult(on_call(), "2000")
    assert (result.ok, result.message) == (False, "No call in progress")


# ---------------------------------------------------------------- a PBX restart


def link(state: LinkState) -> LinkStateChanged:
    return LinkStateChanged(state=state, since=T0, detail="")


async def test_a_ready_agent_is_ready_again_after_the_pbx_forgot_its_members(db: Database) -> None:
    fake = FakeLink()
    desk = session(db, await add_agent(db), fake)
    desk.state.apply(member("support"))
    desk.state.apply(member("sales"))
    desk.link_changed(link(LinkState.RECONNECTING))
    # The restarted PBX has no members: the resync says so, and the link comes back.
    desk.state.apply(member("support", logged_in=False))
    desk.state.apply(member("sales", logged_in=False))
    desk.link_changed(link(LinkState.CONNECTED))
    assert await desk.rejoin() == ["support", "sales"]
    assert [(a["Queue"], a["Paused"]) for a in fake.actions("QueueAdd")] == [
        ("support", "true"),
        ("sales", "true"),
    ]
    assert pauses(fake) == [("false", "")]  # then unpaused at once: the next call can ring
    assert desk.before_outage is None  # one outage, one restore


async def test_an_agent_at_lunch_comes_back_at_lunch(db: Database) -> None:
    fake = FakeLink()
    desk = session(db, await add_agent(db), fake)
    desk.state.apply(member("support", paused=True, reason="lunch"))
    desk.link_changed(link(LinkState.RECONNECTING))
    desk.link_changed(link(LinkState.RECONNECTING))  # a second failed attempt changes nothing
    desk.state.apply(member("support", logged_in=False))
    await desk.rejoin()
    assert [a["Reason"] for a in fake.actions("QueueAdd")] == ["lunch", "lunch"]
    assert pauses(fake) == []


async def test_the_session_follows_its_own_agent_in_stream_order(db: Database) -> None:
    """The App hands every event to the session as it arrives (before the screen draws it), so
    a reconnect reads the agent's state as the PBX last told it, whatever the screen lags."""
    desk = session(db, await add_agent(db), FakeLink())
    other = dataclasses.replace(member("support"), interface="PJSIP/2002")
    desk.follow(other)  # someone else's membership
    assert not desk.state.status.in_queues
    desk.follow(member("support", paused=True, reason="lunch"))
    desk.follow(link(LinkState.RECONNECTING))
    assert desk.before_outage == (False, "lunch")


async def test_a_supervisor_joins_no_queue_after_a_reconnect_until_they_asked_to(
    db: Database,
) -> None:
    from console.services.crm.agents import AgentDirectory

    agent_id = await add_agent(db)
    async with db.write_connection() as conn:
        await conn.execute(update(Agent).where(Agent.id == agent_id).values(role="supervisor"))
    identity = await AgentDirectory(db).get(agent_id)
    fake = FakeLink()
    desk = dataclasses.replace(session(db, agent_id, fake), agent=identity)
    assert await desk.rejoin() is None and fake.sent == []  # watching, not taking calls
    await desk.log_in_to_queues()  # F6: they take calls now
    fake.sent.clear()
    assert await desk.rejoin() == ["support", "sales"]  # so a reconnect joins them again
    assert len(fake.actions("QueueAdd")) == 2
