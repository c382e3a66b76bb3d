"""A recorded call becomes a training scenario: it loads in the simulator as one scripted call
with the caller's words at their offsets, a rubric the recorded agent's own handling passes in
full, and (masked, the default) not a trace of the caller's number, email or name."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import phonenumbers
import pytest

from callkit.scenario import Scenario, parse_scenario
from console.cti.protocol import (
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallResumed,
    CallTransferred,
    EndReason,
    TranscriptLine,
)
from console.db import Database
from console.models.enums import (
    FollowUpKind,
    FollowUpOrigin,
    FollowUpStatus,
    TicketPriority,
    TicketStatus,
)
from console.services.crm.phones import normalise
from console.services.crm.tickets import TicketRecord
from console.services.desk.screenpop import ContactPoint, CustomerMatch, CustomerProfile, ScreenPop
from console.services.routing.followups import FollowUpRecord
from console.services.training.recorded_call import ScenarioExportError
from console.services.training.recording import SessionRecorder
from console.services.training.recording_codec import encode_event
from console.services.training.scenario_export import scenario_from_call
from console.services.training.scoring import (
    CreatedFollowUp,
    CreatedTicket,
    TraineeCall,
    TraineeRun,
    score,
)
from console.services.training.session_log import (
    Recorded,
    RecordedAction,
    RecordedEvent,
    SessionLog,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PHONE = "+14155550101"
EMAIL = "grace.hopper@example.com"
# The caller's number however people write it, and her email and names.
RAW_SPELLINGS = [
    PHONE,
    "14155550101",
    "4155550101",
    "415-555-0101",
    "(415) 555-0101",
    "415 555 0101",
    "415.555.0101",
    "+1 415 555 0101",
    "0014155550101",
]
PERSONAL = [*RAW_SPELLINGS, EMAIL, "grace.hopper", "grace", "hopper"]
SAID = [
    (8, "Hi, this is Grace Hopper, my number is 415-555-0101."),
    (20, f"Email me at {EMAIL}: I was charged twice for March."),
    (70, "Grace again: call me back on (415) 555-0101 tomorrow, please."),
]
NOTES = f"Grace Hopper ({PHONE}, {EMAIL}) charged twice in March; refund ticket, callback."


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def pop(*, known: bool = True) -> ScreenPop:
    """What the agent saw: Grace Hopper's record (or, unknown caller, no record at all)."""
    caller = normalise(PHONE)
    if not known:
        return ScreenPop(caller, looked_up_at=T0)
    match = CustomerMatch(1, "Grace Hopper", "person", "platinum", "mature", "", None, "mobile", "")
    profile = CustomerProfile(
        id=1,
        kind="person",
        display_name="Grace Hopper",
        organisation_id=None,
        organisation_name="",
        language="en",
        tier="platinum",
        lifecycle="mature",
        rfm=(5, 4, 5),
        lifetime_value_cents=1_250_000,
        currency="USD",
        tags=("vip",),
        notes="Prefers email.",
        account_owner="Dana Owner",
        created_at=T0 - timedelta(days=400),
        contact_points=(
            ContactPoint("phone", PHONE, "mobile", ""),
            ContactPoint("email", EMAIL, "", "home"),
        ),
    )
    return ScreenPop(caller, (match,), profile, looked_up_at=T0)


def ticket() -> TicketRecord:
    return TicketRecord(
        id=3,
        customer_id=1,
        customer_name="Grace Hopper",
        subject="Charged twice in March",
        category="billing",
        priority=TicketPriority.HIGH,
        status=TicketStatus.NEW,
        sla_due_at=at(8 * 3600),
        sla_remaining_seconds=8 * 3600,
        assignee_agent_id=None,
        assignee_name="",
        assignee_team="",
        created_at=at(110),
        updated_at=at(110),
        resolved_at=None,
    )


def followup(origin: FollowUpOrigin = FollowUpOrigin.AGENT) -> FollowUpRecord:
    return FollowUpRecord(
        id=5,
        kind=FollowUpKind.CALLBACK,
        status=FollowUpStatus.PENDING,
        customer_id=1,
        interaction_id=7,
        ticket_id=3,
        summary=f"Call Grace back on {PHONE} about the refund",
        due_at=at(86_400),
        priority=2,
        target_queue_id=2,
        target_queue_name="billing-callbacks",
        target_agent_id=None,
        target_agent_name="",
        agent_only=False,
        claimed_by=None,
        claimed_by_name="",
        created_at=at(115),
    )


async def record_call(
    db: Database,
    *,
    ring: int = 6,
    hold: int = 20,
    end: int = 95,
    wrap: int = 30,
    caller_name: str = "Grace Hopper",
    known: bool = True,
    transfer: str = "",
    created_customer: bool = False,
    answered: bool = True,
    shift: bool = False,
) -> list[Recorded]:
    """Record Grace Hopper's billing call through a real SessionRecorder and read it back:
    the call's records (`for_call`), or with `shift` everything its agent's console recorded
    around it (`for_agent`), actions that name no call included."""
    clock = Clock()
    rec = SessionRecorder(db, agent_id=1, clock=clock, host="desk-7")
    ids: dict[str, Any] = {"uniqueid": "U1", "linkedid": "L1"}
    where: dict[str, Any] = {"interface": "PJSIP/1001"}
    legs: dict[str, Any] = {
        "member_name": "Ann Agent",
        "channel": "PJSIP/trunk-1",
        "agent_channel": "PJSIP/1001-1",
    }

    def event(seconds: float, e: Any) -> None:
        clock.now = at(seconds)
        rec.record_event(e)

    def action(seconds: float, kind: str, **details: Any) -> None:
        clock.now = at(seconds)
        rec.record_action(kind, **details)

    event(
        0,
        CallOffered(
            **ids,
            **where,
            **legs,
            queue="billing",
            caller_id=PHONE,
            caller_name=caller_name,
            waited=12.0,
            at=at(0),
        ),
    )
    action(0.1, "pop_shown", call_id="L1", interaction_id=7, pop=pop(known=known))
    if not answered:
        event(
            15,
            CallEnded(
                **ids,
                **where,
                queue="billing",
                answered=False,
                reason=EndReason.ABANDONED,
                cause=16,
                cause_text="",
                talk_time=None,
                at=at(15),
            ),
        )
        await rec.stop()
        return await SessionLog(db).for_call("L1")
    action(ring - 0.2, "answer", call_id="L1", interaction_id=7)
    event(
        ring,
        CallAnswered(
            **ids, **where, **legs, queue="billing", hold_time=12, ring_time=ring, at=at(ring)
        ),
    )
    for seconds, text in SAID:
        event(
            seconds, TranscriptLine(**ids, speaker="caller", text=text, script="", at=at(seconds))
        )
    if created_customer:  # recorded with no call, like CustomerService.create does
        action(30, "customer_created", customer_id=9, name="Grace Hopper", phone=PHONE, email=EMAIL)
    if hold:
        action(34.9, "hold", call_id="L1", interaction_id=7)
        event(35, CallHeld(**ids, **where, at=at(35)))
        event(35 + hold, CallResumed(**ids, **where, at=at(35 + hold)))
    reason = EndReason.CALLER
    if transfer:
        action(end - 1, "transfer", call_id="L1", interaction_id=7, target=transfer)
        event(end, CallTransferred(**ids, **where, target=transfer, context="", at=at(end)))
        reason = EndReason.TRANSFER
    event(
        end,
        CallEnded(
            **ids,
            **where,
            queue="billing",
            answered=True,
            reason=reason,
            cause=16,
            cause_text="Normal Clearing",
            talk_time=end - ring,
            at=at(end),
        ),
    )
    action(end + 5, "wrap_up_opened", call_id="L1", interaction_id=7, status="wrapup")
    action(end + 15, "ticket_created", interaction_id=7, ticket=ticket())
    action(end + 20, "followup_created", interaction_id=7, followup=followup(), origin="agent")
    action(
        end + wrap,
        "wrap_up_saved",
        call_id="L1",
        interaction_id=7,
        disposition="ticket_opened",
        category="billing",
        notes=NOTES,
        ticket_id=3,
        followup_id=5,
        csat=None,
        resolved_first_contact=False,
        wrap_seconds=wrap,
    )
    clock.now = at(end + wrap + 60)
    rec.record_action("ready", reason="")  # after the call: not part of it
    await rec.stop()
    if shift:
        return await SessionLog(db).for_agent(1, at(-3600), at(3600))
    return await SessionLog(db).for_call("L1")


def load(text: str) -> Scenario:
    return parse_scenario(text, "exported.toml")


def criteria(scenario: Scenario) -> dict[str, dict[str, Any]]:
    """The rubric's criteria by id, with the parameters their kind sets."""
    assert scenario.rubric is not None
    return {
        c.id: {
            "kind": c.kind,
            **{
                k: v
                for k, v in vars(c).items()
                if k not in ("id", "kind", "label", "calls", "weight")
                and v not in ("", (), 0.0)
                and v is not False
            },
        }
        for c in scenario.rubric.criteria
    }


def reproduce(scenario: Scenario, **changes: Any) -> TraineeRun:
    """A trainee run doing what the recorded agent did, as fast and in the same way."""
    (call,) = scenario.calls
    offered = at(300)
    call_run = TraineeCall(
        call_id=call.id,
        offered_at=offered,
        answered_at=offered + timedelta(seconds=6),
        ended_at=offered + timedelta(seconds=95),
        wrapped_at=offered + timedelta(seconds=125),
        hold_seconds=20.0,
        wrapup_seconds=30.0,
        disposition="ticket_opened",
        notes="Charged twice in March; refund ticket, callback.",
        tickets=(CreatedTicket("billing", "high", offered + timedelta(seconds=110)),),
        followups=(
            CreatedFollowUp("callback", offered + timedelta(seconds=115), "billing-callbacks"),
        ),
    )
    return TraineeRun(scenario.name, "Tess Trainee", offered, (replace(call_run, **changes),))


# ---------------------------------------------------------------- what the scenario holds


async def test_a_recorded_call_becomes_one_scripted_call_with_its_transcript(db: Database) -> None:
    text = scenario_from_call(await record_call(db), name="Billing dispute replay")
    scenario = load(text)

    assert scenario.name == "Billing dispute replay"
    assert scenario.difficulty == "hard"  # a hold, a ticket and a follow-up to get right
    assert [(q.name, q.extension) for q in scenario.queues] == [("billing", "billing")]
    (agent,) = scenario.agents
    assert (agent.interface, agent.name, agent.kind) == ("PJSIP/1001", "Trainee", "phone")
    assert agent.queues == (("billing", 0),)
    (call,) = scenario.calls
    assert (call.id, call.at, call.queue) == ("billing-dispute-replay", 5.0, "billing")
    assert call.customer_id is None and call.tier == "platinum"
    assert call.patience == float("inf")
    assert call.hangup_after == 89  # answered at 6 s, the caller hung up at 95 s
    assert [(line.at, line.speaker) for line in call.transcript] == [
        (2.0, "caller"),
        (14.0, "caller"),
        (64.0, "caller"),
    ]
    assert "charged twice for March" in call.transcript[1].text
    assert call.expect == ("open_ticket", "schedule_callback", "log_interaction")
    assert "\n" not in call.notes
    assert "ticket_opened" in call.notes and "billing ticket (high)" in call.notes
    assert "callback follow-up for billing-callbacks" in call.notes
    assert "refund ticket" in call.notes  # the agent's notes, masked
    assert text.startswith("# Training scenario made from a call recorded on 2026-11-02.")


async def test_the_rubric_asks_for_what_the_recorded_agent_did(db: Database) -> None:
    scenario = load(scenario_from_call(await record_call(db), name="Billing dispute replay"))

    assert scenario.rubric is not None and scenario.rubric.pass_mark == 80
    assert criteria(scenario) == {
        "answer": {"kind": "answer_within", "seconds": 10.0},
        "hold": {"kind": "hold_at_most", "seconds": 60.0},
        "wrap-up": {"kind": "wrapup_at_most", "seconds": 60.0},
        "disposition": {"kind": "disposition", "codes": ("ticket_opened",)},
        "ticket": {"kind": "ticket_created", "category": "billing", "priority": "high"},
        "followup": {
            "kind": "followup_created",
            "followup": "callback",
            "routed_to": "billing-callbacks",
        },
    }  # no identity: masked, the trainee gets an unknown caller and the agent created nobody


async def test_time_limits_are_never_stricter_than_the_recorded_call(db: Database) -> None:
    records = await record_call(db, ring=25, hold=75, end=140, wrap=92)
    limits = criteria(load(scenario_from_call(records, name="slow")))

    assert limits["answer"]["seconds"] == 25.0
    assert limits["hold"]["seconds"] == 75.0
    assert limits["wrap-up"]["seconds"] == 92.0
    (call,) = load(scenario_from_call(records, name="slow")).calls
    assert call.hangup_after == 115
    # A wrap-up saved without its length: from the call's end to the save.
    unsized = [
        replace(r, details={k: v for k, v in r.details.items() if k != "wrap_seconds"})
        if isinstance(r, RecordedAction)
        else r
        for r in records
    ]
    assert criteria(load(scenario_from_call(unsized, name="slow")))["wrap-up"]["seconds"] == 92.0


async def test_a_transferred_call_asks_for_the_same_transfer(db: Database) -> None:
    records = await record_call(db, transfer="610")
    scenario = load(scenario_from_call(records, name="To tier 2", extensions={"tier2": "610"}))

    assert [(q.name, q.extension) for q in scenario.queues] == [
        ("billing", "billing"),
        ("tier2", "610"),
    ]
    assert any(a.kind == "bot" and a.queues == (("tier2", 0),) for a in scenario.agents)
    assert criteria(scenario)["transfer"] == {"kind": "transferred_to", "targets": ("610", "tier2")}
    (call,) = scenario.calls
    assert "transfer:610" in call.expect
    assert call.hangup_after == 89 + 15  # the caller never hung up: time to finish the transfer


async def test_unmasked_the_caller_is_the_real_customer(db: Database) -> None:
    text = scenario_from_call(await record_call(db), name="Billing dispute", mask=False)
    scenario = load(text)

    (call,) = scenario.calls
    assert (call.customer_id, call.number, call.name) == (1, PHONE, "Grace Hopper")
    assert criteria(scenario)["identity"] == {"kind": "identity", "outcome": "confirmed"}
    assert call.expect[0] == "verify_identity"
    assert call.transcript[0].text == SAID[0][1]
    assert EMAIL in call.notes
    assert "recorded call L1 (Linkedid)" in text and "2026-11-02T09:00:00+00:00" in text


async def test_a_customer_the_agent_created_is_asked_for_even_masked(db: Database) -> None:
    # CustomerService records the creation without the call: it is in the agent's records.
    records = await record_call(db, known=False, created_customer=True, shift=True)
    assert any(r.kind == "ready" for r in records)
    scenario = load(scenario_from_call(records, name="New caller"))

    (call,) = scenario.calls
    assert call.customer_id is None
    assert criteria(scenario)["identity"] == {"kind": "identity", "outcome": "customer_created"}
    assert call.expect[0] == "create_customer"


async def test_an_automatic_follow_up_is_not_the_agents_doing(db: Database) -> None:
    records = list(await record_call(db))
    index = next(i for i, r in enumerate(records) if r.kind == "followup_created")
    automatic = records[index]
    assert isinstance(automatic, RecordedAction)
    records[index] = replace(automatic, details={**automatic.details, "origin": "abandoned"})

    scenario = load(scenario_from_call(records, name="x"))
    assert "followup" not in criteria(scenario)
    assert "schedule_callback" not in scenario.calls[0].expect


# ---------------------------------------------------------------- masking


async def test_masked_the_text_holds_no_trace_of_the_caller(db: Database) -> None:
    records = await record_call(db)
    text = scenario_from_call(
        records, name="Grace Hopper billing", description=f"Grace Hopper, {PHONE}"
    )

    lowered = text.casefold()
    leaked = [value for value in PERSONAL if value.casefold() in lowered]
    assert leaked == []
    assert "Linkedid" not in text and "L1" not in text
    (call,) = load(text).calls
    assert call.id == "g-h-billing"
    assert "+1 ••• ••• 0101" in call.transcript[0].text
    assert "g•••@•••.com" in call.transcript[1].text


async def test_names_known_only_from_the_screen_pop_are_masked_too(db: Database) -> None:
    records = await record_call(db, caller_name="WIRELESS CALLER")
    text = scenario_from_call(records, name="x")

    assert "grace" not in text.casefold() and "hopper" not in text.casefold()
    assert "WIRELESS CALLER" not in text


async def test_masked_the_caller_is_made_up_and_valid_looking(db: Database) -> None:
    (call,) = load(scenario_from_call(await record_call(db), name="x")).calls

    assert call.number is not None and call.number != PHONE
    assert re.fullmatch(r"\+1\d{3}5550(1\d\d)", call.number)
    assert phonenumbers.is_valid_number(phonenumbers.parse(call.number))
    assert call.name and not {"grace", "hopper"} & set(call.name.casefold().split())


async def test_the_same_seed_gives_the_same_scenario(db: Database) -> None:
    records = await record_call(db)
    first = scenario_from_call(records, name="x", seed=7)

    assert scenario_from_call(list(records), name="x", seed=7) == first
    other = load(scenario_from_call(records, name="x", seed=8)).calls[0]
    assert (other.number, other.name) != (load(first).calls[0].number, load(first).calls[0].name)


# ---------------------------------------------------------------- scoring against it


async def test_reproducing_the_recorded_agent_passes_the_rubric_in_full(db: Database) -> None:
    records = await record_call(db)
    masked = load(scenario_from_call(records, name="masked"))
    plain = load(scenario_from_call(records, name="plain", mask=False))
    assert masked.rubric is not None and plain.rubric is not None

    card = score(masked.rubric, reproduce(masked))
    assert (card.total, card.passed) == (100.0, True), [r.evidence for r in card.results]
    kept = reproduce(
        plain,
        customer_id=1,
        customer_name="Grace Hopper",
        customer_matches_caller=True,
        identified_at=at(310),
    )
    assert score(plain.rubric, kept).total == 100.0
    sloppy = reproduce(masked, disposition="resolved", tickets=(), wrapup_seconds=61.0)
    assert score(masked.rubric, sloppy).passed is False


async def test_reproducing_a_transfer_passes_the_rubric_in_full(db: Database) -> None:
    scenario = load(scenario_from_call(await record_call(db, transfer="610"), name="t"))
    assert scenario.rubric is not None

    run = reproduce(scenario, transferred_to="610", transferred_at=at(390))
    assert score(scenario.rubric, run).total == 100.0
    assert score(scenario.rubric, reproduce(scenario)).total < 80


# ---------------------------------------------------------------- what cannot be exported


def offered_only() -> list[Recorded]:
    offer = CallOffered(
        uniqueid="U1",
        linkedid="L1",
        queue="billing",
        caller_id=PHONE,
        caller_name="Grace Hopper",
        interface="PJSIP/1001",
        member_name="Ann",
        channel="PJSIP/trunk-1",
        agent_channel="PJSIP/1001-1",
        waited=3.0,
        at=T0,
    )
    return [RecordedEvent("S1", 1, T0, 1, "L1", "CallOffered", T0, encode_event(offer))]


@pytest.mark.parametrize(
    "records",
    [
        [],
        [RecordedAction("S1", 1, T0, 1, "wrap_up_saved", "L1", 7, {"disposition": "resolved"})],
        [RecordedEvent("S1", 1, T0, 1, "L1", "NoSuchEvent", T0, {})],
    ],
    ids=["nothing", "actions only", "unknown events"],
)
def test_records_without_an_offered_call_are_refused(records: list[Recorded]) -> None:
    with pytest.raises(ScenarioExportError, match="no offered call"):
        scenario_from_call(records, name="x")


async def test_a_call_nobody_answered_is_refused(db: Database) -> None:
    with pytest.raises(ScenarioExportError, match="never answered"):
        scenario_from_call(offered_only(), name="x")
    with pytest.raises(ScenarioExportError, match="billing was never answered"):
        scenario_from_call(await record_call(db, answered=False), name="x")
