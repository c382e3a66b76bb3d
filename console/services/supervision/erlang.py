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
from collections.abc import Callable
from dataclasses import dataclass


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


def agents_for_asa(rate: float, aht: float, target_asa: float, max_agents: int = 10_000) -> int:
    """Smallest number of agents whose Erlang C ASA is at most ``target_asa`` seconds."""
    if target_asa <= 0:
        raise ValueError("target ASA must be more than 0 s")
    if rate <= 0:
        return 0
    agents = max(1, math.floor(rate * aht) + 1)
    while agents <= max_agents:
        if asa(rate, aht, agents) <= target_asa:
            return agents
        agents += 1
    raise ValueError("target ASA not reachable within max_agents")


# ---------------------------------------------------------------------------------- Erlang A
#
# M/M/N+M (Palm's queue): Poisson arrivals λ, exponential handle times 1/μ = AHT, N agents,
# callers who abandon after an exponential patience with mean 1/θ. Following Garnett,
# Mandelbaum & Reiman (2002) and Mandelbaum & Zeltyn's M/M/n+G summary, with
# φ(x) = λ·(1 − e^(−θx))/θ − Nμx, the offered wait V (how long a caller with infinite patience
# would wait) has the density f(x) = λ·π(N−1)·e^φ(x) for x > 0, where π(N−1) is the
# probability of N−1 calls in the system. With B = Erlang B(A, N−1), Σ_{k<N} π(k) = π(N−1)/B
# and normalising gives π(N−1) = 1 / (1/B + λ·∫e^φ). A caller is answered when V is shorter
# than their patience (probability e^(−θV)), so
#
#   P(wait)              = λ·π(N−1)·∫₀^∞ e^φ
#   P(abandon)           = λ·π(N−1)·∫₀^∞ (1 − e^(−θx))·e^φ
#   P(answered within t) = 1 − P(wait) + λ·π(N−1)·∫₀^t e^(−θx)·e^φ
#   ASA (answered calls) = λ·π(N−1)·∫₀^∞ x·e^(−θx)·e^φ / (1 − P(abandon))
#
# These integrals are incomplete gamma functions; here they are computed directly by
# Gauss–Legendre quadrature in the log domain. φ is concave, so e^φ is one smooth hump: it is
# integrated over the range where it is within e^−50 of its peak, which never overflows and
# stays accurate from a handful of agents to thousands, and from patience of seconds to days.

_LOG_CUT = 50.0  # the integrand is ignored where it is below e^−50 of its peak
_PANELS = 48
# 8-point Gauss–Legendre nodes and weights on [−1, 1] (the positive half; symmetric).
_GL_NODES = (0.1834346424956498, 0.5255324099163290, 0.7966664774136267, 0.9602898564975363)
_GL_WEIGHTS = (0.3626837833783620, 0.3137066458778873, 0.2223810344533745, 0.1012285362903763)


@dataclass(frozen=True, slots=True)
class ErlangA:
    """Steady-state figures of an M/M/N+M queue (Erlang A) for one staffing level.

    With no patience given (infinitely patient callers) these are Erlang C's figures.
    """

    agents: int
    traffic: float  # offered erlangs, λ·AHT
    p_wait: float  # share of calls that find every agent busy
    p_abandon: float  # share of calls that hang up before an agent answers
    asa: float  # mean queue wait of the answered calls (s); inf when none is answered
    mean_wait: float  # mean time in queue of all calls, abandoned ones included (s)
    service_level: float  # share of all calls answered within ``threshold``
    threshold: float
    occupancy: float  # answered traffic / agents (0..1)


def erlang_a(
    rate: float, aht: float, agents: int, patience: float | None, threshold: float = 20.0
) -> ErlangA:
    """Erlang A figures for ``rate`` calls/s, ``aht`` s, ``agents`` and mean ``patience`` s.

    ``patience=None`` (or infinite) means nobody abandons: the figures are Erlang C's. The
    service level counts abandoned calls as not answered in time (abandons against).
    """
    if rate < 0 or aht <= 0 or agents < 0 or threshold < 0:
        raise ValueError("rate and threshold must be >= 0, AHT > 0, agents >= 0")
    if patience is not None and not patience > 0:
        raise ValueError("mean patience must be more than 0 s")
    traffic = rate * aht
    if patience is None or math.isinf(patience):
        return _erlang_c_figures(rate, aht, agents, threshold)
    if rate == 0:
        return ErlangA(agents, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, threshold, 0.0)
    if agents == 0:  # everybody waits until they give up
        return ErlangA(0, traffic, 1.0, 1.0, math.inf, patience, 0.0, threshold, 0.0)
    theta, served = 1.0 / patience, agents / aht
    hump = _Hump(rate, theta, served)
    lo, hi = hump.support()
    whole = hump.integrals(lo, hi)
    within = hump.integrals(lo, min(hi, threshold))[1] if threshold > lo else 0.0
    # log of λ·π(N−1)·e^peak: the factor that turns the integrals (scaled by e^−peak) into
    # probabilities; 1/B + λ·∫e^φ = e^peak·(e^−peak/B + λ·I).
    log_b = _log_erlang_b(traffic, agents - 1)
    log_i = math.log(whole[0])
    scale = math.log(rate) - _logaddexp(-hump.peak - log_b, math.log(rate) + log_i)
    factor = math.exp(scale)
    p_wait = min(1.0, factor * whole[0])
    p_abandon = min(p_wait, factor * whole[2])
    answered = 1.0 - p_abandon
    return ErlangA(
        agents=agents,
        traffic=traffic,
        p_wait=p_wait,
        p_abandon=p_abandon,
        asa=factor * whole[3] / answered if answered > 0 else math.inf,
        mean_wait=p_abandon * patience,  # Little: abandons/s = θ·E[queue] = λ·P(abandon)
        service_level=min(1.0, max(0.0, 1.0 - p_wait + factor * within)),
        threshold=threshold,
        occupancy=min(1.0, traffic * answered / agents),
    )


def agents_for_service_level_a(
    rate: float,
    aht: float,
    patience: float | None,
    target_sl: float,
    threshold: float,
    max_agents: int = 10_000,
) -> int:
    """Smallest number of agents whose Erlang A service level reaches ``target_sl`` (0..1)."""
    if not 0.0 <= target_sl < 1.0:
        raise ValueError("target service level must be in [0, 1)")
    return _smallest(
        rate,
        max_agents,
        lambda n: erlang_a(rate, aht, n, patience, threshold).service_level >= target_sl,
        "target service level",
    )


def agents_for_asa_a(
    rate: float, aht: float, patience: float | None, target_asa: float, max_agents: int = 10_000
) -> int:
    """Smallest number of agents whose Erlang A ASA (answered calls) is at most ``target_asa``."""
    if target_asa <= 0:
        raise ValueError("target ASA must be more than 0 s")
    return _smallest(
        rate,
        max_agents,
        lambda n: erlang_a(rate, aht, n, patience).asa <= target_asa,
        "target ASA",
    )


def _smallest(rate: float, max_agents: int, enough: Callable[[int], bool], what: str) -> int:
    """The smallest N in [0, max_agents] with ``enough(N)``, for a test monotone in N."""
    if rate <= 0:
        return 0
    lo, hi = 0, 1  # enough(lo) is false (no agent answers anything), enough(hi) to be found
    while not enough(hi):
        if hi >= max_agents:
            raise ValueError(f"{what} not reachable within max_agents")
        lo, hi = hi, min(max_agents, hi * 2)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if enough(mid) else (mid, hi)
    return hi


def _erlang_c_figures(rate: float, aht: float, agents: int, threshold: float) -> ErlangA:
    traffic = rate * aht
    if rate == 0:
        return ErlangA(agents, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, threshold, 0.0)
    wait = asa(rate, aht, agents)
    return ErlangA(
        agents=agents,
        traffic=traffic,
        p_wait=erlang_c(traffic, agents),
        p_abandon=0.0,
        asa=wait,
        mean_wait=wait,
        service_level=service_level(rate, aht, agents, threshold),
        threshold=threshold,
        occupancy=min(1.0, traffic / agents) if agents else 0.0,
    )


class _Hump:
    """φ(x) = λ·(1 − e^(−θx))/θ − c·x (c = Nμ) and integrals of e^(φ − peak) on ranges."""

    def __init__(self, rate: float, theta: float, served: float) -> None:
        self.rate, self.theta, self.served = rate, theta, served
        # φ'(x) = λe^(−θx) − c: the hump peaks at 0 unless λ > c.
        self.top = math.log(rate / served) / theta if rate > served else 0.0
        self.peak = self.phi(self.top)

    def phi(self, x: float) -> float:
        return -self.rate * math.expm1(-self.theta * x) / self.theta - self.served * x

    def support(self) -> tuple[float, float]:
        """Where φ is within _LOG_CUT of its peak (φ is concave: one interval)."""
        floor = self.peak - _LOG_CUT
        lo = 0.0
        if self.top > 0 and self.phi(0.0) < floor:
            lo = self._cross(0.0, self.top, floor)
        step = 1.0 / (self.served + self.theta)
        while self.phi(self.top + step) > floor:
            step *= 2.0
        return lo, self._cross(self.top + step, self.top, floor)

    def _cross(self, below: float, above: float, floor: float) -> float:
        """The x between ``below`` (φ < floor) and ``above`` (φ >= floor) where φ = floor."""
        for _ in range(100):
            mid = 0.5 * (below + above)
            if mid in (below, above):
                break
            if self.phi(mid) < floor:
                below = mid
            else:
                above = mid
        return 0.5 * (below + above)

    def integrals(self, a: float, b: float) -> tuple[float, float, float, float]:
        """∫ₐᵇ of e^(φ−peak) times 1, e^(−θx), 1 − e^(−θx) and x·e^(−θx)."""
        total = kept = lost = waited = 0.0
        if b <= a:
            return total, kept, lost, waited
        width = (b - a) / _PANELS
        half = 0.5 * width
        for panel in range(_PANELS):
            middle = a + (panel + 0.5) * width
            for node, weight in zip(_GL_NODES, _GL_WEIGHTS, strict=True):
                for x in (middle - half * node, middle + half * node):
                    gone = -math.expm1(-self.theta * x)  # P(patience < x)
                    phi = self.rate * gone / self.theta - self.served * x
                    hump = weight * half * math.exp(phi - self.peak)
                    total += hump
                    kept += hump * (1.0 - gone)
                    lost += hump * gone
                    waited += hump * x * (1.0 - gone)
        return total, kept, lost, waited


def _log_erlang_b(traffic: float, agents: int) -> float:
    """log Erlang B, by the recursion on 1/B (1/B(k) = 1 + k/A · 1/B(k−1)) in logs, so a
    blocking probability far below 1e−308 (many agents, little traffic) does not underflow."""
    log_inverse = 0.0
    for k in range(1, agents + 1):
        log_inverse = _logaddexp(0.0, math.log(k / traffic) + log_inverse)
    return -log_inverse


def _logaddexp(a: float, b: float) -> float:
    """log(e^a + e^b) without overflow."""
    if a < b:
        a, b = b, a
    return a + math.log1p(math.exp(b - a))
