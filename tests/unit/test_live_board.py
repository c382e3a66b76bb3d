"""LiveBoard: AMI event sequences in, the figures and agent states a supervisor sees out."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callkit.ami_frames import Message
from callkit.metrics import AbandonTreatment, MetricDefinitions
from callkit.scenario import parse_scenario
from console.services.supervision.live_board import LiveBoard, day_bounds
from console.services.supervision.live_types import AgentActivity, AgentLive, QueueLive
from telephony_sim.clock import VirtualClock
from telephony_sim.engine import Engine

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC).timestamp()
ANN, BOB = "PJSIP/1001", "PJSIP/1002"


def ev(name: str, at: float, **fields: object) -> Message:
    """An AMI event stamped ``at`` (Asterisk's timestampevents)."""
    pairs = [("Event", name), ("Timestamp", f"{at:.6f}")]
    pairs += [(key, str(value)) for key, value in fields.items()]
    return Message(tuple(pairs))


class Pbx:
    """Writes the frames Asterisk sends for queue calls into a board."""

    def __init__(self, board: LiveBoard | None = None) -> None:
        self.board = board or LiveBoard(tz=UTC, clock=lambda: T0)
        self.legs = 0

    def send(self, name: str, at: float, **fields: object) -> None:
        self.board.feed(ev(name, at, **fields))

    def member(
        self,
        interface: str,
        queue: str,
        at: float,
        *,
        event: str = "QueueMemberAdded",
        paused: bool = False,
        reason: str = "",
        status: int = 1,
        wrap: int = 0,
        last_call: int = 0,
        name: str = "",
    ) -> None:
        self.send(
            event,
            at,
            Queue=queue,
            MemberName=name or f"Agent {interface[-4:]}",
            Interface=interface,
            Status=status,
            Paused="1" if paused else "0",
            PausedReason=reason,
            InCall="1" if status == 2 else "0",
            LastCall=last_call,
            Wrapuptime=wrap,
        )

    def pause(self, interface: str, queue: str, at: float, reason: str = "") -> None:
        self.member(
            interface, queue, at, event="QueueMemberPause", paused=bool(reason), reason=reason
        )

    def join(self, callid: str, queue: str, at: float, name: str = "Ann Caller") -> None:
        self.send(
            "QueueCallerJoin",
            at,
            Queue=queue,
            Uniqueid=callid,
            CallerIDNum="+14155550100",
            CallerIDName=name,
            Position=1,
        )

    def ring(self, callid: str, queue: str, interface: str, at: float) -> str:
        self.legs += 1
        leg = f"leg-{self.legs}"
        self.send(
            "AgentCalled",
            at,
            Queue=queue,
            Uniqueid=callid,
            CallerIDNum="+14155550100",
            CallerIDName="Ann Caller",
            DestUniqueid=leg,
            Interface=interface,
            MemberName=f"Agent {interface[-4:]}",
        )
        return leg

    def answer(
        self, callid: str, queue: str, interface: str, at: float, wait: int, leg: str
    ) -> None:
        self.send("QueueCallerLeave", at, Queue=queue, Uniqueid=callid, Count=0)
        self.send(
            "AgentConnect",
            at,
            Queue=queue,
            Uniqueid=callid,
            CallerIDNum="+14155550100",
            CallerIDName="Ann Caller",
            DestUniqueid=leg,
            Interface=interface,
            MemberName=f"Agent {interface[-4:]}",
            HoldTime=wait,
            RingTime=2,
        )

    def complete(
        self,
        callid: str,
        queue: str,
        interface: str,
        at: float,
        wait: int,
        talk: int,
        leg: str,
        reason: str = "caller",
    ) -> None:
        self.send(
            "AgentComplete",
            at,
            Queue=queue,
            Uniqueid=callid,
            DestUniqueid=leg,
            Interface=interface,
            MemberName=f"Agent {interface[-4:]}",
            HoldTime=wait,
            TalkTime=talk,
            Reason=reason,
        )

    def abandon(self, callid: str, queue: str, at: float, wait: int) -> None:
        self.send("QueueCallerAbandon", at, Queue=queue, Uniqueid=callid, HoldTime=wait)
        self.send("QueueCallerLeave", at, Queue=queue, Uniqueid=callid, Count=0)

    def call(
        self, callid: str, queue: str, interface: str, at: float, wait: int, talk: int
    ) -> float:
        """A whole answered call: join at ``at``, answered after ``wait``; returns its end."""
        self.join(callid, queue, at)
        leg = self.ring(callid, queue, interface, at + wait - 2)
        self.answer(callid, queue, interface, at + wait, wait, leg)
        end = at + wait + talk
        self.complete(callid, queue, interface, end, wait, talk, leg)
        return end

    def queue(self, name: str, now: float) -> QueueLive:
        return next(q for q in self.board.snapshot(now).queues if q.queue == name)

    def agent(self, interface: str, now: float) -> AgentLive:
        return next(a for a in self.board.snapshot(now).agents if a.interface == interface)


def test_an_answered_call_moves_the_agent_and_the_queue_figures() -> None:
    pbx = Pbx()
    pbx.member(ANN, "support", T0)
    assert pbx.agent(ANN, T0 + 1).activity is AgentActivity.AVAILABLE
    pbx.join("c1", "support", T0 + 10, name="Zoë Caller")
    q = pbx.queue("support", T0 + 25)
    assert (q.waiting, q.longest_wait) == (1, 15.0)
    leg = pbx.ring("c1", "support", ANN, T0 + 25)
    ringing = pbx.agent(ANN, T0 + 26)
    assert (ringing.activity, ringing.caller, ringing.call_queue) == (
        AgentActivity.RINGING,
        "Ann Caller",
        "support",
    )
    pbx.answer("c1", "support", ANN, T0 + 28, 18, leg)
    talking = pbx.agent(ANN, T0 + 40)
    assert talking.activity is AgentActivity.ON_CALL
    assert (talking.since, talking.call_started) == (T0 + 28, T0 + 28)
    q = pbx.queue("support", T0 + 40)
    assert (q.waiting, q.on_call, q.available) == (0, 1, 0)
    assert (q.summary.offered, q.summary.answered, q.summary.asa) == (1, 1, 18.0)
    assert q.summary.service_level == 1.0  # 18 s <= 20 s

    pbx.complete("c1", "support", ANN, T0 + 148, 18, 120, leg)
    # The console pauses with "acw" for the wrap-up: that is handle time, and not available.
    pbx.pause(ANN, "support", T0 + 148, "acw")
    wrapping = pbx.agent(ANN, T0 + 170)
    assert (wrapping.activity, wrapping.reason, wrapping.since) == (
        AgentActivity.WRAP_UP,
        "acw",
        T0 + 148,
    )
    assert pbx.queue("support", T0 + 170).wrap_up == 1
    pbx.pause(ANN, "support", T0 + 178)  # ready again after 30 s of wrap-up
    done = pbx.agent(ANN, T0 + 200)
    assert (done.activity, done.handled, done.aht) == (AgentActivity.AVAILABLE, 1, 150.0)
    q = pbx.queue("support", T0 + 200)
    assert (q.summary.handled, q.summary.aht, q.figures.wrap_time) == (1, 150.0, 30.0)
    assert (q.available, q.wrap_up) == (1, 0)


def test_wrap_up_from_the_members_wrapuptime_after_the_last_call() -> None:
    pbx = Pbx()
    pbx.member(ANN, "support", T0, wrap=15)
    end = pbx.call("c1", "support", ANN, T0 + 10, 5, 60)
    # QueueMemberStatus after the call carries the PBX's LastCall (its clock agrees with ours).
    pbx.member(ANN, "support", end, event="QueueMemberStatus", wrap=15, last_call=int(end))
    assert pbx.agent(ANN, end + 5).activity is AgentActivity.WRAP_UP
    q = pbx.queue("support", end + 5)
    assert (q.wrap_up, q.available) == (1, 0)  # wrap-up counts as not available
    after = pbx.agent(ANN, end + 20)
    assert (after.activity, after.since) == (AgentActivity.AVAILABLE, end + 15)
    # The PBX's automatic wrap-up is not logged anywhere, so it is not handle time.
    assert after.aht == 60.0


def test_a_simulator_with_its_own_epoch_still_gets_its_wrapuptime() -> None:
    pbx = Pbx()
    pbx.member(ANN, "support", T0, wrap=10)
    end = pbx.call("c1", "support", ANN, T0, 3, 30)
    # LastCall from a PBX whose clock says 2023: not trusted; the AgentComplete's time is used.
    pbx.member(ANN, "support", end, event="QueueMemberStatus", wrap=10, last_call=1_700_000_000)
    assert pbx.agent(ANN, end + 9).activity is AgentActivity.WRAP_UP
    assert pbx.agent(ANN, end + 11).activity is AgentActivity.AVAILABLE


def abandons(pbx: Pbx) -> None:
    pbx.member(ANN, "support", T0)
    pbx.call("c1", "support", ANN, T0, 10, 60)  # answered within 20 s
    pbx.call("c2", "support", ANN, T0 + 100, 40, 60)  # answered late
    pbx.join("c3", "support", T0 + 300)
    pbx.abandon("c3", "support", T0 + 303, 3)  # short: not counted
    pbx.join("c4", "support", T0 + 400)
    pbx.abandon("c4", "support", T0 + 430, 30)


def test_abandons_short_and_counted_service_level_and_abandon_rate() -> None:
    pbx = Pbx(LiveBoard(MetricDefinitions(sl_threshold=20, short_abandon=5), tz=UTC))
    abandons(pbx)
    q = pbx.queue("support", T0 + 500)
    s = q.summary
    assert (s.offered, s.answered, s.abandoned, s.short_abandoned) == (4, 2, 2, 1)
    assert s.service_level == pytest.approx(1 / 3)  # 1 within / (2 answered + 1 abandon)
    assert s.abandon_rate == pytest.approx(1 / 3)  # (2 - 1) / (4 - 1)
    assert s.longest_wait == 40.0
    assert (q.waiting, q.longest_wait) == (0, 0.0)
    # The same calls under Asterisk's SL (abandons ignored).
    asterisk = Pbx(LiveBoard(MetricDefinitions(treatment=AbandonTreatment.ASTERISK_SL), tz=UTC))
    abandons(asterisk)
    assert asterisk.queue("support", T0 + 500).summary.service_level == 0.5


def test_repeated_frames_count_once() -> None:
    pbx = Pbx()
    pbx.member(ANN, "support", T0)
    pbx.join("c1", "support", T0)
    pbx.join("c1", "support", T0)  # a repeat while waiting
    leg = pbx.ring("c1", "support", ANN, T0 + 3)
    for _ in range(2):
        pbx.answer("c1", "support", ANN, T0 + 5, 5, leg)
    for _ in range(2):
        pbx.complete("c1", "support", ANN, T0 + 65, 5, 60, leg)
    pbx.join("c2", "support", T0 + 100)
    for _ in range(2):
        pbx.abandon("c2", "support", T0 + 130, 30)
    for _ in range(3):
        pbx.member(ANN, "support", T0 + 140, event="QueueMemberStatus")
    s = pbx.queue("support", T0 + 200).summary
    assert (s.offered, s.answered, s.handled, s.abandoned) == (2, 1, 1, 1)
    assert pbx.agent(ANN, T0 + 200).handled == 1


def test_a_transfer_ends_the_agents_part_and_the_caller_is_offered_again() -> None:
    pbx = Pbx()
    pbx.member(ANN, "support", T0)
    pbx.member(BOB, "billing", T0)
    pbx.join("c1", "support", T0)
    leg = pbx.ring("c1", "support", ANN, T0 + 2)
    pbx.answer("c1", "support", ANN, T0 + 4, 4, leg)
    pbx.complete("c1", "support", ANN, T0 + 64, 4, 60, leg, reason="transfer")
    pbx.join("c1", "billing", T0 + 64)
    support, billing = pbx.queue("support", T0 + 70), pbx.queue("billing", T0 + 70)
    assert (support.figures.handled, support.figures.transferred) == (1, 1)
    assert (billing.summary.offered, billing.waiting, billing.longest_wait) == (1, 1, 6.0)
    assert pbx.agent(ANN, T0 + 70).activity is AgentActivity.AVAILABLE
    leg2 = pbx.ring("c1", "billing", BOB, T0 + 75)
    pbx.answer("c1", "billing", BOB, T0 + 76, 12, leg2)
    bob = pbx.agent(BOB, T0 + 80)
    assert (bob.activity, bob.call_queue) == (AgentActivity.ON_CALL, "billing")
    assert pbx.queue("billing", T0 + 80).summary.asa == 12.0


def test_a_caller_transferred_back_to_the_same_queue_is_two_visits() -> None:
    pbx = Pbx()
    pbx.member(ANN, "support", T0)
    end = pbx.call("c1", "support", ANN, T0, 4, 60)
    pbx.send(
        "AgentComplete",
        end,
        Queue="support",
        Uniqueid="c1",
        DestUniqueid="x",
        Interface=ANN,
        HoldTime=4,
        TalkTime=60,
        Reason="transfer",
    )  # a late repeat of the first completion changes nothing
    pbx.call("c1", "support", ANN, end + 1, 6, 30)  # back in the queue, answered again
    s = pbx.queue("support", end + 100).summary
    assert (s.offered, s.answered, s.handled) == (2, 2, 2)
    assert s.asa == 5.0
    assert pbx.agent(ANN, end + 100).handled == 2


def test_hold_time_is_measured_between_hold_and_unhold() -> None:
    pbx = Pbx()
    pbx.member(ANN, "support", T0)
    pbx.join("c1", "support", T0)
    leg = pbx.ring("c1", "support", ANN, T0 + 1)
    pbx.answer("c1", "support", ANN, T0 + 2, 2, leg)
    pbx.send("Hold", T0 + 20, Uniqueid=leg)
    pbx.send("Hold", T0 + 25, Uniqueid=leg)  # a repeat
    pbx.send("Unhold", T0 + 35, Uniqueid=leg)
    pbx.complete("c1", "support", ANN, T0 + 102, 2, 100, leg)
    f = pbx.queue("support", T0 + 110).figures
    assert (f.hold_time, f.talk_time) == (15.0, 85.0)


def test_ringall_the_others_stop_ringing_when_one_answers() -> None:
    pbx = Pbx()
    for member in (ANN, BOB):
        pbx.member(member, "support", T0)
    pbx.join("c1", "support", T0)
    leg_a = pbx.ring("c1", "support", ANN, T0 + 1)
    pbx.ring("c1", "support", BOB, T0 + 1)
    assert pbx.queue("support", T0 + 2).on_call == 2  # ringing counts as on a call
    pbx.answer("c1", "support", ANN, T0 + 3, 3, leg_a)
    assert pbx.agent(BOB, T0 + 4).activity is AgentActivity.AVAILABLE
    assert pbx.agent(ANN, T0 + 4).activity is AgentActivity.ON_CALL


def test_not_ready_reasons_per_queue_and_logged_out() -> None:
    pbx = Pbx()
    for queue in ("support", "sales"):
        pbx.member(ANN, queue, T0)
        pbx.member(BOB, queue, T0)
    pbx.pause(ANN, "support", T0 + 10, "break")
    pbx.pause(ANN, "sales", T0 + 10, "break")
    pbx.pause(BOB, "sales", T0 + 10, "coaching")  # still available in support
    ann, bob = pbx.agent(ANN, T0 + 70), pbx.agent(BOB, T0 + 70)
    assert (ann.activity, ann.reason, ann.since) == (AgentActivity.NOT_READY, "break", T0 + 10)
    assert bob.activity is AgentActivity.AVAILABLE
    support, sales = pbx.queue("support", T0 + 70), pbx.queue("sales", T0 + 70)
    assert (support.logged_in, support.available, support.not_ready) == (2, 1, 1)
    assert (sales.logged_in, sales.available, sales.not_ready) == (2, 0, 2)
    for queue in ("support", "sales"):
        pbx.send("QueueMemberRemoved", T0 + 80, Queue=queue, Interface=BOB, MemberName="Bob")
    bob = pbx.agent(BOB, T0 + 90)
    assert (bob.activity, bob.queues, bob.since) == (AgentActivity.LOGGED_OUT, (), T0 + 80)
    assert pbx.queue("support", T0 + 90).logged_in == 1


def test_caller_names_are_sanitised() -> None:
    pbx = Pbx()
    pbx.member(ANN, "support", T0)
    pbx.send(
        "AgentCalled",
        T0,
        Queue="support",
        Uniqueid="c1",
        CallerIDName="\x1b[31mEvil\u202e [b]x",
        CallerIDNum="+1",
        DestUniqueid="l1",
        Interface=ANN,
    )
    assert pbx.agent(ANN, T0).caller == "Evil [b]x"
    pbx.send(
        "AgentCalled",
        T0,
        Queue="support",
        Uniqueid="c2",
        CallerIDName="<unknown>",
        CallerIDNum="+14155550199",
        DestUniqueid="l2",
        Interface=BOB,
    )
    assert pbx.agent(BOB, T0).caller == "+14155550199"


def queue_status(*items: tuple[str, dict[str, object]]) -> list[Message]:
    return [Message((("Event", kind), *((k, str(v)) for k, v in f.items()))) for kind, f in items]


def status_member(interface: str, queue: str, **extra: object) -> tuple[str, dict[str, object]]:
    fields: dict[str, object] = {
        "Queue": queue,
        "Name": f"Agent {interface[-4:]}",
        "Location": interface,
        "Status": 1,
        "Paused": 0,
        "PausedReason": "",
        "InCall": 0,
        "LastCall": 0,
        "Wrapuptime": 0,
    }
    return ("QueueMember", fields | extra)


def test_reconcile_adds_missed_callers_once_and_drops_gone_ones() -> None:
    pbx = Pbx()
    pbx.member(ANN, "support", T0)
    pbx.join("c1", "support", T0)  # will vanish while we were not listening
    listing = queue_status(
        ("QueueParams", {"Queue": "support"}),
        status_member(ANN, "support", Paused=1, PausedReason="lunch"),
        ("QueueEntry", {"Queue": "support", "Uniqueid": "c9", "Wait": 42}),
    )
    pbx.board.reconcile(listing, at=T0 + 100)
    q = pbx.queue("support", T0 + 100)
    assert (q.waiting, q.longest_wait, q.summary.offered, q.figures.exited) == (1, 42.0, 2, 1)
    ann = pbx.agent(ANN, T0 + 100)
    assert (ann.activity, ann.reason) == (AgentActivity.NOT_READY, "lunch")
    pbx.board.reconcile(listing, at=T0 + 160)  # the same list again: nothing counted twice
    q = pbx.queue("support", T0 + 160)
    assert (q.waiting, q.longest_wait, q.summary.offered) == (1, 102.0, 2)
    # Ann is no longer listed: logged out; a queue not in the list is left alone.
    pbx.member(BOB, "sales", T0 + 170)
    pbx.board.reconcile(queue_status(("QueueParams", {"Queue": "support"})), at=T0 + 180)
    assert pbx.agent(ANN, T0 + 180).activity is AgentActivity.LOGGED_OUT
    assert pbx.agent(BOB, T0 + 180).activity is AgentActivity.AVAILABLE
    assert pbx.queue("support", T0 + 180).waiting == 0


def test_reconcile_keeps_what_events_changed_after_the_list_was_asked_for() -> None:
    pbx = Pbx()
    pbx.member(ANN, "support", T0)
    mark = pbx.board.events_seen  # QueueStatus sent now
    pbx.join("c2", "support", T0 + 1)  # then, before its answer: a caller joins, Ann pauses
    pbx.pause(ANN, "support", T0 + 1, "break")
    pbx.join("c3", "support", T0 + 1)
    pbx.abandon("c3", "support", T0 + 2, 1)
    stale = queue_status(
        ("QueueParams", {"Queue": "support"}),
        status_member(ANN, "support"),
        ("QueueEntry", {"Queue": "support", "Uniqueid": "c3", "Wait": 1}),
    )
    pbx.board.reconcile(stale, since_event=mark, at=T0 + 3)
    q = pbx.queue("support", T0 + 3)
    assert (q.waiting, q.summary.offered, q.summary.abandoned) == (1, 2, 1)  # c2 only
    assert pbx.agent(ANN, T0 + 3).activity is AgentActivity.NOT_READY


def test_reconcile_ends_a_call_the_pbx_says_is_over() -> None:
    pbx = Pbx()
    pbx.member(ANN, "support", T0)
    pbx.join("c1", "support", T0)
    leg = pbx.ring("c1", "support", ANN, T0 + 1)
    pbx.answer("c1", "support", ANN, T0 + 2, 2, leg)
    listing = queue_status(("QueueParams", {"Queue": "support"}), status_member(ANN, "support"))
    pbx.board.reconcile(listing, at=T0 + 300)
    ann = pbx.agent(ANN, T0 + 300)
    assert (ann.activity, ann.caller) == (AgentActivity.AVAILABLE, "")
    assert pbx.queue("support", T0 + 300).summary.answered == 1


def test_midnight_starts_a_new_day_and_waiting_callers_carry_over() -> None:
    midnight = day_bounds(T0, UTC)[1]
    pbx = Pbx()
    pbx.member(ANN, "support", T0)
    pbx.pause(ANN, "support", T0 + 1, "break")
    pbx.pause(ANN, "support", T0 + 60)
    pbx.call("c1", "support", ANN, midnight - 600, 10, 60)
    pbx.join("c2", "support", midnight - 30)  # still waiting at midnight
    before = pbx.queue("support", midnight - 1)
    assert (before.summary.offered, before.waiting) == (2, 1)
    after = pbx.queue("support", midnight + 30)
    assert (after.summary.offered, after.summary.handled) == (0, 0)
    assert (after.waiting, after.longest_wait) == (1, 60.0)
    assert after.logged_in == 1 and after.available == 1
    assert pbx.agent(ANN, midnight + 30).handled == 0
    leg = pbx.ring("c2", "support", ANN, midnight + 40)
    pbx.answer("c2", "support", ANN, midnight + 42, 72, leg)  # counts on the day it arrived
    pbx.call("c3", "support", ANN, midnight + 100, 5, 30)
    today = pbx.queue("support", midnight + 200)
    assert (today.summary.offered, today.summary.answered, today.summary.asa) == (1, 1, 5.0)
    # Staffed time restarts at midnight too (Ann is logged in and available all along).
    assert today.figures.staffed_time == pytest.approx(200.0)


def test_one_sample_a_minute_for_the_sparklines() -> None:
    start = (T0 // 60) * 60
    pbx = Pbx()
    pbx.member(ANN, "support", start)
    pbx.join("c1", "support", start + 10)
    pbx.join("c2", "support", start + 20)
    pbx.abandon("c2", "support", start + 50, 30)  # SL of this minute: 0 %
    pbx.board.snapshot(start + 61)
    leg = pbx.ring("c1", "support", ANN, start + 70)
    pbx.answer("c1", "support", ANN, start + 71, 61, leg)  # late: still 0 %
    pbx.call("c3", "support", ANN, start + 80, 5, 10)  # within: 50 % this minute
    q = pbx.queue("support", start + 60 * 4 + 1)  # two quiet minutes follow
    assert q.waiting_history == (1.0, 0.0, 0.0, 0.0)
    assert q.sl_history == (0.0, 0.5, None, None)


def test_matches_the_simulators_own_figures_under_bot_traffic() -> None:
    """The demo scenario for an hour in virtual time: the board counts what the PBX did."""
    scenario = Path(__file__).parents[2] / "callkit" / "scenarios" / "demo.toml"
    engine = Engine(parse_scenario(scenario.read_text(), "demo.toml"), seed=3, clock=VirtualClock())
    board = LiveBoard(tz=UTC)

    def listen(name: str, fields: list[tuple[str, str]]) -> None:
        stamp = f"{engine.pbx.epoch_now():.6f}"
        board.feed(Message((("Event", name), ("Timestamp", stamp), *fields)))

    engine.add_listener(listen)
    engine.run_virtual(3600)
    snapshot = board.snapshot(engine.pbx.epoch_now())
    for q in snapshot.queues:
        sim = engine.figures(q.queue)
        got = q.figures
        assert (got.offered, got.answered, got.abandoned, got.handled) == (
            sim.offered,
            sim.answered,
            sim.abandoned,
            sim.handled,
        )
        assert got.short_abandoned == sim.short_abandoned
        assert q.waiting == len(engine.acd.queues[q.queue].waiting)
    states = {a.interface: a.activity for a in snapshot.agents}
    for interface, dev in engine.acd.devices.items():
        busy = dev.call is not None
        if interface not in states:  # no event named it (the outbound queue's idle bots);
            assert not busy  # a live board learns those from QueueStatus at connect
            continue
        assert (states[interface] in (AgentActivity.ON_CALL, AgentActivity.RINGING)) == busy
    assert sum(a.handled for a in snapshot.agents) == sum(
        q.figures.handled for q in snapshot.queues
    )


EVENTS = [
    "QueueCallerJoin",
    "QueueCallerLeave",
    "QueueCallerAbandon",
    "AgentCalled",
    "AgentRingNoAnswer",
    "AgentConnect",
    "AgentComplete",
    "Hold",
    "Unhold",
    "Hangup",
    "QueueMemberAdded",
    "QueueMemberStatus",
    "QueueMemberPause",
    "QueueMemberRemoved",
    "queuecallerjoin",
    "Newchannel",
    "",
]
KEYS = ["Queue", "Uniqueid", "DestUniqueid", "Interface", "MemberName", "HoldTime", "TalkTime"]
KEYS += ["Paused", "PausedReason", "Status", "InCall", "LastCall", "Wrapuptime", "Timestamp"]
KEYS += ["Reason", "CallerIDName", "CallerIDNum"]
VALUES = st.one_of(
    st.sampled_from(["support", "sales", "c1", "c2", "l1", "PJSIP/1001", "1", "0", "acw", ""]),
    st.sampled_from(["nan", "inf", "-5", "1e300", "1e20", "2", "6", "x", "<unknown>"]),
    st.text(max_size=8),
)
FRAMES = st.lists(
    st.tuples(
        st.sampled_from(EVENTS),
        st.lists(st.tuples(st.sampled_from(KEYS), VALUES), max_size=8),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(frames=FRAMES, offsets=st.lists(st.floats(0, 200_000), min_size=1, max_size=4))
def test_any_frames_in_any_order_never_break_the_board(
    frames: list[tuple[str, list[tuple[str, str]]]], offsets: list[float]
) -> None:
    board = LiveBoard(tz=UTC, clock=lambda: T0)
    for name, fields in frames:
        board.feed(Message((("Event", name), *fields)))
    board.reconcile([Message((("Event", name), *fields)) for name, fields in frames], at=T0)
    for offset in offsets:
        snap = board.snapshot(T0 + offset)
        for q in snap.queues:
            assert q.waiting >= 0 and q.figures.offered >= q.figures.answered >= 0
            assert q.logged_in == q.available + q.on_call + q.wrap_up + q.not_ready
        for a in snap.agents:
            assert a.handled >= 0
