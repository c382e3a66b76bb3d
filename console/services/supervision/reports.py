"""Reports over a period [start, end): queue figures from the queue_log, FCR from the
interaction log, one row per queue, agent, day or hour (definitions: docs/metrics.md).

- The queue_log is streamed into a `CallLedger` (in a worker thread) and its visits folded with
  `FigureBuilder`, as the wallboard folds AMI events: the same definitions, the same rules.
- A visit belongs to the period, day and hour in which the caller *entered* the queue (a call
  that spans midnight counts on the day it arrived); days and hours are local time (the
  system's zone unless one is given), and the report says which.
- By agent, a row holds the calls that agent answered (unanswered calls have no agent).
- Staffed time is clipped to the period and split by clock; an agent staffed in several queues
  counts once in agent, day, hour and total rows, once per queue in queue rows. Occupancy =
  busy time of the row's calls / staffed time.
- FCR is computed by one SQL query over the interaction log: each answered contact in the
  period with a known customer and a category (the interaction's own, else its ticket's) is
  repeated when the same customer has another contact (another call or channel) with the same
  category within the FCR window after it.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Interval,
    bindparam,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import aliased

from callkit.metrics import (
    FigureBuilder,
    MetricDefinitions,
    Outcome,
    QueueCall,
    QueueFigures,
    Summary,
    fcr,
    summarise,
)
from console.models import Agent, Interaction, Queue, Ticket
from console.services.errors import ServiceError
from console.services.supervision.call_ledger import (
    DEFAULT_ACW_REASONS,
    CallLedger,
    StaffedInterval,
)
from console.services.supervision.queue_log_reader import (
    QueueLogUnreadable,
    ReadStats,
    read_queue_log,
)
from console.services.text import clean_text

if TYPE_CHECKING:
    from console.db import Database

#: Lines read past the period's end, for the calls that entered in it and ended later.
SETTLE_SECONDS = 86_400.0
NO_KEY = "(none)"
TOTAL_KEY = "(total)"


class ReportError(ServiceError):
    """The report cannot be made (no queue_log, unreadable file, bad period)."""


class GroupBy(StrEnum):
    """What one report row stands for."""

    QUEUE = "queue"
    AGENT = "agent"
    DAY = "day"
    HOUR = "hour"


@dataclass(frozen=True, slots=True)
class LocalTime:
    """The zone days and hours are cut in; None is the system's local time (DST-aware)."""

    tz: tzinfo | None = None

    def at(self, epoch: float) -> datetime:
        """The aware local time of ``epoch``."""
        if self.tz is None:
            return datetime.fromtimestamp(epoch).astimezone()
        return datetime.fromtimestamp(epoch, self.tz)

    def aware(self, when: datetime) -> datetime:
        """``when`` with a zone: a naive time is read as local time."""
        if when.tzinfo is not None:
            return when
        return when.astimezone() if self.tz is None else when.replace(tzinfo=self.tz)

    def midnight(self, day: date) -> float:
        """The epoch at which local ``day`` begins."""
        return self.aware(datetime.combine(day, time())).timestamp()

    def label(self, when: datetime) -> str:
        """``local time (UTC+01:00)`` or ``Europe/Paris time``."""
        name = getattr(self.tz, "key", None)
        if name:
            return f"{name} time"
        offset = self.at(when.timestamp()).strftime("%z")
        return f"local time (UTC{offset[:3]}:{offset[3:]})"


@dataclass(frozen=True, slots=True)
class Contact:
    """One answered contact in the period, for FCR: where it belongs, and if it was repeated."""

    queue: str
    agent: str
    at: float  # epoch of the offer
    repeated: bool


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything one period's report is made of: read once, grouped any way."""

    start: float
    end: float
    local: LocalTime
    visits: tuple[QueueCall, ...]  # entered in [start, end)
    intervals: tuple[StaffedInterval, ...]  # staffed time, clipped to [start, end)
    contacts: tuple[Contact, ...] | None  # None: no interaction log to compute FCR from
    stats: ReadStats = field(default_factory=ReadStats)
    now: float | None = None  # the log's last time: how long still-waiting callers waited


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One row: raw counters, the figures derived from them, and FCR."""

    key: str
    figures: QueueFigures
    summary: Summary
    contacts: int | None = None
    repeated: int | None = None

    @property
    def fcr(self) -> float | None:
        if self.contacts is None or self.repeated is None:
            return None
        return fcr(self.contacts, self.repeated)


@dataclass(frozen=True, slots=True)
class Report:
    """Rows of one grouping over one period, with the definitions that made them."""

    group_by: GroupBy
    start: datetime
    end: datetime
    zone: str
    definitions: MetricDefinitions
    rows: tuple[ReportRow, ...]
    total: ReportRow
    stats: ReadStats

    def describe(self) -> str:
        """What the report covers, and in which time."""
        fmt = "%Y-%m-%d %H:%M"
        return (
            f"{self.start:{fmt}} → {self.end:{fmt}} by {self.group_by.value}, {self.zone}; "
            "calls count in the period they entered the queue"
        )


# --------------------------------------------------------------------------- reading


def read_period(
    path: Path,
    start: float,
    end: float,
    acw_reasons: frozenset[str] = DEFAULT_ACW_REASONS,
) -> tuple[list[QueueCall], list[StaffedInterval], ReadStats]:
    """Visits entered in [start, end), staffed intervals clipped to it, and what reading found.

    Staffed intervals still open at the end of the log end at its last line: what the log
    does not say is not counted.
    """
    ledger = CallLedger(acw_reasons, since=start, keep_intervals=True)
    stats = read_queue_log(path, ledger, until=end + SETTLE_SECONDS)
    visits = [v for v in ledger.visits if start <= v.entered_at < end]
    last = stats.last_epoch if stats.last_epoch is not None else start
    intervals = []
    for iv in ledger.staffed_intervals(last):
        a, b = max(iv.start, start), min(iv.end, end)
        if b > a:
            intervals.append(StaffedInterval(iv.agent, iv.queue, a, b))
    return visits, intervals, stats


def _category(row: Any, ticket: Any) -> Any:
    return case((row.category != "", row.category), else_=func.coalesce(ticket.category, ""))


def fcr_statement(window_days: int, *, sqlite: bool) -> Any:
    """The one FCR query: each answered contact in [:start, :end) and whether it was repeated."""
    i, j = aliased(Interaction), aliased(Interaction)
    ti, tj = aliased(Ticket), aliased(Ticket)
    if sqlite:  # SQLite keeps times as epoch microseconds: plain integer arithmetic
        later: Any = type_coerce(j.offered_at, BigInteger)
        limit: Any = type_coerce(i.offered_at, BigInteger) + window_days * 86_400_000_000
    else:
        later = j.offered_at
        limit = i.offered_at + literal(timedelta(days=window_days), Interval())
    repeated = exists(
        select(j.id)
        .outerjoin(tj, tj.id == j.ticket_id)
        .where(
            j.customer_id == i.customer_id,
            j.id != i.id,
            j.offered_at > i.offered_at,
            later <= limit,
            _category(j, tj) == _category(i, ti),
            # Another leg of the same call (a transfer) is not a repeat contact.
            or_(i.linkedid.is_(None), j.linkedid.is_(None), j.linkedid != i.linkedid),
        )
    )
    return (
        select(Queue.name, Agent.display_name, i.offered_at, repeated.label("repeated"))
        .select_from(i)
        .outerjoin(ti, ti.id == i.ticket_id)
        .outerjoin(Queue, Queue.id == i.queue_id)
        .outerjoin(Agent, Agent.id == i.agent_id)
        .where(
            i.offered_at >= bindparam("start", type_=i.offered_at.type),
            i.offered_at < bindparam("end", type_=i.offered_at.type),
            i.customer_id.is_not(None),
            i.answered_at.is_not(None),
            _category(i, ti) != "",
        )
    )


class ReportService:
    """Builds reports from a queue_log file and the interaction log (either may be missing)."""

    def __init__(
        self,
        db: Database | None,
        queue_log: Path | None,
        definitions: MetricDefinitions,
        *,
        local: LocalTime | None = None,
        acw_reasons: frozenset[str] = DEFAULT_ACW_REASONS,
    ) -> None:
        self._db = db
        self.queue_log = queue_log
        self.definitions = definitions
        self.local = local or LocalTime()
        self.acw_reasons = acw_reasons

    async def load(self, start: datetime, end: datetime) -> ReportData:
        """Read the period once (the file in a worker thread, FCR in one query)."""
        begin, finish = self.local.aware(start).timestamp(), self.local.aware(end).timestamp()
        if finish <= begin:
            raise ReportError("the period is empty: its end must be later than its start")
        if self.queue_log is None:
            raise ReportError("no queue_log: give --queue-log FILE or set queue_log in settings")
        try:
            visits, intervals, stats = await asyncio.to_thread(
                read_period, self.queue_log.expanduser(), begin, finish, self.acw_reasons
            )
        except QueueLogUnreadable as exc:
            raise ReportError(str(exc)) from None
        contacts = None if self._db is None else await self.contacts(begin, finish)
        return ReportData(
            start=begin,
            end=finish,
            local=self.local,
            visits=tuple(visits),
            intervals=tuple(intervals),
            contacts=contacts,
            stats=stats,
            now=stats.last_epoch,
        )

    async def contacts(self, start: float, end: float) -> tuple[Contact, ...]:
        """Answered contacts offered in [start, end), each marked repeated or not."""
        assert self._db is not None
        stmt = fcr_statement(self.definitions.fcr_window_days, sqlite=self._db.is_sqlite)
        params = {"start": _utc(start), "end": _utc(end)}
        async with self._db.session() as session:
            rows = (await session.execute(stmt, params)).all()
        return tuple(
            Contact(
                queue=clean_text(queue or "", single_line=True, max_length=80),
                agent=clean_text(agent or "", single_line=True, max_length=80),
                at=offered.timestamp(),
                repeated=bool(repeated),
            )
            for queue, agent, offered, repeated in rows
        )

    async def build(self, start: datetime, end: datetime, group_by: GroupBy) -> Report:
        """Load the period and group it."""
        return make_report(await self.load(start, end), group_by, self.definitions)


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


# --------------------------------------------------------------------------- grouping


def _bucket_key(local: LocalTime, group_by: GroupBy, epoch: float) -> str:
    when = local.at(epoch)
    return when.date().isoformat() if group_by is GroupBy.DAY else f"{when:%Y-%m-%d %H}:00"


def _next_bucket(local: LocalTime, group_by: GroupBy, epoch: float) -> float:
    """The epoch at which the day or hour holding ``epoch`` ends (always later than it)."""
    when = local.at(epoch)
    if group_by is GroupBy.DAY:
        edge = local.midnight(when.date() + timedelta(days=1))
    else:
        edge = when.replace(minute=0, second=0, microsecond=0).timestamp() + 3600.0
    return max(edge, epoch + 1.0)  # a zone's odd transition must not stall a loop


def _buckets(local: LocalTime, group_by: GroupBy, start: float, end: float) -> Iterator[str]:
    """Every day or hour key of [start, end), in order (a repeated local hour once)."""
    seen: set[str] = set()
    t = start
    while t < end:
        key = _bucket_key(local, group_by, t)
        if key not in seen:
            seen.add(key)
            yield key
        t = _next_bucket(local, group_by, t)


def _merged(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Overlapping intervals joined (an agent staffed in two queues at once counts once)."""
    out: list[tuple[float, float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _staffed_by_key(data: ReportData, group_by: GroupBy) -> dict[str, float]:
    staffed: dict[str, float] = defaultdict(float)
    if group_by is GroupBy.QUEUE:
        for iv in data.intervals:
            staffed[_name(iv.queue)] += iv.end - iv.start
        return staffed
    per_agent: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for iv in data.intervals:
        per_agent[iv.agent].append((iv.start, iv.end))
    for agent, spans in per_agent.items():
        for a, b in _merged(spans):
            if group_by is GroupBy.AGENT:
                staffed[_name(agent)] += b - a
                continue
            t = a
            while t < b:  # split by clock into days or hours
                edge = min(_next_bucket(data.local, group_by, t), b)
                staffed[_bucket_key(data.local, group_by, t)] += edge - t
                t = edge
    return staffed


def _name(text: str) -> str:
    return clean_text(text, single_line=True, max_length=80) or NO_KEY


def _key_of(data: ReportData, group_by: GroupBy) -> Callable[[str, str, float], str | None]:
    """(queue, agent, epoch) → row key; None leaves the item out (unanswered, by agent)."""
    if group_by is GroupBy.QUEUE:
        return lambda queue, _agent, _t: _name(queue)
    if group_by is GroupBy.AGENT:
        return lambda _queue, agent, _t: _name(agent) if agent else None
    return lambda _queue, _agent, t: _bucket_key(data.local, group_by, t)


def make_report(data: ReportData, group_by: GroupBy, definitions: MetricDefinitions) -> Report:
    """Group ``data`` into rows (queues and agents by name, days and hours in order)."""
    key_of = _key_of(data, group_by)
    timeline = group_by in (GroupBy.DAY, GroupBy.HOUR)
    keys = list(_buckets(data.local, group_by, data.start, data.end)) if timeline else []
    builders = {k: FigureBuilder(definitions) for k in keys}
    total = FigureBuilder(definitions)
    for call in data.visits:
        total.add(call, data.now)
        answered = call.outcome is Outcome.ANSWERED
        key = key_of(call.queue, call.agent if answered else "", call.entered_at)
        if key is not None:
            builders.setdefault(key, FigureBuilder(definitions)).add(call, data.now)
    staffed = _staffed_by_key(data, group_by)
    for key, seconds in staffed.items():
        builders.setdefault(key, FigureBuilder(definitions)).staffed_time = seconds
    total.staffed_time = sum(_staffed_by_key(data, GroupBy.AGENT).values())
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    if data.contacts is not None:
        for c in data.contacts:
            key = key_of(c.queue, c.agent, c.at)
            if key is not None:
                builders.setdefault(key, FigureBuilder(definitions))
                counts[key][0] += 1
                counts[key][1] += c.repeated
    order = keys if timeline else sorted(builders, key=lambda k: (k == NO_KEY, k.casefold(), k))
    rows = tuple(_row(k, builders[k], counts.get(k, [0, 0]), data, definitions) for k in order)
    all_contacts = data.contacts or ()
    everything = [len(all_contacts), sum(c.repeated for c in all_contacts)]
    local = data.local
    return Report(
        group_by=group_by,
        start=local.at(data.start),
        end=local.at(data.end),
        zone=local.label(local.at(data.start)),
        definitions=definitions,
        rows=rows,
        total=_row(TOTAL_KEY, total, everything, data, definitions),
        stats=data.stats,
    )


def _row(
    key: str,
    builder: FigureBuilder,
    counts: Sequence[int],
    data: ReportData,
    definitions: MetricDefinitions,
) -> ReportRow:
    figures = builder.figures()
    contacts, repeated = (None, None) if data.contacts is None else (counts[0], counts[1])
    return ReportRow(key, figures, summarise(figures, definitions), contacts, repeated)


# --------------------------------------------------------------------------- output

#: (column, kind, value) for CSV and JSON; kinds: n count, s seconds, r ratio 0..1.
_FIELDS: tuple[tuple[str, str, Callable[[ReportRow], float | int | None]], ...] = (
    ("offered", "n", lambda r: r.figures.offered),
    ("answered", "n", lambda r: r.figures.answered),
    ("abandoned", "n", lambda r: r.figures.abandoned),
    ("short_abandoned", "n", lambda r: r.figures.short_abandoned),
    ("exited", "n", lambda r: r.figures.exited),
    ("handled", "n", lambda r: r.figures.handled),
    ("transferred", "n", lambda r: r.figures.transferred),
    ("answered_within", "n", lambda r: r.figures.answered_within),
    ("abandoned_within", "n", lambda r: r.figures.abandoned_within),
    ("service_level", "r", lambda r: r.summary.service_level),
    ("asa", "s", lambda r: r.summary.asa),
    ("aht", "s", lambda r: r.summary.aht),
    ("abandon_rate", "r", lambda r: r.summary.abandon_rate),
    ("longest_wait", "s", lambda r: r.summary.longest_wait),
    ("occupancy", "r", lambda r: r.summary.occupancy),
    ("talk_time", "s", lambda r: r.figures.talk_time),
    ("hold_time", "s", lambda r: r.figures.hold_time),
    ("wrap_time", "s", lambda r: r.figures.wrap_time),
    ("staffed_time", "s", lambda r: r.figures.staffed_time),
    ("contacts", "n", lambda r: r.contacts),
    ("repeated", "n", lambda r: r.repeated),
    ("fcr", "r", lambda r: r.fcr),
)


def _plain(kind: str, value: float | int | None) -> float | int | None:
    if value is None or kind == "n":
        return value
    return round(value, 4 if kind == "r" else 1)


def row_values(row: ReportRow) -> dict[str, float | int | None]:
    """The row's figures by column name (ratios 0..1, seconds), as CSV and JSON give them."""
    return {name: _plain(kind, get(row)) for name, kind, get in _FIELDS}


def to_csv(report: Report) -> str:
    """One header line, one line per row, then the total (empty cells: no value)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([report.group_by.value, *(name for name, _, _ in _FIELDS)])
    for row in (*report.rows, report.total):
        key = row.key
        if key[:1] in ("=", "+", "-", "@"):  # a spreadsheet would run it as a formula
            key = "'" + key
        values = row_values(row).values()
        writer.writerow([key, *("" if v is None else v for v in values)])
    return out.getvalue()


def to_json(report: Report) -> str:
    """The whole report: period, zone, definitions, rows, total, what reading found."""
    d = report.definitions
    stats = report.stats
    doc = {
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "zone": report.zone,
        "group_by": report.group_by.value,
        "definitions": {**asdict(d), "text": d.describe()},
        "rows": [{"key": r.key, **row_values(r)} for r in report.rows],
        "total": row_values(report.total),
        "queue_log": {
            "path": stats.source,
            "lines": stats.lines,
            "bad_lines": stats.bad,
            "message": stats.message(),
            "unknown_events": dict(stats.unknown_events),
        },
    }
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False)


def percent(value: float | None) -> str:
    """``0.832`` → ``83.2%``; None → ``—``."""
    return "—" if value is None else f"{100 * value:.1f}%"


def clock(value: float | None) -> str:
    """Seconds as ``m:ss`` (``h:mm:ss`` past an hour); None → ``—``."""
    if value is None:
        return "—"
    whole = round(value)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


#: (header, cell, essential) of the terminal table and the report screen; a narrow terminal
#: shows only the essential columns (CSV and JSON always have every figure).
DISPLAY_COLUMNS: tuple[tuple[str, Callable[[ReportRow], str], bool], ...] = (
    ("Offered", lambda r: str(r.figures.offered), True),
    ("Answered", lambda r: str(r.figures.answered), True),
    ("Aband.", lambda r: str(r.figures.abandoned), True),
    ("Short", lambda r: str(r.figures.short_abandoned), False),
    ("Exited", lambda r: str(r.figures.exited), False),
    ("SL", lambda r: percent(r.summary.service_level), True),
    ("ASA", lambda r: clock(r.summary.asa), True),
    ("AHT", lambda r: clock(r.summary.aht), True),
    ("Aband. %", lambda r: percent(r.summary.abandon_rate), True),
    ("Longest", lambda r: clock(r.summary.longest_wait) if r.figures.offered else "—", False),
    ("Occup.", lambda r: percent(r.summary.occupancy), True),
    ("FCR", lambda r: percent(r.fcr), True),
)
WIDE = 110  # columns a terminal needs for every display column


def display_columns(width: int | None = None) -> list[tuple[str, Callable[[ReportRow], str]]]:
    """The columns that fit ``width`` (all of them when it is None or wide enough)."""
    wide = width is None or width >= WIDE
    return [(head, cell) for head, cell, essential in DISPLAY_COLUMNS if essential or wide]
