"""Clocks, bots, metrics definitions and the headless run."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from callkit.metrics import (
    AbandonTreatment,
    QueueFigures,
    abandon_rate,
    aht,
    asa,
    occupancy,
    service_level,
)
from callkit.scenario import default_scenario
from telephony_sim.cli import main
from telephony_sim.clock import RealTimeClock, VirtualClock
from telephony_sim.engine import Engine
from tests.unit.sim_helpers import bot, build, call


def test_virtual_clock_orders_by_time_then_insertion() -> None:
    clock = VirtualClock()
    seen: list[str] = []
    clock.call_at(5, seen.append, "b")
    clock.call_at(2, seen.append, "a")
    clock.call_at(5, seen.append, "c")
    clock.call_later(5, seen.append, "d")
    assert clock.run_until(4) == 1 and clock.now() == 4
    clock.call_later(1, seen.append, "e")  # due at 5, scheduled last
    clock.run_until(10)
    assert seen == ["a", "b", "c", "d", "e"]
    assert clock.now() == 10 and clock.next_time() is None


async def test_real_time_clock_paces_events_by_speed() -> None:
    clock = RealTimeClock(speed=100.0)
    fired: list[float] = []
    clock.call_at(20.0, lambda: fired.append(time.monotonic()))  # 0.2 s of wall time
    stop = asyncio.Event()
    start = time.monotonic()
    task = asyncio.create_task(clock.run(stop))
    await asyncio.sleep(0.05)
    # Not early (a loaded machine may sleep past 0.2 s: then it has fired, on time or late).
    assert all(at - start >= 0.2 for at in fired)
    # An event scheduled from outside while the clock sleeps wakes it up.
    clock.call_later(1.0, lambda: fired.append(time.monotonic()))
    for _ in range(200):  # up to 2 s on a loaded machine
        if len(fired) == 2:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await task
    assert len(fired) == 2
    # Never early, and in their simulated order. How late they may be depends on the machine's
    # load, so it is no assert here: bench/clock_wakeup.py measures the wake-up's latency (the
    # t = 6 s event, 0.06 s of wall time, scheduled while the runner sleeps towards t = 20 s).
    assert fired[0] - start >= 0.05
    assert fired[1] - start >= 0.2
    assert fired[0] <= fired[1]
    with pytest.raises(ValueError):
        RealTimeClock(speed=0)


def offered_in_virtual_time(duration: float) -> int:
    """Calls the default scenario (seed 1) offers in its first ``duration`` simulated seconds."""
    twin = Engine(default_scenario(), seed=1, clock=VirtualClock())
    twin.run_virtual(duration)
    return int(twin.stats()["support"]["offered"])  # type: ignore[arg-type]


async def test_engine_runs_in_scaled_time() -> None:
    """At 3600x, 0.5 s of wall time is half an hour simulated. The same seed offers the same
    calls at the same simulated times, so a virtual-time twin gives exact marks: the engine has
    offered at least the calls of the first 1800 s, and none the twin offers only after the
    measured wall time x 3600 (a busy machine moves that mark, never the verdict)."""
    engine = Engine(default_scenario(), seed=1, clock=RealTimeClock(speed=3600.0))
    stop = asyncio.Event()
    started = time.monotonic()
    task = asyncio.create_task(engine.run(stop))
    await asyncio.sleep(0.5)
    stop.set()
    await task
    wall = time.monotonic() - started
    offered = engine.stats()["support"]["offered"]
    at_least = offered_in_virtual_time(0.5 * 3600)
    assert at_least > 20  # the mark is a real one (120 calls an hour)
    assert at_least <= offered <= offered_in_virtual_time(wall * 3600)  # type: ignore[operator]


def test_bots_hold_and_take_breaks_deterministically() -> None:
    extra = "[agents.bot]\nanswer_delay = 0\nhold_share = 1.0\nhold_time = 7\nbreak_share = 1.0\n"
    extra += 'break_time = 60\nbreak_reasons = ["Coffee"]\n'
    toml = '[[queues]]\nname = "q"\n' + bot(2001, '["q"]').split("[agents.bot]")[0] + extra
    toml += call(0, handle=20) + call(30)
    engine, rec = build(toml)
    engine.run_virtual(200)
    holds = [(t, n) for t, n, _f in rec.events if n in ("Hold", "Unhold")]
    assert holds[:2] == [(8.0, "Hold"), (15.0, "Unhold")]
    pauses = [(t, f["Paused"], f["PausedReason"]) for t, f in rec.named("QueueMemberPause")]
    assert pauses[:2] == [(27.0, "1", "Coffee"), (87.0, "0", "")]
    assert [t for t, _f in rec.named("AgentConnect")] == [0.0, 87.0]


def test_metric_definitions() -> None:
    f = QueueFigures(
        offered=100,
        answered=80,
        abandoned=20,
        short_abandoned=5,
        answered_within=60,
        total_wait_answered=1600.0,
        handled=80,
        talk_time=12000.0,
        hold_time=800.0,
        wrap_time=1600.0,
        busy_time=14400.0,
        staffed_time=18000.0,
    )
    assert service_level(f, AbandonTreatment.ABANDONS_AGAINST) == pytest.approx(60 / 95)
    assert service_level(f, AbandonTreatment.ASTERISK_SL) == pytest.approx(60 / 80)
    assert asa(f) == pytest.approx(20.0)
    assert aht(f) == pytest.approx(180.0)
    assert abandon_rate(f) == pytest.approx(15 / 95)
    assert occupancy(f) == pytest.approx(0.8)
    empty = QueueFigures()
    assert service_level(empty) is None and asa(empty) is None and occupancy(empty) is None


def test_headless_run_prints_a_json_report(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "run",
        "--scenario",
        "normal_day",
        "--duration",
        "2h",
        "--seed",
        "4",
        "--report",
        "json",
    ]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["duration_s"] == 7200 and report["seed"] == 4
    support = report["queues"]["support"]
    for key in (
        "offered",
        "answered",
        "abandoned",
        "service_level",
        "asa",
        "aht",
        "longest_wait",
        "occupancy",
    ):
        assert key in support
    assert support["offered"] >= support["answered"] + support["abandoned"] > 50
    assert 0 < support["occupancy"] < 1


def test_headless_run_text_report_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--duration", "30m", "--bots", "2"]) == 0
    out = capsys.readouterr().out
    assert "support" in out and "ASA" in out
    assert main(["run", "--scenario", "nope"]) == 1
    assert "no such scenario" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["run", "--duration", "forever"])


NO_AGENTS = """
name = "unstaffed"
[[queues]]
name = "sales"
strategy = "leastrecent"
[queues.traffic]
rate = 120
handle_time = 60
patience = "5m"
"""


def test_headless_run_with_bots_answers_calls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "unstaffed.toml"
    scenario.write_text(NO_AGENTS, encoding="utf-8")
    argv = ["run", "--scenario", str(scenario), "--duration", "1h", "--report", "json"]

    assert main(argv) == 0
    nobody = json.loads(capsys.readouterr().out)["queues"]["sales"]
    assert nobody["answered"] == 0 and nobody["abandoned"] > 50

    assert main([*argv, "--bots", "3"]) == 0
    staffed = json.loads(capsys.readouterr().out)["queues"]["sales"]
    assert staffed["offered"] > 50
    assert staffed["answered"] >= 0.9 * staffed["offered"]  # 2 Erlangs on 3 bots
    assert 0 < staffed["occupancy"] < 1


@pytest.mark.parametrize(
    ("value", "message"),
    [("-1", "must be 0 or more, got -1"), ("many", "expected a whole number, got 'many'")],
)
@pytest.mark.parametrize("command", ["run", "serve"])
def test_bad_bot_counts_get_one_clear_line_and_status_2(
    command: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main([command, "--bots", value])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == f"telephony_sim {command}: error: argument --bots: {message}"
    assert "Traceback" not in err
