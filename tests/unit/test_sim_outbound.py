"""Outbound calls (Originate): what the dialled customer does — answer, no answer, busy,
failed, an unroutable number — scripted per number (SimOutbound) or drawn from the scenario's
``[outbound]`` shares, with Asterisk's DialStatus values and hangup causes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from callkit.scenario import ScenarioError, load_scenario
from callkit.specs import OutboundProfile
from telephony_sim.engine import Engine
from telephony_sim.outbound import OriginateRequest, dial_key, is_dial_string
from telephony_sim.pbx import SimError
from tests.unit.sim_helpers import Recorder, bot, build, call, queue

NUMBER = "+14155550100"
TRAINEE = """
[[agents]]
interface = "PJSIP/1001"
name = "Trainee"
kind = "phone"
queues = ["q"]
"""
SHARES = """
[outbound]
answer = 0.7
no_answer = 0.2
busy = 0.08
failed = 0.02
ring_seconds = [3, 10]
"""


def dial(engine: Engine, number: str = NUMBER, channel: str = "PJSIP/1001", **kw: object) -> None:
    request = OriginateRequest(channel, number, caller_id='"Callback" <600>', **kw)  # type: ignore[arg-type]
    engine.originate(request)


def summary(name: str, f: dict[str, str]) -> str:
    """What matters about one event: its leg (endpoint) and status, cause or reason."""
    leg = f.get("Channel", "").rsplit("-", 1)[0]
    if name == "Newstate":
        return f"{leg} {f['ChannelStateDesc']}"
    if name == "OriginateResponse":
        return f"{f['Response']} {f['Reason']}"
    if name == "DialBegin":
        return f["DialString"]
    if name == "DialEnd":
        return f["DialStatus"]
    if name == "Hangup":
        return f"{leg} {f['Cause']} {f['Cause-txt']}"
    return leg


def after_answer(rec: Recorder, since: float) -> list[tuple[str, str]]:
    """(event, summary) from ``since`` on, QueueMemberStatus left out."""
    return [
        (name, summary(name, f))
        for t, name, f in rec.events
        if t >= since and name != "QueueMemberStatus"
    ]


ANSWERED = [
    ("Newstate", "PJSIP/1001 Up"),
    ("OriginateResponse", "Success 4"),
    ("Newchannel", "PJSIP/trunk"),
    ("DialBegin", f"PJSIP/{NUMBER}@trunk"),
]


def unsuccessful(status: str, cause: str, ringing: bool) -> list[tuple[str, str]]:
    ring = [("Newstate", "PJSIP/trunk Ringing")] if ringing else []
    return [
        *ANSWERED,
        *ring,
        ("DialEnd", status),
        ("Hangup", f"PJSIP/trunk {cause}"),
        ("Hangup", f"PJSIP/1001 {cause}"),
    ]


@pytest.mark.parametrize(
    ("outcome", "expected", "within"),
    [
        (
            "answer",
            [
                *ANSWERED,
                ("Newstate", "PJSIP/trunk Ringing"),
                ("Newstate", "PJSIP/trunk Up"),
                ("DialEnd", "ANSWER"),
                ("BridgeCreate", ""),
                ("BridgeEnter", "PJSIP/1001"),
                ("BridgeEnter", "PJSIP/trunk"),
            ],
            (3, 10),
        ),
        ("noanswer", unsuccessful("NOANSWER", "19 User alerting, no answer", True), (18, 18)),
        ("busy", unsuccessful("BUSY", "17 User busy", False), (0.5, 1.5)),
        ("failed", unsuccessful("CONGESTION", "34 Circuit/channel congestion", False), (0.2, 0.8)),
    ],
)
def test_each_outcome_gives_asterisks_event_sequence(
    outcome: str, expected: list[tuple[str, str]], within: tuple[float, float]
) -> None:
    engine, rec = build(queue() + TRAINEE)
    assert engine.outbound_outcome(NUMBER, outcome) == 1
    dial(engine, timeout_ms=20_000, action_id="cb-1")
    engine.run_virtual(2)
    engine.phone("PJSIP/1001", "answer")
    engine.run_virtual(60)
    assert after_answer(rec, 2) == expected
    ((_t, resp),) = rec.named("OriginateResponse")
    assert resp["ActionID"] == "cb-1"
    ((t_begin, _f),) = rec.named("DialBegin")
    ((t_end, end),) = rec.named("DialEnd")
    assert within[0] <= t_end - t_begin <= within[1]
    # DialEnd names both legs, like app_dial's.
    assert end["Channel"].startswith("PJSIP/1001-") and end["DestChannel"].startswith(
        "PJSIP/trunk-"
    )
    dev = engine.acd.devices["PJSIP/1001"]
    if outcome == "answer":
        engine.phone("PJSIP/1001", "hangup")
    assert not engine.pbx.channels
    assert dev.outbound is None and dev.available
    assert rec.named("QueueMemberStatus")[-1][1]["Status"] == "1"  # not in use


def test_a_number_that_is_not_a_dial_string_fails_at_once() -> None:
    engine, rec = build(queue() + TRAINEE)
    dial(engine, "callme")
    engine.phone("PJSIP/1001", "answer")
    engine.run_virtual(1)
    seq = after_answer(rec, 0)
    assert seq[-3:] == [
        ("DialEnd", "CHANUNAVAIL"),
        ("Hangup", "PJSIP/trunk 3 No route to destination"),
        ("Hangup", "PJSIP/1001 3 No route to destination"),
    ]
    assert rec.named("DialEnd")[0][0] == rec.named("DialBegin")[0][0]  # no ringing at all
    assert ("OriginateResponse", "Success 4") in seq  # the agent's leg did answer
    assert not engine.pbx.channels and engine.acd.devices["PJSIP/1001"].available
    assert [is_dial_string(n) for n in ("", "abc", "12a", "+", "+1 (415) 555-0100", "*72#")] == [
        False,
        False,
        False,
        False,
        True,
        True,
    ]


def test_no_answer_rings_for_what_is_left_of_the_timeout_or_the_scenarios_time() -> None:
    engine, rec = build(queue() + TRAINEE)
    engine.outbound_outcome(NUMBER, "noanswer")
    dial(engine, timeout_ms=30_000)
    engine.run_virtual(12)
    engine.phone("PJSIP/1001", "answer")
    engine.run_virtual(60)
    ((t, _f),) = rec.named("DialEnd")
    assert t == 30
    # A late answer still rings the customer for a second.
    engine.outbound_outcome(NUMBER, "noanswer")
    start = engine.clock.now()
    dial(engine, timeout_ms=5_000)
    engine.run_virtual(4.9)
    engine.phone("PJSIP/1001", "answer")
    engine.run_virtual(10)
    assert rec.named("DialEnd")[1][0] == pytest.approx(start + 5.9)

    engine, rec = build(
        queue() + TRAINEE + '[outbound]\nno_answer = 1\nno_answer_seconds = "25s"\n'
    )
    dial(engine)
    engine.run_virtual(1)
    engine.phone("PJSIP/1001", "answer")
    engine.run_virtual(60)
    ((t, end),) = rec.named("DialEnd")
    assert (t, end["DialStatus"]) == (26, "NOANSWER")


def test_scripted_outcomes_are_used_in_order_then_the_scenario_decides() -> None:
    engine, rec = build(queue() + bot(3001, "[]"))
    assert engine.outbound_outcome(NUMBER, "busy", 2) == 2
    assert engine.outbound_outcome("+1 (415) 555-0100", "noanswer") == 3  # the same number
    assert engine.outbound_outcome("+14155550199", "failed") == 1
    for _ in range(5):
        dial(engine, channel="PJSIP/3001", timeout_ms=10_000)
        engine.run_virtual(20)
        ob = engine.acd.devices["PJSIP/3001"].outbound
        if ob is not None:  # answered: the bot would talk for minutes
            engine.hangup(ob.agent_chan.name)
    statuses = [f["DialStatus"] for _t, f in rec.named("DialEnd")]
    assert statuses == ["BUSY", "BUSY", "NOANSWER", "ANSWER", "ANSWER"]
    assert list(engine.dialer.scripted) == [dial_key("+1 415 555 0199")] == ["+14155550199"]


@pytest.mark.parametrize(
    ("number", "outcome", "count", "message"),
    [
        (NUMBER, "voicemail", 1, "Unknown outcome: voicemail"),
        ("call-me-maybe", "busy", 1, "Invalid Number: 'call-me-maybe' is not a dial string"),
        ("", "busy", 1, "is not a dial string"),
        (NUMBER, "busy", 0, "Invalid Count: must be at least 1"),
    ],
)
def test_scripting_refuses_what_cannot_happen(
    number: str, outcome: str, count: int, message: str
) -> None:
    engine, _rec = build(queue() + TRAINEE)
    with pytest.raises(SimError, match=message):
        engine.outbound_outcome(number, outcome, count)
    assert engine.dialer.scripted == {}


def test_a_bot_dials_through_every_outcome_and_is_free_after_each() -> None:
    # Bots answer their own phone; after a failed dial they take queue calls again.
    engine, rec = build(queue() + bot(3001, '["q"]') + call(200, handle=10))
    for outcome in ("busy", "failed", "noanswer"):
        engine.outbound_outcome(NUMBER, outcome)
        dial(engine, channel="PJSIP/3001", timeout_ms=15_000)
        engine.run_virtual(40)
        dev = engine.acd.devices["PJSIP/3001"]
        assert dev.outbound is None and dev.available and not engine.pbx.channels
    statuses = [f["DialStatus"] for _t, f in rec.named("DialEnd")]
    assert statuses == ["BUSY", "CONGESTION", "NOANSWER"]
    assert [f["Response"] for _t, f in rec.named("OriginateResponse")] == ["Success"] * 3
    engine.run_virtual(200)
    assert rec.connected() == ["PJSIP/3001"]


def test_the_agent_hanging_up_while_the_customer_rings_cancels_the_dial() -> None:
    engine, rec = build(queue() + TRAINEE)
    engine.outbound_outcome(NUMBER, "noanswer")
    dial(engine)
    engine.phone("PJSIP/1001", "answer")
    engine.run_virtual(5)
    engine.phone("PJSIP/1001", "hangup")
    seq = after_answer(rec, 5)
    assert seq == [
        ("DialEnd", "CANCEL"),
        ("Hangup", "PJSIP/1001 16 Normal Clearing"),
        ("Hangup", "PJSIP/trunk 16 Normal Clearing"),
    ]
    engine.run_virtual(60)  # the no-answer timer must not fire on the finished call
    assert len(rec.named("DialEnd")) == 1 and len(rec.named("Hangup")) == 2
    dev = engine.acd.devices["PJSIP/1001"]
    assert dev.outbound is None and dev.available
    # The same through AMI Hangup on the agent's channel, during an answered customer's ring.
    dial(engine)
    engine.phone("PJSIP/1001", "answer")
    engine.run_virtual(1)
    engine.hangup(next(n for n in engine.pbx.channels if n.startswith("PJSIP/1001-")), 16)
    assert [f["DialStatus"] for _t, f in rec.named("DialEnd")] == ["CANCEL", "CANCEL"]
    assert not engine.pbx.channels and dev.available


def outcome_counts(toml: str, dials: int, seed: int = 1) -> tuple[Counter[str], list[float]]:
    """DialStatus counts of ``dials`` callbacks by a bot, and the rings before each answer."""
    engine, rec = build(queue() + bot(3001, "[]") + toml, seed=seed)
    dev = engine.acd.devices["PJSIP/3001"]
    for _ in range(dials):
        dial(engine, channel="PJSIP/3001", timeout_ms=20_000)
        while dev.outbound is not None:
            engine.run_virtual(5)
            ob = dev.outbound
            if ob is not None and ob.state == "up":
                engine.hangup(ob.agent_chan.name)
    begins = [t for t, _f in rec.named("DialBegin")]
    ends = rec.named("DialEnd")
    rings = [t - b for b, (t, f) in zip(begins, ends, strict=True) if f["DialStatus"] == "ANSWER"]
    return Counter(f["DialStatus"] for _t, f in ends), rings


def test_the_scenarios_shares_decide_over_many_dials() -> None:
    counts, rings = outcome_counts(SHARES.replace("[3, 10]", '["4s", 6]'), 3000)
    assert sum(counts.values()) == 3000
    shares = {status: n / 3000 for status, n in counts.items()}
    assert shares["ANSWER"] == pytest.approx(0.7, abs=0.035)
    assert shares["NOANSWER"] == pytest.approx(0.2, abs=0.03)
    assert shares["BUSY"] == pytest.approx(0.08, abs=0.02)
    assert shares["CONGESTION"] == pytest.approx(0.02, abs=0.01)
    assert min(rings) >= 4 and max(rings) <= 6
    # The same seed draws the same outcomes.
    assert outcome_counts(SHARES, 200)[0] == outcome_counts(SHARES, 200)[0]


def test_without_an_outbound_table_everybody_answers() -> None:
    counts, rings = outcome_counts("", 300)
    assert counts == Counter({"ANSWER": 300})
    assert min(rings) >= 3 and max(rings) <= 10


def test_answer_only_shares_leave_the_event_stream_as_it_was() -> None:
    # The outcome draws have their own random stream: a scenario that only adds an
    # [outbound] table of answers (and the default ring) replays byte for byte the same.
    def stream(extra: str) -> list[tuple[float, str, dict[str, str]]]:
        engine, rec = build(queue() + bot(3001, '["q"]') + TRAINEE + call(30) + extra, seed=4)
        for at in (1, 90, 400):
            engine.clock.call_at(at, dial, engine, NUMBER, "PJSIP/3001")
        engine.clock.call_at(120, dial, engine, NUMBER, "PJSIP/1001")
        engine.clock.call_at(125, engine.phone, "PJSIP/1001", "answer")
        engine.run_virtual(1800)
        return rec.events

    plain = stream("")
    assert len([e for e in plain if e[1] == "DialEnd"]) >= 4
    assert stream("[outbound]\nanswer = 1\n") == plain
    assert stream("[outbound]\n") == plain
    assert stream("[outbound]\nanswer = 0.5\nbusy = 0.5\n") != plain


def test_profile_draw_never_picks_an_outcome_with_no_share() -> None:
    class Edge:
        def random(self) -> float:
            return 0.9999999999999999

    profile = OutboundProfile(answer=0.5, no_answer=0.5, busy=0.0, failed=0.0)
    assert profile.draw(Edge()) == "noanswer"  # type: ignore[arg-type]
    assert OutboundProfile(answer=0.3, failed=0.7).draw(Edge()) == "failed"  # type: ignore[arg-type]


BAD_OUTBOUND = [
    ("[outbound]\nanswer = 0.7\nno_answer = 0.2\n", 1, "must add up to 1 (they add up to 0.9)"),
    ("[outbound]\nno_answer = 0.6\nbusy = 0.6\n", 3, "must not exceed 1 (they add up to 1.2)"),
    ("[outbound]\nbusy = 1.5\n", 2, "outbound.busy: 'busy' must be between 0 and 1"),
    ("[outbound]\nanswer = 1\nvoicemail = 0\n", 3, "unknown key 'voicemail'"),
    ("[outbound]\nanswer = 1\nring_seconds = [10, 3]\n", 3, "high must not be below low"),
    ("[outbound]\nanswer = 1\nring_seconds = [1, 2, 3]\n", 3, "must be [low, high]"),
    ('[outbound]\nanswer = 1\nring_seconds = [\n  3,\n  "soon",\n]\n', 5, "bad duration"),
    ("[outbound]\nanswer = 1\nno_answer_seconds = 0\n", 3, "must be positive"),
    ("outbound = 3\n", 1, "outbound must be a table"),
    ('[outbound]\nanswer = "most"\n', 2, "'answer' must be a number"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD_OUTBOUND)
def test_bad_outbound_tables_report_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text + '\n[[queues]]\nname = "q"\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value).startswith(f"{path}:{line}:")
    assert message in str(info.value)


def test_a_good_outbound_table_is_read() -> None:
    engine, _rec = build(queue() + SHARES + 'no_answer_seconds = "20s"\n')
    assert engine.scenario.outbound == OutboundProfile(0.7, 0.2, 0.08, 0.02, (3.0, 10.0), 20.0)
    engine, _rec = build(queue() + "[outbound]\nbusy = 0.25\nring_seconds = 5\n")
    assert engine.scenario.outbound == OutboundProfile(0.75, 0.0, 0.25, 0.0, (5.0, 5.0))
    engine, _rec = build(queue())
    assert engine.scenario.outbound is None
