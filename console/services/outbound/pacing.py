"""How many customers a campaign dials now: progressive and predictive pacing.

Progressive dials one customer per agent who is free now, minus the dials already ringing.
Predictive dials ahead of the agents, so that an agent finishing a call finds a customer
already answering. Its risk is the abandoned call: a customer answers and no agent is free
within 2 s (the FCC rule: at most 3 % of live-answered calls per campaign over 30 days).

The predictive decision is a small model, recomputed every time (docs/outbound.md):

- **Agents free when the next answer comes.** Answers come ``horizon`` seconds after the dial
  (the campaign's mean time from dial to a live answer). An agent who is ready now is free
  then; one talking is free if the rest of the talk and the wrap-up fit in the horizon (the
  rest of a talk taken as exponential with the campaign's mean talk time: the memoryless
  guess, since how long a call has lasted says little about when it ends); one wrapping up if
  the rest of the wrap-up (exponential too, with the mean wrap-up) does. The number free,
  ``A``, is the sum of those chances (Poisson-binomial).
- **Live answers.** Each new dial answers live with the campaign's live-answer rate ``p``.
  A dial already in flight answers live with its own chance when the dialer knows it
  (``live_chances``: a dial that has rung longer than live answers usually take is unlikely to
  bring one; one answered and in AMD is a person about as often as answers are; one waiting in
  the queue is a person for sure), else with ``p`` too. ``X``, the live answers to come, is
  their sum: binomial when every chance is ``p``, otherwise taken as the binomial of the same
  mean and variance (a Poisson-binomial's usual approximation; exact in the first case).
- **Abandons.** Expected abandoned calls are ``E[max(0, X − A)]``; as a share of the live
  answers, ``E[max(0, X − A)] / (D·p)``. Pacing dials the most customers whose expected share
  stays at or under the target rate.
- **The target rate** is the cap times a safety margin (80 %), lowered as the campaign's own
  30-day abandon rate rises, and 0 once it is at the margin: then the only dials placed are
  those for agents who are certainly free (ready now), which is progressive. So pacing slows
  down before the cap is reached and never dials ahead past it.

Everything here is pure and cheap: one decision is a few hundred float operations (bench:
``bench/pacing.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from console.models.enums import DialMode

#: The FCC's abandoned-call cap: 3 % of live-answered calls per campaign over 30 days.
ABANDON_CAP = 0.03
#: Pacing aims under the cap by this factor; the 30-day rate reaching cap × margin stops
#: dialling ahead.
SAFETY_MARGIN = 0.8
#: At most this many dials in flight per agent on the campaign (VICIdial's highest usual
#: auto-dial level is 4).
MAX_LINES_PER_AGENT = 3.0
_TINY = 1e-12  # probability mass below this is dropped from the ends of a distribution


@dataclass(frozen=True, slots=True)
class CampaignRates:
    """What the campaign's recent calls say (the dialer keeps these up to date).

    ``live_rate``: live (human) answers per completed dial. ``horizon``: mean seconds from a
    dial to its live answer. ``talk`` / ``wrap``: mean seconds of a connected call's talk and
    wrap-up. ``live_30d`` / ``abandoned_30d``: live answers and abandons over the last 30 days
    (the FCC's measure).
    """

    live_rate: float
    horizon: float
    talk: float
    wrap: float
    live_30d: int = 0
    abandoned_30d: int = 0


@dataclass(frozen=True, slots=True)
class AgentsNow:
    """The campaign's agents at this moment: ready with no call, talking, wrapping up. (How
    long each has been at it is not asked: the model's remaining times are memoryless.)"""

    ready: int
    talking: int = 0
    wrapping: int = 0

    @property
    def staffed(self) -> int:
        return self.ready + self.talking + self.wrapping


@dataclass(frozen=True, slots=True)
class PacingDecision:
    """How many new dials to place now, and why (shown on the campaign board)."""

    dials: int
    in_flight: int
    target_rate: float  # the abandon share this decision aimed at
    expected_free: float  # agents expected free when the answers come
    expected_abandon_rate: float  # of the live answers, for in-flight + new dials


def target_rate(rates: CampaignRates, cap: float = ABANDON_CAP) -> float:
    """The abandon share pacing aims at now: ``cap × SAFETY_MARGIN`` while the campaign's 30-day
    rate is at most half of that, falling linearly to 0 as the rate reaches it. A campaign
    with few live answers yet is judged with 20 answers' worth of caution added."""
    aim = cap * SAFETY_MARGIN
    if aim <= 0:
        return 0.0
    rate = rates.abandoned_30d / (rates.live_30d + 20)
    if rate <= aim / 2:
        return aim
    if rate >= aim:
        return 0.0
    return aim * (aim - rate) / (aim / 2)


def decide(
    mode: DialMode,
    agents: AgentsNow,
    in_flight: int,
    rates: CampaignRates,
    *,
    cap: float = ABANDON_CAP,
    max_lines_per_agent: float = MAX_LINES_PER_AGENT,
    live_chances: Sequence[float] | None = None,
) -> PacingDecision:
    """How many customers to dial now (never negative; preview never dials by itself).
    ``live_chances``: each in-flight dial's chance of still bringing a live answer (module
    docstring); None: ``rates.live_rate`` each."""
    in_flight = max(in_flight, 0)
    if mode is DialMode.PREVIEW or agents.staffed == 0:
        return PacingDecision(0, in_flight, 0.0, float(agents.ready), 0.0)
    if mode is DialMode.PROGRESSIVE:
        dials = max(agents.ready - in_flight, 0)
        return PacingDecision(dials, in_flight, 0.0, float(agents.ready), 0.0)
    aim = target_rate(rates, cap)
    free = free_agents(agents, rates)
    expected_free = sum(i * m for i, m in enumerate(free, start=0))
    shortfall = _shortfall_table(free)
    p = min(max(rates.live_rate, 0.0), 1.0)
    if live_chances is None:
        flying = _Flying(in_flight * p, in_flight * p * (1.0 - p), in_flight)
    else:
        chances = [min(max(c, 0.0), 1.0) for c in live_chances]
        flying = _Flying(sum(chances), sum(c * (1.0 - c) for c in chances), in_flight)
    ceiling = max(math.floor(max_lines_per_agent * agents.staffed), agents.ready)
    room = max(ceiling - in_flight, 0)
    if p <= 0.0:
        # Nothing answers live lately: no abandon risk, and no reason to flood the trunk.
        new = room
    else:
        new = _most_dials(p, flying, shortfall, aim, hi=room)
        # Agents free now always get their dial, whatever the model says (progressive floor).
        new = max(new, min(agents.ready, ceiling) - in_flight, 0)
    share = _abandon_share(flying, new, p, shortfall)
    return PacingDecision(new, in_flight, aim, expected_free, share)


@dataclass(frozen=True, slots=True)
class _Flying:
    """The live answers still to come from the dials in flight: mean and variance."""

    mean: float
    var: float
    count: int


def free_agents(agents: AgentsNow, rates: CampaignRates) -> list[float]:
    """The distribution of how many agents are free ``rates.horizon`` seconds from now: index
    ``k`` is P(exactly k free). Ready agents count for sure; the talking ones and the wrapping
    ones each with their own chance, so the rest is the sum of two binomials."""
    horizon = max(rates.horizon, 0.0)
    talk, wrap = max(rates.talk, 1.0), max(rates.wrap, 0.0)
    left = horizon - wrap  # a talk must end early enough to leave the wrap-up its time
    q_talk = 1.0 - math.exp(-left / talk) if left > 0 else 0.0
    q_wrap = 1.0 - math.exp(-horizon / max(wrap, 1.0))
    t_start, t_pmf = binomial(max(agents.talking, 0), q_talk)
    w_start, w_pmf = binomial(max(agents.wrapping, 0), q_wrap)
    both = [0.0] * (len(t_pmf) + len(w_pmf) - 1)
    for i, a in enumerate(t_pmf):
        for j, b in enumerate(w_pmf):
            both[i + j] += a * b
    return [0.0] * (max(agents.ready, 0) + t_start + w_start) + both


def binomial(n: int, p: float) -> tuple[int, list[float]]:
    """Binomial(n, p) as (first k, P(k), P(k+1)…), the negligible tails (< 1e-12) left out:
    computed outward from the mode, so the cost follows the spread, not ``n``."""
    if n <= 0 or p <= 0.0:
        return 0, [1.0]
    if p >= 1.0:
        return n, [1.0]
    mode = min(int((n + 1) * p), n)
    log_mode = (
        math.lgamma(n + 1)
        - math.lgamma(mode + 1)
        - math.lgamma(n - mode + 1)
        + mode * math.log(p)
        + (n - mode) * math.log1p(-p)
    )
    odds = p / (1.0 - p)
    up = [math.exp(log_mode)]
    k = mode
    while k < n and up[-1] > _TINY:  # P(k+1) = P(k) · (n−k)/(k+1) · p/(1−p)
        up.append(up[-1] * (n - k) / (k + 1) * odds)
        k += 1
    down: list[float] = []
    k, mass = mode, up[0]
    while k > 0 and mass > _TINY:  # P(k−1) = P(k) · k/(n−k+1) · (1−p)/p
        mass = mass * k / (n - k + 1) / odds
        down.append(mass)
        k -= 1
    return mode - len(down), down[::-1] + up


def _shortfall_table(free: list[float]) -> list[float]:
    """``g[x] = E[max(0, x − A)]`` for x = 0… (A distributed as ``free``), extended as needed by
    `_shortfall`; built with g(x+1) = g(x) + P(A ≤ x)."""
    g = [0.0]
    below = 0.0
    for mass in free:
        below += mass
        g.append(g[-1] + below)
    return g


def _shortfall(g: list[float], x: int) -> float:
    if x < len(g):
        return g[x]
    return g[-1] + (x - (len(g) - 1))  # past A's support P(A ≤ x) = 1: one more per caller


def _live(flying: _Flying, new: int, p: float) -> tuple[int, float, float]:
    """X = in-flight live answers + Binomial(new, p), as a binomial (n, q) of its mean and
    variance; with every in-flight chance ``p`` that is exactly Binomial(in_flight + new, p).
    Also returns E[X]."""
    mean = flying.mean + new * p
    var = flying.var + new * p * (1.0 - p)
    if mean <= 0.0:
        return 0, 0.0, 0.0
    if flying.var == flying.count * p * (1.0 - p) and flying.mean == flying.count * p:
        return flying.count + new, p, mean  # the plain case, kept exact
    q = min(max(1.0 - var / mean, 1e-9), 1.0)
    return max(round(mean / q), 1), q, mean


def _abandon_share(flying: _Flying, new: int, p: float, g: list[float]) -> float:
    """E[max(0, X − A)] / E[X] for the live answers X of the dials in flight and ``new``."""
    n, q, mean = _live(flying, new, p)
    if n <= 0 or q <= 0.0 or mean <= 0.0:
        return 0.0
    first, pmf = binomial(n, q)
    expected = sum(mass * _shortfall(g, first + i) for i, mass in enumerate(pmf))
    return expected / (n * q)


def _most_dials(p: float, flying: _Flying, g: list[float], aim: float, *, hi: int) -> int:
    """The most new dials in [0, hi] whose abandon share is at most ``aim`` (the share grows
    with them); 0 when even none is over (no new dial)."""
    lo = 0
    if _abandon_share(flying, hi, p, g) <= aim:
        return hi
    if _abandon_share(flying, lo, p, g) > aim:
        return lo
    while hi - lo > 1:  # share(lo) <= aim < share(hi)
        mid = (lo + hi) // 2
        if _abandon_share(flying, mid, p, g) <= aim:
            lo = mid
        else:
            hi = mid
    return lo
