"""Per-queue targets, red/amber/green, and the supervisor's alerts.

- `QueueTargets` come from `console.services.supervision.queue_targets` (TOML files).
- `rag_for` / `queue_rag` colour a figure against its queue's targets (the wallboard uses them).
- `AlertLog.evaluate` turns each `BoardSnapshot` into alerts raised and cleared: a queue's
  service level below its red bound, its longest wait or abandon rate above theirs, an agent in
  wrap-up or not ready for too long. One alert per (kind, queue or agent) while it is open; it
  clears only once the figure is back past its bound by a margin (`Hysteresis`), so a figure
  hovering on the bound does not flap.
- `AlertAudit` writes raised and cleared alerts to the audit log (optional; the log itself keeps
  the open alerts and a bounded history in memory).

Everything but `AlertAudit` is pure: no clock (times come from the snapshot), no database.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from console.db import Database
from console.services.audit import AuditLog
from console.services.supervision.live_types import (
    AgentActivity,
    AgentLive,
    BoardSnapshot,
    QueueLive,
)
from console.services.supervision.queue_targets import QueueTargets, TargetBook
from console.services.text import clean_text


class Rag(StrEnum):
    """Red/amber/green of one figure against its target; NONE while there is no value."""

    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    NONE = "none"


# ------------------------------------------------------------------------------- red/amber/green

#: The figures `queue_rag` colours, in the wallboard's order.
RAG_FIGURES = ("service_level", "asa", "longest_wait", "abandon_rate")


def rag_for(figure: str, value: float | None, t: QueueTargets) -> Rag:
    """Colour ``value`` of ``figure`` (one of RAG_FIGURES) against ``t``.

    service level: green ≥ target, amber ≥ service_level_amber, else red;
    ASA: green ≤ target, amber ≤ asa_amber, else red;
    longest wait, abandon rate: green ≤ the amber bound, amber ≤ the red bound, else red.
    """
    if value is None:
        return Rag.NONE
    if figure == "service_level":
        if value >= t.service_level:
            return Rag.GREEN
        return Rag.AMBER if value >= t.service_level_amber else Rag.RED
    bounds = {
        "asa": (t.asa, t.asa_amber),
        "longest_wait": (t.longest_wait_amber, t.longest_wait),
        "abandon_rate": (t.abandon_rate_amber, t.abandon_rate),
    }
    if figure not in bounds:
        raise ValueError(f"unknown figure {figure!r} (use {', '.join(RAG_FIGURES)})")
    green, amber = bounds[figure]
    if value <= green:
        return Rag.GREEN
    return Rag.AMBER if value <= amber else Rag.RED


def queue_rag(q: QueueLive, t: QueueTargets) -> dict[str, Rag]:
    """Today's service level, ASA and abandon rate and the current longest wait, coloured."""
    return {
        "service_level": rag_for("service_level", q.summary.service_level, t),
        "asa": rag_for("asa", q.summary.asa, t),
        "longest_wait": rag_for("longest_wait", q.longest_wait, t),
        "abandon_rate": rag_for("abandon_rate", q.summary.abandon_rate, t),
    }


# ---------------------------------------------------------------------------------- alerts


class AlertKind(StrEnum):
    """What an alert is about; the first three are about queues, the last two about agents."""

    SERVICE_LEVEL = "service_level"
    LONGEST_WAIT = "longest_wait"
    ABANDON_RATE = "abandon_rate"
    WRAP_UP = "wrap_up"
    NOT_READY = "not_ready"

    @property
    def about_agent(self) -> bool:
        return self in (AlertKind.WRAP_UP, AlertKind.NOT_READY)


_LABELS = {
    AlertKind.SERVICE_LEVEL: "Service level",
    AlertKind.LONGEST_WAIT: "Longest wait",
    AlertKind.ABANDON_RATE: "Abandon rate",
    AlertKind.WRAP_UP: "Wrap-up too long",
    AlertKind.NOT_READY: "Not ready too long",
}
_SHARE_KINDS = (AlertKind.SERVICE_LEVEL, AlertKind.ABANDON_RATE)


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert: raised when a figure crossed its bound, cleared when it came back."""

    id: int  # increasing within one AlertLog
    kind: AlertKind
    subject: str  # the queue's or the agent's name (sanitised)
    raised_at: float  # epoch seconds (the snapshot's time)
    value: float  # the figure when raised: a share (0..1) or seconds
    threshold: float  # the bound it crossed
    worst: float  # the worst value seen while open
    last: float | None  # the latest value (None once there is none: queue or agent gone)
    cleared_at: float | None = None
    detail: str = ""  # agents: their queues and pause reason (sanitised)

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None

    @property
    def label(self) -> str:
        """What is wrong, e.g. "Longest wait"."""
        return _LABELS[self.kind]

    def format_value(self, value: float | None) -> str:
        """A value of this alert's figure: "62%" for shares, "2:35" for durations."""
        if value is None:
            return "—"
        if self.kind in _SHARE_KINDS:
            return f"{value * 100:.0f}%" if value * 100 >= 10 else f"{value * 100:.1f}%"
        return format_seconds(value)

    def describe(self) -> str:
        """One line: "service level 62% below 70%", "not ready 17:00 (limit 15:00)"."""
        worst, bound = self.format_value(self.worst), self.format_value(self.threshold)
        if self.kind is AlertKind.SERVICE_LEVEL:
            return f"service level {worst} below {bound}"
        if self.kind.about_agent:
            state = "in wrap-up" if self.kind is AlertKind.WRAP_UP else "not ready"
            return f"{state} {worst} (limit {bound})"
        name = "longest wait" if self.kind is AlertKind.LONGEST_WAIT else "abandon rate"
        return f"{name} {worst} above {bound}"


@dataclass(frozen=True, slots=True)
class AlertChange:
    """An alert raised (``raised``) or cleared (not ``raised``) by one evaluation."""

    alert: Alert
    raised: bool


@dataclass(frozen=True, slots=True)
class Hysteresis:
    """How far back past its bound a figure must come before its alert clears."""

    service_level: float = 0.02  # SL must be back to the red bound + 2 points
    abandon_rate: float = 0.01  # abandon rate back to the red bound − 1 point
    longest_wait: float = 0.10  # longest wait back to 90 % of the red bound


@dataclass(frozen=True, slots=True)
class _Rule:
    """An alert's bound, where it clears (past the bound by the hysteresis) and its direction."""

    bound: float
    clear_at: float
    low_is_bad: bool = True

    def crossed(self, value: float) -> bool:
        return value < self.bound if self.low_is_bad else value > self.bound

    def back(self, value: float) -> bool:
        return value >= self.clear_at if self.low_is_bad else value <= self.clear_at


class AlertLog:
    """Open alerts and a bounded history, updated from board snapshots (see module docstring).

    ``min_calls``: a queue's service level and abandon rate raise alerts only once it has been
    offered this many calls today (one late call at opening time is not an emergency).
    """

    def __init__(
        self,
        *,
        history_size: int = 500,
        hysteresis: Hysteresis | None = None,
        min_calls: int = 10,
    ) -> None:
        if history_size < 1 or min_calls < 0:
            raise ValueError("history_size must be >= 1 and min_calls >= 0")
        self.history_size = history_size
        self.hysteresis = hysteresis or Hysteresis()
        self.min_calls = min_calls
        self.version = 0  # bumped when an alert is raised or cleared (screens redraw then)
        self._open: dict[tuple[AlertKind, str], Alert] = {}
        self._history: OrderedDict[int, Alert] = OrderedDict()
        self._next_id = 1

    def open(self) -> list[Alert]:
        """The open alerts, newest first."""
        return sorted(self._open.values(), key=lambda a: (-a.raised_at, -a.id))

    def history(self) -> list[Alert]:
        """The last ``history_size`` alerts raised, open or cleared, newest first."""
        return list(reversed(self._history.values()))

    def is_open(self, kind: AlertKind, subject: str) -> bool:
        """Whether an alert of ``kind`` is open for queue or agent ``subject``."""
        return (kind, clean_text(subject, single_line=True, max_length=80)) in self._open

    def open_for(self, subject: str) -> list[Alert]:
        """The open alerts about queue or agent ``subject`` (for highlighting it)."""
        name = clean_text(subject, single_line=True, max_length=80)
        return [a for a in self.open() if a.subject == name]

    def evaluate(self, snapshot: BoardSnapshot, book: TargetBook) -> list[AlertChange]:
        """Raise and clear alerts for ``snapshot``; returns what changed (raised first)."""
        changes: list[AlertChange] = []
        seen: set[tuple[AlertKind, str]] = set()
        for q in snapshot.queues:
            self._queue(q, book.for_queue(q.queue), snapshot.at, changes, seen)
        for agent in snapshot.agents:
            self._agent(agent, book, snapshot.at, changes, seen)
        for key in [k for k in self._open if k not in seen]:  # the queue or agent is gone
            self._clear(key, None, snapshot.at, changes)
        changes.sort(key=lambda c: not c.raised)
        return changes

    # ------------------------------------------------------------------------ evaluation

    def _queue(
        self,
        q: QueueLive,
        t: QueueTargets,
        now: float,
        changes: list[AlertChange],
        seen: set[tuple[AlertKind, str]],
    ) -> None:
        h = self.hysteresis
        counted = q.figures.offered >= self.min_calls
        sl = q.summary.service_level if counted else None
        gone = q.summary.abandon_rate if counted else None
        name = clean_text(q.queue, single_line=True, max_length=80)
        sl_bound, wait_bound, gone_bound = t.service_level_amber, t.longest_wait, t.abandon_rate
        checks = (
            (AlertKind.SERVICE_LEVEL, sl, _Rule(sl_bound, min(1.0, sl_bound + h.service_level))),
            (
                AlertKind.LONGEST_WAIT,
                q.longest_wait,
                _Rule(wait_bound, wait_bound * (1.0 - h.longest_wait), low_is_bad=False),
            ),
            (
                AlertKind.ABANDON_RATE,
                gone,
                _Rule(gone_bound, max(0.0, gone_bound - h.abandon_rate), low_is_bad=False),
            ),
        )
        for kind, value, rule in checks:
            key = (kind, name)
            seen.add(key)
            self._check(key, value, rule, now, changes, "")

    def _agent(
        self,
        agent: AgentLive,
        book: TargetBook,
        now: float,
        changes: list[AlertChange],
        seen: set[tuple[AlertKind, str]],
    ) -> None:
        # An agent in several queues gets the strictest limit of them.
        queues = {q for q in (*agent.queues, agent.call_queue) if q}
        targets = [book.for_queue(q) for q in sorted(queues)] or [book.defaults]
        name = clean_text(agent.agent, single_line=True, max_length=80)
        spent = max(0.0, now - agent.since)
        where = ", ".join(clean_text(q, single_line=True, max_length=40) for q in sorted(queues))
        for kind, activity, limit in (
            (AlertKind.WRAP_UP, AgentActivity.WRAP_UP, min(t.wrap_up_too_long for t in targets)),
            (
                AlertKind.NOT_READY,
                AgentActivity.NOT_READY,
                min(t.not_ready_too_long for t in targets),
            ),
        ):
            key = (kind, name)
            seen.add(key)
            value = spent if agent.activity is activity else None
            reason = clean_text(agent.reason, single_line=True, max_length=60)
            detail = "; ".join(p for p in (where, reason if value is not None else "") if p)
            self._check(key, value, _Rule(limit, limit, low_is_bad=False), now, changes, detail)

    def _check(
        self,
        key: tuple[AlertKind, str],
        value: float | None,
        rule: _Rule,
        now: float,
        changes: list[AlertChange],
        detail: str,
    ) -> None:
        current = self._open.get(key)
        if current is None:
            if value is not None and rule.crossed(value):
                self._raise(key, value, rule.bound, now, changes, detail)
            return
        if value is None or rule.back(value):
            self._clear(key, value, now, changes)
            return
        worst = min(current.worst, value) if rule.low_is_bad else max(current.worst, value)
        if worst != current.worst or value != current.last:
            self._store(replace(current, worst=worst, last=value, detail=detail or current.detail))

    def _raise(
        self,
        key: tuple[AlertKind, str],
        value: float,
        bound: float,
        now: float,
        changes: list[AlertChange],
        detail: str,
    ) -> None:
        kind, subject = key
        alert = Alert(self._next_id, kind, subject, now, value, bound, value, value, None, detail)
        self._next_id += 1
        self._open[key] = alert
        self._history[alert.id] = alert
        while len(self._history) > self.history_size:
            self._history.popitem(last=False)
        self.version += 1
        changes.append(AlertChange(alert, raised=True))

    def _clear(
        self,
        key: tuple[AlertKind, str],
        value: float | None,
        now: float,
        changes: list[AlertChange],
    ) -> None:
        alert = replace(self._open.pop(key), cleared_at=now, last=value)
        self._store(alert)
        self.version += 1
        changes.append(AlertChange(alert, raised=False))

    def _store(self, alert: Alert) -> None:
        if alert.is_open:
            self._open[(alert.kind, alert.subject)] = alert
        if alert.id in self._history:
            self._history[alert.id] = alert


# Audit actions of alerts (audit_log.action).
ALERT_RAISED = "alert_raised"
ALERT_CLEARED = "alert_cleared"


class AlertAudit:
    """Writes raised and cleared alerts to the audit log, one transaction per batch.

    Entries have no actor (the console raised them), entity type "queue" or "agent", no entity
    id (queues and agents are named by the PBX here) and the alert in ``details``.
    """

    def __init__(self, db: Database, audit: AuditLog | None = None) -> None:
        self._db = db
        self._audit = audit or AuditLog(db)

    async def record(self, changes: Sequence[AlertChange]) -> None:
        """Append one audit entry per change (nothing for an empty list)."""
        if not changes:
            return
        entries = [
            (
                None,
                ALERT_RAISED if change.raised else ALERT_CLEARED,
                "agent" if change.alert.kind.about_agent else "queue",
                None,
                _alert_details(change.alert),
            )
            for change in changes
        ]
        async with self._db.write_connection() as conn:
            await self._audit.add_many(conn, entries)


def _alert_details(alert: Alert) -> dict[str, Any]:
    return {
        "alert_id": alert.id,
        "kind": alert.kind.value,
        "subject": alert.subject,
        "raised_at": alert.raised_at,
        "cleared_at": alert.cleared_at,
        "value": alert.value,
        "threshold": alert.threshold,
        "worst": alert.worst,
        "detail": alert.detail,
    }


def format_seconds(seconds: float) -> str:
    """``75`` → ``1:15``, ``3725`` → ``1:02:05``."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
