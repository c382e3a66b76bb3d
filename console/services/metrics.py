"""Contact-center metric definitions: one place, used by the wallboard, reports, tests and the
simulator's headless statistics. The formulas are written out in docs/metrics.md.

All functions are pure and take raw counters, so callers may feed them from the database,
from CTI events or from the simulator alike. A ratio with an empty denominator is ``None``
(shown as "—"), never 0 or a division error.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AbandonTreatment(StrEnum):
    """How abandoned calls enter the service level."""

    SL1 = "sl1"  # abandons count against: within / (answered + abandoned)
    SL2 = "sl2"  # abandons ignored: within / answered


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """Raw counters for one queue over one period (seconds for every duration)."""

    offered: int = 0  # callers that joined the queue
    answered: int = 0
    abandoned: int = 0  # including short abandons
    short_abandoned: int = 0  # abandoned before the short-abandon threshold
    answered_within: int = 0  # answered with a wait <= the service-level threshold
    total_wait_answered: float = 0.0
    handled: int = 0  # calls whose talk (and wrap-up) finished
    talk_time: float = 0.0  # excludes hold
    hold_time: float = 0.0
    wrap_time: float = 0.0
    longest_wait: float = 0.0
    busy_time: float = 0.0  # members' talk + hold + wrap-up on this queue's calls
    staffed_time: float = 0.0  # members logged in and not paused


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def service_level(
    figures: QueueFigures, treatment: AbandonTreatment = AbandonTreatment.SL1
) -> float | None:
    """Share (0..1) of calls answered within the threshold; short abandons never count."""
    if treatment is AbandonTreatment.SL2:
        return _ratio(figures.answered_within, figures.answered)
    counted_abandons = figures.abandoned - figures.short_abandoned
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
