"""Following dials from the simulator's own event stream (console/services/outbound/dial_events.py):
each customer's answer, AMD, the queue, the agent, the abandon and the hang-up as the engine
emits them in Asterisk's order; the outcome from DialEnd and the cause before the Reason."""

from __future__ import annotations

import pytest

from callkit.ami_frames import Message
from callkit.scenario import parse_scenario
from console.services.outbound.dial_events import (
    ABANDONED,
    AGENT_AWAY,
    ANSWER,
    BUSY,
    CONNECTED,
    FAILED,
    MACHINE,
    NO_ANSWER,
    Dial,
    DialTracker,
    outcome_of,
)
from telephony_sim.clock import VirtualClock
from telephony_sim.engine import Engine
from telephony_sim.outbound import OriginateRequest

NUMBER = "+14155550100"
SCENARIO = """
name = "dial-events"
[[queues]]
name = "sales"
extension = "700"
[[agents]]
interface = "PJSIP/2001"
name = "Dana"
kind = "bot"
queues = ["sales"]
[agents.bot]
answer_delay = {delay}
[outbound]
answer = 1
[[outbound.campaigns]]
context = "campaign-7"
queue = "sales"
queue_timeout = 2
failed_extension = true
"""


class Wire:
    """The engine's events as AMI frames into a tracker, at the engine's time."""

    def __init__(self, delay: float = 0.5) -> None:
        text = SCENARIO.format(delay=delay)
        self.engine = Engine(parse_scenario(text, "t.toml"), seed=5, clock=VirtualClock())
        self.engine.set_manager_vars(("CC_CAMPAIGN", "CC_LEAD"))
        self.tracker = DialTracker()
        self.frames: list[Message] = []
        self.engine.add_listener(self._event)

    def _event(self, name: str, fields: list[tuple[str, str]]) -> None:
        msg = Message((("Event", name), *fields))
        self.frames.append(msg)
        self.tracker.feed(msg, self.engine.clock.now())

    def dial(
        self,
        outcome: str,
        *,
        amd: str = "",
        lead: int = 123,
        channel: str = f"PJSIP/{NUMBER}@trunk",
        agent_first: bool = False,
        seconds: float = 120,
    ) -> Dial:
        self.engine.outbound_outcome(NUMBER, outcome, 1, amd)
        dial = self.tracker.expect(7, lead, 99, agent_first=agent_first, at=0.0)
        request = OriginateRequest(
            channel,
            NUMBER,
            "from-internal" if agent_first else "campaign-7",
            '"Acme" <6000>',
            30_000,
            f"dial-{lead}",
            "1",
            variables=(("CC_CAMPAIGN", "7"), ("CC_LEAD", str(lead))),
        )
        self.engine.originate(request)
        self.tracker.sent(dial, f"dial-{lead}", self.engine.clock.now())
        self.engine.run_virtual(seconds)
        return dial


def test_a_live_answer_is_followed_to_the_agent_and_the_end() -> None:
    wire = Wire(delay=0.5)
    dial = wire.dial("answer", amd="HUMAN", seconds=3000)  # talk: exponential, mean 180 s
    assert dial.uniqueid and dial.channel.startswith("PJSIP/trunk-")
    assert dial.amd == "HUMAN" and dial.agent_interface == "PJSIP/2001"
    assert dial.answered_at is not None and dial.live_at is not None
    assert dial.connected_at is not None and dial.ended_at is not None
    assert dial.answered_at <= dial.live_at <= dial.connected_at <= dial.ended_at
    assert dial.outcome == CONNECTED and not dial.in_flight


def test_a_live_answer_no_agent_takes_is_abandoned() -> None:
    wire = Wire(delay=5.0)  # the bot answers after 5 s: the 2 s queue timeout passes first
    dial = wire.dial("answer", amd="HUMAN")
    assert dial.abandoned and dial.connected_at is None
    assert dial.outcome == ABANDONED


@pytest.mark.parametrize(
    ("outcome", "expected", "cause"),
    [("noanswer", NO_ANSWER, 19), ("busy", BUSY, 17), ("failed", FAILED, 34)],
)
def test_unanswered_dials(outcome: str, expected: str, cause: int) -> None:
    wire = Wire()
    dial = wire.dial(outcome)
    assert dial.outcome == expected and dial.cause == cause
    assert dial.answered_at is None and not dial.in_flight
    # The failed extension's own channel carries the same variables: not the dial's leg.
    assert any(f.get("Channel") == "OutgoingSpoolFailed" for f in wire.frames)
    assert dial.channel.startswith("PJSIP/trunk-")


def test_a_machine_is_not_in_flight_once_amd_says_so() -> None:
    wire = Wire()
    dial = wire.dial("machine", amd="MACHINE", seconds=25)  # picks up by 20 s, AMD within 4
    assert dial.amd == "MACHINE" and not dial.ended and not dial.in_flight
    wire.engine.run_virtual(100)
    assert dial.outcome == MACHINE


def test_a_person_hanging_up_during_amd_is_an_answer_without_a_live_call() -> None:
    wire = Wire()
    dial = wire.dial("answer", amd="HANGUP")
    assert dial.outcome == ANSWER and dial.live_at is None


def test_an_unknown_trunk_ends_on_the_originate_response() -> None:
    wire = Wire()
    dial = wire.dial("answer", channel=f"PJSIP/{NUMBER}@nosuchtrunk")
    assert dial.uniqueid == "" and dial.outcome == FAILED and dial.reason == 0


def test_a_preview_dial_from_the_agents_phone() -> None:
    wire = Wire()
    dial = wire.dial("answer", channel="PJSIP/2001", agent_first=True, seconds=3000)
    # The Originate's variables are set on the agent's leg (VarSet), which dials the customer.
    assert dial.channel.startswith("PJSIP/2001-")
    assert dial.connected_at is not None and dial.agent_interface == "PJSIP/2001"
    assert dial.outcome == CONNECTED


def test_the_cause_is_trusted_over_a_reason_of_zero() -> None:
    """A real PJSIP busy may come as OriginateResponse Reason 0 (docs/cti.md)."""
    busy = Dial(1, 1, 0.0, cause=17, reason=0, ended_at=1.0)
    assert outcome_of(busy) == BUSY
    status_first = Dial(1, 1, 0.0, dial_status="CONGESTION", cause=16, reason=5, ended_at=1.0)
    assert outcome_of(status_first) == FAILED
    only_reason = Dial(1, 1, 0.0, cause=0, reason=3, ended_at=1.0)
    assert outcome_of(only_reason) == NO_ANSWER


def test_an_originate_response_read_before_the_answer_is_kept_for_it() -> None:
    tracker = DialTracker()
    dial = tracker.expect(7, 5, 1, agent_first=True, at=0.0)
    failure = Message(
        (
            ("Event", "OriginateResponse"),
            ("ActionID", "a-1"),
            ("Response", "Failure"),
            ("Channel", "PJSIP/2001"),
            ("Reason", "3"),
            ("Uniqueid", "<null>"),
        )
    )
    tracker.feed(failure, 1.0)
    assert not dial.ended
    tracker.sent(dial, "a-1", 1.0)
    assert dial.outcome == AGENT_AWAY


def test_a_dial_seen_only_on_the_wire_is_followed_too() -> None:
    """A standby dialer sees another process's dials by their variables."""
    wire = Wire(delay=0.5)
    wire.engine.outbound_outcome(NUMBER, "busy", 1, "")
    wire.engine.originate(
        OriginateRequest(
            f"PJSIP/{NUMBER}@trunk",
            NUMBER,
            "campaign-7",
            variables=(("CC_CAMPAIGN", "7"), ("CC_LEAD", "44")),
        )
    )
    wire.engine.run_virtual(10)
    dial = wire.tracker.dials[(7, 44)]
    assert dial.attempt_id is None and dial.outcome == BUSY
