"""Reports: grouping a queue_log by queue, agent, day and hour; CSV, JSON and Rich output; FCR
computed by SQL over the interaction log of a real SQLite file (and PostgreSQL when present)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from callkit.metrics import MetricDefinitions, Outcome, QueueCall
from console.db import Database
from console.models import Agent, Customer, Interaction, Queue, Ticket
from console.models.enums import Channel, InteractionStatus
from console.services.supervision.call_ledger import StaffedInterval
from console.services.supervision.reports import (
    GroupBy,
    LocalTime,
    ReportData,
    ReportError,
    ReportService,
    make_report,
    to_csv,
    to_json,
)
from console.widgets.report_table import print_table

DAY = datetime(2026, 11, 1, tzinfo=UTC)
DEFS = MetricDefinitions(sl_threshold=20, short_abandon=5, fcr_window_days=7)
UTC_TIME = LocalTime(UTC)


def at(hours: float) -> float:
    return (DAY + timedelta(hours=hours)).timestamp()


def qlog(*lines: tuple[float, str, str, str, str, *tuple[object, ...]]) -> str:
    return "".join("|".join([str(int(t)), *map(str, rest)]) + "\n" for t, *rest in lines)


# Ann serves support and billing 08:00–10:00, Bob support 09:00–10:30 (times UTC).
# c1 support 08:10, answered by Ann after 10 s, 300 s talk;
# c2 billing 09:59, answered by Ann after 30 s, talks past 10:00 (counts in the 09:00 hour);
# c3 support 09:30, abandoned after 40 s.
LOG = qlog(
    (at(8), "NONE", "support", "Ann", "ADDMEMBER", ""),
    (at(8), "NONE", "billing", "Ann", "ADDMEMBER", ""),
    (at(8 + 10 / 60), "c1", "support", "NONE", "ENTERQUEUE", "", "+1"),
    (at(8 + 10 / 60) + 10, "c1", "support", "Ann", "CONNECT", 10, "x", 2),
    (at(8 + 10 / 60) + 310, "c1", "support", "Ann", "COMPLETECALLER", 10, 300, 1),
    (at(9), "NONE", "support", "Bob", "ADDMEMBER", ""),
    (at(9.5), "c3", "support", "NONE", "ENTERQUEUE", "", "+3"),
    (at(9.5) + 40, "c3", "support", "NONE", "ABANDON", 1, 1, 40),
    (at(9 + 59 / 60), "c2", "billing", "NONE", "ENTERQUEUE", "", "+2"),
    (at(9 + 59 / 60) + 30, "c2", "billing", "Ann", "CONNECT", 30, "y", 2),
    (at(10), "NONE", "support", "Ann", "REMOVEMEMBER", ""),
    (at(10), "NONE", "billing", "Ann", "REMOVEMEMBER", ""),
    (at(9 + 59 / 60) + 330, "c2", "billing", "Ann", "COMPLETEAGENT", 30, 300, 1),
    (at(10.5), "NONE", "support", "Bob", "REMOVEMEMBER", ""),
)


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "queue_log"
    path.write_text(LOG)
    return path


async def _report(path: Path, group: GroupBy, db: Database | None = None) -> Any:
    service = ReportService(db, path, DEFS, local=UTC_TIME)
    return await service.build(DAY + timedelta(hours=8), DAY + timedelta(hours=11), group)


async def test_by_queue(log_file: Path) -> None:
    report = await _report(log_file, GroupBy.QUEUE)
    rows = {r.key: r for r in report.rows}
    assert list(rows) == ["billing", "support"]
    support, billing = rows["support"].figures, rows["billing"].figures
    assert (support.offered, support.answered, support.abandoned, support.handled) == (2, 1, 1, 1)
    assert (billing.offered, billing.answered, billing.answered_within) == (1, 1, 0)
    assert support.staffed_time == 2 * 3600 + 1.5 * 3600  # Ann 2 h + Bob 1.5 h
    assert billing.staffed_time == 2 * 3600  # Ann again: per queue, she counts in each
    assert rows["support"].summary.occupancy == pytest.approx(300 / 12_600)
    total = report.total.figures
    assert (total.offered, total.answered, total.abandoned) == (3, 2, 1)
    assert total.staffed_time == 2 * 3600 + 1.5 * 3600  # … but once in the total
    assert rows["support"].contacts is None and rows["support"].fcr is None  # no database


async def test_by_agent_holds_the_calls_each_answered(log_file: Path) -> None:
    rows = {r.key: r for r in (await _report(log_file, GroupBy.AGENT)).rows}
    assert list(rows) == ["Ann", "Bob"]
    ann, bob = rows["Ann"].figures, rows["Bob"].figures
    assert (ann.answered, ann.handled, ann.talk_time, ann.staffed_time) == (2, 2, 600, 7200)
    assert (bob.answered, bob.staffed_time) == (0, 5400)
    assert rows["Ann"].summary.occupancy == pytest.approx(600 / 7200)
    assert rows["Ann"].summary.asa == pytest.approx(20.0)  # (10 + 30) / 2


async def test_by_hour_cuts_staffed_time_by_clock_and_calls_by_entry(log_file: Path) -> None:
    report = await _report(log_file, GroupBy.HOUR)
    rows = {r.key: r for r in report.rows}
    assert list(rows) == ["2026-11-01 08:00", "2026-11-01 09:00", "2026-11-01 10:00"]
    eight, nine, ten = (rows[k].figures for k in rows)
    assert (eight.offered, nine.offered, ten.offered) == (1, 2, 0)
    assert nine.talk_time == 300  # c2 entered at 09:59 and talked until 10:04
    assert (eight.staffed_time, nine.staffed_time, ten.staffed_time) == (3600, 7200, 1800)
    assert report.zone == "local time (UTC+00:00)"
    assert "calls count in the period they entered the queue" in report.describe()


async def test_by_day_in_another_zone(log_file: Path) -> None:
    from datetime import timezone

    tokyo = LocalTime(timezone(timedelta(hours=9)))
    service = ReportService(None, log_file, DEFS, local=tokyo)
    # 08:00–10:30 UTC is 17:00–19:30 on 1 November in UTC+9; the period is that local day.
    report = await service.build(datetime(2026, 11, 1), datetime(2026, 11, 3), GroupBy.DAY)
    assert [(r.key, r.figures.offered) for r in report.rows] == [
        ("2026-11-01", 3),
        ("2026-11-02", 0),
    ]
    assert report.start.isoformat() == "2026-11-01T00:00:00+09:00"


async def test_problems_are_report_errors(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="no queue_log"):
        await ReportService(None, None, DEFS).build(DAY, DAY + timedelta(days=1), GroupBy.QUEUE)
    with pytest.raises(ReportError, match="cannot read"):
        await _report(tmp_path / "nope", GroupBy.QUEUE)
    with pytest.raises(ReportError, match="period is empty"):
        await ReportService(None, tmp_path, DEFS).build(DAY, DAY, GroupBy.QUEUE)


# ----------------------------------------------------------------- formats

HOSTILE = "[bold red]=cmd|' /C calc'!A0"


def _data_with_hostile_names() -> ReportData:
    calls = (
        QueueCall(
            "c1", HOSTILE, at(1), Outcome.ANSWERED, wait=4, agent="x", completed=True, talk=90
        ),
        QueueCall("c2", "support", at(1), Outcome.ABANDONED, wait=2),
    )
    staffed = (StaffedInterval("x", HOSTILE, at(0), at(2)),)
    return ReportData(at(0), at(24), UTC_TIME, calls, staffed, None)


def test_csv_has_a_header_one_line_per_row_and_the_total() -> None:
    report = make_report(_data_with_hostile_names(), GroupBy.QUEUE, DEFS)
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    assert [r["queue"] for r in rows] == [HOSTILE, "support", "(total)"]
    hostile, support, total = rows
    assert (hostile["answered"], hostile["service_level"], hostile["aht"]) == ("1", "1.0", "90.0")
    assert support["service_level"] == "" and support["short_abandoned"] == "1"  # no value
    assert total["offered"] == "2" and total["occupancy"] == str(round(90 / 7200, 4))
    assert hostile["fcr"] == "" and hostile["contacts"] == ""  # no interaction log
    # A key a spreadsheet would run as a formula is defused.
    report = make_report(
        ReportData(at(0), at(1), UTC_TIME, (QueueCall("c", "=1+1", at(0)),), (), None),
        GroupBy.QUEUE,
        DEFS,
    )
    assert to_csv(report).splitlines()[1].startswith("'=1+1,")


def test_json_holds_the_definitions_and_null_for_no_value() -> None:
    report = make_report(_data_with_hostile_names(), GroupBy.QUEUE, DEFS)
    doc = json.loads(to_json(report))
    assert doc["group_by"] == "queue" and doc["zone"] == "local time (UTC+00:00)"
    assert doc["definitions"]["treatment"] == "abandons_against"
    assert doc["definitions"]["text"] == DEFS.describe()
    assert [r["key"] for r in doc["rows"]] == [HOSTILE, "support"]
    assert doc["rows"][1]["service_level"] is None
    assert doc["total"]["abandoned"] == 1 and doc["total"]["fcr"] is None
    assert doc["from"] == "2026-11-01T00:00:00+00:00"


def test_rich_table_shows_names_as_text_and_the_definitions_under_it() -> None:
    report = make_report(_data_with_hostile_names(), GroupBy.QUEUE, DEFS)
    console = Console(width=200, record=True, color_system=None)
    print_table(report, console)
    out = console.export_text()
    assert "[bold red]=cmd" in out  # printed as it is, not taken for markup
    assert "100.0%" in out and "1:30" in out  # SL of the hostile queue, its AHT
    assert out.rstrip().endswith(DEFS.describe()[-30:])


# ----------------------------------------------------------------- FCR over the interaction log


async def _crm(db: Database) -> None:
    """Contacts around 1–2 November 2026 (comments: expected FCR verdicts, window 7 days)."""

    def t(day: int, hour: float) -> datetime:
        return datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=day - 1, hours=hour)

    async with db.write() as s:
        support, billing = Queue(name="support"), Queue(name="billing")
        ann, bob, cy = (Agent(login=n, display_name=n.title()) for n in ("ann", "bob", "cy"))
        customers = [Customer(display_name=f"Customer {n}") for n in range(1, 8)]
        s.add_all([support, billing, ann, bob, cy, *customers])
        await s.flush()
        c = [x.id for x in customers]
        ticket = Ticket(customer_id=c[1], subject="Invoice", category="billing")
        s.add(ticket)
        await s.flush()

        def contact(customer: int | None, when: datetime, category: str, **kw: Any) -> Interaction:
            kw.setdefault("queue_id", support.id)
            kw.setdefault("agent_id", ann.id)
            kw.setdefault("answered_at", when + timedelta(seconds=20))
            kw.setdefault("status", InteractionStatus.COMPLETED)
            return Interaction(customer_id=customer, offered_at=when, category=category, **kw)

        s.add_all(
            [
                # 1: billing on the 1st, again on the 5th → repeated.
                contact(c[0], t(1, 10), "billing", linkedid="L1"),
                contact(c[0], t(5, 10), "billing", linkedid="L2"),
                # 2: technical on the 1st, never again → resolved.
                contact(c[0], t(1, 11), "technical", linkedid="L3"),
                # 3: the ticket's category; the repeat is 19 days later, past the window.
                contact(
                    c[1], t(2, 9), "", ticket_id=ticket.id, queue_id=billing.id, agent_id=bob.id
                ),
                contact(c[1], t(20, 9), "billing"),
                # 4: a transfer: two legs of one call (same linkedid) are not a repeat.
                contact(c[2], t(2, 10), "complaint", linkedid="L6"),
                contact(
                    c[2],
                    t(2, 10.1),
                    "complaint",
                    linkedid="L6",
                    queue_id=billing.id,
                    agent_id=bob.id,
                ),
                # Not contacts for FCR: no category, no customer, not answered.
                contact(c[3], t(1, 12), ""),
                contact(None, t(1, 12), "billing"),
                contact(
                    c[4], t(1, 13), "billing", answered_at=None, status=InteractionStatus.MISSED
                ),
                # 5: the first contact was before the period; only the later one counts.
                contact(c[5], t(0, 23), "delivery"),
                contact(c[5], t(1, 8), "delivery", agent_id=bob.id),
                # 6: a chat, then an email on the same issue → repeated (any channel).
                contact(
                    c[6], t(2, 15), "sales", channel=Channel.CHAT, queue_id=None, agent_id=cy.id
                ),
                contact(c[6], t(4, 15), "sales", channel=Channel.EMAIL, queue_id=None),
                # At the very end of the period: not in it.
                contact(c[0], t(3, 0), "billing"),
            ]
        )


async def _fcr_rows(db: Database, group: GroupBy, log_file: Path) -> dict[str, tuple[Any, ...]]:
    service = ReportService(db, log_file, DEFS, local=UTC_TIME)
    report = await service.build(DAY, DAY + timedelta(days=2), group)
    rows = {r.key: (r.contacts, r.repeated, r.fcr) for r in report.rows if r.contacts}
    rows["total"] = (report.total.contacts, report.total.repeated, report.total.fcr)
    return rows


async def test_fcr_by_queue_agent_and_day(db: Database, log_file: Path) -> None:
    await _crm(db)
    assert await _fcr_rows(db, GroupBy.QUEUE, log_file) == {
        "support": (4, 1, 0.75),  # 1 (repeated), 2, 4's first leg, 5's second contact
        "billing": (2, 0, 1.0),  # 3, 4's second leg
        "(none)": (1, 1, 0.0),  # the chat
        "total": (7, 2, pytest.approx(5 / 7)),
    }
    assert await _fcr_rows(db, GroupBy.AGENT, log_file) == {
        "Ann": (3, 1, pytest.approx(2 / 3)),
        "Bob": (3, 0, 1.0),
        "Cy": (1, 1, 0.0),
        "total": (7, 2, pytest.approx(5 / 7)),
    }
    by_day = await _fcr_rows(db, GroupBy.DAY, log_file)
    assert by_day["2026-11-01"] == (3, 1, pytest.approx(2 / 3))
    assert by_day["2026-11-02"] == (4, 1, 0.75)


async def test_a_longer_window_finds_more_repeats(db: Database, log_file: Path) -> None:
    await _crm(db)
    service = ReportService(db, log_file, MetricDefinitions(fcr_window_days=30), local=UTC_TIME)
    report = await service.build(DAY, DAY + timedelta(days=2), GroupBy.QUEUE)
    assert (report.total.contacts, report.total.repeated) == (7, 3)  # 3's repeat now counts


@pytest.mark.postgres
async def test_fcr_on_postgres(pg_db: Database, log_file: Path) -> None:
    await _crm(pg_db)
    rows = await _fcr_rows(pg_db, GroupBy.QUEUE, log_file)
    assert rows["total"] == (7, 2, pytest.approx(5 / 7))
    assert rows["support"] == (4, 1, 0.75)
