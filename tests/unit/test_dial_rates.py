"""A campaign's recent rates (console/services/outbound/dial_rates.py): priors first, then what
its dials did; the chance a dial in flight still brings a live answer."""

from __future__ import annotations

import random

from console.services.outbound.dial_events import ABANDONED, BUSY, CONNECTED, MACHINE, NO_ANSWER
from console.services.outbound.dial_rates import PRIOR_HORIZON, PRIOR_LIVE, RateBook


def test_a_new_campaign_paces_from_the_priors() -> None:
    rates = RateBook().rates(0, 0)
    assert (rates.live_rate, rates.horizon) == (PRIOR_LIVE[0], PRIOR_HORIZON[0])


def test_rates_follow_the_dials() -> None:
    book = RateBook(window=200)
    for i in range(200):
        if i % 2:  # half connect: rang 5 s, queued at 7 s, talked 100 s
            book.dial_ended(CONNECTED, 0.0, 7.0, 8.0, 108.0, answered=5.0)
        else:
            book.dial_ended(BUSY, 0.0, None, None, 1.0)
    rates = book.rates(100, 2)
    assert 0.45 < rates.live_rate < 0.5  # 100 of 200, pulled a little toward 30 %
    assert 7.0 <= rates.horizon < 8.0 and 100.0 < rates.talk < 102.0  # priors: 20 s, 120 s
    assert (rates.live_30d, rates.abandoned_30d) == (100, 2)


def test_a_dial_that_rang_longer_than_live_answers_take_has_little_chance_left() -> None:
    book = RateBook()
    rng = random.Random(3)
    for _ in range(300):
        kind = rng.random()
        if kind < 0.3:  # people answer within 3-10 s
            answered = rng.uniform(3, 10)
            book.dial_ended(
                ABANDONED if kind < 0.01 else CONNECTED, 0.0, answered + 2, answered + 3,
                answered + 60, answered=answered,
            )  # fmt: skip
        elif kind < 0.5:  # machines after 8-15 s
            answered = rng.uniform(8, 15)
            book.dial_ended(MACHINE, 0.0, None, None, answered + 20, answered=answered)
        else:  # no answer: over at 25 s
            book.dial_ended(NO_ANSWER, 0.0, None, None, 25.0)
    chances = [book.live_chance(age) for age in (0.0, 4.0, 8.0, 12.0, 20.0)]
    assert chances == sorted(chances, reverse=True)
    assert 0.25 < chances[0] < 0.4 and chances[-1] == 0.0
    assert book.live_chance(30.0, queued=True) == 1.0
    assert 0.5 < book.live_chance(9.0, answered=True) < 0.7  # people among the answered
