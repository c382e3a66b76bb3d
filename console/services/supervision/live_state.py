"""The live board's own state: memberships, agents' calls, agents and queues (internal).

Kept apart from `live_board.py`, which holds the event rules; plain classes with slots, since
a board keeps hundreds of them and touches them thousands of times a second.
"""

from __future__ import annotations

import math
from collections import deque
from datetime import datetime, timedelta, tzinfo
from datetime import time as clock_time

from callkit.metrics import FigureBuilder, MetricDefinitions, QueueCall
from console.services.supervision.live_types import AgentActivity
from console.services.text import clean_text

_NAME_MAX = 60
# ast_device_state values in QueueMember* events.
BUSY = frozenset({2, 3, 7, 8})  # in use, busy, ring+inuse, on hold
RINGING = 6
UNREACHABLE = frozenset({4, 5})  # invalid, unavailable
_UNKNOWN_CALLER = "<unknown>"

Key = tuple[str, str]  # (caller Uniqueid, queue)


def number(value: str, default: float | None = None) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return default
    return number if math.isfinite(number) else default


def label(value: str) -> str:
    return clean_text(value, single_line=True, max_length=_NAME_MAX)


def caller_label(name: str, number: str) -> str:
    """The caller as the supervisor sees them: the name, else the number (sanitised)."""
    name, number = name.strip(), number.strip()
    if name and name != _UNKNOWN_CALLER:
        return clean_text(name, single_line=True, max_length=40)
    if number and number != _UNKNOWN_CALLER:
        return clean_text(number, single_line=True, max_length=40)
    return "unknown"


def day_bounds(at: float, tz: tzinfo | None = None) -> tuple[float, float]:
    """The local midnight at or before ``at`` and the next one (``tz``; None: the system's)."""
    local = datetime.fromtimestamp(at, tz)
    today = datetime.combine(local.date(), clock_time())
    tomorrow = today + timedelta(days=1)
    if tz is None:  # naive local times: timestamp() reads them in the system zone
        return today.timestamp(), tomorrow.timestamp()
    return today.replace(tzinfo=tz).timestamp(), tomorrow.replace(tzinfo=tz).timestamp()


class Member:
    """One agent's membership of one queue."""

    __slots__ = ("in_call", "paused", "reason", "status", "touched")

    def __init__(self) -> None:
        self.paused = False
        self.reason = ""
        self.status = 1
        self.in_call = False
        self.touched = 0  # the event count when an event last changed it


class AgentCall:
    """The queue call an agent's phone rings for or is connected to."""

    __slots__ = ("caller", "callid", "leg", "queue", "started", "talking", "touched")

    def __init__(self, callid: str, queue: str, caller: str, leg: str, started: float) -> None:
        self.callid, self.queue, self.caller, self.leg = callid, queue, caller, leg
        self.started = started
        self.talking = False
        self.touched = 0


class AgentState:
    """One agent (by queue interface): memberships, the call, today's figures, the state."""

    __slots__ = (
        "activity",
        "call",
        "final",
        "interface",
        "label",
        "last_end",
        "memberships",
        "name",
        "pending",
        "reason",
        "since",
        "wrapuptime",
    )

    def __init__(self, interface: str, name: str, definitions: MetricDefinitions) -> None:
        self.interface = interface
        self.name = name or interface  # the member name: the ledger's key for the agent
        self.label = label(self.name)
        self.memberships: dict[str, Member] = {}
        self.call: AgentCall | None = None
        self.last_end: float | None = None  # when the last call ended (for Wrapuptime)
        self.wrapuptime = 0.0
        self.activity = AgentActivity.LOGGED_OUT
        self.reason = ""
        self.since = 0.0
        self.final = FigureBuilder(definitions)  # today's settled calls
        self.pending: dict[Key, QueueCall] = {}

    def state(self, now: float, acw_reasons: frozenset[str]) -> tuple[AgentActivity, str]:
        """The activity and reason at ``now`` (see live_board's docstring for the order)."""
        call = self.call
        if call is not None:
            return (AgentActivity.ON_CALL if call.talking else AgentActivity.RINGING), ""
        members = self.memberships.values()
        if not members:
            return AgentActivity.LOGGED_OUT, ""
        statuses = {m.status for m in members}
        if statuses & BUSY or any(m.in_call for m in members):
            return AgentActivity.ON_CALL, ""  # a call outside the queues (e.g. a callback)
        if RINGING in statuses:
            return AgentActivity.RINGING, ""
        paused = [m for m in members if m.paused]
        for m in paused:
            if m.reason.lower() in acw_reasons:
                return AgentActivity.WRAP_UP, m.reason
        if paused and len(paused) == len(members):
            return AgentActivity.NOT_READY, paused[0].reason
        if self.last_end is not None and now < self.last_end + self.wrapuptime:
            return AgentActivity.WRAP_UP, ""
        if statuses <= UNREACHABLE:
            return AgentActivity.NOT_READY, "phone unavailable"
        return AgentActivity.AVAILABLE, ""


class QueueState:
    """One queue: callers waiting now, today's figures, the sparklines' samples."""

    __slots__ = (
        "final",
        "gone",
        "label",
        "minute",
        "name",
        "pending",
        "sl_hist",
        "wait_hist",
        "waiting",
    )

    def __init__(self, name: str, definitions: MetricDefinitions, history: int) -> None:
        self.name = name
        self.label = label(name)
        self.waiting: dict[str, tuple[float, int]] = {}  # callid -> (entered, touched)
        self.gone: dict[str, int] = {}  # callid -> event count when it left
        self.final = FigureBuilder(definitions)
        self.pending: dict[Key, QueueCall] = {}
        self.minute = FigureBuilder(definitions)  # waits that ended this minute (SL samples)
        self.wait_hist: deque[float] = deque(maxlen=history)
        self.sl_hist: deque[float | None] = deque(maxlen=history)
