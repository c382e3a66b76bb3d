"""Replay: the recorded pop decoded back, the reducer on a real call, seeking, masking, the
playback clock, and loading calls, shifts, session windows and a live tail from the database."""

from __future__ import annotations

import dataclasses
import functools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.cti.protocol import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallResumed,
    CtiEvent,
    EndReason,
    LinkState,
    LinkStateChanged,
    QueueChanged,
    TrainingChanged,
    TranscriptLine,
)
from console.db import Database
from console.models import Agent, Customer, EmailAddress, FollowUp, Interaction, PhoneNumber, Ticket
from console.models.enums import (
    Channel,
    FollowUpKind,
    InteractionStatus,
    PhoneKind,
    TicketPriority,
    TicketStatus,
    Tier,
)
from console.services.crm.phones import normalise
from console.services.desk.screenpop import (
    ContactPoint,
    CustomerMatch,
    CustomerProfile,
    FollowUpSummary,
    InteractionSummary,
    ScreenPop,
    ScreenPopService,
    TicketSummary,
)
from console.services.training.masking import Masker
from console.services.training.pop_decoder import decode_pop
from console.services.training.recording import NOT_RECORDED, SessionRecorder
from console.services.training.recording_codec import action_details_json, encode_event
from console.services.training.replay import SPEEDS, Replay, ReplayPlayer
from console.services.training.replay_sources import LiveTail, ReplaySources
from console.services.training.replay_state import ReplayFrame, apply
from console.services.training.session_log import Recorded, RecordedAction, RecordedEvent

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NUMBER = "+14155550123"
EMAIL = "jane.smith@example.com"
NAME = "Jane Smith"
ME = "PJSIP/1001"
SESSION = "s" * 32


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# ---------------------------------------------------------------- a recorded call, in memory


def the_pop(looked_up: datetime = T0) -> ScreenPop:
    """Jane's pop, as the screen-pop service builds it (history, tickets, a follow-up)."""
    profile = CustomerProfile(
        id=42,
        kind="person",
        display_name=NAME,
        organisation_id=None,
        organisation_name="",
        language="en",
        tier="gold",
        lifecycle="mature",
        rfm=(4, 3, 5),
        lifetime_value_cents=1_234_500,
        currency="USD",
        tags=("vip",),
        notes=f"Prefers email ({EMAIL}); mobile {NUMBER}.",
        account_owner="Olive Owner",
        created_at=datetime(2024, 1, 5, tzinfo=UTC),
        contact_points=(
            ContactPoint("phone", NUMBER, "mobile", ""),
            ContactPoint("email", EMAIL, "", "home"),
        ),
    )
    history = tuple(
        InteractionSummary(
            id=100 + n,
            channel="voice",
            direction="inbound",
            status="completed",
            offered_at=looked_up - timedelta(days=n + 1, hours=2),
            agent_name="Ann Agent",
            queue_name="support",
            disposition="resolved",
            note_excerpt=f"Jane asked about invoice {n}; call back on 415-555-0123",
            talk_seconds=120 + n,
        )
        for n in range(3)
    )
    tickets = (
        TicketSummary(
            501, "Charged twice — Jane Smith", "billing", "high", "open", at(3 * 3600), 10800, "Bo"
        ),
        TicketSummary(502, "Address change", "account", "normal", "pending", None, None, ""),
    )
    followups = (FollowUpSummary(7, "callback", "pending", at(86400), 2, f"Call {NAME} back", ""),)
    match = CustomerMatch(42, NAME, "person", "gold", "mature", "", at(-86400), "mobile", "")
    return ScreenPop(
        caller=normalise(NUMBER),
        matches=(match,),
        profile=profile,
        history=history,
        open_tickets=tickets,
        followups=followups,
        looked_up_at=looked_up,
    )


class Log:
    """Builds a session's records the way the recorder stores them (seq shared, times ours)."""

    def __init__(self, session: str = SESSION) -> None:
        self.session = session
        self.records: list[Recorded] = []

    def event(self, seconds: float, event: CtiEvent) -> None:
        call = getattr(event, "linkedid", "") or None
        self.records.append(
            RecordedEvent(
                self.session,
                len(self.records) + 1,
                at(seconds),
                1,
                call,
                type(event).__name__,
                getattr(event, "at", None),
                encode_event(event),
            )
        )

    def action(self, seconds: float, kind: str, call: str | None = None, **details: Any) -> None:
        self.records.append(
            RecordedAction(
                self.session,
                len(self.records) + 1,
                at(seconds),
                1,
                kind,
                call,
                None,
                action_details_json(details),
            )
        )


def member(seconds: float, *, paused: bool, reason: str = "", interface: str = ME) -> Any:
    return AgentStateChanged(
        interface=interface,
        member_name="Demo Agent" if interface == ME else "Other",
        queue="support",
        logged_in=True,
        paused=paused,
        reason=reason,
        status=1,
        status_text="Not in use",
        in_call=False,
        at=at(seconds),
    )


def queue_changed(seconds: float) -> QueueChanged:
    return QueueChanged(
        queue="support",
        waiting=1,
        oldest_joined_at=at(seconds - 5),
        longest_wait=5.0,
        members=2,
        available=1,
        paused=0,
        completed=3,
        abandoned=0,
        strategy="rrmemory",
        avg_hold_time=None,
        avg_talk_time=None,
        service_level=None,
        service_level_perf=None,
        service_level_perf2=None,
        at=at(seconds),
    )


def recorded_call(call: str = "L1", offset: float = 0.0, log: Log | None = None) -> list[Recorded]:
    """Login, ready, then one call: ring → pop → answer → transcript → hold/unhold → hang up
    → wrap-up with notes and a new ticket → ready again. 76 s, fixed times."""
    log = log or Log()
    o = offset
    ids = {"uniqueid": call.replace("L", "U"), "linkedid": call}
    if not log.records:
        log.event(o + 0, LinkStateChanged(state=LinkState.CONNECTED, since=at(o), detail="ok"))
        log.event(o + 1, member(o + 1, paused=True, reason="logged in"))
        log.event(o + 1.5, member(o + 1.5, paused=True, interface="PJSIP/1009"))
        log.action(o + 2, "ready", reason="")
        log.event(o + 2.1, member(o + 2.1, paused=False))
    log.event(
        o + 10,
        CallOffered(
            **ids,
            queue="support",
            caller_id=NUMBER,
            caller_name=NAME,
            interface=ME,
            member_name="Demo Agent",
            channel="PJSIP/trunk-00000001",
            agent_channel="PJSIP/1001-00000002",
            waited=12.5,
            at=at(o + 10),
        ),
    )
    log.action(o + 10.05, "pop_shown", call, pop=the_pop(at(o + 10)))
    log.action(o + 14, "answer", call)
    answered = dict(interface=ME, member_name="Demo Agent", channel="PJSIP/trunk-00000001")
    log.event(
        o + 14.2,
        CallAnswered(
            **ids,
            queue="support",
            **answered,
            agent_channel="PJSIP/1001-00000002",
            hold_time=12,
            ring_time=4,
            at=at(o + 14.2),
        ),
    )
    line = functools.partial(TranscriptLine, **ids, speaker="caller", script="")
    log.event(o + 16, line(text="Hi, this is Jane Smith, my number is 415-555-0123", at=at(o + 16)))
    log.event(o + 20, line(text=f"I was charged twice, email me at {EMAIL}", at=at(o + 20)))
    log.event(o + 25, queue_changed(o + 25))
    log.action(o + 30, "hold", call)
    log.event(o + 30.1, CallHeld(**ids, interface=ME, at=at(o + 30.1)))
    log.action(o + 45, "unhold", call)
    log.event(o + 45.1, CallResumed(**ids, interface=ME, at=at(o + 45.1)))
    log.event(o + 50, line(text="Thanks, [bold]bye[/]", at=at(o + 50)))
    log.action(o + 60, "hangup", call)
    log.event(
        o + 60.2,
        CallEnded(
            **ids,
            queue="support",
            interface=ME,
            answered=True,
            reason=EndReason.AGENT,
            cause=16,
            cause_text="Normal Clearing",
            talk_time=46,
            at=at(o + 60.2),
        ),
    )
    log.action(o + 60.3, "not_ready", reason="acw")
    log.action(o + 60.5, "wrap_up_opened", call, status="wrapup")
    notes = f"Refund for {NAME}; call back on 415 555 0123 or {EMAIL}"
    log.action(o + 65, "notes_saved", call, notes="Refund for")
    log.action(o + 66, "notes_saved", call, notes=notes)
    ticket = {"id": 601, "customer_name": NAME, "subject": f"Double charge ({NAME})"}
    log.action(o + 70, "ticket_created", call, ticket=ticket)
    log.action(
        o + 75,
        "wrap_up_saved",
        call,
        disposition="ticket_opened",
        category="billing",
        notes=notes,
        ticket_id=601,
        followup_id=None,
        csat=4,
        resolved_first_contact=False,
        wrap_seconds=14.5,
    )
    log.action(o + 76, "ready", reason="")
    return log.records


def fold(records: list[Recorded], upto: int, initial: ReplayFrame) -> ReplayFrame:
    return functools.reduce(apply, records[:upto], initial)


# ---------------------------------------------------------------- decode_pop


def test_decode_pop_rebuilds_the_recorded_pop_exactly() -> None:
    pop = the_pop()
    assert decode_pop(action_details_json(pop)) == pop


async def test_decode_pop_round_trips_a_real_pop_through_the_database(db: Database) -> None:
    now = datetime(2026, 11, 1, 12, tzinfo=UTC)
    async with db.write() as s:
        agent = Agent(login="a1", display_name="Ann Agent")
        jane = Customer(display_name=NAME, tier=Tier.GOLD, tags=["vip", "late payer"])
        s.add_all([agent, jane])
        await s.flush()
        s.add_all(
            [
                PhoneNumber(customer_id=jane.id, e164=NUMBER, kind=PhoneKind.MOBILE, label="me"),
                EmailAddress(customer_id=jane.id, address=EMAIL),
                Interaction(
                    customer_id=jane.id,
                    agent_id=agent.id,
                    channel=Channel.VOICE,
                    status=InteractionStatus.COMPLETED,
                    offered_at=now - timedelta(days=1),
                    notes="asked for a refund",
                    talk_seconds=95,
                ),
                Ticket(
                    customer_id=jane.id,
                    subject="Charged twice",
                    priority=TicketPriority.HIGH,
                    status=TicketStatus.OPEN,
                    sla_due_at=now + timedelta(hours=3),
                ),
                FollowUp(
                    kind=FollowUpKind.CALLBACK,
                    customer_id=jane.id,
                    due_at=now + timedelta(days=1),
                    summary="Call back about the refund",
                ),
            ]
        )
    pop = await ScreenPopService(db, clock=lambda: now).lookup(NUMBER)
    assert pop.profile is not None and pop.history and pop.open_tickets and pop.followups
    recorder = SessionRecorder(db, agent_id=1, host="desk", clock=lambda: now)
    recorder.record_action("pop_shown", call_id="L1", pop=pop)
    await recorder.flush()
    (stored,) = await ReplaySources(db).call("L1")
    assert isinstance(stored, RecordedAction)
    assert decode_pop(stored.details["pop"]) == pop


def test_decode_pop_tolerates_unknown_keys_missing_optionals_and_bad_rows() -> None:
    data = action_details_json(the_pop())
    data["from_the_future"] = {"x": 1}
    data["profile"]["mood"] = "happy"
    del data["followups"]
    del data["caller"]["line_type"]
    data["history"][1] = {"id": "not a number"}
    data["open_tickets"][0]["sla_due_at"] = "not a date"
    pop = decode_pop(data)
    assert pop is not None and pop.profile is not None
    assert pop.followups == () and pop.caller.line_type == ""
    assert [h.id for h in pop.history] == [100, 102]  # the unreadable row only is left out
    assert [t.id for t in pop.open_tickets] == [502]  # a ticket with a bad date is unreadable
    data["profile"] = "garbage"
    assert decode_pop(data).profile is None  # type: ignore[union-attr]


def test_decode_pop_sanitises_text_and_reads_naive_times_as_utc() -> None:
    data = action_details_json(the_pop())
    data["profile"]["display_name"] = "Jane\x1b[31m Smith\u202e"
    data["looked_up_at"] = "2026-11-02T09:00:00"
    pop = decode_pop(data)
    assert pop is not None and pop.profile is not None
    assert pop.profile.display_name == "Jane Smith"
    assert pop.looked_up_at == T0


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        42,
        "pop",
        [],
        {},
        {"caller": "nope"},
        {"caller": {"status": "bogus", "raw": "x"}},
        {"caller": {"status": "valid"}},  # raw is required
        {"caller": {"status": "valid", "raw": 5}},
        [{"caller": {"status": "valid", "raw": "x"}}],
    ],
)
def test_decode_pop_gives_none_for_garbage(garbage: object) -> None:
    assert decode_pop(garbage) is None


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(_json)
def test_decode_pop_never_raises_on_any_json(data: object) -> None:
    result = decode_pop(data)
    assert result is None or isinstance(result, ScreenPop)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_decode_pop_never_raises_on_a_damaged_pop(data: st.DataObject) -> None:
    pop: Any = action_details_json(the_pop())
    for _ in range(data.draw(st.integers(1, 4))):
        node: Any = pop
        while True:  # down to a random place, which gets any JSON value instead
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            key = data.draw(st.sampled_from(keys))
            child = node[key]
            if not isinstance(child, dict | list) or not child or data.draw(st.booleans()):
                node[key] = data.draw(_json)
                break
            node = child
    result = decode_pop(pop)
    assert result is None or isinstance(result, ScreenPop)


# ---------------------------------------------------------------- the reducer


def test_the_reducer_follows_a_recorded_call_from_ring_to_wrap_up() -> None:
    replay = Replay(recorded_call())
    assert replay.duration == 76.0 and len(replay) == 26
    idle = replay.frame_at(5)
    assert (idle.phase, idle.agent_state, idle.agent_ready, idle.link) == (
        "idle",
        "Available",
        True,
        "connected",
    )

    ringing = replay.frame_at(10.0)
    assert ringing.phase == "ringing" and ringing.phase_since == at(10)
    assert (ringing.queue, ringing.waited, ringing.caller_id) == ("support", 12.5, NUMBER)
    assert ringing.pop is None  # the pop comes with pop_shown, 50 ms later
    popped = replay.frame_at(11)
    assert popped.pop == the_pop(at(10))
    assert popped.actions[-1].text == f"Pop: {NAME}"

    talking = replay.frame_at(17)
    assert talking.phase == "talking" and talking.talk_since == at(14.2)
    assert talking.transcript == (("caller", "Hi, this is Jane Smith, my number is 415-555-0123"),)
    held = replay.frame_at(40)
    assert held.phase == "held" and held.phase_since == at(30.1) and held.hold_seconds == 0
    resumed = replay.frame_at(46)
    assert resumed.phase == "talking" and resumed.hold_seconds == pytest.approx(15.0)
    assert resumed.talk_since == at(14.2)

    wrapping = replay.frame_at(62)
    assert wrapping.phase == "wrapup" and wrapping.phase_since == at(60.2)
    assert wrapping.agent_state == "Not ready: After-call work" and not wrapping.agent_ready
    assert len(wrapping.transcript) == 3 and wrapping.transcript[2][1] == "Thanks, [bold]bye[/]"
    assert wrapping.pop is not None and wrapping.outcome is None

    done = replay.frame_at(76)
    assert done.phase == "idle" and done.pop is None and done.agent_state == "Available"
    assert done.outcome is not None
    assert (done.outcome.disposition, done.outcome.ticket_id, done.outcome.csat) == (
        "ticket_opened",
        601,
        4,
    )
    assert done.outcome.wrap_seconds == 14.5
    assert len(done.transcript) == 3  # shown until the next call rings, as on the live screen
    texts = [line.text for line in done.actions]
    assert texts[:3] == [
        "CTI link connected (ok)",
        "Ready",
        "Ringing: +14155550123 (support, waited 0:12)",
    ]
    assert "Answered after 4 s" in texts and "Caller off hold (held 0:15)" in texts
    assert f"Ticket #601 opened: Double charge ({NAME})" in texts
    assert texts[-2:] == ["Wrap-up saved: ticket_opened", "Ready"]
    assert [line.kind for line in done.actions].count("call") >= 5


def test_only_the_agents_own_member_states_count() -> None:
    replay = Replay(recorded_call())
    before = replay.frame_at(1.0)
    assert before.agent_state == "Not ready: logged in"
    assert replay.frame_at(1.6).agent_state == "Not ready: logged in"  # PJSIP/1009's pause
    assert "PJSIP/1001" in replay.initial.agent_names


def test_a_call_not_answered_leaves_the_desk_idle_and_a_new_call_resets_it() -> None:
    log = Log()
    records = recorded_call("L1", log=log)
    ids = {"uniqueid": "U2", "linkedid": "L2", "queue": "support", "interface": ME}
    offer = dataclasses.replace(records[5].event(), uniqueid="U2", linkedid="L2", at=at(100))  # type: ignore[type-var]
    log.event(100, offer)
    log.event(
        108,
        CallEnded(
            **ids,
            answered=False,
            reason=EndReason.NO_ANSWER,
            cause=None,
            cause_text="",
            talk_time=None,
            at=at(108),
        ),
    )
    replay = Replay(log.records)
    ringing = replay.frame_at(101)
    assert ringing.phase == "ringing" and ringing.transcript == () and ringing.outcome is None
    gone = replay.frame_at(108)
    assert (
        gone.phase == "idle"
        and gone.pop is None
        and gone.actions[-1].text == "Not taken: not answered"
    )


def test_training_banner_and_link_state() -> None:
    log = Log()
    log.event(0, LinkStateChanged(state=LinkState.CONNECTED, since=at(0), detail=""))
    log.event(
        1,
        TrainingChanged(
            run_id="7", scenario="angry-refund", interface=ME, state="started", calls=2, at=at(1)
        ),
    )
    log.event(5, LinkStateChanged(state=LinkState.RECONNECTING, since=at(5), detail="no Pong"))
    replay = Replay(log.records, agent_names=[ME])
    frame = replay.frame_at(6)
    assert frame.training is not None
    assert (frame.training.scenario, frame.training.run_id, frame.training.state) == (
        "angry-refund",
        "7",
        "started",
    )
    assert (frame.link, frame.link_detail, frame.link_since) == ("reconnecting", "no Pong", at(5))
    assert frame.actions[-1].kind == "warning"


def test_unreadable_records_change_nothing_but_the_count() -> None:
    frame = ReplayFrame()
    bad_event = RecordedEvent(SESSION, 1, T0, 1, None, "NoSuchEvent", None, {"x": 1})
    bad_fields = RecordedEvent(SESSION, 2, T0, 1, "L1", "CallOffered", None, {"queue": 3})
    bad_pop = RecordedAction(SESSION, 3, T0, 1, "pop_shown", "L1", None, {"pop": "junk"})
    unknown = RecordedAction(SESSION, 4, T0, 1, "did_a_thing", None, None, {})
    for record in (bad_event, bad_fields):
        frame = apply(frame, record)
    assert frame == ReplayFrame(count=2, at=T0, link="unknown")
    frame = apply(apply(frame, bad_pop), unknown)
    assert frame.pop is None
    assert [line.text for line in frame.actions] == [
        "Pop shown (unreadable in the recording)",
        "Did a thing",
    ]


# ---------------------------------------------------------------- seeking


def shift_records(calls: int = 6) -> list[Recorded]:
    log = Log()
    for n in range(calls):
        recorded_call(f"L{n + 1}", offset=n * 90.0, log=log)
    return log.records


@settings(max_examples=60, deadline=None)
@given(
    every=st.integers(1, 40),
    times=st.lists(st.floats(-5, 560, allow_nan=False), min_size=1, max_size=25),
)
def test_frame_at_equals_folding_the_records_one_by_one(every: int, times: list[float]) -> None:
    replay = Replay(shift_records(), checkpoint_every=every)
    records = list(replay.records)
    for t in times:  # in any order: forward from the last frame, back from a checkpoint
        upto = sum(1 for r in records if replay.offset(r.at) <= t)
        assert replay.frame_at(t) == fold(records, upto, replay.initial)


def test_frame_at_record_times_includes_the_record_and_step_finds_the_next() -> None:
    replay = Replay(recorded_call(), checkpoint_every=4)
    offsets = [replay.offset(r.at) for r in replay.records]
    for n, t in enumerate(offsets):
        assert replay.frame_at(t).count >= n + 1
        following = replay.next_record_after(t)
        assert following == (offsets[n + 1] if n + 1 < len(offsets) else None) or (
            following is not None and following > t
        )
    assert replay.frame_at(-1).count == 0 and replay.frame_at(1e9).count == len(replay)


def test_a_window_start_folds_the_prelude_into_the_first_frame() -> None:
    records = recorded_call()
    replay = Replay(records, start=at(20), end=at(80))
    assert replay.duration == 60 and replay.before_start == 10
    first = replay.frame_at(0)
    assert first.phase == "talking" and first.pop is not None and len(first.transcript) == 2
    assert replay.window_count == len(records) - 10


def test_extending_a_replay_keeps_frames_and_checkpoints_right() -> None:
    records = shift_records(3)
    whole = Replay(records, checkpoint_every=5)
    grown = Replay([], checkpoint_every=5)
    for n in range(0, len(records), 7):
        grown.extend(records[n : n + 7])
        grown.frame_at(grown.duration / 2)  # seek while it grows
    assert grown.start == whole.start and grown.duration == whole.duration
    for t in range(0, int(whole.duration) + 2, 3):
        assert grown.frame_at(t) == whole.frame_at(t)


# ---------------------------------------------------------------- masking


RAW = (NUMBER, "4155550123", "415-555-0123", "415 555 0123", EMAIL, NAME, "Jane", "Smith")


def test_with_the_masker_on_no_frame_holds_a_raw_number_email_or_name() -> None:
    replay = Replay(shift_records(2), masker=Masker())
    assert replay.masked
    times = sorted({replay.offset(r.at) for r in replay.records})
    frames = [replay.frame_at(t) for t in times]
    shown = "\n".join(repr(f) for f in frames) + repr(list(replay.records))
    leaks = [raw for raw in RAW if raw.casefold() in shown.casefold()]
    assert leaks == []
    popped = replay.frame_at(11)
    assert popped.pop is not None and popped.pop.profile is not None
    assert popped.pop.profile.display_name == "J. S."
    assert popped.caller_id == "+1 ••• ••• 0123"
    assert popped.actions[-1].text == "Pop: J. S."
    talking = replay.frame_at(21)
    assert "0123" in talking.transcript[0][1] and "•••" in talking.transcript[1][1]
    done = replay.frame_at(76)
    assert done.outcome is not None and "•••" in done.outcome.notes


def test_without_a_masker_the_replay_shows_what_the_agent_saw() -> None:
    replay = Replay(recorded_call())
    assert not replay.masked
    frame = replay.frame_at(21)
    assert frame.pop is not None and frame.pop.profile is not None
    assert frame.pop.profile.display_name == NAME and EMAIL in frame.transcript[1][1]


# ---------------------------------------------------------------- the playback clock


def test_player_speed_pause_and_seek_arithmetic() -> None:
    replay = Replay(recorded_call())
    player = ReplayPlayer(replay, now=100.0)
    assert player.position(105) == 0 and not player.playing
    player.play(100)
    assert player.position(110) == 10
    player.faster(110)  # 2x from position 10
    assert player.speed == 2 and player.position(112) == 14
    for _ in range(10):
        player.faster(112)
    assert player.speed == SPEEDS[-1] == 16
    player.pause(112)
    assert player.position(500) == 14 and not player.playing
    player.slower(500)
    assert player.speed == 8
    player.set_speed(0.4, 500)
    assert player.speed == 0.5
    player.play(500)
    assert player.position(504) == 16
    player.skip(-60, 504)
    assert player.position(504) == 0
    player.skip(10, 504)
    assert player.position(506) == 11
    player.seek_fraction(0.5, 506)
    assert player.position(506) == 38
    player.seek(1000, 506)
    assert player.position(506) == 76 and player.finished(506)
    player.play(507)  # at the end: from the start again
    assert player.position(507) == 0


def test_player_step_pauses_on_each_next_record() -> None:
    replay = Replay(recorded_call())
    player = ReplayPlayer(replay, playing=True, now=0)
    assert player.step(5.0)  # at 5 s: the next record is the offer at 10 s
    assert not player.playing and player.position(99) == 10.0
    assert player.step(99) and player.position(99) == pytest.approx(10.05)
    player.seek(76, 99)
    assert not player.step(99)


def test_player_follows_the_live_edge_until_paused_or_moved() -> None:
    replay = Replay(recorded_call()[:10])
    player = ReplayPlayer(replay, live=True, playing=True, now=0)
    assert player.position(0) == replay.duration
    replay.extend_to(at(200))
    assert player.position(1) == 200 and not player.finished(1)
    player.skip(-30, 1)
    assert not player.live and player.playing and player.position(3) == 172
    player.go_live(3)
    assert player.live and player.position(3) == 200
    player.pause(4)
    assert not player.live and player.position(100) == 200


# ---------------------------------------------------------------- loading from the database


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


async def record(db: Database, records: list[Recorded], **options: Any) -> SessionRecorder:
    """Write `records` through a real SessionRecorder, at their times."""
    clock = Clock()
    recorder = SessionRecorder(
        db, agent_id=1, host="desk", clock=clock, details={"interface": ME}, **options
    )
    for r in records:
        clock.now = r.at
        if isinstance(r, RecordedEvent):
            event = r.event()
            assert event is not None
            recorder.record_event(event)
        else:
            recorder.record_action(r.kind, call_id=r.call_id, **r.details)
    await recorder.flush()
    return recorder


async def test_a_call_and_a_shift_load_from_the_database(db: Database) -> None:
    await record(db, shift_records(3))
    sources = ReplaySources(db)
    call = await sources.call("L2")
    assert {r.kind for r in call} >= {"CallOffered", "pop_shown", "wrap_up_saved"}
    replay = Replay(call)
    assert replay.frame_at(1.0).pop is not None

    # A shift window opening in the middle of the second call (offered at 100 s).
    start, end = at(90 + 20), at(90 + 200)
    records = await sources.shift(1, start, end)
    replay = Replay(records, start=start, end=end)
    first = replay.frame_at(0)
    assert first.phase == "talking" and first.pop is not None
    assert first.pop.profile is not None and first.pop.profile.display_name == NAME
    assert first.agent_state == "Available" and first.link == "connected"
    assert len(first.transcript) == 2
    assert replay.duration == 180
    assert all(r.at >= start for r in replay.records[replay.before_start :])


def recordable(records: list[Recorded]) -> list[Recorded]:
    """What a console's recorder keeps of `records` (not queue figures: NOT_RECORDED)."""
    left_out = {kind.__name__ for kind in NOT_RECORDED}
    return [r for r in records if not (isinstance(r, RecordedEvent) and r.event_type in left_out)]


async def test_a_session_window_is_a_training_run(db: Database) -> None:
    recorder = await record(db, shift_records(2))
    sources = ReplaySources(db)
    whole = await sources.session(recorder.session_id)
    assert len(whole) == len(recordable(shift_records(2)))
    window = await sources.session(recorder.session_id, at(95), at(150))
    replay = Replay(window, start=at(95), end=at(150))
    assert replay.frame_at(0).phase == "idle" and replay.frame_at(0).agent_state == "Available"
    assert replay.frame_at(6).phase == "ringing"  # the second call rang at 100 s
    assert replay.frame_at(10).phase == "talking"
    assert await sources.agent_names(1) == ()


async def test_the_live_tail_returns_only_what_is_new(db: Database) -> None:
    records = recordable(recorded_call())
    recorder = await record(db, records[:10])
    tail = LiveTail(db, recorder.session_id)
    first = await tail.poll()
    assert [r.seq for r in first] == list(range(1, 11))
    assert tail.started_at == T0 and tail.agent_names == (ME,) and not tail.ended
    assert await tail.poll() == []
    clock = Clock()
    recorder._clock = clock  # the same console goes on
    for r in records[10:]:
        clock.now = r.at
        if isinstance(r, RecordedEvent):
            recorder.record_event(r.event())  # type: ignore[arg-type]
        else:
            recorder.record_action(r.kind, call_id=r.call_id, **r.details)
    await recorder.stop()
    rest = await tail.poll()
    assert [r.seq for r in rest] == list(range(11, len(records) + 1))
    assert tail.ended
    replay = Replay(first + rest)
    assert replay.frame_at(76).outcome is not None


async def test_the_live_tail_reads_a_big_backlog_in_batches(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import console.services.training.replay_sources as replay_module

    monkeypatch.setattr(replay_module, "TAIL_BATCH", 4)
    monkeypatch.setattr(
        replay_module,
        "_TAIL_EVENTS",
        replay_module._TAIL_EVENTS.limit(4),
    )
    monkeypatch.setattr(
        replay_module,
        "_TAIL_ACTIONS",
        replay_module._TAIL_ACTIONS.limit(4),
    )
    records = recordable(recorded_call())
    recorder = await record(db, records)
    tail = LiveTail(db, recorder.session_id)
    seen: list[int] = []
    for _ in range(20):
        seen += [r.seq for r in await tail.poll()]
    assert seen == list(range(1, len(records) + 1))


def test_dates_in_details_are_not_masked_as_numbers() -> None:
    log = Log()
    log.action(
        1,
        "followup_created",
        "L1",
        followup={
            "id": 3,
            "kind": "callback",
            "due_at": date(2026, 11, 3),
            "summary": f"ring {NUMBER}",
        },
    )
    replay = Replay(log.records, masker=Masker())
    (line,) = replay.frame_at(1).actions
    assert line.text == "Follow-up #3 (callback) created: ring +1 ••• ••• 0123"
    details = replay.records[0].details  # type: ignore[union-attr]
    assert details["followup"]["due_at"] == "2026-11-03"
