"""Call flow: ring-no-answer re-offer, abandonment, overflow, wrap-up, pause, priority,
joinempty/leavewhenempty, human phones, transfers, originate, snapshots and queue_log."""

from __future__ import annotations

import io

import pytest

from callkit.scenario import parse_scenario
from telephony_sim.clock import VirtualClock
from telephony_sim.engine import Engine
from telephony_sim.outbound import OriginateRequest
from telephony_sim.pbx import SimError
from telephony_sim.queue_log import QueueLog
from tests.unit.sim_helpers import bot, build, call, queue

PHONE = """
[[agents]]
interface = "PJSIP/1001"
name = "Trainee"
kind = "phone"
queues = {queues}
{extra}
"""


def phone(queues: str = '["q"]', extra: str = "") -> str:
    return PHONE.format(queues=queues, extra=extra)


def test_ring_no_answer_reports_ms_and_reoffers_after_retry() -> None:
    toml = queue(extra="timeout = 15\nretry = 5") + phone() + bot(2001, '["q"]') + call(0)
    engine, rec = build(toml)
    engine.run_virtual(60)
    assert rec.called() == ["PJSIP/1001", "PJSIP/2001"]
    ((t, rna),) = rec.named("AgentRingNoAnswer")
    assert t == 15 and rna["RingTime"] == "15000" and rna["Interface"] == "PJSIP/1001"
    ((t, connect),) = rec.named("AgentConnect")
    assert t == 20 and connect["Interface"] == "PJSIP/2001"
    assert connect["HoldTime"] == "20" and connect["RingTime"] == "0"


def test_autoanswer_queue_desk_phones_answer_by_themselves() -> None:
    """A queue with ``autoanswer`` (a predictive campaign's): the desk phone answers after
    the delay with a person's events (DialEnd ANSWER before AgentConnect); without it the
    phone rings out to the bot."""
    auto = queue(extra="timeout = 15\nautoanswer = 0.5") + phone() + bot(2001, '["q"]', delay=3)
    engine, rec = build(auto + call(0))
    engine.run_virtual(30)
    ((t, connect),) = rec.named("AgentConnect")
    assert t == 0.5 and connect["Interface"] == "PJSIP/1001"
    names = [n for _t, n, _f in rec.events]
    assert names.index("DialEnd") < names.index("AgentConnect")
    plain = queue(extra="timeout = 15") + phone() + bot(2001, '["q"]', delay=3) + call(0)
    engine, rec = build(plain)
    engine.run_virtual(30)
    assert rec.connected() == ["PJSIP/2001"]


def test_autopause_pauses_a_member_who_lets_a_call_ring_out() -> None:
    toml = queue(extra="autopause = true") + phone() + bot(2001, '["q"]') + call(0) + call(100)
    engine, rec = build(toml)
    engine.run_virtual(200)
    ((_t, pause),) = rec.named("QueueMemberPause")
    assert pause["Paused"] == "1" and pause["PausedReason"] == "Auto-Pause"
    assert rec.called() == ["PJSIP/1001", "PJSIP/2001", "PJSIP/2001"]


def test_caller_abandons_after_patience() -> None:
    toml = (
        queue(extra="short_abandon = 5")
        + phone(extra="paused = true")
        + call(0, extra="patience = 30")
    )
    engine, rec = build(toml)
    engine.run_virtual(60)
    ((t, ab),) = rec.named("QueueCallerAbandon")
    assert t == 30
    assert (ab["Position"], ab["OriginalPosition"], ab["HoldTime"]) == ("1", "1", "30")
    hangups = [f for _t, f in rec.named("Hangup") if f["Channel"].startswith("PJSIP/trunk")]
    assert len(hangups) == 1
    stats = engine.stats()["q"]
    assert (stats["offered"], stats["answered"], stats["abandoned"]) == (1, 0, 1)
    assert stats["short_abandoned"] == 0 and stats["service_level"] == 0.0


def test_max_wait_overflows_to_another_queue() -> None:
    toml = (
        queue("a", extra='max_wait = 30\noverflow = "queue:b"')
        + queue("b", ext="601")
        + phone('["a"]', extra="paused = true")
        + bot(2001, '["b"]')
        + call(0, queue="a")
    )
    engine, rec = build(toml)
    engine.run_virtual(60)
    joins = [(t, f["Queue"]) for t, f in rec.named("QueueCallerJoin")]
    assert joins == [(0, "a"), (30, "b")]
    assert rec.connected() == ["PJSIP/2001"]
    assert engine.stats()["a"]["overflowed"] == 1 and engine.stats()["a"]["timed_out"] == 1


def test_max_wait_to_callback_emits_a_callback_request() -> None:
    toml = (
        queue(extra='max_wait = 45\noverflow = "callback"') + phone(extra="paused = true") + call(0)
    )
    engine, rec = build(toml)
    engine.run_virtual(60)
    user = [f for _t, f in rec.named("UserEvent") if f["UserEvent"] == "CallbackRequest"]
    assert len(user) == 1
    assert user[0]["Queue"] == "q" and user[0]["Number"] == "+14155550100"
    assert user[0]["WaitTime"] == "45"
    assert engine.stats()["q"]["callbacks_requested"] == 1
    assert not engine.pbx.channels  # the caller was hung up


def test_wrapup_keeps_the_member_from_the_next_call() -> None:
    toml = queue(extra="wrapuptime = 30") + bot(2001, '["q"]') + call(0, handle=10) + call(15)
    engine, rec = build(toml)
    engine.run_virtual(100)
    connects = rec.named("AgentConnect")
    assert [t for t, _f in connects] == [0, 40]
    assert connects[1][1]["HoldTime"] == "25"


def test_member_wrapuptime_overrides_the_queue() -> None:
    toml = (
        queue(extra="wrapuptime = 30")
        + bot(2001, '["q"]', extra="wrapuptime = 5")
        + call(0, handle=10)
        + call(12)
    )
    engine, rec = build(toml)
    engine.run_virtual(100)
    assert [t for t, _f in rec.named("AgentConnect")] == [0, 15]


def test_paused_member_gets_no_calls_until_unpaused() -> None:
    engine, rec = build(queue() + bot(2001, '["q"]') + call(10))
    engine.queue_pause("PJSIP/2001", True, None, "Lunch")
    engine.run_virtual(60)
    assert rec.connected() == []
    ((_t, pause),) = rec.named("QueueMemberPause")
    assert (pause["Paused"], pause["PausedReason"]) == ("1", "Lunch")
    engine.queue_pause("PJSIP/2001", False, "q", "")
    engine.run_virtual(1)
    ((t, connect),) = rec.named("AgentConnect")
    assert t == 60 and connect["HoldTime"] == "50"


def test_higher_priority_caller_goes_first() -> None:
    toml = (
        queue()
        + bot(2001, '["q"]')
        + call(0, handle=100)
        + call(10, extra='name = "first"')
        + call(20, extra='name = "second"')
        + call(30, extra='name = "vip"\ntier = "platinum"')
    )
    engine, rec = build(toml)
    engine.run_virtual(400)
    joins = [(f["CallerIDName"], f["Position"]) for _t, f in rec.named("QueueCallerJoin")]
    assert joins[1:] == [("first", "1"), ("second", "2"), ("vip", "1")]
    order = [f["CallerIDName"] for _t, f in rec.named("AgentConnect")]
    assert order[1:] == ["vip", "first", "second"]


def test_joinempty_false_refuses_callers_when_nobody_can_answer() -> None:
    toml = queue(extra="joinempty = false") + phone(extra="paused = true") + call(0)
    engine, rec = build(toml)
    engine.run_virtual(10)
    assert rec.named("QueueCallerJoin") == []
    assert engine.stats()["q"]["rejected"] == 1
    assert not engine.pbx.channels


def test_leavewhenempty_sends_waiting_callers_away_when_the_last_member_leaves() -> None:
    toml = queue(extra="leavewhenempty = true") + phone() + call(0)
    engine, rec = build(toml)
    engine.run_virtual(5)
    engine.queue_remove("q", "PJSIP/1001")
    engine.run_virtual(1)
    assert len(rec.named("QueueCallerLeave")) == 1
    assert engine.stats()["q"]["left_empty"] == 1
    assert not engine.pbx.channels


def test_human_phone_answers_holds_and_hangs_up() -> None:
    engine, rec = build(queue() + phone() + call(0))
    engine.run_virtual(3)
    engine.phone("PJSIP/1001", "answer")
    engine.run_virtual(10)
    engine.phone("PJSIP/1001", "hold")
    engine.run_virtual(20)
    engine.phone("PJSIP/1001", "unhold")
    engine.run_virtual(30)
    engine.phone("PJSIP/1001", "hangup")
    ((_t, done),) = rec.named("AgentComplete")
    assert (done["Reason"], done["TalkTime"], done["HoldTime"]) == ("agent", "60", "3")
    assert [n for _t, n, _f in rec.events if n in ("Hold", "Unhold")] == ["Hold", "Unhold"]
    stats = engine.stats()["q"]
    assert stats["aht"] == pytest.approx(60.0)
    assert engine.figures("q").hold_time == pytest.approx(20.0)
    with pytest.raises(SimError, match="No call in progress"):
        engine.phone("PJSIP/1001", "hold")
    with pytest.raises(SimError, match="Unknown phone command"):
        engine.phone("PJSIP/1001", "dance")


def test_phone_ready_ends_wrapup_early_and_notready_pauses() -> None:
    engine, rec = build(queue(extra="wrapuptime = 60") + phone() + call(0) + call(20))
    engine.run_virtual(1)
    engine.phone("PJSIP/1001", "answer")
    engine.run_virtual(9)
    engine.phone("PJSIP/1001", "hangup")
    engine.run_virtual(15)
    assert len(rec.named("AgentCalled")) == 1  # second caller waits: wrap-up
    engine.phone("PJSIP/1001", "ready")
    assert len(rec.named("AgentCalled")) == 2
    engine.phone("PJSIP/1001", "hangup")  # reject: counts as no answer
    assert len(rec.named("AgentRingNoAnswer")) == 1
    engine.phone("PJSIP/1001", "notready")
    pauses = rec.named("QueueMemberPause")
    assert pauses[-1][1]["PausedReason"] == "Not ready"


def test_redirect_blind_transfers_a_connected_caller_to_another_queue() -> None:
    toml = (
        queue("tier1")
        + queue("tier2", ext="610")
        + phone('["tier1"]')
        + bot(2001, '["tier2"]')
        + call(0, queue="tier1")
    )
    engine, rec = build(toml)
    engine.run_virtual(2)
    engine.phone("PJSIP/1001", "answer")
    engine.run_virtual(30)
    caller_chan = rec.named("QueueCallerJoin")[0][1]["Channel"]
    engine.redirect(caller_chan, "610", "from-internal")
    engine.run_virtual(1)
    ((_t, bt),) = rec.named("BlindTransfer")
    assert bt["TransfereeChannel"] == caller_chan and bt["Extension"] == "610"
    assert bt["TransfererChannel"].startswith("PJSIP/1001-")
    completes = rec.named("AgentComplete")
    assert completes[0][1]["Reason"] == "transfer"
    assert [f["Queue"] for _t, f in rec.named("QueueCallerJoin")] == ["tier1", "tier2"]
    assert rec.connected() == ["PJSIP/1001", "PJSIP/2001"]
    with pytest.raises(SimError, match="Extension does not exist"):
        engine.redirect(caller_chan, "999", "from-internal")
    with pytest.raises(SimError, match="Channel does not exist"):
        engine.redirect("PJSIP/none-1", "610", "from-internal")


def test_originate_rings_the_agent_then_the_customer() -> None:
    engine, rec = build(queue() + phone())
    engine.originate(
        OriginateRequest(
            "PJSIP/1001", "+14155550199", "from-internal", '"Callback" <600>', 20000, "cb-1"
        )
    )
    engine.run_virtual(1)
    assert rec.named("OriginateResponse") == []
    engine.phone("PJSIP/1001", "answer")
    ((_t, resp),) = rec.named("OriginateResponse")
    assert (resp["ActionID"], resp["Response"], resp["Reason"]) == ("cb-1", "Success", "4")
    engine.run_virtual(15)
    assert len(rec.named("BridgeEnter")) == 2
    engine.phone("PJSIP/1001", "hangup")
    assert not engine.pbx.channels
    engine.originate(
        OriginateRequest("PJSIP/1001", "+14155550199", timeout_ms=5000, action_id="cb-2")
    )
    engine.run_virtual(10)
    fail = [f for _t, f in rec.named("OriginateResponse") if f["ActionID"] == "cb-2"]
    assert (fail[0]["Response"], fail[0]["Reason"]) == ("Failure", "3")


def test_actions_fail_with_asterisk_messages() -> None:
    engine, _rec = build(queue() + phone())
    with pytest.raises(SimError, match="No such queue"):
        engine.queue_add("nope", "PJSIP/9", "", 0, False, "")
    with pytest.raises(SimError, match="Already there"):
        engine.queue_add("q", "PJSIP/1001", "", 0, False, "")
    with pytest.raises(SimError, match="Not there"):
        engine.queue_remove("q", "PJSIP/9")
    with pytest.raises(SimError, match="Interface not found"):
        engine.queue_pause("PJSIP/9", True, None, "")
    with pytest.raises(SimError, match="No such channel"):
        engine.hangup("PJSIP/9-00000001", 16)


def test_snapshots_describe_members_waiting_callers_and_channels() -> None:
    engine, _rec = build(queue() + phone() + call(0) + call(5))
    engine.queue_add("q", "PJSIP/1002", "Second", 1, True, "")
    engine.run_virtual(10)
    items = engine.queue_status_items("q")
    kinds = [k for k, _f in items]
    assert kinds == ["QueueParams", "QueueMember", "QueueMember", "QueueEntry", "QueueEntry"]
    member = dict(items[2][1])
    assert (member["Name"], member["Location"], member["Paused"]) == ("Second", "PJSIP/1002", "1")
    assert member["Membership"] == "dynamic" and member["Penalty"] == "1"
    entry = dict(items[4][1])
    assert (entry["Position"], entry["Wait"]) == ("2", "5")
    (summary,) = engine.queue_summary_items(None)
    assert dict(summary[1])["Callers"] == "2" and dict(summary[1])["LongestHoldTime"] == "10"
    channels = engine.core_show_channels_items()
    assert {k for k, _f in channels} == {"CoreShowChannel"}
    names = {dict(f)["Channel"] for _k, f in channels}
    assert len(names) == 3  # two callers and the rung phone's leg
    (status,) = engine.status_items(sorted(names)[0])
    assert status[0] == "Status" and "Seconds" in dict(status[1])
    assert engine.queue_status_items("nope") == []


def test_queue_log_lines_follow_asterisk_format() -> None:
    out = io.StringIO()
    scenario = parse_scenario(queue() + bot(2001, '["q"]') + call(0, handle=10), "t.toml")
    engine = Engine(scenario, seed=1, clock=VirtualClock(), queue_log=QueueLog(out))
    engine.run_virtual(30)
    lines = [ln.split("|") for ln in out.getvalue().splitlines()]
    events = [ln[4] for ln in lines]
    assert events[0] == "ADDMEMBER"
    assert events[1:3] == ["ENTERQUEUE", "CONNECT"]
    assert events[3] in ("COMPLETECALLER", "COMPLETEAGENT")
    assert lines[3][:4] == ["1700000010", lines[1][1], "q", "Bot 2001"]
    assert lines[3][5:] == ["0", "10", "1"]


def test_no_listener_means_no_event_fields_are_built(monkeypatch: pytest.MonkeyPatch) -> None:
    from telephony_sim.pbx import Channel

    built = 0
    original = Channel.fields

    def counting(self: Channel, prefix: str = "") -> list[tuple[str, str]]:
        nonlocal built
        built += 1
        return original(self, prefix)

    monkeypatch.setattr(Channel, "fields", counting)
    scenario = parse_scenario(queue() + bot(2001, '["q"]') + call(0) + call(1), "t.toml")
    engine = Engine(scenario, seed=1, clock=VirtualClock())
    engine.run_virtual(100)
    assert engine.stats()["q"]["answered"] == 2
    assert built == 0
