"""What the supervisor's live views show: plain frozen snapshots of queues and agents.

`LiveBoard` (live_board.py) builds them from AMI events; the wallboard, the agent grid, the
alerts and the staffing panel read them. Durations are seconds, times epoch seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from callkit.metrics import QueueFigures, Summary


class AgentActivity(StrEnum):
    """An agent's state as the supervisor sees it (wrap-up is not available)."""

    AVAILABLE = "available"
    RINGING = "ringing"
    ON_CALL = "on call"
    WRAP_UP = "wrap-up"
    NOT_READY = "not ready"
    LOGGED_OUT = "logged out"


@dataclass(frozen=True, slots=True)
class QueueLive:
    """One queue now: callers waiting, today's figures, its agents by state, recent history."""

    queue: str
    waiting: int
    longest_wait: float  # of the callers waiting now
    figures: QueueFigures  # today (since local midnight)
    summary: Summary  # figures under the active definitions
    logged_in: int
    available: int
    on_call: int  # ringing or talking
    wrap_up: int
    not_ready: int
    waiting_history: tuple[float, ...]  # calls waiting, one sample a minute, oldest first
    sl_history: tuple[float | None, ...]  # service level over the minute, oldest first


@dataclass(frozen=True, slots=True)
class AgentLive:
    """One agent now."""

    agent: str  # member name
    interface: str
    queues: tuple[str, ...]
    activity: AgentActivity
    reason: str  # pause reason ("" when not paused)
    since: float  # when the agent entered this activity
    call_queue: str  # the current call's queue ("" when none)
    caller: str  # the current caller: name or number, sanitised ("" when none)
    call_started: float | None  # when the current call was answered (or began ringing)
    handled: int  # calls completed today
    aht: float | None  # today's, under the same definition as the queues'
    followups_open: int = 0  # filled in from the database by the grid, not by AMI


@dataclass(frozen=True, slots=True)
class BoardSnapshot:
    """Every queue and agent at ``at``."""

    at: float
    queues: tuple[QueueLive, ...]
    agents: tuple[AgentLive, ...]
    events_seen: int  # AMI events fed so far (for the "keeps up" measurement)
