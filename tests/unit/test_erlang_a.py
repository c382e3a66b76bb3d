"""Erlang A (M/M/N+M): against Erlang C in the patient limit and against an independent
birth-death chain (exact up to truncation). Against the simulator (telephony_sim) running an
M/M/N+M queue: tests/unit/test_sim_erlang.py."""

from __future__ import annotations

import itertools
import math

import pytest

from console.services.supervision.erlang import (
    agents_for_asa,
    agents_for_asa_a,
    agents_for_service_level,
    agents_for_service_level_a,
    asa,
    erlang_a,
    erlang_c,
    service_level,
)

# The textbook case: 100 calls per 30 minutes, AHT 180 s (10 erlangs), threshold 20 s.
RATE, AHT = 100 / 1800, 180.0


# ------------------------------------------------------------------ an independent reference


def chain(
    rate: float, aht: float, agents: int, patience: float, threshold: float
) -> dict[str, float]:
    """Exact figures from the birth-death chain truncated far out, and the tagged caller's
    own race (customers ahead finish or abandon; the caller abandons) for waits.

    P(answered within t) runs the tagged caller's chain by uniformization.
    """
    mu, theta = 1.0 / aht, 1.0 / patience
    # Unnormalised π(k), k = number in system, in logs.
    logs = [0.0]
    k = 0
    while True:
        death = min(k + 1, agents) * mu + max(k + 1 - agents, 0) * theta
        logs.append(logs[-1] + math.log(rate / death))
        k += 1
        if k > agents + 10 and logs[-1] < max(logs) - 60:
            break
    top = max(logs)
    pi = [math.exp(v - top) for v in logs]
    total = sum(pi)
    pi = [p / total for p in pi]
    waiting = pi[agents:]  # a caller arriving finds m = k - N callers ahead
    p_wait = sum(waiting)
    queue = sum(m * p for m, p in enumerate(waiting))
    p_abandon = theta * queue / rate
    # Answered callers' mean wait: from m ahead, stages i = m..0 at rate Nμ + (i+1)θ.
    served_wait = 0.0
    for m, p in enumerate(waiting):
        survive, mean = 1.0, 0.0
        for i in range(m + 1):
            out = agents * mu + (i + 1) * theta
            survive *= (agents * mu + i * theta) / out
            mean += 1.0 / out
        served_wait += p * survive * mean
    # Answered within t, by uniformization of the tagged caller's pure-death chain.
    size = len(waiting)
    uniform = agents * mu + size * theta
    state = waiting[:]
    weight = math.exp(-uniform * threshold)
    served_by = 0.0
    served = 0.0
    n = 0
    while weight > 1e-18 or n < uniform * threshold:
        served_by += weight * served
        served += state[0] * agents * mu / uniform
        nxt = [0.0] * size
        for m, p in enumerate(state):
            if p == 0.0:
                continue
            move = (agents * mu + m * theta) / uniform
            stay = 1.0 - move - theta / uniform
            nxt[m] += p * stay
            if m:
                nxt[m - 1] += p * move
        state = nxt
        n += 1
        weight *= uniform * threshold / n
    return {
        "p_wait": p_wait,
        "p_abandon": p_abandon,
        "asa": served_wait / (1.0 - p_abandon),
        "mean_wait": queue / rate,
        "service_level": 1.0 - p_wait + served_by,
    }


@pytest.mark.parametrize(
    ("rate", "aht", "agents", "patience"),
    [
        (RATE, AHT, 11, 120.0),  # underloaded
        (RATE, AHT, 9, 300.0),  # overloaded: only abandons keep it stable
        (4.5 / 60, 60.0, 4, 90.0),
        (0.5, 30.0, 12, 20.0),  # impatient callers
        (1 / 30, 240.0, 1, 600.0),  # a single agent
    ],
)
def test_erlang_a_matches_the_birth_death_chain(
    rate: float, aht: float, agents: int, patience: float
) -> None:
    got = erlang_a(rate, aht, agents, patience, threshold=20.0)
    want = chain(rate, aht, agents, patience, 20.0)
    assert got.p_wait == pytest.approx(want["p_wait"], rel=1e-7)
    assert got.p_abandon == pytest.approx(want["p_abandon"], rel=1e-7)
    assert got.asa == pytest.approx(want["asa"], rel=1e-7)
    assert got.mean_wait == pytest.approx(want["mean_wait"], rel=1e-7)
    assert got.service_level == pytest.approx(want["service_level"], abs=1e-7)
    assert got.occupancy == pytest.approx(rate * aht * (1 - want["p_abandon"]) / agents)


# ------------------------------------------------------------------ limits


@pytest.mark.parametrize(("agents", "threshold"), [(11, 20.0), (14, 20.0), (30, 60.0)])
def test_infinitely_patient_callers_give_erlang_c(agents: int, threshold: float) -> None:
    for patience in (1e8, None):
        a = erlang_a(RATE, AHT, agents, patience, threshold)
        assert a.p_wait == pytest.approx(erlang_c(RATE * AHT, agents), rel=1e-4)
        assert a.asa == pytest.approx(asa(RATE, AHT, agents), rel=1e-4)
        assert a.service_level == pytest.approx(
            service_level(RATE, AHT, agents, threshold), abs=1e-5
        )
        assert a.p_abandon == pytest.approx(0.0, abs=1e-4)
    assert erlang_a(RATE, AHT, 14, None).p_wait == erlang_c(10.0, 14)  # exactly Erlang C
    assert agents_for_service_level_a(RATE, AHT, 1e7, 0.8, 20) == 14
    assert agents_for_service_level(RATE, AHT, 0.8, 20) == 14
    assert agents_for_asa_a(RATE, AHT, 1e7, 30.0) == agents_for_asa(RATE, AHT, 30.0) == 13


def test_service_level_runs_from_no_wait_to_all_answered() -> None:
    figures = [erlang_a(RATE, AHT, 10, 120.0, t) for t in (0.0, 5.0, 20.0, 60.0, 1e5)]
    levels = [f.service_level for f in figures]
    assert levels == sorted(levels)
    assert levels[0] == pytest.approx(1 - figures[0].p_wait)  # answered at once
    assert levels[-1] == pytest.approx(1 - figures[-1].p_abandon)  # everyone who stays


def test_more_agents_never_hurt_and_impatience_shortens_the_queue() -> None:
    by_agents = [erlang_a(RATE, AHT, n, 120.0) for n in range(1, 25)]
    assert all(a.service_level <= b.service_level for a, b in itertools.pairwise(by_agents))
    assert all(a.asa >= b.asa for a, b in itertools.pairwise(by_agents))
    # The less patient the callers, the more abandon and the less the others wait.
    patient, impatient = erlang_a(RATE, AHT, 10, 600.0), erlang_a(RATE, AHT, 10, 60.0)
    assert impatient.p_abandon > patient.p_abandon and impatient.asa < patient.asa


def test_agents_needed_is_the_smallest_that_meets_the_target() -> None:
    for patience in (30.0, 180.0, 900.0):
        n = agents_for_service_level_a(RATE, AHT, patience, 0.8, 20.0)
        assert erlang_a(RATE, AHT, n, patience, 20.0).service_level >= 0.8
        assert erlang_a(RATE, AHT, n - 1, patience, 20.0).service_level < 0.8
        assert n <= agents_for_service_level(RATE, AHT, 0.8, 20.0)  # abandons help
        m = agents_for_asa_a(RATE, AHT, patience, 15.0)
        assert (
            erlang_a(RATE, AHT, m, patience).asa <= 15.0 < erlang_a(RATE, AHT, m - 1, patience).asa
        )
    assert agents_for_service_level_a(0.0, AHT, 60.0, 0.8, 20.0) == 0
    with pytest.raises(ValueError, match="not reachable"):
        agents_for_service_level_a(10.0, 100.0, 60.0, 0.8, 20.0, max_agents=100)


def test_edges_and_large_systems_stay_finite() -> None:
    nobody = erlang_a(RATE, AHT, 0, 60.0)
    assert (nobody.p_wait, nobody.p_abandon, nobody.service_level) == (1.0, 1.0, 0.0)
    assert math.isinf(nobody.asa) and nobody.mean_wait == 60.0
    quiet = erlang_a(0.0, AHT, 3, 60.0)
    assert (quiet.p_wait, quiet.service_level, quiet.asa) == (0.0, 1.0, 0.0)
    # Patience equal to the AHT makes the number in the system Poisson(A) (an M/M/∞ count):
    # exact figures for 400 erlangs, over and under-staffed, without overflow.
    for agents in (380, 420):
        big = erlang_a(400 / 180, 180.0, agents, 180.0)
        logs = [k * math.log(400) - 400 - math.lgamma(k + 1) for k in range(2000)]
        tail = [math.exp(v) for v in logs[agents:]]
        assert big.p_wait == pytest.approx(sum(tail), rel=1e-9)
        queue = sum(m * p for m, p in enumerate(tail))
        assert big.p_abandon == pytest.approx(queue / 400, rel=1e-9)
    # Very patient callers on an overloaded queue: almost every excess call still abandons.
    slow = erlang_a(RATE, AHT, 8, 1e6)
    assert slow.p_abandon == pytest.approx(0.2, abs=1e-3)
    # Many agents, little traffic: Erlang B underflows below 1e-308 but the figures don't.
    light = erlang_a(1 / 60, 60.0, 2000, 60.0)
    assert light.p_wait == 0.0 and light.service_level == 1.0
    for bad in ((-1.0, AHT, 3, 60.0), (RATE, 0.0, 3, 60.0), (RATE, AHT, -1, 60.0)):
        with pytest.raises(ValueError):
            erlang_a(*bad)
    with pytest.raises(ValueError, match="patience"):
        erlang_a(RATE, AHT, 3, 0.0)
