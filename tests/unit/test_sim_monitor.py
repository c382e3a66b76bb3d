"""The simulator's ChanSpy and MixMonitor, event by event, against app_chanspy.c and
app_mixmonitor.c (telephony_sim/spy.py and mixmonitor.py cite the functions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from callkit.scenario import parse_scenario
from telephony_sim.clock import VirtualClock
from telephony_sim.engine import Engine, SimError
from telephony_sim.outbound import OriginateRequest
from telephony_sim.spy import SpyOptions
from tests.unit.sim_helpers import Recorder

SCENARIO = """
[[queues]]
name = "q"
extension = "600"
[[agents]]
interface = "PJSIP/1001"
name = "Alice"
kind = "phone"
queues = ["q"]
[[calls]]
at = 0
queue = "q"
number = "+14155550100"
name = "Ann Caller"
handle_time = 600
transcript = [
  { at = "1s", text = "Hello, I was charged twice." },
  { at = "5s", text = "My card number is 4111 1111 1111 1111." },
  { at = "12s", text = "Thanks, bye." },
]
"""


def engine_with_call(tmp_path: Path, **kwargs: object) -> tuple[Engine, Recorder]:
    engine = Engine(
        parse_scenario(SCENARIO, "t.toml"),
        seed=1,
        clock=VirtualClock(),
        recordings_dir=tmp_path / "rec",
        **kwargs,  # type: ignore[arg-type]
    )
    rec = Recorder(engine)
    engine.run_virtual(1)
    engine.phone("PJSIP/1001", "answer")
    return engine, rec


def agent_leg(engine: Engine) -> str:
    return next(n for n in engine.pbx.channels if n.startswith("PJSIP/1001-"))


def spy_request(target: str, options: str, action_id: str = "spy-1") -> OriginateRequest:
    return OriginateRequest(
        "PJSIP/2001",
        "",
        "default",
        '"Supervisor" <2001>',
        30_000,
        action_id,
        application="ChanSpy",
        data=f"{target},{options}",
    )


def after(rec: Recorder, start: int) -> list[tuple[str, dict[str, str]]]:
    """Events since ``start``, without the caller's speech (UserEvent Transcript)."""
    return [(n, f) for _t, n, f in rec.events[start:] if n != "UserEvent"]


def test_options_parse_as_app_chanspy_reads_them() -> None:
    opts = SpyOptions.parse("qBdEg(sales)v(-2)")
    assert (opts.quiet, opts.barge, opts.dtmf_modes, opts.exit_on_hangup) == (True,) * 4
    assert not opts.whisper and not opts.bridged and opts.mode() == "barge"
    assert SpyOptions.parse("W").whisper  # private whisper sets whisper (chanspy_exec())
    assert SpyOptions.parse("q").mode() == "listen"


def test_listen_whisper_barge_then_spyer_hangs_up(tmp_path: Path) -> None:
    engine, rec = engine_with_call(tmp_path)
    leg = agent_leg(engine)
    start = len(rec.events)
    engine.originate(spy_request(leg, "qdE"))
    engine.run_virtual(2)
    events = after(rec, start)
    names = [n for n, _f in events]
    # pbx_outgoing_attempt(): the phone rings, answers; fast_originate() reports; the app runs.
    assert names == [
        "Newchannel",
        "Newstate",
        "Newstate",
        "OriginateResponse",
        "Newexten",
        "ChanSpyStart",
    ]
    assert (
        events[1][1]["ChannelStateDesc"] == "Ringing" and events[2][1]["ChannelStateDesc"] == "Up"
    )
    response = events[3][1]
    assert (response["Response"], response["Reason"], response["ActionID"]) == (
        "Success",
        "4",
        "spy-1",
    )
    start_fields = events[5][1]
    spyer = start_fields["SpyerChannel"]
    assert spyer.startswith("PJSIP/2001-") and start_fields["SpyeeChannel"] == leg
    assert start_fields["SpyeeUniqueid"] == engine.pbx.channels[leg].uniqueid
    assert "Channel" not in start_fields  # only the prefixed blocks
    # d: 5 whisper, 6 barge, 4 listen, read from the spyer's channel (change_spy_mode()).
    spy = engine.spies.active[spyer]
    assert spy.mode == "listen"
    engine.play_dtmf(spyer, "5", receive=True)
    assert spy.mode == "whisper"
    engine.play_dtmf(spyer, "6", receive=True)
    assert spy.mode == "barge"
    engine.play_dtmf(spyer, "4", receive=False)  # sent to the phone: ChanSpy never reads it
    assert spy.mode == "barge"
    dtmf = [f for n, f in after(rec, start) if n == "DTMFEnd"]
    assert [(f["Digit"], f["Direction"]) for f in dtmf] == [("5", "Received"), ("6", "Received")]
    mark = len(rec.events)
    engine.hangup(spyer, 16)
    tail = after(rec, mark)
    assert [n for n, _f in tail] == ["ChanSpyStop", "Hangup"]
    assert tail[0][1]["SpyerChannel"] == spyer and "SpyeeChannel" not in tail[0][1]
    assert leg in engine.pbx.channels  # the agent's call goes on


def test_spyee_hangs_up_ends_the_spy_with_e(tmp_path: Path) -> None:
    engine, rec = engine_with_call(tmp_path)
    leg = agent_leg(engine)
    engine.originate(spy_request(leg, "qE"))
    engine.run_virtual(2)
    mark = len(rec.events)
    engine.phone("PJSIP/1001", "hangup")
    names = [n for n, _f in after(rec, mark)]
    # The agent's leg goes, the audiohook stops (ChanSpyStop), E: the spyer hangs up.
    assert names.index("ChanSpyStop") > names.index("Hangup")
    tail = after(rec, mark)
    stop = names.index("ChanSpyStop")
    assert tail[stop + 1][0] == "Hangup" and tail[stop + 1][1]["Channel"].startswith("PJSIP/2001-")
    assert not engine.spies.active


def test_without_e_chanspy_waits_for_the_next_channel(tmp_path: Path) -> None:
    engine, _rec = engine_with_call(tmp_path)
    engine.originate(spy_request("PJSIP/1001-", "q"))
    engine.run_virtual(2)
    engine.phone("PJSIP/1001", "hangup")
    engine.run_virtual(1)
    (spy,) = engine.spies.active.values()
    assert spy.state == "up" and spy.chan.name in engine.pbx.channels  # still looking


def test_idle_target_waits_without_chanspystart(tmp_path: Path) -> None:
    engine, rec = engine_with_call(tmp_path)
    start = len(rec.events)
    engine.originate(spy_request("PJSIP/3003-", "qE"))
    engine.run_virtual(5)
    names = [n for n, _f in after(rec, start)]
    assert "OriginateResponse" in names and "ChanSpyStart" not in names
    (spy,) = engine.spies.active.values()
    assert spy.state == "up"


def test_pbx_without_chanspy_answers_then_hangs_up(tmp_path: Path) -> None:
    engine, rec = engine_with_call(tmp_path, noload=("app_chanspy.so",))
    assert not engine.has_module("app_chanspy") and engine.has_module("app_mixmonitor.so")
    start = len(rec.events)
    engine.originate(spy_request(agent_leg(engine), "qE"))
    engine.run_virtual(2)
    names = [n for n, _f in after(rec, start)]
    # pbx_outgoing_exec(): the Originate succeeded, pbx_findapp() failed, ast_hangup().
    assert names == ["Newchannel", "Newstate", "Newstate", "OriginateResponse", "Hangup"]


def test_mixmonitor_mute_and_stop_write_the_transcript_with_the_muted_span_cut(
    tmp_path: Path,
) -> None:
    engine, rec = engine_with_call(tmp_path)
    leg = agent_leg(engine)
    start = len(rec.events)
    engine.mix_monitor(leg, "calls/one.txt")
    engine.run_virtual(3)  # line 1 at 1s is heard
    engine.mix_monitor_mute(leg, "both", "1")
    engine.run_virtual(5)  # the card number (5s after answer) is said while muted
    engine.mix_monitor_mute(leg, "both", "0")
    engine.run_virtual(6)  # line 3 at 12s
    engine.stop_mix_monitor(leg)
    engine.run_virtual(1)
    events = after(rec, start)
    names = [n for n, _f in events if n.startswith(("MixMonitor", "VarSet"))]
    assert names == [
        "VarSet",
        "MixMonitorStart",
        "MixMonitorMute",
        "MixMonitorMute",
        "MixMonitorStop",
    ]
    mutes = [(f["Direction"], f["State"]) for n, f in events if n == "MixMonitorMute"]
    assert mutes == [("both", "1"), ("both", "0")]
    varset = next(f for n, f in events if n == "VarSet")
    assert varset["Variable"] == "MIXMONITOR_FILENAME"
    path = tmp_path / "rec" / "calls" / "one.txt"
    assert varset["Value"] == str(path.resolve())
    text = path.read_text(encoding="utf-8")
    assert "charged twice" in text and "Thanks, bye." in text
    assert "4111" not in text and "(muted 5 s)" in text


def test_mixmonitor_refusals_are_asterisks(tmp_path: Path) -> None:
    engine, _rec = engine_with_call(tmp_path)
    leg = agent_leg(engine)
    for file in ("../escape.txt", "/etc/passwd", "", "bad\x1bname"):
        with pytest.raises(SimError, match="Could not start monitoring channel"):
            engine.mix_monitor(leg, file)
    assert not (tmp_path / "escape.txt").exists()
    with pytest.raises(SimError, match="No such channel"):
        engine.mix_monitor("PJSIP/9999-00000001", "x.txt")
    with pytest.raises(SimError, match="Could not stop monitoring channel"):
        engine.stop_mix_monitor(leg)
    with pytest.raises(SimError, match="Cannot set mute flag"):
        engine.mix_monitor_mute(leg, "both", "1")
    with pytest.raises(SimError, match="Invalid direction specified"):
        engine.mix_monitor_mute(leg, "sideways", "1")


def test_hangup_closes_the_file_without_mixmonitorstop(tmp_path: Path) -> None:
    engine, rec = engine_with_call(tmp_path)
    leg = agent_leg(engine)
    start = len(rec.events)
    engine.mix_monitor(leg, "two.txt")
    engine.run_virtual(2)
    engine.phone("PJSIP/1001", "hangup")
    engine.run_virtual(1)
    assert "MixMonitorStop" not in [n for n, _f in after(rec, start)]
    assert (tmp_path / "rec" / "two.txt").read_text(encoding="utf-8").count("charged twice") == 1
