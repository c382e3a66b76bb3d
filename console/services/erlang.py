"""Erlang C staffing formulas (M/M/c queue, no abandonment), shared by the supervisor's staffing
view and the simulator's tests.

With arrival rate λ (calls/s) and average handle time AHT (s), the offered traffic is
A = λ·AHT erlangs. For N agents (N > A):

- P(wait) = Erlang C(A, N), computed from the Erlang B recursion
  B(0) = 1, B(k) = A·B(k−1) / (k + A·B(k−1)), then C = N·B / (N − A·(1 − B)).
  The recursion never forms A^N or N!, so it stays stable for hundreds of agents.
- ASA = P(wait)·AHT / (N − A)
- SL(t) = 1 − P(wait)·e^(−(N−A)·t/AHT)

With N ≤ A the queue grows without bound: P(wait) = 1, ASA = ∞, SL = 0.
"""

from __future__ import annotations

import math


def erlang_b(traffic_erlangs: float, agents: int) -> float:
    """Blocking probability of an M/M/N/N system (Erlang B), by the stable recursion."""
    if traffic_erlangs < 0 or agents < 0:
        raise ValueError("traffic and agents must be non-negative")
    b = 1.0
    for k in range(1, agents + 1):
        b = traffic_erlangs * b / (k + traffic_erlangs * b)
    return b


def erlang_c(traffic_erlangs: float, agents: int) -> float:
    """Probability that a call has to wait (Erlang C) for ``agents`` serving ``traffic`` erlangs."""
    if traffic_erlangs < 0 or agents < 0:
        raise ValueError("traffic and agents must be non-negative")
    if traffic_erlangs == 0:
        return 0.0
    if agents <= traffic_erlangs:
        return 1.0
    b = erlang_b(traffic_erlangs, agents)
    return agents * b / (agents - traffic_erlangs * (1.0 - b))


def asa(rate: float, aht: float, agents: int) -> float:
    """Average speed of answer in seconds (mean wait over all calls, answered at once or not)."""
    traffic = rate * aht
    if agents <= traffic:
        return math.inf
    return erlang_c(traffic, agents) * aht / (agents - traffic)


def service_level(rate: float, aht: float, agents: int, threshold: float) -> float:
    """Share of calls answered within ``threshold`` seconds."""
    traffic = rate * aht
    if agents <= traffic:
        return 0.0
    pw = erlang_c(traffic, agents)
    return 1.0 - pw * math.exp(-(agents - traffic) * threshold / aht)


def agents_for_service_level(
    rate: float, aht: float, target_sl: float, threshold: float, max_agents: int = 10_000
) -> int:
    """Smallest number of agents reaching ``target_sl`` (0..1) within ``threshold`` seconds."""
    if not 0.0 <= target_sl < 1.0:
        raise ValueError("target service level must be in [0, 1)")
    if rate <= 0:
        return 0
    agents = max(1, math.floor(rate * aht) + 1)
    while agents <= max_agents:
        if service_level(rate, aht, agents, threshold) >= target_sl:
            return agents
        agents += 1
    raise ValueError("target service level not reachable within max_agents")
