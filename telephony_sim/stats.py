"""Per-queue statistics of a run, computed with the console's metric definitions
(callkit/metrics.py) so the simulator and the wallboard never disagree.
"""

from __future__ import annotations

from callkit.metrics import (
    AbandonTreatment,
    QueueFigures,
    abandon_rate,
    aht,
    asa,
    occupancy,
    service_level,
)
from telephony_sim.acd import Queue


def queue_figures(q: Queue, now: float) -> QueueFigures:
    """Raw counters of one queue up to ``now`` (open waits and staffed intervals included)."""
    longest = max([q.longest_wait, *(now - c.joined for c in q.waiting)])
    staffed = 0.0
    for m in q.members.values():
        staffed += m.staffed_time
        if m.staffed_since is not None:
            staffed += now - m.staffed_since
    return QueueFigures(
        offered=q.offered,
        answered=q.answered,
        abandoned=q.abandoned,
        short_abandoned=q.short_abandoned,
        answered_within=q.answered_within,
        # The queue counts Asterisk's way (short abandons within too); metrics.py does not.
        abandoned_within=q.abandoned_within - min(q.short_abandoned, q.abandoned_within),
        total_wait_answered=q.total_wait_answered,
        handled=q.handled,
        talk_time=q.talk_time,
        hold_time=q.hold_time,
        # The PBX's automatic wrap-up (wrapuptime) is not handle time in the console's
        # definitions, which can only see after-call work as an agent's ACW pause
        # (docs/metrics.md); the queue's own q.wrap_time is kept for the Erlang tests.
        wrap_time=0.0,
        longest_wait=longest,
        busy_time=q.talk_time + q.hold_time,
        staffed_time=staffed,
    )


def queue_report(q: Queue, now: float) -> dict[str, float | int | None]:
    """Counters and derived metrics of one queue, as plain JSON-ready values."""
    f = queue_figures(q, now)
    return {
        "offered": f.offered,
        "answered": f.answered,
        "abandoned": f.abandoned,
        "short_abandoned": f.short_abandoned,
        "answered_within": f.answered_within,
        "service_level_threshold": q.service_level,
        "service_level": service_level(f, AbandonTreatment.ABANDONS_AGAINST),
        "service_level_asterisk": service_level(f, AbandonTreatment.ASTERISK_SL),
        "service_level_asterisk2": service_level(f, AbandonTreatment.ASTERISK_SL2),
        "asa": asa(f),
        "aht": aht(f),
        "abandon_rate": abandon_rate(f),
        "longest_wait": f.longest_wait,
        "occupancy": occupancy(f),
        "handled": f.handled,
        "waiting": len(q.waiting),
        "timed_out": q.timed_out,
        "overflowed": q.overflowed,
        "callbacks_requested": q.callbacks_requested,
        "rejected": q.rejected,
        "left_empty": q.left_empty,
        "transferred": q.transferred,
    }
