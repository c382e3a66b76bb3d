"""The simulator's member legs and transfers follow Asterisk's event order (telephony_sim/legs.py,
telephony_sim/consult.py): Local members, optimisation, hold music, consult transfers."""

from __future__ import annotations

from telephony_sim.engine import Engine
from tests.unit.sim_helpers import Recorder, build, queue


def phone(interface: str, queues: str, extra: str = "") -> str:
    return f"""
[[agents]]
interface = "{interface}"
name = "Agent"
kind = "phone"
queues = {queues}
{extra}
"""


def caller_rings(engine: Engine) -> None:
    engine.inbound("q", "+14155550123", "Ann Lee")
    engine.run_virtual(1)


def names(rec: Recorder, since: int = 0) -> list[str]:
    return [n for _t, n, _f in rec.events[since:]]


def test_a_local_member_rings_through_its_halves_and_the_phone() -> None:
    engine, rec = build(
        queue(strategy="ringall")
        + phone("Local/1001@from-queue/n", '["q"]', 'state_interface = "PJSIP/1001"')
    )
    caller_rings(engine)
    news = [f["Channel"] for _t, f in rec.named("Newchannel")]
    assert news[1].endswith(";1") and news[2].endswith(";2")  # core_unreal.c: ;1, then ;2
    assert news[3].startswith("PJSIP/1001-")
    (called,) = [f for _t, f in rec.named("AgentCalled")]
    assert called["DestChannel"] == news[1]
    assert called["Interface"] == "Local/1001@from-queue/n"
    seq = names(rec)
    assert seq.index("AgentCalled") < seq.index("DialBegin")  # ring_entry()
    (local_bridge,) = [f for _t, f in rec.named("LocalBridge")]
    assert local_bridge["LocalOptimization"] == "No"
    # The ;2 half dials the phone: the second DialBegin.
    dials = [(f["Channel"], f["DestChannel"]) for _t, f in rec.named("DialBegin")]
    assert dials[1] == (news[2], news[3])
    engine.phone("PJSIP/1001", "answer")  # SimPhone knows the phone by its device too
    engine.run_virtual(1)
    assert rec.connected() == ["Local/1001@from-queue/n"]
    engine.phone("PJSIP/1001", "hold")
    (hold,) = rec.named("Hold")
    (music,) = [f for _t, f in rec.named("MusicOnHoldStart") if f["Channel"] == news[2]]
    assert hold[1]["Channel"] == news[3] and music  # music on the ;2 half (MOH intercept)


def test_without_n_the_halves_optimise_away_and_the_phone_talks_on() -> None:
    engine, rec = build(
        queue(strategy="ringall")
        + phone("Local/1001@from-queue", '["q"]', 'state_interface = "PJSIP/1001"')
    )
    caller_rings(engine)
    engine.phone("PJSIP/1001", "answer")
    engine.run_virtual(1)
    seq = names(rec)
    begin = seq.index("LocalOptimizationBegin")
    assert seq[begin : begin + 5] == [
        "LocalOptimizationBegin",
        "BridgeLeave",
        "BridgeEnter",
        "BridgeLeave",
        "LocalOptimizationEnd",
    ]
    ((_t, enter),) = [(t, f) for t, f in rec.named("BridgeEnter") if "SwapUniqueid" in f]
    assert enter["Channel"].startswith("PJSIP/1001-")
    live = set(engine.pbx.channels)
    assert not any(c.startswith("Local/") for c in live)  # both halves hung up
    assert any(c.startswith("PJSIP/1001-") for c in live)  # the phone talks on
    engine.phone("PJSIP/1001", "hangup")
    ((_t, complete),) = rec.named("AgentComplete")
    assert complete["Reason"] == "agent" and complete["DestChannel"].startswith("PJSIP/1001-")


def test_a_consult_transfer_holds_dials_through_local_and_completes_on_hangup() -> None:
    engine, rec, leg = consulting()
    assert [f["Channel"] for _t, f in rec.named("Hold")] == [leg]  # held at the Atxfer
    mark = len(rec.events)
    engine.phone("PJSIP/1001", "hangup")
    seq = names(rec, mark)
    assert seq.index("Unhold") < seq.index("AttendedTransfer") < seq.index("AgentComplete")
    ((_t, xfer),) = rec.named("AttendedTransfer")
    assert xfer["OrigTransfererChannel"] == xfer["SecondTransfererChannel"] == leg
    assert xfer["TransferTargetChannel"].startswith("Local/2000@from-internal-")
    assert (xfer["IsExternal"], xfer["DestType"]) == ("No", "Bridge")
    assert xfer["DestBridgeUniqueid"] == xfer["OrigBridgeUniqueid"]
    completes = [f for _t, f in rec.named("AgentComplete")]
    assert [c["Reason"] for c in completes] == ["transfer"]
    assert leg not in engine.pbx.channels
    # The caller now talks to tier 2 through the Local chain; the caller hanging up ends it all.
    (trunk,) = [c for c in engine.pbx.channels if c.startswith("PJSIP/trunk-")]
    engine.hangup(trunk)
    engine.run_virtual(1)
    assert not engine.pbx.channels
    assert [c["Reason"] for _t, c in rec.named("AgentComplete")] == ["transfer", "caller"]


def consulting(*, answer_target: bool = True) -> tuple[Engine, Recorder, str]:
    """A caller talking to 1001, who consults tier 2 (2000); the consult answered or not."""
    engine, rec = build(
        queue(strategy="ringall")
        + queue("tier2", ext="2000")
        + phone("PJSIP/1001", '["q"]')
        + phone("PJSIP/2000", '["tier2"]')
    )
    caller_rings(engine)
    engine.phone("PJSIP/1001", "answer")
    engine.run_virtual(10)
    (leg,) = [c for c in engine.pbx.channels if c.startswith("PJSIP/1001-")]
    engine.atxfer(leg, "2000")
    engine.run_virtual(2)
    if answer_target:
        engine.phone("PJSIP/2000", "answer")
        engine.run_virtual(5)
    return engine, rec, leg


def bridge_of(engine: Engine, prefix: str) -> str:
    (chan,) = [c for n, c in engine.pbx.channels.items() if n.startswith(prefix)]
    return chan.bridge_id


def test_cancelling_a_consult_brings_the_agent_back_to_the_caller() -> None:
    engine, rec, leg = consulting()
    mark = len(rec.events)
    engine.cancel_atxfer(leg)  # CancelAtxfer: the abort feature (*1)
    seq = names(rec, mark)
    # rebridge_enter(): the phone moves back and is unheld; then the consult's chain goes.
    assert seq.index("BridgeEnter") < seq.index("Unhold") < seq.index("Hangup")
    assert "AttendedTransfer" not in seq
    assert bridge_of(engine, "PJSIP/1001-") == bridge_of(engine, "PJSIP/trunk-")
    assert not any(c.startswith(("Local/", "PJSIP/2000-")) for c in engine.pbx.channels)
    # The consulted agent's queue call ended (the Local ;2 was its caller); 1001 talks on.
    assert [c["Reason"] for _t, c in rec.named("AgentComplete")] == ["caller"]
    engine.phone("PJSIP/1001", "hangup")
    assert [c["Reason"] for _t, c in rec.named("AgentComplete")] == ["caller", "agent"]


def test_the_consulted_agent_hanging_up_rebridges_the_caller() -> None:
    engine, rec, _leg = consulting()
    mark = len(rec.events)
    engine.phone("PJSIP/2000", "hangup")
    seq = names(rec, mark)
    assert "Unhold" in seq and "AttendedTransfer" not in seq
    assert bridge_of(engine, "PJSIP/1001-") == bridge_of(engine, "PJSIP/trunk-")
    assert engine.acd.devices["PJSIP/1001"].consult is None


def test_a_consult_nobody_answers_gives_up_after_atxfernoanswertimeout() -> None:
    engine, rec, _leg = consulting(answer_target=False)
    assert engine.acd.devices["PJSIP/1001"].consult is not None
    engine.run_virtual(14)  # 2 s + 14 s > 15 s since the Atxfer
    assert engine.acd.devices["PJSIP/1001"].consult is None
    assert [f["Queue"] for _t, f in rec.named("QueueCallerAbandon")] == ["tier2"]
    assert bridge_of(engine, "PJSIP/1001-") == bridge_of(engine, "PJSIP/trunk-")


def test_star_three_makes_a_conference_and_the_agent_can_leave_it() -> None:
    engine, rec, leg = consulting()
    mark = len(rec.events)
    engine.play_dtmf(leg, "*", receive=True)
    engine.play_dtmf(leg, "3", receive=True)  # features.conf atxferthreeway
    seq = names(rec, mark)
    assert seq.index("Unhold") < seq.index("AttendedTransfer")
    ((_t, xfer),) = rec.named("AttendedTransfer")
    assert xfer["DestType"] == "Threeway" and xfer["DestTransfererChannel"] == leg
    bridge = bridge_of(engine, "PJSIP/trunk-")
    assert bridge_of(engine, "PJSIP/1001-") == bridge == xfer["DestBridgeUniqueid"]
    locals_ = [c for n, c in engine.pbx.channels.items() if n.endswith(";1")]
    assert [c.bridge_id for c in locals_] == [bridge]  # all three in one bridge
    assert not rec.named("AgentComplete")  # app_queue ignores a three-way
    # Digits without Receive go out to the far end: no feature.
    engine.play_dtmf(leg, "*1")
    assert bridge_of(engine, "PJSIP/1001-") == bridge
    engine.phone("PJSIP/1001", "hangup")  # the agent leaves; caller and tier 2 talk on
    assert [c["Reason"] for _t, c in rec.named("AgentComplete")] == ["agent"]
    assert leg not in engine.pbx.channels
    assert any(c.startswith("PJSIP/2000-") for c in engine.pbx.channels)
    (trunk,) = [c for c in engine.pbx.channels if c.startswith("PJSIP/trunk-")]
    engine.hangup(trunk)
    engine.run_virtual(1)
    assert not engine.pbx.channels


def test_the_caller_hanging_up_during_a_consult_ends_the_consult_call_too() -> None:
    engine, _rec, _leg = consulting()
    (trunk,) = [c for c in engine.pbx.channels if c.startswith("PJSIP/trunk-")]
    engine.hangup(trunk)
    engine.run_virtual(1)
    assert not engine.pbx.channels
    assert engine.acd.devices["PJSIP/1001"].consult is None


def test_the_hangup_action_on_the_transferers_leg_completes_the_consult() -> None:
    engine, rec, leg = consulting()
    engine.hangup(leg)  # a real PBX's console completes this way (no SimPhone)
    ((_t, xfer),) = rec.named("AttendedTransfer")
    assert xfer["DestType"] == "Bridge"
    assert [c["Reason"] for _t, c in rec.named("AgentComplete")] == ["transfer"]
