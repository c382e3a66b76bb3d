"""Contact-center metric definitions: one place, used by the wallboard, the reports, the tests and
the simulator's headless statistics. The formulas are written out in docs/metrics.md.

Two layers:

- `QueueFigures` holds raw counters for one queue (or agent, day, hour…) over one period and the
  functions below turn them into ratios. A ratio with an empty denominator is ``None`` (shown
  as "—"), never 0 or a division error.
- `QueueCall` is one caller's visit to one queue; `FigureBuilder` folds visits into
  `QueueFigures` under one `MetricDefinitions`. The live wallboard (AMI events) and the reports
  (queue_log) both build their figures through it, so for the same calls they cannot disagree.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


class AbandonTreatment(StrEnum):
    """How abandoned calls enter the service level (short abandons never do)."""

    #: answered within T / (answered + abandoned): an abandon is a missed target.
    ABANDONS_AGAINST = "abandons_against"
    #: Asterisk's ServicelevelPerf: answered within T / answered (abandons ignored).
    ASTERISK_SL = "asterisk_sl"
    #: Asterisk's ServicelevelPerf2: (answered within T + abandoned within T) /
    #: (answered + abandoned): an abandon before T counts as met.
    ASTERISK_SL2 = "asterisk_sl2"


_SL_FORMULAS = {
    AbandonTreatment.ABANDONS_AGAINST: "answered ≤{t} / (answered + abandoned)",
    AbandonTreatment.ASTERISK_SL: "answered ≤{t} / answered",
    AbandonTreatment.ASTERISK_SL2: "(answered ≤{t} + abandoned ≤{t}) / (answered + abandoned)",
}


@dataclass(frozen=True, slots=True)
class MetricDefinitions:
    """The knobs of every definition; shown beside the figures they produce."""

    sl_threshold: float = 20.0  # seconds
    treatment: AbandonTreatment = AbandonTreatment.ABANDONS_AGAINST
    short_abandon: float = 5.0  # seconds; abandons with a shorter wait are not counted
    fcr_window_days: int = 7

    def __post_init__(self) -> None:
        # ``not x >= 0`` also refuses NaN, which every comparison would silently fail.
        if not (self.sl_threshold >= 0 and self.short_abandon >= 0 and self.fcr_window_days >= 1):
            raise ValueError("thresholds must be >= 0 and the FCR window >= 1 day")
        if math.isinf(self.sl_threshold) or math.isinf(self.short_abandon):
            raise ValueError("thresholds must be finite")

    def describe_sl(self) -> str:
        """The active service-level definition, e.g. ``SL = answered ≤20s / answered``."""
        t = f"{self.sl_threshold:g}s"
        text = "SL = " + _SL_FORMULAS[self.treatment].format(t=t)
        if self.treatment is not AbandonTreatment.ASTERISK_SL:
            text += f"; abandons <{self.short_abandon:g}s ignored"
        return text

    def describe(self) -> str:
        """Every active definition in one line (reports print it under the table)."""
        return (
            f"{self.describe_sl()}; ASA = wait of answered / answered; "
            f"AHT = (talk + hold + wrap-up) / handled; abandon rate excludes abandons "
            f"<{self.short_abandon:g}s; FCR window {self.fcr_window_days} d"
        )


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """Raw counters for one queue over one period (seconds for every duration)."""

    offered: int = 0  # callers that joined the queue
    answered: int = 0
    abandoned: int = 0  # including short abandons
    short_abandoned: int = 0  # abandoned before the short-abandon threshold
    answered_within: int = 0  # answered with a wait <= the service-level threshold
    abandoned_within: int = 0  # abandoned (not short) with a wait <= the threshold
    total_wait_answered: float = 0.0
    handled: int = 0  # calls whose conversation ended (transfers included)
    talk_time: float = 0.0  # excludes hold
    hold_time: float = 0.0
    wrap_time: float = 0.0
    longest_wait: float = 0.0
    busy_time: float = 0.0  # members' talk + hold + wrap-up on this queue's calls
    staffed_time: float = 0.0  # members logged in and not paused (after-call work counts)
    exited: int = 0  # left unanswered without hanging up: timeout, overflow, empty queue…
    transferred: int = 0  # handled calls that ended in a transfer


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def service_level(
    figures: QueueFigures, treatment: AbandonTreatment = AbandonTreatment.ABANDONS_AGAINST
) -> float | None:
    """Share (0..1) of calls answered within the threshold, abandons treated as ``treatment``."""
    if treatment is AbandonTreatment.ASTERISK_SL:
        return _ratio(figures.answered_within, figures.answered)
    counted_abandons = figures.abandoned - figures.short_abandoned
    if treatment is AbandonTreatment.ASTERISK_SL2:
        return _ratio(
            figures.answered_within + figures.abandoned_within,
            figures.answered + counted_abandons,
        )
    return _ratio(figures.answered_within, figures.answered + counted_abandons)


def asa(figures: QueueFigures) -> float | None:
    """Average speed of answer: queue wait of answered calls / answered calls."""
    return _ratio(figures.total_wait_answered, figures.answered)


def aht(figures: QueueFigures) -> float | None:
    """Average handle time: (talk + hold + wrap-up) / handled calls."""
    return _ratio(figures.talk_time + figures.hold_time + figures.wrap_time, figures.handled)


def abandon_rate(figures: QueueFigures) -> float | None:
    """Abandoned / offered, both without short abandons."""
    short = figures.short_abandoned
    return _ratio(figures.abandoned - short, figures.offered - short)


def occupancy(figures: QueueFigures) -> float | None:
    """Busy time (talk + hold + wrap-up) / staffed time."""
    return _ratio(figures.busy_time, figures.staffed_time)


def fcr(contacts: int, repeated: int) -> float | None:
    """First contact resolution: contacts not followed by a repeat / contacts."""
    return _ratio(contacts - repeated, contacts)


# --------------------------------------------------------------------------- call records


class Outcome(StrEnum):
    """How a caller's visit to a queue ended (``WAITING`` while it has not)."""

    WAITING = "waiting"
    ANSWERED = "answered"  # connected to a member (handled once ``completed``)
    ABANDONED = "abandoned"  # hung up while waiting
    EXITED = "exited"  # left without an agent: timeout, overflow, callback, empty queue


@dataclass(slots=True)
class QueueCall:
    """One caller's visit to one queue. Times are epoch seconds, durations seconds.

    A visit belongs to the period (day, hour) in which the caller *entered* the queue, so a
    call that spans midnight counts once, on the day it arrived. A transferred caller who
    enters another queue makes a new visit there.
    """

    callid: str
    queue: str
    entered_at: float
    outcome: Outcome = Outcome.WAITING
    wait: float = 0.0  # queue wait (to answer, abandon or exit)
    agent: str = ""  # member name of the agent who answered
    completed: bool = False  # the conversation ended
    transferred: bool = False
    talk: float = 0.0  # connected time, hold included
    hold: float = 0.0  # the part of ``talk`` on hold (0 when the source cannot tell)
    wrap: float = 0.0  # after-call work attributed to this call
    ended_at: float | None = None  # conversation end (handled calls)


@dataclass(slots=True)
class FigureBuilder:
    """Folds `QueueCall` visits (and staffed time) into `QueueFigures`."""

    definitions: MetricDefinitions = field(default_factory=MetricDefinitions)
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    answered_within: int = 0
    abandoned_within: int = 0
    total_wait_answered: float = 0.0
    handled: int = 0
    talk_time: float = 0.0
    hold_time: float = 0.0
    wrap_time: float = 0.0
    longest_wait: float = 0.0
    staffed_time: float = 0.0
    exited: int = 0
    transferred: int = 0

    def add(self, call: QueueCall, now: float | None = None) -> None:
        """Count one visit; ``now`` lets a still-waiting caller's wait count as longest."""
        d = self.definitions
        self.offered += 1
        wait = call.wait
        if call.outcome is Outcome.WAITING:
            wait = max(0.0, now - call.entered_at) if now is not None else 0.0
        elif call.outcome is Outcome.ANSWERED:
            self.answered += 1
            self.total_wait_answered += wait
            if wait <= d.sl_threshold:
                self.answered_within += 1
            if call.completed:
                self.handled += 1
                self.talk_time += call.talk - call.hold
                self.hold_time += call.hold
                self.wrap_time += call.wrap
                if call.transferred:
                    self.transferred += 1
        elif call.outcome is Outcome.ABANDONED:
            self.abandoned += 1
            if wait < d.short_abandon:
                self.short_abandoned += 1
            elif wait <= d.sl_threshold:
                self.abandoned_within += 1
        else:
            self.exited += 1
        self.longest_wait = max(self.longest_wait, wait)

    def add_all(self, calls: Iterable[QueueCall], now: float | None = None) -> FigureBuilder:
        """Count every visit in ``calls``; returns self."""
        for call in calls:
            self.add(call, now)
        return self

    def figures(self) -> QueueFigures:
        """The counters so far."""
        busy = self.talk_time + self.hold_time + self.wrap_time
        return QueueFigures(
            offered=self.offered,
            answered=self.answered,
            abandoned=self.abandoned,
            short_abandoned=self.short_abandoned,
            answered_within=self.answered_within,
            abandoned_within=self.abandoned_within,
            total_wait_answered=self.total_wait_answered,
            handled=self.handled,
            talk_time=self.talk_time,
            hold_time=self.hold_time,
            wrap_time=self.wrap_time,
            longest_wait=self.longest_wait,
            busy_time=busy,
            staffed_time=self.staffed_time,
            exited=self.exited,
            transferred=self.transferred,
        )


@dataclass(frozen=True, slots=True)
class Summary:
    """The derived figures of one `QueueFigures` under one set of definitions (JSON-ready)."""

    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    exited: int
    handled: int
    service_level: float | None
    asa: float | None
    aht: float | None
    abandon_rate: float | None
    longest_wait: float
    occupancy: float | None


def summarise(figures: QueueFigures, definitions: MetricDefinitions) -> Summary:
    """Every headline figure of ``figures`` under ``definitions``."""
    return Summary(
        offered=figures.offered,
        answered=figures.answered,
        abandoned=figures.abandoned,
        short_abandoned=figures.short_abandoned,
        exited=figures.exited,
        handled=figures.handled,
        service_level=service_level(figures, definitions.treatment),
        asa=asa(figures),
        aht=aht(figures),
        abandon_rate=abandon_rate(figures),
        longest_wait=figures.longest_wait,
        occupancy=occupancy(figures),
    )
