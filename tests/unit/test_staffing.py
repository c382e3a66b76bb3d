"""The staffing figures, against values worked out by hand."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import pytest

from callkit.metrics import MetricDefinitions, Outcome, QueueCall
from console.services.supervision.live_types import AgentActivity, BoardSnapshot
from console.services.supervision.queue_targets import QueueTargets, TargetBook
from console.services.supervision.staffing import (
    StaffingError,
    StaffingInput,
    WhatIf,
    estimate_traffic,
    measure,
    staffing_view,
)
from tests.unit.test_alerts import agent_live, board, queue_live

# 100 calls in 30 minutes, AHT 180 s: A = 10 erlangs (the textbook case).
CLASSIC = StaffingInput(rate=100 / 1800, aht=180.0, agents=12, queue="support")


def test_erlang_c_figures_at_the_staffing_and_agents_needed() -> None:
    view = staffing_view(CLASSIC)
    assert view.traffic == pytest.approx(10.0)
    c = view.at_staffing_c
    # Erlang C(10, 12) = 0.4494 (tables); ASA = 0.4494 · 180 / (12 − 10) = 40.4 s;
    # SL(20 s) = 1 − 0.4494 · e^(−2 · 20 / 180) = 1 − 0.4494 · 0.8007 = 0.6402.
    assert c.p_wait == pytest.approx(0.4494, abs=1e-4)
    assert c.asa == pytest.approx(40.44, abs=0.01)
    assert c.service_level == pytest.approx(0.6402, abs=1e-4)
    assert c.occupancy == pytest.approx(10 / 12)
    assert c.p_abandon == 0.0
    # 80/20 needs 14 (SL 0.8884); ASA ≤ 30 s needs 13 (0.2853 · 180 / 3 = 17.1 s; 12 give 40.4).
    assert (view.needed_sl_c, view.needed_asa_c, view.needed_c) == (14, 13, 14)
    assert view.at_staffing_a is None and view.needed_a is None  # no patience measured


def test_what_if_overrides_agents_rate_and_aht() -> None:
    more = staffing_view(CLASSIC, WhatIf(agents=14))
    assert more.effective.agents == 14 and more.measured.agents == 12
    assert more.at_staffing_c.service_level == pytest.approx(0.8884, abs=1e-4)
    assert more.at_staffing_c.p_wait == pytest.approx(0.1741, abs=1e-4)
    # 40 calls/h, AHT 180 s = 2 erlangs on 3 agents: C = 4/9, ASA = 4/9 · 180 / 1 = 80 s,
    # SL = 1 − 4/9 · e^(−20/180) = 0.6023. Four agents: B(2, 4) = 0.0952, C = 0.1739,
    # SL = 1 − 0.1739 · e^(−40/180) = 0.8607 and ASA = 0.1739 · 90 = 15.7 s: both met.
    small = staffing_view(CLASSIC, WhatIf(agents=3, rate=40 / 3600))
    assert small.traffic == pytest.approx(2.0)
    assert small.at_staffing_c.p_wait == pytest.approx(4 / 9)
    assert small.at_staffing_c.asa == pytest.approx(80.0)
    assert small.at_staffing_c.service_level == pytest.approx(0.6023, abs=1e-4)
    assert small.at_staffing_c.occupancy == pytest.approx(2 / 3)
    assert (small.needed_sl_c, small.needed_asa_c) == (4, 4)
    # AHT 90 s: 5 erlangs. C(5, 7) = 0.3241, SL = 1 − 0.3241 · e^(−2 · 20 / 90) = 0.7922 < 0.8;
    # C(5, 8) = 0.1673, SL = 1 − 0.1673 · e^(−3 · 20 / 90) = 0.9141: 8 agents.
    shorter = staffing_view(CLASSIC, WhatIf(aht=90.0))
    assert shorter.traffic == pytest.approx(5.0) and shorter.needed_sl_c == 8
    assert WhatIf().empty and not WhatIf(agents=1).empty


def test_erlang_a_single_agent_with_patience_equal_to_aht() -> None:
    # With patience = AHT the number in the system is Poisson(A). A = 1 on one agent:
    # P(wait) = 1 − e^−1 = 0.6321, P(abandon) = E[(K − 1)+] / A = e^−1 = 0.3679,
    # occupancy = A · (1 − P(abandon)) / 1 = 0.6321.
    inp = StaffingInput(rate=1 / 180, aht=180.0, agents=1, patience=180.0)
    a = staffing_view(inp).at_staffing_a
    assert a is not None
    assert a.p_wait == pytest.approx(1 - math.exp(-1))
    assert a.p_abandon == pytest.approx(math.exp(-1))
    assert a.occupancy == pytest.approx(1 - math.exp(-1))
    # Erlang C has the one agent fully loaded: the queue grows without end.
    c = staffing_view(inp).at_staffing_c
    assert (c.p_wait, c.service_level, c.occupancy) == (1.0, 0.0, 1.0) and math.isinf(c.asa)


def test_erlang_a_needs_fewer_agents_when_callers_abandon() -> None:
    view = staffing_view(CLASSIC, WhatIf(patience=120.0))
    assert view.needed_sl_a is not None and view.needed_asa_a is not None
    assert (view.needed_sl_c, view.needed_asa_c) == (14, 13)
    assert view.needed_sl_a <= 14 and view.needed_asa_a <= 13
    a = view.at_staffing_a
    assert a is not None and a.p_abandon > 0 and a.service_level > view.at_staffing_c.service_level


def test_targets_out_of_reach_and_bad_inputs() -> None:
    huge = staffing_view(StaffingInput(rate=100.0, aht=100.0, agents=10, patience=60.0))
    assert huge.needed_sl_c is None and huge.needed_c is None  # 10,000 erlangs
    assert huge.needed_sl_a is None
    with pytest.raises(StaffingError, match="no AHT"):
        staffing_view(StaffingInput(rate=0.01, aht=None, agents=3))
    assert staffing_view(StaffingInput(rate=0.01, aht=None, agents=3), WhatIf(aht=60.0))
    with pytest.raises(StaffingError, match="AHT must be more than 0"):
        staffing_view(CLASSIC, WhatIf(aht=0.0))
    with pytest.raises(StaffingError, match="patience"):
        staffing_view(CLASSIC, WhatIf(patience=-1.0))


# ------------------------------------------------------------------ from calls and the board

NOW = 10_000.0


def visit(entered: float, outcome: Outcome, wait: float, **kw: Any) -> QueueCall:
    kw.setdefault("queue", "support")
    return QueueCall(callid=f"c{entered}", entered_at=entered, outcome=outcome, wait=wait, **kw)


def recent_calls() -> list[QueueCall]:
    return [
        visit(NOW - 2000, Outcome.ANSWERED, 5.0),  # entered before the 30-minute window
        visit(
            NOW - 1700,
            Outcome.ANSWERED,
            10.0,
            completed=True,
            talk=100.0,
            wrap=20.0,
            ended_at=NOW - 1500,
        ),
        visit(
            NOW - 1000,
            Outcome.ANSWERED,
            20.0,
            completed=True,
            talk=200.0,
            hold=30.0,
            wrap=10.0,
            ended_at=NOW - 700,
        ),
        visit(NOW - 900, Outcome.ABANDONED, 30.0),
        visit(NOW - 600, Outcome.ABANDONED, 50.0),
        visit(NOW - 300, Outcome.EXITED, 15.0),
        visit(NOW - 40, Outcome.WAITING, 0.0),
        visit(NOW - 100, Outcome.ANSWERED, 3.0, queue="billing"),
    ]


def test_traffic_from_the_last_n_minutes_of_calls() -> None:
    est = estimate_traffic(recent_calls(), NOW, 30, queue="support")
    # 6 support visits entered in the last 1800 s; two conversations ended in it:
    # (100 + 20) and (200 + 10; the 30 s of hold are inside the talk) → AHT 165 s.
    assert (est.window, est.offered, est.handled, est.abandoned) == (1800.0, 6, 2, 2)
    assert est.rate == pytest.approx(6 / 1800)
    assert est.aht == pytest.approx(165.0)
    # Patience: waits 10 + 20 + 30 + 50 + 15 and 40 s so far = 165 s over 2 abandons.
    assert est.patience == pytest.approx(82.5)
    assert estimate_traffic(recent_calls(), NOW, 30).offered == 7  # all queues
    # A board that started 10 minutes ago has seen 10 minutes of arrivals.
    short = estimate_traffic(recent_calls(), NOW, 30, queue="support", since=NOW - 600)
    assert (short.window, short.offered) == (600.0, 3) and short.rate == pytest.approx(3 / 600)
    assert short.aht is None and short.patience == pytest.approx(105 / 1)
    with pytest.raises(ValueError):
        estimate_traffic([], NOW, 0)


def staffed_board(at: float) -> BoardSnapshot:
    agents = (
        agent_live("ann", AgentActivity.AVAILABLE, 0.0, queues=("support",)),
        agent_live("bob", AgentActivity.ON_CALL, 0.0, queues=("support", "billing")),
        agent_live("cy", AgentActivity.WRAP_UP, 0.0, queues=("billing",)),
        agent_live("dee", AgentActivity.NOT_READY, 0.0, queues=("support",)),
        agent_live("eve", AgentActivity.LOGGED_OUT, 0.0, queues=()),
    )
    queues = (
        queue_live("support", offered=720, handled=100, handle_time=18_000.0),
        queue_live("billing", offered=360, handled=0),
    )
    return board(at, queues, agents)


def test_measure_takes_staffing_from_the_board_and_targets_from_the_book() -> None:
    book = TargetBook(QueueTargets(), {"billing": QueueTargets(asa=15.0, asa_amber=20.0)})
    snap = staffed_board(NOW)
    definitions = MetricDefinitions(sl_threshold=30.0)
    support = measure(snap, book, queue="support", calls=recent_calls(), definitions=definitions)
    assert support.agents == 2  # ann and bob: not-ready and logged-out agents are not staffed
    assert support.rate == pytest.approx(6 / 1800) and support.aht == pytest.approx(165.0)
    assert support.patience == pytest.approx(82.5) and support.source == "last 30 min"
    assert (support.sl_target, support.sl_threshold, support.asa_target) == (0.8, 30.0, 30.0)
    billing = measure(snap, book, queue="billing", calls=recent_calls())
    assert billing.agents == 2 and billing.asa_target == 15.0  # bob and cy (wrap-up counts)
    everyone = measure(snap, book, calls=recent_calls())
    assert (
        everyone.agents == 3 and everyone.queue == "" and everyone.rate == pytest.approx(7 / 1800)
    )


def test_measure_falls_back_to_todays_figures_without_recent_calls() -> None:
    at = datetime(2026, 11, 2, 10, 0).timestamp()  # 10:00 local: 36,000 s since midnight
    support = measure(staffed_board(at), TargetBook(), queue="support")
    assert support.rate == pytest.approx(720 / 36_000) and support.aht == pytest.approx(180.0)
    assert support.patience is None and support.source == "today"
    billing = measure(staffed_board(at), TargetBook(), queue="billing", calls=[])
    assert billing.rate == pytest.approx(360 / 36_000) and billing.aht is None
    with pytest.raises(StaffingError, match="no AHT"):
        staffing_view(billing)
