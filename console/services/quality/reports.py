"""QA reports: evaluations per week, agent, team, form or question (docs/quality.md,
"Reports"; `callconsole report --by evaluation…` and the QA report screen).

What counts: evaluations of record (not calibrations, not drafts) submitted in [start, end),
their latest score (a re-reviewed one counts with its new score). Per row:

- evaluations; average, lowest and highest score; pass rate (share at or above the form's
  pass mark); auto-fails (evaluations a failed critical item made 0); disputed (the agent
  disputed it, whatever came of it).
- By question (form + question): how often it was answered (not N/A), N/A, the average share
  of the question met (0-100: yes 100, no 0, a scale answer its place in its range) and the
  "no" count of yes/no questions.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from console.models import Agent, QaEvaluation, QaForm
from console.services.errors import aware
from console.services.quality.forms import NO, FormError, stored_form
from console.services.quality.records import DRAFT, EVALUATION, QaError
from console.services.quality.scoring import percent_of_question
from console.services.service import DbService

TOTAL = "(total)"


class QaReportBy(StrEnum):
    WEEK = "week"
    AGENT = "agent"
    TEAM = "team"
    FORM = "form"
    QUESTION = "question"


@dataclass(frozen=True, slots=True)
class ScoredEvaluation:
    """One evaluation as the reports read it."""

    id: int
    agent: str
    team: str
    form: str  # "standard v1"
    submitted_at: datetime
    score: float
    passed: bool
    auto_failed: bool
    disputed: bool
    shares: tuple[tuple[str, float | None, bool], ...]  # (question, share or None for N/A, a "no")


@dataclass
class ScoreCounts:
    evaluations: int = 0
    total: float = 0.0
    low: float | None = None
    high: float | None = None
    passed: int = 0
    auto_failed: int = 0
    disputed: int = 0

    def add(self, e: ScoredEvaluation) -> None:
        self.evaluations += 1
        self.total += e.score
        self.low = e.score if self.low is None else min(self.low, e.score)
        self.high = e.score if self.high is None else max(self.high, e.score)
        self.passed += e.passed
        self.auto_failed += e.auto_failed
        self.disputed += e.disputed

    @property
    def average(self) -> float | None:
        return None if not self.evaluations else self.total / self.evaluations

    @property
    def pass_rate(self) -> float | None:
        return None if not self.evaluations else self.passed / self.evaluations


@dataclass
class QuestionCounts:
    answered: int = 0
    na: int = 0
    total: float = 0.0
    noes: int = 0

    def add(self, share: float | None, no: bool) -> None:
        if share is None:
            self.na += 1
            return
        self.answered += 1
        self.total += share
        self.noes += no

    @property
    def average(self) -> float | None:
        return None if not self.answered else self.total / self.answered


@dataclass(frozen=True, slots=True)
class QaRow:
    key: str
    counts: ScoreCounts | QuestionCounts


@dataclass(frozen=True, slots=True)
class QaReport:
    by: QaReportBy
    start: datetime
    end: datetime
    rows: tuple[QaRow, ...]
    total: QaRow
    notes: tuple[str, ...] = field(default=())  # forms that could not be read, …

    def describe(self) -> str:
        return (
            f"QA evaluations by {self.by.value}, {self.start:%Y-%m-%d %H:%M} to "
            f"{self.end:%Y-%m-%d %H:%M} (submitted in the period)"
        )


def week_key(at: datetime, tz: tzinfo) -> str:
    """ "2026-W49" (ISO week of ``at`` in ``tz``)."""
    iso = at.astimezone(tz).isocalendar()
    return f"{iso[0]}-W{iso[1]:02d}"


def fold(
    evaluations: list[ScoredEvaluation], by: QaReportBy, tz: tzinfo = UTC
) -> tuple[list[QaRow], QaRow]:
    """Rows (sorted by key) and the total row; pure, so tests recount independently."""
    if by is QaReportBy.QUESTION:
        groups_q: dict[str, QuestionCounts] = defaultdict(QuestionCounts)
        total_q = QuestionCounts()
        for e in evaluations:
            for qid, share, no in e.shares:
                groups_q[f"{e.form}: {qid}"].add(share, no)
                total_q.add(share, no)
        return [QaRow(k, groups_q[k]) for k in sorted(groups_q)], QaRow(TOTAL, total_q)
    groups: dict[str, ScoreCounts] = defaultdict(ScoreCounts)
    total = ScoreCounts()
    for e in evaluations:
        if by is QaReportBy.WEEK:
            key = week_key(e.submitted_at, tz)
        elif by is QaReportBy.AGENT:
            key = e.agent
        elif by is QaReportBy.TEAM:
            key = e.team or "(no team)"
        else:
            key = e.form
        groups[key].add(e)
        total.add(e)
    return [QaRow(k, groups[k]) for k in sorted(groups)], QaRow(TOTAL, total)


class QaReports(DbService):
    """Reads a period's evaluations and folds them into a report."""

    async def evaluations(
        self, start: datetime, end: datetime
    ) -> tuple[list[ScoredEvaluation], list[str]]:
        """The period's evaluations of record as the reports count them, and notes."""
        start = aware(start, field="the start", error=QaError)
        end = aware(end, field="the end", error=QaError)
        if end <= start:
            raise QaError("the period is empty: its end must be later than its start")
        stmt = (
            select(
                QaEvaluation.id,
                Agent.display_name,
                Agent.team,
                QaEvaluation.agent_id,
                QaEvaluation.form_id,
                QaEvaluation.submitted_at,
                QaEvaluation.score,
                QaEvaluation.passed,
                QaEvaluation.auto_failed,
                QaEvaluation.disputed_at,
                QaEvaluation.answers,
            )
            .outerjoin(Agent, Agent.id == QaEvaluation.agent_id)
            .where(
                QaEvaluation.kind == EVALUATION,
                QaEvaluation.status != DRAFT,
                QaEvaluation.submitted_at >= start,
                QaEvaluation.submitted_at < end,
                QaEvaluation.score.is_not(None),
            )
            .order_by(QaEvaluation.submitted_at, QaEvaluation.id)
        )
        async with self._db.session() as session:
            rows = (await session.execute(stmt)).all()
            form_ids = sorted({r[4] for r in rows})
            form_rows = (
                await session.execute(
                    select(QaForm.id, QaForm.name, QaForm.version, QaForm.content).where(
                        QaForm.id.in_(form_ids)
                    )
                )
            ).all()
        forms = {}
        notes = []
        for fid, name, version, content in form_rows:
            try:
                forms[fid] = stored_form(name, version, content)
            except FormError as exc:
                notes.append(str(exc))
        found = []
        for r in rows:
            if r[5] is None or r[6] is None:  # excluded by the query; for the type checker
                continue
            form = forms.get(r[4])
            answers = r[10] if isinstance(r[10], dict) else {}
            shares: list[tuple[str, float | None, bool]] = []
            if form is not None:
                for question in form.questions:
                    answer = (answers.get(question.id) or {}).get("answer")
                    if question.accepts(answer):
                        share = percent_of_question(answer, question)
                        shares.append((question.id, share, answer == NO))
            found.append(
                ScoredEvaluation(
                    id=r[0],
                    agent=r[1] or f"agent {r[3]}",
                    team=r[2] or "",
                    form=form.label if form is not None else f"form {r[4]}",
                    submitted_at=r[5],
                    score=float(r[6]),
                    passed=bool(r[7]),
                    auto_failed=bool(r[8]),
                    disputed=r[9] is not None,
                    shares=tuple(shares),
                )
            )
        return found, notes

    async def report(
        self, by: QaReportBy, start: datetime, end: datetime, tz: tzinfo = UTC
    ) -> QaReport:
        evaluations, notes = await self.evaluations(start, end)
        rows, total = fold(evaluations, by, tz)
        return QaReport(by, start, end, tuple(rows), total, tuple(notes))


def default_period(now: datetime, days: int = 28) -> tuple[datetime, datetime]:
    """The last ``days`` days up to now."""
    return now - timedelta(days=days), now


# ---------------------------------------------------------------------------- output

SCORE_COLUMNS = (
    "evaluations",
    "average",
    "lowest",
    "highest",
    "pass rate",
    "auto-fails",
    "disputed",
)
QUESTION_COLUMNS = ("answered", "n/a", "average met", "no")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def cells(row: QaRow) -> tuple[str, ...]:
    """A row's figures as text, in the order of its columns."""
    c = row.counts
    if isinstance(c, QuestionCounts):
        return (str(c.answered), str(c.na), _pct(c.average), str(c.noes))
    rate = None if c.pass_rate is None else 100 * c.pass_rate
    return (
        str(c.evaluations),
        _pct(c.average),
        _pct(c.low),
        _pct(c.high),
        "-" if rate is None else f"{rate:.0f}%",
        str(c.auto_failed),
        str(c.disputed),
    )


def columns(report: QaReport) -> tuple[str, ...]:
    return QUESTION_COLUMNS if report.by is QaReportBy.QUESTION else SCORE_COLUMNS


def _values(row: QaRow) -> dict[str, Any]:
    c = row.counts
    if isinstance(c, QuestionCounts):
        return {"answered": c.answered, "na": c.na, "average_met": c.average, "no": c.noes}
    return {
        "evaluations": c.evaluations,
        "average": c.average,
        "lowest": c.low,
        "highest": c.high,
        "pass_rate": c.pass_rate,
        "auto_failed": c.auto_failed,
        "disputed": c.disputed,
    }


def to_csv(report: QaReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    rows = [*report.rows, report.total]
    head = list(_values(report.total))
    writer.writerow([report.by.value, *head])
    for row in rows:
        values = _values(row)
        writer.writerow([row.key, *("" if values[h] is None else values[h] for h in head)])
    return out.getvalue()


def to_json(report: QaReport) -> str:
    return json.dumps(
        {
            "by": report.by.value,
            "from": report.start.isoformat(),
            "to": report.end.isoformat(),
            "rows": [{"key": r.key, **_values(r)} for r in report.rows],
            "total": _values(report.total),
            "notes": list(report.notes),
        },
        indent=2,
    )
