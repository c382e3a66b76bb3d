"""The metric definitions against hand-computed figures (docs/metrics.md).

Every expected number below is worked out by hand in the comment beside it, so a change in a
definition shows up as a failing line that says which figure moved.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from callkit.metrics import (
    AbandonTreatment,
    FigureBuilder,
    MetricDefinitions,
    Outcome,
    QueueCall,
    QueueFigures,
    abandon_rate,
    aht,
    asa,
    fcr,
    occupancy,
    service_level,
    summarise,
)
from console.services.supervision.call_ledger import CallLedger, StaffedInterval
from console.services.supervision.reports import GroupBy, LocalTime, ReportData, make_report

T = AbandonTreatment
DEFS = MetricDefinitions(sl_threshold=20, short_abandon=5)

# 20 offered: 14 answered (10 within 20 s), 5 abandoned (2 short, 2 more within 20 s), 1 exited.
FIG = QueueFigures(
    offered=20,
    answered=14,
    abandoned=5,
    short_abandoned=2,
    answered_within=10,
    abandoned_within=2,
    total_wait_answered=210.0,
    handled=12,
    talk_time=1800.0,
    hold_time=120.0,
    wrap_time=240.0,
    longest_wait=95.0,
    busy_time=2160.0,
    staffed_time=3600.0,
    exited=1,
)


# ----------------------------------------------------------------- the functions


def test_service_level_under_each_treatment() -> None:
    # abandons against: 10 / (14 + 5 - 2) = 10/17; short abandons are not calls.
    assert service_level(FIG, T.ABANDONS_AGAINST) == pytest.approx(10 / 17)
    # Asterisk SL: 10 / 14, abandons ignored.
    assert service_level(FIG, T.ASTERISK_SL) == pytest.approx(10 / 14)
    # Asterisk SL2: (10 + 2) / (14 + 3): an abandon within 20 s meets the target.
    assert service_level(FIG, T.ASTERISK_SL2) == pytest.approx(12 / 17)


def test_asa_aht_abandon_rate_occupancy_fcr() -> None:
    assert asa(FIG) == pytest.approx(15.0)  # 210 s / 14
    assert aht(FIG) == pytest.approx(180.0)  # (1800 + 120 + 240) / 12
    assert abandon_rate(FIG) == pytest.approx(3 / 18)  # (5 - 2) / (20 - 2)
    assert occupancy(FIG) == pytest.approx(0.6)  # 2160 / 3600
    assert fcr(10, 3) == pytest.approx(0.7)  # 7 of 10 contacts not repeated


def test_empty_denominators_are_no_value_not_zero() -> None:
    empty = QueueFigures()
    for treatment in T:
        assert service_level(empty, treatment) is None
    assert asa(empty) is None and aht(empty) is None
    assert abandon_rate(empty) is None and occupancy(empty) is None
    assert fcr(0, 0) is None
    # Only short abandons: no call counts, so no abandon rate and no SL (not 0 %, not 100 %).
    shorts = QueueFigures(offered=2, abandoned=2, short_abandoned=2)
    assert abandon_rate(shorts) is None
    assert service_level(shorts, T.ABANDONS_AGAINST) is None


def test_summarise_uses_the_chosen_treatment() -> None:
    s = summarise(FIG, MetricDefinitions(treatment=T.ASTERISK_SL2))
    assert s.service_level == pytest.approx(12 / 17)
    assert (s.offered, s.answered, s.abandoned, s.short_abandoned, s.exited) == (20, 14, 5, 2, 1)
    assert s.asa == pytest.approx(15.0) and s.aht == pytest.approx(180.0)


def test_the_active_definition_is_described() -> None:
    against = MetricDefinitions(sl_threshold=30, short_abandon=4)
    assert against.describe_sl() == (
        "SL = answered ≤30s / (answered + abandoned); abandons <4s ignored"
    )
    assert MetricDefinitions(treatment=T.ASTERISK_SL).describe_sl() == (
        "SL = answered ≤20s / answered"
    )
    sl2 = MetricDefinitions(treatment=T.ASTERISK_SL2).describe()
    assert sl2.startswith("SL = (answered ≤20s + abandoned ≤20s) / (answered + abandoned)")
    assert "FCR window 7 d" in sl2


@pytest.mark.parametrize(
    "bad",
    [
        {"sl_threshold": -1},
        {"short_abandon": -0.5},
        {"fcr_window_days": 0},
        {"sl_threshold": math.nan},
        {"short_abandon": math.inf},
    ],
)
def test_definitions_refuse_impossible_knobs(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        MetricDefinitions(**bad)  # type: ignore[arg-type]


# ----------------------------------------------------------------- visits → figures


def _call(outcome: Outcome, wait: float, **kw: object) -> QueueCall:
    return QueueCall(
        "c", "q", entered_at=kw.pop("entered_at", 0.0), outcome=outcome, wait=wait, **kw
    )  # type: ignore[arg-type]


def test_figure_builder_counts_thresholds_and_short_abandons() -> None:
    calls = [
        _call(Outcome.ANSWERED, 10, completed=True, talk=100, hold=20, wrap=30),
        _call(Outcome.ANSWERED, 20, completed=True, talk=50),  # exactly T: within
        _call(Outcome.ANSWERED, 25),  # still talking: answered, not handled
        _call(Outcome.ABANDONED, 3),  # short
        _call(Outcome.ABANDONED, 5),  # not short (< 5 is), within T
        _call(Outcome.ABANDONED, 30),
        _call(Outcome.EXITED, 60),
        _call(Outcome.WAITING, 0, entered_at=100.0),  # waiting 100 s at now=200
    ]
    f = FigureBuilder(DEFS).add_all(calls, now=200.0).figures()
    assert (f.offered, f.answered, f.answered_within, f.handled) == (8, 3, 2, 2)
    assert (f.abandoned, f.short_abandoned, f.abandoned_within, f.exited) == (3, 1, 1, 1)
    assert f.total_wait_answered == 55  # 10 + 20 + 25
    assert f.longest_wait == 100  # the caller still waiting
    assert (f.talk_time, f.hold_time, f.wrap_time) == (130, 20, 30)  # talk excludes hold
    assert f.busy_time == 180
    assert service_level(f, T.ABANDONS_AGAINST) == pytest.approx(2 / 5)  # 2 / (3 + 3 - 1)
    assert service_level(f, T.ASTERISK_SL) == pytest.approx(2 / 3)
    assert service_level(f, T.ASTERISK_SL2) == pytest.approx(3 / 5)  # (2 + 1) / (3 + 2)
    assert abandon_rate(f) == pytest.approx(2 / 7)  # (3 - 1) / (8 - 1)
    assert aht(f) == pytest.approx(90.0)  # (130 + 20 + 30) / 2


def test_short_abandon_threshold_zero_is_asterisks_sl2() -> None:
    # With no short-abandon threshold, SL2 is exactly Asterisk's ServicelevelPerf2.
    defs = MetricDefinitions(sl_threshold=20, short_abandon=0, treatment=T.ASTERISK_SL2)
    calls = [_call(Outcome.ANSWERED, 4), _call(Outcome.ABANDONED, 2), _call(Outcome.ABANDONED, 40)]
    f = FigureBuilder(defs).add_all(calls).figures()
    assert f.short_abandoned == 0
    assert service_level(f, defs.treatment) == pytest.approx(2 / 3)  # (1 + 1) / (1 + 2)


# ----------------------------------------------------------------- the call ledger


def _figures(
    ledger: CallLedger, queue: str | None = None, now: float | None = None
) -> QueueFigures:
    visits = [v for v in ledger.visits if queue is None or v.queue == queue]
    builder = FigureBuilder(DEFS).add_all(visits, now)
    if queue is not None and now is not None:
        builder.staffed_time = ledger.staffed_time(queue, now)
    return builder.figures()


def test_provisional_exit_then_connect_is_an_answer() -> None:
    # AMI order: QueueCallerLeave (exit, wait unknown) comes before AgentConnect.
    ledger = CallLedger()
    ledger.enter("c1", "q", 100.0)
    ledger.exit("c1", "q", None, 112.0)
    ledger.connect("c1", "q", "alice", 12.0, 112.0)
    f = _figures(ledger)
    assert (f.offered, f.answered, f.exited, f.answered_within) == (1, 1, 0, 1)
    assert f.total_wait_answered == 12


def test_exit_without_connect_stays_an_exit_and_abandon_overrides_it() -> None:
    ledger = CallLedger()
    ledger.enter("c1", "q", 0.0)
    ledger.exit("c1", "q", None, 90.0)  # timeout: wait = 90 s since it entered
    ledger.enter("c2", "q", 0.0)
    ledger.exit("c2", "q", None, 8.0)
    ledger.abandon("c2", "q", 8.0, 8.0)  # the leave raced ahead of the abandon
    f = _figures(ledger)
    assert (f.offered, f.exited, f.abandoned, f.answered) == (2, 1, 1, 0)
    assert ledger.visits[0].wait == 90


def test_repeated_frames_count_once() -> None:
    ledger = CallLedger()
    ledger.enter("c1", "q", 0.0)
    assert ledger.enter("c1", "q", 1.0) is None  # a repeat while waiting
    ledger.connect("c1", "q", "alice", 5.0, 5.0)
    ledger.connect("c1", "q", "alice", 5.0, 5.0)
    assert ledger.complete("c1", "q", "alice", 5.0, 60.0, 65.0) is not None
    assert ledger.complete("c1", "q", "alice", 5.0, 60.0, 65.0) is None
    f = _figures(ledger)
    assert (f.offered, f.answered, f.handled) == (1, 1, 1)


def test_a_transferred_call_is_handled_in_a_and_offered_again_in_b() -> None:
    ledger = CallLedger()
    ledger.enter("c1", "A", 0.0)
    ledger.connect("c1", "A", "alice", 10.0, 10.0)
    ledger.complete("c1", "A", "alice", 10.0, 60.0, 70.0, transferred=True)
    ledger.enter("c1", "B", 70.0)  # the same call id, a new visit in B
    ledger.connect("c1", "B", "bob", 30.0, 100.0)
    ledger.complete("c1", "B", "bob", 30.0, 120.0, 220.0)
    a, b = _figures(ledger, "A"), _figures(ledger, "B")
    assert (a.offered, a.answered, a.handled, a.transferred, a.talk_time) == (1, 1, 1, 1, 60)
    assert (b.offered, b.answered, b.handled, b.transferred, b.talk_time) == (1, 1, 1, 0, 120)
    assert (a.answered_within, b.answered_within) == (1, 0)  # 10 s vs 30 s in B's queue
    assert aht(a) == 60 and aht(b) == 120


def _one_call(ledger: CallLedger, callid: str, agent: str, t: float, talk: float = 60.0) -> None:
    """A call entering at t, answered at t + 5, ending after ``talk`` seconds."""
    ledger.enter(callid, "q", t)
    ledger.connect(callid, "q", agent, 5.0, t + 5)
    ledger.complete(callid, "q", agent, 5.0, talk, t + 5 + talk)


def test_after_call_work_pause_is_the_last_calls_wrap_up() -> None:
    ledger = CallLedger()
    ledger.member("alice", "q", 0.0, logged_in=True, paused=False)
    _one_call(ledger, "c1", "alice", 0.0)  # ends at 65
    ledger.member("alice", "q", 65.0, logged_in=True, paused=True, reason="ACW")
    assert ledger.wrapping("alice") is ledger.visits[0]
    ledger.member("alice", "q", 95.0, logged_in=True, paused=False)  # ready: 30 s of wrap-up
    _one_call(ledger, "c2", "alice", 100.0)  # ends at 165
    ledger.member("alice", "q", 170.0, logged_in=True, paused=True, reason="Lunch")  # not ACW
    ledger.member("alice", "q", 400.0, logged_in=True, paused=False)
    ledger.member("alice", "q", 410.0, logged_in=True, paused=True, reason="acw")  # no fresh call
    ledger.member("alice", "q", 420.0, logged_in=True, paused=False)
    c1, c2 = ledger.visits
    assert (c1.wrap, c2.wrap) == (30.0, 0.0)
    f = _figures(ledger)
    assert aht(f) == pytest.approx((60 + 30 + 60) / 2)


def test_wrap_up_starts_at_completion_when_the_acw_pause_came_first() -> None:
    ledger = CallLedger()
    ledger.member("alice", "q", 0.0, logged_in=True, paused=False)
    ledger.enter("c1", "q", 0.0)
    ledger.connect("c1", "q", "alice", 5.0, 5.0)
    ledger.member("alice", "q", 64.0, logged_in=True, paused=True, reason="acw")  # raced ahead
    ledger.complete("c1", "q", "alice", 5.0, 60.0, 65.0)
    ledger.member("alice", "q", 95.0, logged_in=True, paused=False)
    assert ledger.visits[0].wrap == 30.0


def test_wrap_up_ends_at_logout_or_next_answer() -> None:
    ledger = CallLedger()
    for queue in ("q", "r"):
        ledger.member("alice", queue, 0.0, logged_in=True, paused=False)
    _one_call(ledger, "c1", "alice", 0.0)  # ends at 65
    ledger.member("alice", "q", 65.0, logged_in=True, paused=True, reason="acw")
    ledger.member("alice", "q", 80.0, logged_in=False, paused=False)  # logs out of q
    assert ledger.visits[0].wrap == 15.0
    _one_call(ledger, "c2", "alice", 100.0)  # ends at 165
    ledger.member("alice", "r", 165.0, logged_in=True, paused=True, reason="acw")
    ledger.connect("c3", "r", "alice", 0.0, 175.0)  # answered again (a source without unpause)
    assert ledger.visits[1].wrap == 10.0


def test_occupancy_from_staffed_time() -> None:
    # alice: logged in 0..400, at lunch 100..160 (not staffed), in ACW 65..95 (staffed).
    ledger = CallLedger(keep_intervals=True)
    ledger.member("alice", "q", 0.0, logged_in=True, paused=False)
    _one_call(ledger, "c1", "alice", 0.0)  # talk 5..65
    ledger.member("alice", "q", 65.0, logged_in=True, paused=True, reason="acw")
    ledger.member("alice", "q", 95.0, logged_in=True, paused=False)
    ledger.member("alice", "q", 100.0, logged_in=True, paused=True, reason="Lunch")
    ledger.member("alice", "q", 160.0, logged_in=True, paused=False)
    assert ledger.staffed_time("q", 300.0) == pytest.approx(100 + 140)  # open interval to now
    ledger.member("alice", "q", 400.0, logged_in=False, paused=False)
    f = _figures(ledger, "q", now=1000.0)
    assert f.staffed_time == pytest.approx(340.0)  # 400 − 60 at lunch
    assert f.busy_time == pytest.approx(90.0)  # 60 talk + 30 wrap-up
    assert occupancy(f) == pytest.approx(90 / 340)
    assert list(ledger.staffed_intervals(1000.0)) == [
        StaffedInterval("alice", "q", 0.0, 65.0),
        StaffedInterval("alice", "q", 65.0, 95.0),
        StaffedInterval("alice", "q", 95.0, 100.0),
        StaffedInterval("alice", "q", 160.0, 400.0),
    ]


def test_since_clips_staffed_time_and_drops_earlier_visits() -> None:
    ledger = CallLedger(since=50.0, keep_intervals=True)
    ledger.member("alice", "q", 0.0, logged_in=True, paused=False)
    _one_call(ledger, "early", "alice", 10.0)  # entered before the period
    _one_call(ledger, "late", "alice", 80.0)
    assert [v.callid for v in ledger.visits] == ["late"]
    assert ledger.staffed_time("q", 200.0) == pytest.approx(150.0)  # 50..200
    assert list(ledger.staffed_intervals(200.0)) == [StaffedInterval("alice", "q", 50.0, 200.0)]


def test_an_event_for_an_unseen_visit_back_dates_it() -> None:
    # The source started mid-call: the abandon says the caller waited 40 s.
    ledger = CallLedger()
    ledger.abandon("c9", "q", 40.0, 1000.0)
    ledger.exit("c8", "q", 30.0, 1000.0)  # AMI: a leave alone is not a visit
    ledger.exit("c7", "q", 30.0, 1000.0, back_date=True)  # queue_log: it is, with its wait
    assert [(v.callid, v.entered_at, v.outcome) for v in ledger.visits] == [
        ("c9", 960.0, Outcome.ABANDONED),
        ("c7", 970.0, Outcome.EXITED),
    ]


# ----------------------------------------------------------------- periods


def _data(calls: list[QueueCall], start: datetime, end: datetime, tz: LocalTime) -> ReportData:
    return ReportData(
        start.timestamp(), end.timestamp(), tz, tuple(calls), (), None, now=end.timestamp()
    )


def test_a_call_spanning_midnight_counts_on_the_day_it_entered() -> None:
    day1 = datetime(2026, 11, 1, tzinfo=UTC)
    late = (day1 + timedelta(hours=23, minutes=59, seconds=50)).timestamp()
    spanning = QueueCall(
        "c1", "q", late, Outcome.ANSWERED, wait=20, agent="alice", completed=True, talk=600
    )
    morning = QueueCall("c2", "q", late + 3600, Outcome.ABANDONED, wait=30)
    data = _data([spanning, morning], day1, day1 + timedelta(days=2), LocalTime(UTC))
    rows = {r.key: r for r in make_report(data, GroupBy.DAY, DEFS).rows}
    assert list(rows) == ["2026-11-01", "2026-11-02"]
    assert (rows["2026-11-01"].figures.answered, rows["2026-11-01"].figures.handled) == (1, 1)
    assert rows["2026-11-01"].figures.talk_time == 600  # all of it, though it ended on day 2
    assert (rows["2026-11-02"].figures.offered, rows["2026-11-02"].figures.abandoned) == (1, 1)
    # The same calls in UTC+08:00: 23:59:50 UTC is 07:59:50 on 2 November there.
    east = LocalTime(timezone(timedelta(hours=8)))
    start = datetime(2026, 11, 1, tzinfo=east.tz)
    rows = {
        r.key: r
        for r in make_report(
            _data([spanning, morning], start, start + timedelta(days=2), east), GroupBy.DAY, DEFS
        ).rows
    }
    assert (rows["2026-11-01"].figures.offered, rows["2026-11-02"].figures.offered) == (0, 2)
