"""Reading queue_log files: Asterisk events into the call ledger; bad lines counted, not fatal."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callkit.metrics import FigureBuilder, MetricDefinitions, Outcome, QueueFigures
from console.services.supervision.call_ledger import CallLedger
from console.services.supervision.queue_log_reader import (
    MAX_LINE,
    QueueLogError,
    QueueLogLine,
    QueueLogReader,
    QueueLogUnreadable,
    ReadStats,
    parse_line,
    read_queue_log,
)
from telephony_sim.queue_log import QueueLog

# A real Asterisk 20 shape: member admin, answered, abandoned, timeouts, key exits, transfers.
ASTERISK_LOG = """\
1700000000|NONE|NONE|NONE|QUEUESTART|
1700000000|NONE|support|Alice|ADDMEMBER|
1700000000|SHARED|support|Bob|ADDMEMBER|PAUSED
1700000010|NONE|support|Bob|UNPAUSE|
1700000100|1700000100.1|support|NONE|DID|600
1700000100|1700000100.1|support|NONE|ENTERQUEUE||+14155550100|1
1700000106|1700000100.1|support|Bob|RINGNOANSWER|6000
1700000112|1700000100.1|support|Alice|CONNECT|12|1700000112.2|6
1700000172|1700000100.1|support|Alice|COMPLETECALLER|12|60|1
1700000172|NONE|support|Alice|PAUSE|acw
1700000202|NONE|support|Alice|UNPAUSE|
1700000200|1700000200.3|support|NONE|ENTERQUEUE||+14155550101|1
1700000203|1700000200.3|support|NONE|ABANDON|1|1|3
1700000300|1700000300.4|support|NONE|ENTERQUEUE||+14155550102|1
1700000309|1700000300.4|support|NONE|ABANDON|1|1|9
1700000400|1700000400.5|support|NONE|ENTERQUEUE||+14155550103|1
1700000520|1700000400.5|support|NONE|EXITWITHTIMEOUT|1|1|120
1700000600|1700000600.6|support|NONE|ENTERQUEUE||+14155550104|1
1700000607|1700000600.6|support|NONE|EXITWITHKEY|5|1|1|7
1700000700|1700000700.7|support|NONE|ENTERQUEUE||+14155550105|1
1700000705|1700000700.7|support|Bob|CONNECT|5|1700000705.8|2
1700000765|1700000700.7|support|Bob|BLINDTRANSFER|602|from-queue|5|60|1
1700000765|1700000700.7|billing|NONE|ENTERQUEUE||+14155550105|1
1700000800|1700000800.9|support|NONE|ENTERQUEUE||+14155550106|1
1700000830|1700000800.9|support|Alice|CONNECT|30|1700000830.10|3
1700000930|1700000800.9|support|Alice|ATTENDEDTRANSFER|BRIDGE|1700000830.11|30|100|1
1700000990|NONE|NONE|Alice|PAUSEALL|
1700000990|NONE|support|Alice|PAUSE|Lunch
1700001000|1700001000.12|support|NONE|ENTERQUEUE||+14155550107|1
1700001050|1700001000.12|support|NONE|EXITEMPTY|1|1|50
1700001100|NONE|support|Bob|REMOVEMEMBER|
1700001100|NONE|NONE|NONE|CONFIGRELOAD|
1700001100|1700001100.13|support|NONE|SITECUSTOM|hello
"""


def _read(text: str, ledger: CallLedger | None = None) -> tuple[CallLedger, ReadStats]:
    ledger = ledger or CallLedger(keep_intervals=True)
    stats = ReadStats()
    QueueLogReader(ledger).feed(io.StringIO(text), stats)
    return ledger, stats


def _figures(ledger: CallLedger, queue: str) -> QueueFigures:
    defs = MetricDefinitions(sl_threshold=20, short_abandon=5)
    visits = [v for v in ledger.visits if v.queue == queue]
    return FigureBuilder(defs).add_all(visits).figures()


def test_an_asterisk_log_becomes_the_right_figures() -> None:
    ledger, stats = _read(ASTERISK_LOG)
    assert stats.bad == 0
    assert stats.unknown_events == {"SITECUSTOM": 1}  # counted, not an error
    f = _figures(ledger, "support")
    # 8 callers entered support: 3 answered, 2 abandoned (one short), 3 left without an agent.
    assert (f.offered, f.answered, f.abandoned, f.short_abandoned, f.exited) == (8, 3, 2, 1, 3)
    assert (f.handled, f.transferred, f.answered_within) == (3, 2, 2)  # waits 12, 5, 30
    assert f.total_wait_answered == 47
    assert f.talk_time == 60 + 60 + 100
    assert f.wrap_time == 30  # Alice's acw pause after the first call
    assert f.longest_wait == 120
    billing = _figures(ledger, "billing")
    assert (billing.offered, billing.answered) == (1, 0)  # the transferred caller, waiting
    # Staffed: Alice 0..990 (acw counts), Bob 10..1100 (added paused at 0).
    assert ledger.staffed_time("support", 2000.0 + 1_700_000_000) == pytest.approx(990 + 1090)
    exits = [v for v in ledger.visits if v.outcome is Outcome.EXITED]
    assert [v.wait for v in exits] == [120, 7, 50]


def test_lines_written_by_the_simulator_read_back() -> None:
    out = io.StringIO()
    qlog = QueueLog(out)
    qlog.write(1_700_000_000.7, "1700000000.1", "sales", "", "ENTERQUEUE", "", "+1 (415) 555|01")
    qlog.write(1_700_000_009, "1700000000.1", "sales", "Ann Lee", "CONNECT", 9, "170.2", 3)
    qlog.write(1_700_000_099, "1700000000.1", "sales", "Ann Lee", "TRANSFER", "602", "ctx", 9, 90)
    lines = [parse_line(line) for line in out.getvalue().splitlines()]
    assert lines[0] == QueueLogLine(
        1_700_000_000, "1700000000.1", "sales", "NONE", "ENTERQUEUE", ("", "+1 (415) 555/01")
    )
    ledger, stats = _read(out.getvalue())
    assert stats.bad == 0
    (visit,) = ledger.visits
    assert (visit.agent, visit.wait, visit.talk, visit.transferred) == ("Ann Lee", 9, 90, True)


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("garbage", "1 fields"),
        ("1700000000|c|q|NONE", "4 fields"),
        ("yesterday|c|q|NONE|ENTERQUEUE|", "time 'yesterday' is not a number"),
        ("-5|c|q|NONE|ENTERQUEUE|", "not a time"),
        ("nan|c|q|NONE|ENTERQUEUE|", "not a time"),
        ("1700000000|c|q|NONE||", "no event name"),
        ("1700000000|c|q|NONE|ENTERQUEUE\x00|", "NUL"),
        ("x" * (MAX_LINE + 1), "longer than"),
    ],
)
def test_unreadable_lines_say_why(line: str, why: str) -> None:
    with pytest.raises(QueueLogError, match=why):
        parse_line(line)


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("1|NONE|q|NONE|ENTERQUEUE|", "without a call id"),
        ("1|c|NONE|NONE|ENTERQUEUE|", "without a call id or queue"),
        ("1|c|q|Ann|CONNECT|soon|x|1", "CONNECT holdtime 'soon' is not a number"),
        ("1|c|q|Ann|COMPLETEAGENT|5", "without its calltime"),
        ("1|c|q|NONE|ABANDON|1|1", "without its waittime"),
        ("1|c|q|Ann|ATTENDEDTRANSFER|BRIDGE|x", "without its holdtime"),
        ("1|NONE|q|NONE|PAUSE|acw", "without a member"),
    ],
)
def test_malformed_events_are_refused(line: str, why: str) -> None:
    with pytest.raises(QueueLogError, match=why):
        QueueLogReader(CallLedger()).apply(parse_line(line))


def test_a_bad_file_is_read_to_the_end_and_reported_once(tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    good = "1700000000|c1|q|NONE|ENTERQUEUE||\n1700000005|c1|q|NONE|ABANDON|1|1|5\n"
    junk = b"\xff\xfe\x00binary\n" + b"1700000001|c2|q|Ann|CONNECT|x|y|z\n"
    overlong = b"1" * (3 * MAX_LINE) + b"\n"
    path.write_bytes(good.encode() + junk + overlong + b"\n" + b"not|enough\n" + good.encode())
    ledger = CallLedger()
    stats = read_queue_log(path, ledger)
    assert (stats.lines, stats.bad) == (9, 4)  # the blank line is neither good nor bad
    message = stats.message()
    assert message is not None and "\n" not in message
    assert message.startswith("4 bad lines of 9 skipped (")
    assert f"{path}:3: binary data" in message
    assert f"{path}:4: CONNECT holdtime 'x' is not a number" in message
    assert f"{path}:5: line longer than" in message
    assert message.endswith(", …)")  # the fourth is counted, not quoted
    # The good lines on either side of the junk are all read: c1 came, and came again.
    assert [v.outcome for v in ledger.visits] == [Outcome.ABANDONED, Outcome.ABANDONED]


def test_unreadable_files_raise_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(QueueLogUnreadable, match="missing: cannot read: No such file"):
        read_queue_log(tmp_path / "missing", CallLedger())
    with pytest.raises(QueueLogUnreadable, match="cannot read"):
        read_queue_log(tmp_path, CallLedger())  # a directory


def test_reading_stops_after_until(tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    path.write_text("".join(f"{t}|c{t}|q|NONE|ENTERQUEUE||\n" for t in range(100, 200)))
    stats = read_queue_log(path, CallLedger(), until=149.0)
    assert stats.stopped_early and stats.lines == 51 and stats.last_epoch == 150


EVENTS = sorted(
    {
        "ENTERQUEUE",
        "CONNECT",
        "ABANDON",
        "EXITWITHTIMEOUT",
        "EXITEMPTY",
        "EXITWITHKEY",
        "COMPLETECALLER",
        "COMPLETEAGENT",
        "TRANSFER",
        "BLINDTRANSFER",
        "ATTENDEDTRANSFER",
        "ADDMEMBER",
        "REMOVEMEMBER",
        "PAUSE",
        "UNPAUSE",
        "PAUSEALL",
        "RINGNOANSWER",
    }
)
_field = st.one_of(
    st.sampled_from(["", "NONE", "acw", "q", "c1", "c2", "Ann", "5", "-1", "1e9", "x", "PAUSED"]),
    st.text(max_size=8),
)
_line = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda t, c, q, a, e, data: "|".join([t, c, q, a, e, *data]),
        st.one_of(st.integers(0, 400).map(str), st.text(max_size=4)),
        st.sampled_from(["c1", "c2", "NONE", ""]),
        st.sampled_from(["q", "r", "NONE"]),
        st.sampled_from(["Ann", "Bob", "NONE"]),
        st.one_of(st.sampled_from(EVENTS), st.text(max_size=6)),
        st.lists(_field, max_size=6),
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_line, max_size=30))
def test_no_line_sequence_breaks_the_reader(lines: list[str]) -> None:
    ledger = CallLedger(keep_intervals=True)
    stats = ReadStats()
    QueueLogReader(ledger).feed((line + "\n" for line in lines), stats)
    assert stats.lines == len(lines)
    assert stats.bad + stats.used <= stats.lines
    figures = FigureBuilder().add_all(ledger.visits, now=1000.0).figures()
    assert figures.answered + figures.abandoned + figures.exited <= figures.offered
    assert figures.handled <= figures.answered
    for interval in ledger.staffed_intervals(1000.0):
        assert interval.end >= interval.start


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_parse_line_fails_only_with_a_reason(text: str) -> None:
    try:
        line = parse_line(text)
    except QueueLogError as exc:
        assert str(exc)
    else:
        assert line.event and line.event == line.event.upper()
        assert line.epoch >= 0


def test_the_simulators_queue_log_file_shows_each_line_at_once(tmp_path: Path) -> None:
    from telephony_sim.queue_log import QueueLog

    path = tmp_path / "queue_log"
    log = QueueLog(path)
    log.write(1_795_000_000, "1.1", "support", "", "ENTERQUEUE", "", "+15551234567", 1)
    # Not closed yet: a report reading the file now sees the whole line, as with Asterisk.
    assert path.read_text(encoding="utf-8").endswith("|ENTERQUEUE||+15551234567|1\n")
    log.close()
