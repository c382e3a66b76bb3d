"""Progressive and predictive pacing (console/services/outbound/pacing.py)."""

from __future__ import annotations

import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from console.models.enums import DialMode
from console.services.outbound.pacing import (
    ABANDON_CAP,
    SAFETY_MARGIN,
    AgentsNow,
    CampaignRates,
    binomial,
    decide,
    free_agents,
    target_rate,
)

RATES = CampaignRates(live_rate=0.3, horizon=15, talk=120, wrap=20, live_30d=2000, abandoned_30d=0)


def test_preview_never_dials_and_progressive_dials_one_per_free_agent() -> None:
    agents = AgentsNow(ready=6, talking=10, wrapping=2)
    assert decide(DialMode.PREVIEW, agents, 0, RATES).dials == 0
    assert decide(DialMode.PROGRESSIVE, agents, 0, RATES).dials == 6
    assert decide(DialMode.PROGRESSIVE, agents, 4, RATES).dials == 2  # 4 already ringing
    assert decide(DialMode.PROGRESSIVE, agents, 9, RATES).dials == 0


def test_predictive_dials_ahead_of_the_free_agents_when_few_answer_live() -> None:
    agents = AgentsNow(ready=10)
    decision = decide(DialMode.PREDICTIVE, agents, 0, RATES)
    # 30 % answer live: ten agents take about 30 dials' answers, a little under for safety.
    assert 20 <= decision.dials <= 33
    assert decision.expected_abandon_rate <= decision.target_rate == ABANDON_CAP * SAFETY_MARGIN


def test_nobody_staffed_means_no_dial() -> None:
    assert decide(DialMode.PREDICTIVE, AgentsNow(ready=0), 0, RATES).dials == 0


def test_the_target_falls_to_zero_as_the_30_day_rate_nears_the_cap() -> None:
    aim = ABANDON_CAP * SAFETY_MARGIN
    fresh = CampaignRates(0.3, 15, 120, 20, live_30d=10_000, abandoned_30d=0)
    half = CampaignRates(0.3, 15, 120, 20, live_30d=10_000, abandoned_30d=int(10_020 * aim * 0.75))
    full = CampaignRates(0.3, 15, 120, 20, live_30d=10_000, abandoned_30d=int(10_020 * aim) + 1)
    assert target_rate(fresh) == aim
    assert 0 < target_rate(half) < aim
    assert target_rate(full) == 0.0


def test_at_the_margin_predictive_is_progressive() -> None:
    """Pacing slows down before the cap: past the margin it dials only for agents free now."""
    spent = CampaignRates(0.3, 15, 120, 20, live_30d=1000, abandoned_30d=30)
    agents = AgentsNow(ready=4, talking=30, wrapping=6)
    for in_flight in (0, 2, 4, 7):
        predictive = decide(DialMode.PREDICTIVE, agents, in_flight, spent)
        progressive = decide(DialMode.PROGRESSIVE, agents, in_flight, spent)
        assert predictive.dials == progressive.dials
        if in_flight <= agents.ready:  # more already ringing than agents free carries risk
            assert predictive.expected_abandon_rate == 0.0


def test_the_model_share_matches_a_monte_carlo_of_the_same_model() -> None:
    """The closed form E[max(0, X − A)] / E[X] against sampling X ~ Binomial and A as the sum of
    the agents' chances. 40,000 replications; the bound is 6 standard errors (a false failure
    about once in 10⁹ runs, for any seed)."""
    rates = CampaignRates(live_rate=0.35, horizon=20, talk=90, wrap=10)
    agents = AgentsNow(ready=2, talking=12, wrapping=4)
    decision = decide(DialMode.PREDICTIVE, agents, 0, rates)
    dials = decision.dials
    q_talk = 1 - math.exp(-(20 - 10) / 90)
    q_wrap = 1 - math.exp(-20 / 10)
    rng = random.Random()
    shortfalls: list[float] = []
    for _ in range(40_000):
        free = 2 + sum(rng.random() < q_talk for _ in range(12))
        free += sum(rng.random() < q_wrap for _ in range(4))
        live = sum(rng.random() < 0.35 for _ in range(dials))
        shortfalls.append(max(0, live - free))
    mean = sum(shortfalls) / len(shortfalls)
    sd = math.sqrt(sum((s - mean) ** 2 for s in shortfalls) / (len(shortfalls) - 1))
    expected = decision.expected_abandon_rate * dials * 0.35
    assert abs(mean - expected) <= 6 * sd / math.sqrt(len(shortfalls)) + 1e-9
    assert expected > 0  # the decision does take a risk, so the check compares something


def test_free_agents_is_a_distribution_starting_at_the_ready_ones() -> None:
    pmf = free_agents(AgentsNow(ready=3, talking=5, wrapping=2), RATES)
    assert math.isclose(sum(pmf), 1.0, rel_tol=1e-9)
    assert pmf[:3] == [0.0, 0.0, 0.0]
    assert len(pmf) <= 3 + 5 + 2 + 1


agents_st = st.builds(
    AgentsNow,
    ready=st.integers(0, 60),
    talking=st.integers(0, 150),
    wrapping=st.integers(0, 40),
)
rates_st = st.builds(
    CampaignRates,
    live_rate=st.floats(0.0, 1.0),
    horizon=st.floats(0.0, 60.0),
    talk=st.floats(0.0, 900.0),
    wrap=st.floats(0.0, 300.0),
    live_30d=st.integers(0, 100_000),
    abandoned_30d=st.integers(0, 5_000),
)


@settings(max_examples=300, deadline=None)
@given(agents=agents_st, rates=rates_st, in_flight=st.integers(0, 200))
def test_predictive_keeps_its_promises(
    agents: AgentsNow, rates: CampaignRates, in_flight: int
) -> None:
    decision = decide(DialMode.PREDICTIVE, agents, in_flight, rates)
    floor = decide(DialMode.PROGRESSIVE, agents, in_flight, rates).dials
    assert decision.dials >= floor  # an agent free now always gets a dial
    assert decision.dials + in_flight <= max(3 * agents.staffed, agents.ready, in_flight)
    if decision.dials > floor:  # dialling ahead: only within the aimed abandon share
        assert decision.expected_abandon_rate <= decision.target_rate + 1e-12


@settings(max_examples=200, deadline=None)
@given(agents=agents_st, rates=rates_st, more=st.integers(1, 10))
def test_more_free_agents_never_mean_fewer_dials(
    agents: AgentsNow, rates: CampaignRates, more: int
) -> None:
    base = decide(DialMode.PREDICTIVE, agents, 0, rates).dials
    richer = AgentsNow(agents.ready + more, agents.talking, agents.wrapping)
    assert decide(DialMode.PREDICTIVE, richer, 0, rates).dials >= base


@given(n=st.integers(0, 400), p=st.floats(0.0, 1.0))
def test_the_trimmed_binomial_is_the_binomial(n: int, p: float) -> None:
    first, pmf = binomial(n, p)
    assert math.isclose(sum(pmf), 1.0, abs_tol=1e-9)
    for i, mass in enumerate(pmf):
        k = first + i
        exact = math.comb(n, k) * p**k * (1 - p) ** (n - k)
        assert math.isclose(mass, exact, rel_tol=1e-6, abs_tol=1e-12)


def test_in_flight_dials_at_the_live_rate_decide_as_before() -> None:
    agents = AgentsNow(ready=6, talking=30, wrapping=8)
    for in_flight in (0, 5, 20, 60):
        plain = decide(DialMode.PREDICTIVE, agents, in_flight, RATES)
        same = decide(DialMode.PREDICTIVE, agents, in_flight, RATES, live_chances=[0.3] * in_flight)
        assert same.dials == plain.dials
        assert math.isclose(same.expected_abandon_rate, plain.expected_abandon_rate, rel_tol=1e-9)


def test_dials_that_rang_out_their_chance_leave_room_for_new_ones() -> None:
    """Twenty dials ringing for long (little chance of a live answer left) hold back fewer new
    dials than twenty fresh ones; twenty customers already in the queue hold back more."""
    agents = AgentsNow(ready=10, talking=30, wrapping=5)
    fresh = decide(DialMode.PREDICTIVE, agents, 20, RATES, live_chances=[0.3] * 20)
    stale = decide(DialMode.PREDICTIVE, agents, 20, RATES, live_chances=[0.02] * 20)
    queued = decide(DialMode.PREDICTIVE, agents, 20, RATES, live_chances=[1.0] * 20)
    assert stale.dials > fresh.dials > queued.dials
    assert stale.expected_abandon_rate <= stale.target_rate


def test_the_mixed_share_matches_a_monte_carlo_of_the_same_model() -> None:
    """In-flight dials with their own chances: the share (a binomial of the same mean and
    variance) against sampling each dial. 40,000 replications; the bound is 6 standard errors
    plus 10 % for the approximation (it is not exact when the chances differ)."""
    rates = CampaignRates(live_rate=0.3, horizon=15, talk=120, wrap=10)
    agents = AgentsNow(ready=4, talking=20, wrapping=4)
    chances = [1.0, 1.0, 0.5, 0.5, 0.3, 0.1, 0.1, 0.05, 0.02, 0.02]
    decision = decide(DialMode.PREDICTIVE, agents, len(chances), rates, live_chances=chances)
    new = decision.dials
    q_talk = 1 - math.exp(-(15 - 10) / 120)
    q_wrap = 1 - math.exp(-15 / 10)
    rng = random.Random()
    shortfalls: list[float] = []
    for _ in range(40_000):
        free = 4 + sum(rng.random() < q_talk for _ in range(20))
        free += sum(rng.random() < q_wrap for _ in range(4))
        live = sum(rng.random() < c for c in chances) + sum(rng.random() < 0.3 for _ in range(new))
        shortfalls.append(max(0, live - free))
    mean = sum(shortfalls) / len(shortfalls)
    sd = math.sqrt(sum((s - mean) ** 2 for s in shortfalls) / (len(shortfalls) - 1))
    expected = decision.expected_abandon_rate * (sum(chances) + new * 0.3)
    assert expected > 0
    assert abs(mean - expected) <= 6 * sd / math.sqrt(len(shortfalls)) + 0.1 * expected


@settings(max_examples=300, deadline=None)
@given(
    agents=agents_st,
    rates=rates_st,
    chances=st.lists(st.floats(0.0, 1.0), max_size=200),
)
def test_predictive_keeps_its_promises_with_chances(
    agents: AgentsNow, rates: CampaignRates, chances: list[float]
) -> None:
    in_flight = len(chances)
    decision = decide(DialMode.PREDICTIVE, agents, in_flight, rates, live_chances=chances)
    floor = decide(DialMode.PROGRESSIVE, agents, in_flight, rates).dials
    assert decision.dials >= floor
    assert decision.dials + in_flight <= max(3 * agents.staffed, agents.ready, in_flight)
    # Dialling ahead only within the aimed share (with no live answers lately, a new dial adds
    # no risk: the share left is the dials already out).
    if decision.dials > floor and rates.live_rate > 0:
        assert decision.expected_abandon_rate <= decision.target_rate + 1e-12
