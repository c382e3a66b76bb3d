"""Trainers' runs (SimTraining) on a virtual clock: pinned calls ring only the trainee, who gets
no other calls meanwhile; memberships, queues and bots the run brings; transfer and overflow;
the finish and stop events; refusals; determinism."""

from __future__ import annotations

import io
import math
import sqlite3
from pathlib import Path

import pytest

from callkit.scenario import load_scenario, parse_scenario
from telephony_sim.clock import VirtualClock
from telephony_sim.engine import Engine
from telephony_sim.pbx import SimError
from telephony_sim.queue_log import QueueLog
from tests.unit.sim_helpers import Recorder

TRAINEE = "PJSIP/1001"

# The running floor: the trainee first in a linear queue with steady random traffic, so any
# call that may ring the trainee does.
FLOOR = """
name = "floor"
[[queues]]
name = "support"
extension = "600"
strategy = "linear"
[queues.traffic]
rate = 360
handle_time = 60
[[agents]]
interface = "PJSIP/1001"
name = "Trainee"
kind = "phone"
queues = ["support"]
[[bot_pools]]
count = 2
first = 2001
queues = ["support"]
[bot_pools.bot]
answer_delay = 1
"""

DRILL = """
name = "drill"
[[queues]]
name = "support"
extension = "600"
[[agents]]
interface = "PJSIP/1001"
name = "Drill trainee"
kind = "phone"
queues = ["support"]
[[calls]]
id = "first"
at = "1m"
queue = "support"
number = "+14155550111"
hangup_after = 20
transcript = [{ at = "1s", text = "My router is blinking." }]
[[calls]]
id = "second"
at = "2m"
queue = "support"
number = "+14155550122"
hangup_after = 20
"""


def scenario_file(tmp_path: Path, text: str, name: str = "drill.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def engine_of(
    toml: str, seed: int = 1, *, queue_log: QueueLog | None = None, crm_db: Path | None = None
) -> tuple[Engine, Recorder]:
    scenario = parse_scenario(toml, "floor.toml")
    engine = Engine(scenario, seed=seed, clock=VirtualClock(), queue_log=queue_log, crm_db=crm_db)
    return engine, Recorder(engine)


class AutoAnswer:
    """The trainee picks up every call ``delay`` seconds after it starts ringing."""

    def __init__(self, engine: Engine, delay: float = 2.0) -> None:
        self.engine = engine
        self.delay = delay
        engine.add_listener(self)

    def __call__(self, name: str, fields: list[tuple[str, str]]) -> None:
        values = dict(fields)
        if name == "AgentCalled" and values["Interface"] == TRAINEE:
            self.engine.clock.call_later(self.delay, self._answer, values["Uniqueid"])

    def _answer(self, uniqueid: str) -> None:
        dev = self.engine.acd.devices[TRAINEE]
        if dev.ringing and dev.call is not None and dev.call.chan.uniqueid == uniqueid:
            self.engine.phone(TRAINEE, "answer")


def user_events(rec: Recorder, kind: str) -> list[tuple[float, dict[str, str]]]:
    return [(t, f) for t, f in rec.named("UserEvent") if f["UserEvent"] == kind]


def scripted(rec: Recorder) -> dict[str, str]:
    """Uniqueid -> script id of every scripted call so far."""
    return {f["Uniqueid"]: f["Script"] for _t, f in user_events(rec, "ScriptedCall")}


def rings(rec: Recorder) -> list[tuple[float, str, str]]:
    """(time, interface, caller Uniqueid) of every AgentCalled."""
    return [(t, f["Interface"], f["Uniqueid"]) for t, f in rec.named("AgentCalled")]


def trainee_rings(rec: Recorder, after: int = 0, before: int | None = None) -> list[str]:
    """Caller Uniqueids rung on the trainee's phone between two positions of the stream."""
    return [
        f["Uniqueid"]
        for _t, name, f in rec.events[after:before]
        if name == "AgentCalled" and f["Interface"] == TRAINEE
    ]


def position(rec: Recorder, kind: str) -> int:
    """Where the (only) user event ``kind`` is in the stream."""
    (index,) = [i for i, (_t, _n, f) in enumerate(rec.events) if f.get("UserEvent") == kind]
    return index


def test_a_run_rings_only_the_trainee_who_gets_no_other_calls_until_it_is_done(
    tmp_path: Path,
) -> None:
    engine, rec = engine_of(FLOOR)
    AutoAnswer(engine)
    assert engine.training_start(TRAINEE, scenario_file(tmp_path, DRILL), "run-1", 3) == 2
    engine.run_virtual(900)

    ((t0, started),) = user_events(rec, "TrainingStarted")
    assert t0 == 0
    assert started == {
        "UserEvent": "TrainingStarted",
        "RunId": "run-1",
        "Scenario": "drill",
        "Interface": TRAINEE,
        "Calls": "2",
    }  # not on a channel: no Channel/Uniqueid headers
    ((t1, finished),) = user_events(rec, "TrainingFinished")
    assert finished == {**started, "UserEvent": "TrainingFinished", "Reason": "done"}

    scripts = user_events(rec, "ScriptedCall")
    assert [(t, f["Script"], f["TrainingRun"]) for t, f in scripts] == [
        (3, "first", "run-1"),
        (63, "second", "run-1"),
    ]
    assert [f["CallerIDNum"] for _t, f in scripts] == ["+14155550111", "+14155550122"]
    ids = scripted(rec)
    # Pinned calls ring the trainee only, and only pinned calls ring the trainee during the run.
    assert all(iface == TRAINEE for _t, iface, uid in rings(rec) if uid in ids)
    started_at, finished_at = position(rec, "TrainingStarted"), position(rec, "TrainingFinished")
    assert sorted(set(trainee_rings(rec, started_at, finished_at))) == sorted(ids)
    # Random traffic went on meanwhile, to the bots.
    assert any(iface != TRAINEE and t0 < t < t1 for t, iface, _uid in rings(rec))
    # The last scripted call ended (its caller hung up after 20 s), then the run finished.
    last_uid = scripts[-1][1]["Uniqueid"]
    (end,) = [t for t, f in rec.named("Hangup") if f["Uniqueid"] == last_uid]
    assert t1 == end == 63 + 2 + 20
    lines = [f["Text"] for _t, f in user_events(rec, "Transcript")]
    assert lines == ["My router is blinking."]
    # Back to normal: random calls ring the trainee again.
    assert any(uid not in ids for uid in trainee_rings(rec, finished_at))
    assert not engine.acd.devices[TRAINEE].training and not engine.training.runs


def test_before_the_run_the_trainee_takes_random_calls() -> None:
    engine, rec = engine_of(FLOOR)
    engine.run_virtual(300)
    assert any(iface == TRAINEE for _t, iface, _uid in rings(rec))


def test_a_pinned_caller_waiting_for_a_paused_trainee_does_not_block_the_others(
    tmp_path: Path,
) -> None:
    floor = """
name = "floor"
[[queues]]
name = "q"
strategy = "linear"
[[agents]]
interface = "PJSIP/1001"
kind = "phone"
queues = ["q"]
paused = true
pause_reason = "Coaching"
[[agents]]
interface = "PJSIP/2001"
name = "Bot 2001"
queues = ["q"]
[agents.bot]
answer_delay = 0
agent_hangup_share = 1
"""
    drill = """
name = "vip"
[[queues]]
name = "q"
[[calls]]
id = "vip"
queue = "q"
number = "+14155550199"
tier = "platinum"
"""
    engine, rec = engine_of(floor)
    engine.training_start(TRAINEE, scenario_file(tmp_path, drill), "run-vip", 0)
    engine.run_virtual(1)
    engine.inbound("q", "+14155550001", handle_time=30)  # rung to the bot at once
    engine.run_virtual(1)
    engine.inbound("q", "+14155550002", handle_time=30)  # waits for the bot
    engine.run_virtual(60)
    (vip,) = scripted(rec)
    joins = [(f["CallerIDNum"], f["Position"]) for _t, f in rec.named("QueueCallerJoin")]
    assert joins == [("+14155550199", "1"), ("+14155550001", "2"), ("+14155550002", "2")]
    called = [(t, iface) for t, iface, uid in rings(rec)]
    assert called == [(1, "PJSIP/2001"), (31, "PJSIP/2001")]  # ahead of them, vip kept waiting
    engine.phone(TRAINEE, "ready")  # the trainee comes back: the pinned caller rings it
    assert rings(rec)[-1][1:] == (TRAINEE, vip)


def test_a_pinned_call_that_rings_out_is_offered_to_the_trainee_again(tmp_path: Path) -> None:
    engine, rec = engine_of(FLOOR)
    drill = DRILL.replace('at = "2m"', 'at = "1h"')
    engine.training_start(TRAINEE, scenario_file(tmp_path, drill), "run-1", 0)
    engine.run_virtual(50)
    first = next(iter(scripted(rec)))
    mine = [(t, iface) for t, iface, uid in rings(rec) if uid == first]
    assert mine == [(0, TRAINEE), (20, TRAINEE), (40, TRAINEE)]  # 15 s timeout + 5 s retry
    rna = [f["Interface"] for _t, f in rec.named("AgentRingNoAnswer") if f["Uniqueid"] == first]
    assert rna == [TRAINEE, TRAINEE]


@pytest.mark.parametrize(
    ("paused_in", "paused", "reason"),
    [(("support", "sales"), "1", "Lunch"), (("support",), "0", ""), ((), "0", "")],
)
def test_the_run_adds_the_missing_membership_and_removes_it_at_the_end(
    tmp_path: Path, paused_in: tuple[str, ...], paused: str, reason: str
) -> None:
    floor = """
name = "floor"
[[queues]]
name = "support"
[[queues]]
name = "sales"
[[queues]]
name = "billing"
extension = "601"
[[agents]]
interface = "PJSIP/1001"
name = "Trainee"
kind = "phone"
queues = ["support", "sales"]
"""
    drill = """
name = "billing drill"
[[queues]]
name = "billing"
extension = "601"
[[calls]]
queue = "billing"
number = "+14155550133"
"""
    out = io.StringIO()
    engine, rec = engine_of(floor, queue_log=QueueLog(out))
    for queue in paused_in:
        engine.queue_pause(TRAINEE, True, queue, "Lunch")
    engine.run_virtual(10)
    engine.training_start(TRAINEE, scenario_file(tmp_path, drill), "run-b", 5)
    ((_t, added),) = rec.named("QueueMemberAdded")
    assert (added["Queue"], added["Interface"], added["MemberName"]) == (
        "billing",
        TRAINEE,
        "Trainee",
    )
    assert (added["Paused"], added["PausedReason"], added["Membership"]) == (
        paused,
        reason,
        "dynamic",
    )
    engine.run_virtual(20)
    engine.training_stop(TRAINEE)
    ((_t, removed),) = rec.named("QueueMemberRemoved")
    assert (removed["Queue"], removed["Interface"]) == ("billing", TRAINEE)
    assert "billing" not in engine.acd.devices[TRAINEE].memberships
    assert engine.acd.devices[TRAINEE].memberships.keys() == {"support", "sales"}
    log = [line.split("|") for line in out.getvalue().splitlines()]
    billing = [(ln[3], ln[4], ln[5:]) for ln in log if ln[2] == "billing" and ln[1] == "NONE"]
    added_data = ["PAUSED"] if paused == "1" else [""]
    assert billing == [("Trainee", "ADDMEMBER", added_data), ("Trainee", "REMOVEMEMBER", [""])]


def test_the_run_creates_missing_queues_and_bots_and_tier2_takes_the_transfer() -> None:
    shipped = load_scenario("transfer_to_tier2")
    tier1, tier2 = (next(q for q in shipped.queues if q.name == n) for n in ("tier1", "tier2"))
    bots = {a.interface for a in shipped.agents if a.kind == "bot"}
    (call,) = shipped.calls
    # The running floor's support queue answers tier1's extension.
    engine, rec = engine_of(FLOOR.replace('extension = "600"', f'extension = "{tier1.extension}"'))
    AutoAnswer(engine)
    assert engine.training_start(TRAINEE, "transfer_to_tier2", "t2", 3) == 1
    acd = engine.acd
    assert {"tier1", "tier2"} <= set(acd.queues)
    # tier1's extension stays the running support queue's; tier1 is still reachable by name.
    assert acd.by_exten[tier1.extension].name == "support"
    assert acd.by_exten["tier1"].name == "tier1" and acd.by_exten[tier2.extension].name == "tier2"
    assert set(acd.queues["tier2"].members) == bots and len(bots) >= 1
    assert set(acd.queues["tier1"].members) == {TRAINEE}  # the scenario's own phone not added
    assert all(acd.devices[b].memberships.keys() == {"tier2"} for b in bots)
    engine.run_virtual(30)  # rung at 3 s, answered at 5 s
    ((_t, script),) = user_events(rec, "ScriptedCall")
    assert (script["Script"], script["TrainingRun"]) == (call.id, "t2")
    assert script["CallerIDNum"] == call.number
    engine.redirect(script["Channel"], tier2.extension)
    engine.run_virtual(30)
    connects = [
        (f["Queue"], f["Interface"])
        for _t, f in rec.named("AgentConnect")
        if f["Uniqueid"] == script["Uniqueid"]
    ]
    assert connects[0] == ("tier1", TRAINEE)
    assert connects[1][0] == "tier2" and connects[1][1] in bots
    # Handed to tier 2, the call left the trainee: the run is over, its membership gone.
    ((t, finished),) = user_events(rec, "TrainingFinished")
    assert t == 30 and finished["Reason"] == "done"
    assert "tier1" not in acd.devices[TRAINEE].memberships
    # The created queues get no random traffic.
    tier_joins = [f for _t, f in rec.named("QueueCallerJoin") if f["Queue"].startswith("tier")]
    assert [f["Uniqueid"] for f in tier_joins] == [script["Uniqueid"]] * 2


def test_an_overflow_hands_the_pinned_caller_to_the_other_queue(tmp_path: Path) -> None:
    floor = """
name = "floor"
[[queues]]
name = "q"
[[agents]]
interface = "PJSIP/1001"
kind = "phone"
queues = ["q"]
paused = true
"""
    drill = """
name = "overflow"
[[queues]]
name = "front"
extension = "700"
max_wait = 30
overflow = "queue:back"
[[queues]]
name = "back"
extension = "701"
[[agents]]
interface = "PJSIP/3001"
queues = ["back"]
[agents.bot]
answer_delay = 1
[[calls]]
queue = "front"
number = "+14155550144"
"""
    engine, rec = engine_of(floor)
    engine.training_start(TRAINEE, scenario_file(tmp_path, drill), "of", 0)
    engine.run_virtual(60)
    assert rings(rec) == [(30, "PJSIP/3001", next(iter(scripted(rec))))]
    ((t, finished),) = user_events(rec, "TrainingFinished")
    assert t == 30 and finished["Reason"] == "done"


def test_stop_cancels_waiting_and_future_calls_and_lets_a_call_in_progress_end(
    tmp_path: Path,
) -> None:
    drill = """
name = "three"
[[queues]]
name = "support"
[[calls]]
id = "a"
queue = "support"
number = "+14155550001"
hangup_after = 100
[[calls]]
id = "b"
queue = "support"
number = "+14155550002"
[[calls]]
id = "c"
at = "5m"
queue = "support"
number = "+14155550003"
"""
    engine, rec = engine_of(FLOOR)
    AutoAnswer(engine)
    engine.training_start(TRAINEE, scenario_file(tmp_path, drill), "run-s", 0)
    engine.run_virtual(20)  # a answered at 2 s; b waits behind it
    engine.training_stop(TRAINEE)
    ((t, finished),) = user_events(rec, "TrainingFinished")
    assert (t, finished["Reason"], finished["Calls"]) == (20, "stopped", "3")
    ids = {script: uid for uid, script in scripted(rec).items()}
    abandons = [(t, f["Uniqueid"]) for t, f in rec.named("QueueCallerAbandon")]
    assert (20, ids["b"]) in abandons
    assert not engine.acd.devices[TRAINEE].training
    with pytest.raises(SimError, match="No training run on PJSIP/1001"):
        engine.training_stop(TRAINEE)
    engine.run_virtual(600)
    assert "c" not in scripted(rec).values()  # never came
    ((end, _f),) = [(t, f) for t, f in rec.named("Hangup") if f["Uniqueid"] == ids["a"]]
    assert end == 102  # a went on until its caller hung up
    assert len(user_events(rec, "TrainingFinished")) == 1
    hangup_at = next(
        i
        for i, (_t, n, f) in enumerate(rec.events)
        if f.get("Uniqueid") == ids["a"] and n == "Hangup"
    )
    assert trainee_rings(rec, hangup_at)  # free again, the trainee takes ordinary calls


def test_stop_while_ringing_cancels_the_ring_and_frees_the_phone(tmp_path: Path) -> None:
    engine, rec = engine_of(FLOOR)
    engine.training_start(TRAINEE, scenario_file(tmp_path, DRILL), "run-r", 0)
    engine.run_virtual(5)
    dev = engine.acd.devices[TRAINEE]
    assert dev.ringing
    engine.training_stop(TRAINEE)
    (uid,) = scripted(rec)
    ends = [f["DialStatus"] for _t, f in rec.named("DialEnd") if f["Uniqueid"] == uid]
    assert ends == ["CANCEL", "CANCEL"]  # wait_for_answer(), then hangupcalls()
    assert [f["Uniqueid"] for _t, f in rec.named("QueueCallerAbandon")] == [uid]
    assert dev.call is None or dev.call.script is None  # free for ordinary callers again


def test_callers_numbers_from_the_crm_or_drawn_deterministically(tmp_path: Path) -> None:
    db = tmp_path / "crm.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE phone_numbers (id INTEGER PRIMARY KEY, customer_id, e164)")
        conn.executemany(
            "INSERT INTO phone_numbers (customer_id, e164) VALUES (?, ?)",
            [(7, "+442079460007"), (7, "+442079460077")],
        )
    conn.close()
    drill = """
name = "crm"
[[queues]]
name = "support"
[[calls]]
customer_id = 7
queue = "support"
[[calls]]
customer_id = 8
queue = "support"
[[calls]]
customer_id = 7
number = "+14155550999"
queue = "support"
[[calls]]
customer_id = 8
number = "+14155550888"
queue = "support"
"""
    path = scenario_file(tmp_path, drill)

    def numbers(run_id: str) -> list[str]:
        engine, rec = engine_of(FLOOR, crm_db=db)
        engine.training_start(TRAINEE, path, run_id, 0)
        engine.run_virtual(1)
        return [f["CallerIDNum"] for _t, f in user_events(rec, "ScriptedCall")]

    first = numbers("run-1")
    # The customer's number in this CRM wins over the file's `number` (docs/scenarios.md),
    # which stands in when the CRM has none for that customer.
    assert first[0] == first[2] == "+442079460007" and first[3] == "+14155550888"
    assert first[1].startswith("+1") and len(first[1]) == 12  # customer 8 is unknown: drawn
    assert numbers("run-1") == first
    assert numbers("run-2")[1] != first[1]


def test_same_seed_and_actions_give_the_same_event_stream(tmp_path: Path) -> None:
    path = scenario_file(tmp_path, DRILL.replace('number = "+14155550122"\n', ""))

    def stream() -> list[tuple[float, str, dict[str, str]]]:
        engine, rec = engine_of(FLOOR, seed=5)
        AutoAnswer(engine, delay=3)
        engine.run_virtual(40)
        engine.training_start(TRAINEE, path, "det", 7)
        engine.run_virtual(70)  # the second call has just come
        engine.training_stop(TRAINEE)
        engine.run_virtual(300)
        return rec.events

    first = stream()
    assert first == stream()
    assert sum(1 for _t, name, f in first if f.get("UserEvent") == "TrainingFinished") == 1


def test_refusals_change_nothing(tmp_path: Path) -> None:
    engine, rec = engine_of(FLOOR)
    drill = scenario_file(tmp_path, DRILL)
    broken = scenario_file(tmp_path, 'name = "x"\n[[queues]]\nname = \n', "broken.toml")
    engine.training_start(TRAINEE, drill, "busy", 600)
    engine.acd.queue_add("support", "PJSIP/1002", "Second")
    before = len(rec.events)
    queues = set(engine.acd.queues)
    cases: list[tuple[tuple[str, str, str, float], str]] = [
        (("PJSIP/1002", "nosuch", "r", 3), "nosuch:1: no such scenario file or shipped scenario"),
        (("PJSIP/1002", broken, "r", 3), f"{broken}:3: TOML syntax error"),
        (("PJSIP/1002", "/etc/hostname", "r", 3), "/etc/hostname: not a scenario"),
        (("PJSIP/1002", "normal_day", "r", 3), "Scenario normal_day has no scripted calls"),
        (("PJSIP/9999", drill, "r", 3), "No such phone: PJSIP/9999"),
        (("PJSIP/2001", drill, "r", 3), "PJSIP/2001 is a bot, not a desk phone"),
        ((TRAINEE, drill, "again", 3), "A training run is already active on PJSIP/1001: busy"),
        (("PJSIP/1002", drill, "  ", 3), "Need 'RunId' parameter."),
        (("PJSIP/1002", drill, "x" * 65, 3), "Invalid RunId: at most 64 characters"),
        (("PJSIP/1002", drill, "a\x1bb", 3), "Invalid RunId: control characters"),
        (("PJSIP/1002", drill, "r", -1), "Invalid Lead: must be between 0 and 3600 seconds"),
        (("PJSIP/1002", drill, "r", 3601), "Invalid Lead"),
        (("PJSIP/1002", drill, "r", math.nan), "Invalid Lead"),
    ]
    for args, message in cases:
        with pytest.raises(SimError) as refused:
            engine.training_start(*args)
        assert str(refused.value).startswith(message), (args, str(refused.value))
    assert len(rec.events) == before and set(engine.acd.queues) == queues
    assert list(engine.training.runs) == [TRAINEE]
    assert not engine.acd.devices["PJSIP/1002"].training
