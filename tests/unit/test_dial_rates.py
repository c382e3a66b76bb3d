"""A campaign's recent rates (console/services/outbound/dial_rates.py): priors first, then the
cohort of dials placed long enough ago; the chance a dial in flight still brings a live answer."""

from __future__ import annotations

import random

from console.services.outbound.dial_rates import (
    PRIOR_HORIZON,
    PRIOR_LIVE,
    DialRecord,
    RateBook,
)


def live(placed: float, answered: float, queued: float) -> DialRecord:
    return DialRecord(placed, answered, queued, None, True)


def other(placed: float, stopped: float, *, answered: bool = False) -> DialRecord:
    if answered:  # a machine: answered, never live
        return DialRecord(placed, stopped, None, None, False)
    return DialRecord(placed, None, None, stopped, False)


def test_a_new_campaign_paces_from_the_priors() -> None:
    book = RateBook()
    book.refresh(0.0)
    rates = book.rates(0, 0)
    assert (rates.live_rate, rates.horizon) == (PRIOR_LIVE[0], PRIOR_HORIZON[0])


def test_rates_follow_the_cohort_of_settled_dials() -> None:
    book = RateBook(window=200, settle=45)
    for i in range(200):
        book.placed(live(i, i + 5.0, i + 7.0) if i % 2 else other(i, i + 1.0))
    book.talk_ended(0.0, 100.0)
    book.refresh(1000.0)
    rates = book.rates(100, 2)
    assert 0.45 < rates.live_rate < 0.5  # 100 of 200, pulled a little toward 30 %
    assert 7.0 <= rates.horizon < 8.0
    assert (rates.live_30d, rates.abandoned_30d) == (100, 2)


def test_dials_placed_too_recently_do_not_count_yet() -> None:
    """The first seconds of a campaign: the busy ones are back, the live answers are not.
    Counting what is back would say nobody answers (and pacing would flood the lines)."""
    book = RateBook(settle=45)
    for i in range(100):
        book.placed(other(i * 0.01, i * 0.01 + 1.0) if i % 5 == 0 else live(i * 0.01, 99, 99))
    book.refresh(10.0)  # ten seconds in: none settled
    assert book.rates(0, 0).live_rate == PRIOR_LIVE[0]
    book.refresh(60.0)
    assert book.rates(0, 0).live_rate > 0.6  # 80 of 100 live, once settled


def test_a_dial_that_rang_longer_than_live_answers_take_has_little_chance_left() -> None:
    book = RateBook()
    rng = random.Random(3)
    for i in range(300):
        kind = rng.random()
        if kind < 0.3:  # people answer within 3-10 s
            answered = i + rng.uniform(3, 10)
            book.placed(live(i, answered, answered + 2))
        elif kind < 0.5:  # machines after 8-15 s
            book.placed(other(i, i + rng.uniform(8, 15), answered=True))
        else:  # no answer: over at 25 s
            book.placed(other(i, i + 25.0))
    book.refresh(1000.0)
    chances = [book.live_chance(age) for age in (0.0, 4.0, 8.0, 12.0, 20.0)]
    assert chances == sorted(chances, reverse=True)
    assert 0.25 < chances[0] < 0.4 and chances[-1] == 0.0
    assert book.live_chance(30.0, queued=True) == 1.0
    assert 0.5 < book.live_chance(9.0, answered=True) < 0.7  # people among the answered


def test_a_campaign_is_learning_until_enough_dials_have_settled() -> None:
    book = RateBook(settle=45)
    for i in range(40):
        book.placed(other(float(i), i + 1.0))
    book.refresh(50.0)  # five settled
    assert book.learning
    book.refresh(200.0)  # all forty
    assert not book.learning
