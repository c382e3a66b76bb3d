"""Erlang C: textbook values, and agreement with a long M/M/c run of the simulator."""

from __future__ import annotations

import math
import statistics

import pytest

from console.services.erlang import (
    agents_for_service_level,
    asa,
    erlang_b,
    erlang_c,
    service_level,
)
from telephony_sim.bots import BotProfile
from telephony_sim.clock import VirtualClock
from telephony_sim.engine import Engine
from telephony_sim.scenarios import AgentSpec, QueueSpec, Scenario, TrafficSpec
from telephony_sim.traffic import CallerMix, Dist


def test_erlang_c_textbook_values() -> None:
    # 2 erlangs on 3 agents: C = 4/9.
    assert erlang_c(2.0, 3) == pytest.approx(4 / 9)
    # The classic example: 100 calls per 30 min, AHT 180 s (10 erlangs), 20 s threshold.
    rate, aht = 100 / 1800, 180.0
    assert erlang_c(10.0, 11) == pytest.approx(0.6821, abs=1e-4)
    assert asa(rate, aht, 11) == pytest.approx(122.8, abs=0.1)
    assert service_level(rate, aht, 11, 20) == pytest.approx(0.3896, abs=1e-4)
    assert erlang_c(10.0, 14) == pytest.approx(0.1741, abs=1e-4)
    assert service_level(rate, aht, 14, 20) == pytest.approx(0.8884, abs=1e-4)
    assert agents_for_service_level(rate, aht, 0.80, 20) == 14
    assert erlang_b(1.0, 1) == pytest.approx(0.5)


def test_erlang_c_edges_and_large_systems() -> None:
    assert erlang_c(0.0, 3) == 0.0
    assert erlang_c(5.0, 5) == 1.0 and math.isinf(asa(5 / 60, 60, 5))
    assert service_level(1.0, 10.0, 5, 20) == 0.0
    # No overflow for hundreds of agents (a naive A^N / N! would).
    assert 0.0 < erlang_c(400.0, 420) < 1.0
    assert agents_for_service_level(0.0, 100, 0.8, 20) == 0
    with pytest.raises(ValueError):
        erlang_c(-1.0, 3)


def mmc(agents: int, traffic: float, aht: float) -> Scenario:
    """An M/M/c queue: Poisson arrivals, exponential service, instant answer, no abandonment."""
    instant = BotProfile(answer_delay=Dist("fixed", 0.0))
    spec = QueueSpec(
        "mmc",
        strategy="leastrecent",
        service_level=0.0,  # "answered within 0 s" counts the calls that never waited
        traffic=TrafficSpec(
            hourly=(traffic / aht * 3600.0,) * 24,
            handle_time=Dist("exponential", aht),
            patience=Dist("none"),
        ),
    )
    bots = tuple(
        AgentSpec(f"PJSIP/{3000 + i}", f"Bot {i}", "bot", (("mmc", 0),), profile=instant)
        for i in range(agents)
    )
    return Scenario("mmc", callers=CallerMix(unknown_share=1.0), queues=(spec,), agents=bots)


def test_long_mmc_run_agrees_with_erlang_c_within_statistical_error() -> None:
    agents, traffic, aht = 5, 3.5, 60.0
    rate = traffic / aht
    engine = Engine(mmc(agents, traffic, aht), seed=2024, clock=VirtualClock())
    queue = engine.acd.queues["mmc"]
    batch_s = 3000 / rate  # about 3,000 calls per batch
    engine.run_virtual(batch_s)  # warm-up, discarded
    pwait: list[float] = []
    waits: list[float] = []
    for _ in range(20):
        answered, within, total = queue.answered, queue.answered_within, queue.total_wait_answered
        engine.run_virtual(batch_s)
        n = queue.answered - answered
        pwait.append(1.0 - (queue.answered_within - within) / n)
        waits.append((queue.total_wait_answered - total) / n)
    expected_p = erlang_c(traffic, agents)
    expected_w = asa(rate, aht, agents)
    p_mean, w_mean = statistics.fmean(pwait), statistics.fmean(waits)
    p_se = statistics.stdev(pwait) / math.sqrt(len(pwait))
    w_se = statistics.stdev(waits) / math.sqrt(len(waits))
    print(
        f"\nM/M/{agents}, A={traffic} E, AHT={aht:.0f}s, {queue.answered} calls: "
        f"P(wait) sim {p_mean:.4f} ± {p_se:.4f} vs Erlang C {expected_p:.4f}; "
        f"mean wait sim {w_mean:.2f} ± {w_se:.2f} s vs Erlang C {expected_w:.2f} s"
    )
    assert abs(p_mean - expected_p) < 4 * p_se
    assert abs(w_mean - expected_w) < 4 * w_se
    # And the errors are small enough for the comparison to mean something.
    assert p_se < 0.01 and w_se < 1.0
