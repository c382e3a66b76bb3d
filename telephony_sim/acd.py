"""ACD data: agents' devices, queue memberships, queues, waiting callers, and app_queue's
member-selection strategies. The call flow that moves callers through them is in callflow.py.

Strategies follow app_queue: among members that are free (not paused, not on a call, not
ringing, not in wrap-up) and have the queue's skills, only the lowest penalty present is used;
a higher penalty is rung only when no lower-penalty member is free. Then:

- ringall: ring every one of them at once, the first to answer wins;
- linear: the first in the queue's member order;
- rrmemory: the next one after the last member rung, in member order, wrapping round;
- leastrecent: the one whose last call from this queue ended longest ago;
- fewestcalls: the one who completed the fewest calls from this queue;
- random: one at random (from the queue's own random stream).

Ties go to member order, so every choice is deterministic under the seed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from callkit.specs import STRATEGIES
from telephony_sim.pbx import Channel

if TYPE_CHECKING:
    from callkit.scenario import ScriptedCall
    from telephony_sim.bots import Bot
    from telephony_sim.outbound import Outbound


# Queue member Status values (ast_device_state) as QueueMemberStatus reports them.
DEV_NOT_INUSE, DEV_INUSE, DEV_UNAVAILABLE, DEV_RINGING, DEV_ONHOLD = 1, 2, 5, 6, 8

# Caller states.
WAITING, RINGING, CONNECTED, GONE = 0, 1, 2, 3
LINKED = 4  # attended-transferred: bridged on to a Local chain, no longer this queue's call


class Device:
    """An agent's phone: a bot or a human's desk phone (driven by SimPhone actions)."""

    __slots__ = (
        "available",
        "bot",
        "busy_time",
        "call",
        "chan",
        "consult",
        "interface",
        "kind",
        "local_two",
        "memberships",
        "name",
        "optimize",
        "outbound",
        "phone",
        "phone_chan",
        "ring_gen",
        "ringing",
        "skills",
        "status",
        "training",
        "wrap_gen",
        "wrap_pending",
        "wrapuptime",
    )

    def __init__(
        self,
        interface: str,
        name: str,
        kind: str = "phone",
        skills: dict[str, int] | None = None,
        wrapuptime: float | None = None,
        state_interface: str = "",
    ) -> None:
        self.interface = interface
        # A FreePBX-style member "Local/1001@from-queue/n" rings through a Local channel whose
        # ;2 half dials the phone (``phone``: the state interface, else PJSIP/<exten>); without
        # "/n" the halves optimise away once answered. A direct member is its own phone.
        self.phone = interface
        self.optimize = False
        if interface[:6].lower() == "local/":
            exten, _at, rest = interface[6:].partition("@")
            device = state_interface.strip()
            usable = "/" in device and not device.lower().startswith("hint:")
            self.phone = device if usable else f"PJSIP/{exten}"
            self.optimize = "n" not in rest.partition("/")[2]
        self.local_two: Channel | None = None  # the Local member's ;2 half, while it lives
        self.consult: object = None  # a consult (attended) transfer in progress (consult.py)
        self.phone_chan: Channel | None = None  # the phone's own leg of the current call
        self.name = name
        self.kind = kind  # "bot" or "phone"
        self.skills = dict(skills or {})
        self.wrapuptime = wrapuptime  # overrides the queue's when set
        self.memberships: dict[str, Membership] = {}
        self.available = True
        self.status = DEV_NOT_INUSE
        self.call: Caller | None = None  # connected or ringing caller
        self.ringing = False
        self.chan: Channel | None = None  # the leg app_queue dialled (;1 for a Local member)
        self.ring_gen = 0  # invalidates stale ring timeouts / bot answers
        self.wrap_gen = 0
        # (queue, membership, start) while in wrap-up, so "ready" can end it early.
        self.wrap_pending: tuple[Queue, Membership | None, float] | None = None
        self.outbound: Outbound | None = None  # an originated call on this phone
        self.busy_time = 0.0
        self.bot: Bot | None = None
        # A trainer's run holds this phone: it is offered only the run's (pinned) callers.
        self.training = False


class Membership:
    """A device's membership of one queue (a QueueMember)."""

    __slots__ = (
        "busy_time",
        "calls_taken",
        "device",
        "dynamic",
        "last_call",
        "last_pause",
        "login_time",
        "member_name",
        "paused",
        "paused_reason",
        "penalty",
        "queue",
        "skilled",
        "staffed_since",
        "staffed_time",
        "state_interface",
    )

    def __init__(
        self,
        queue: Queue,
        device: Device,
        member_name: str,
        penalty: int,
        now: float,
        state_interface: str = "",
        dynamic: bool = True,
    ) -> None:
        self.queue = queue
        self.device = device
        self.member_name = member_name or device.name
        self.penalty = penalty
        self.state_interface = state_interface or device.interface
        self.dynamic = dynamic
        self.paused = False
        self.paused_reason = ""
        self.last_pause = 0.0
        self.calls_taken = 0
        self.last_call = -math.inf  # never: sorts first for leastrecent
        self.login_time = now
        self.staffed_since: float | None = now
        self.staffed_time = 0.0
        self.busy_time = 0.0
        self.skilled = all(device.skills.get(s, 0) >= lvl for s, lvl in queue.skills.items())

    def set_staffed(self, staffed: bool, now: float) -> None:
        """Open or close a staffed interval (logged in and not paused)."""
        if staffed and self.staffed_since is None:
            self.staffed_since = now
        elif not staffed and self.staffed_since is not None:
            self.staffed_time += now - self.staffed_since
            self.staffed_since = None


class Caller:
    """A caller's call as the ACD sees it, from queue entry to hangup."""

    __slots__ = (
        "agent_chan",
        "chan",
        "connected_at",
        "consult_of",
        "device",
        "gen",
        "handle_time",
        "hangup_after",
        "hold_started",
        "hold_total",
        "joined",
        "linked",
        "on_queue_timeout",
        "orig_position",
        "patience_at",
        "pinned",
        "priority",
        "queue",
        "queue_timeout",
        "ring_started",
        "ringing",
        "script",
        "state",
    )

    def __init__(
        self,
        chan: Channel,
        priority: int,
        handle_time: float,
        patience: float,
        now: float,
        script: ScriptedCall | None = None,
    ) -> None:
        self.chan = chan
        self.queue: Queue | None = None
        self.priority = priority
        self.handle_time = handle_time
        self.patience_at = now + patience  # inf when the caller never gives up
        self.joined = now
        self.orig_position = 0
        self.state = WAITING
        self.gen = 0  # bumped on every queue change: stale max-wait timers ignore themselves
        self.ringing: list[tuple[Device, Channel]] = []
        self.ring_started = 0.0
        self.device: Device | None = None
        self.agent_chan: Channel | None = None
        self.connected_at = 0.0
        self.hold_total = 0.0
        self.hold_started: float | None = None
        self.script = script
        self.hangup_after: float | None = None  # caller ends a call with a human agent
        # A training run's caller: offered to this phone only, until it leaves it for good.
        self.pinned: Device | None = None
        # After an attended transfer: the other end of the Local chain (the consult call's
        # caller, and back); either end hanging up hangs up the other.
        self.linked: Caller | None = None
        # The consult call of an attended transfer in progress: the transferer's phone.
        self.consult_of: Device | None = None
        # Queue()'s timeout argument (seconds from joining; None: none), and the dialplan that
        # goes on when it runs out (a campaign's abandon path, telephony_sim/campaigns.py).
        self.queue_timeout: float | None = None
        self.on_queue_timeout: Callable[[Caller], None] | None = None


class Queue:
    """One app_queue queue: configuration, members, waiting callers and counters."""

    def __init__(
        self,
        name: str,
        *,
        extension: str = "",
        strategy: str = "ringall",
        timeout: float = 15.0,
        retry: float = 5.0,
        wrapuptime: float = 0.0,
        joinempty: bool = True,
        autopause: bool = False,
        leavewhenempty: bool = False,
        max_wait: float | None = None,
        overflow: str = "",
        weight: int = 0,
        skills: dict[str, int] | None = None,
        service_level: float = 20.0,
        short_abandon: float = 5.0,
        autoanswer: float | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}")
        self.name = name
        self.extension = extension or name
        self.strategy = strategy
        self.timeout = timeout
        self.retry = retry
        self.wrapuptime = wrapuptime
        self.joinempty = joinempty
        self.autopause = autopause  # pause a member who lets a call ring out
        self.leavewhenempty = leavewhenempty
        self.max_wait = max_wait
        self.overflow = overflow  # "" | "callback" | "queue:<name>"
        self.weight = weight
        self.skills = dict(skills or {})
        self.service_level = service_level
        self.short_abandon = short_abandon
        self.autoanswer = autoanswer  # desk phones answer by themselves after it (None: ring)
        self.rng = rng or random.Random(name)
        self.members: dict[str, Membership] = {}  # by interface, in insertion order
        self.waiting: list[Caller] = []
        self.pinned_waiting = 0  # waiting callers pinned to one phone (training runs)
        self.rr_last = -1  # index in member order of the last member rung (rrmemory)
        # Counters (see callkit/metrics.py for what they feed).
        self.offered = 0
        self.answered = 0
        self.abandoned = 0
        self.short_abandoned = 0
        self.answered_within = 0
        self.abandoned_within = 0
        self.total_wait_answered = 0.0
        self.handled = 0
        self.talk_time = 0.0
        self.hold_time = 0.0
        self.wrap_time = 0.0
        self.longest_wait = 0.0
        self.timed_out = 0
        self.overflowed = 0
        self.callbacks_requested = 0
        self.rejected = 0  # refused by joinempty
        self.left_empty = 0  # sent away by leavewhenempty
        self.transferred = 0

    def has_staff(self) -> bool:
        """Whether any member is logged in, unpaused and skilled (joinempty/leavewhenempty)."""
        return any(not m.paused and m.skilled for m in self.members.values())

    def position_for(self, priority: int) -> int:
        """Index a new caller of ``priority`` takes: behind everyone of equal or higher priority."""
        waiting = self.waiting
        idx = len(waiting)
        while idx > 0 and waiting[idx - 1].priority < priority:
            idx -= 1
        return idx

    def pick_members(self, pinned: Device | None = None) -> list[Membership]:
        """Members to ring for the next caller under this queue's strategy (may be empty).

        A caller ``pinned`` to a phone (a training run's) rings that phone only, when it is a
        free, unpaused member, whatever its skills; other callers never ring a phone in
        training mode.
        """
        if pinned is not None:
            m = self.members.get(pinned.interface)
            return [m] if m is not None and pinned.available and not m.paused else []
        free = [
            m
            for m in self.members.values()
            if m.device.available and not m.paused and m.skilled and not m.device.training
        ]
        if not free:
            return free
        low = min(m.penalty for m in free)
        if any(m.penalty != low for m in free):
            free = [m for m in free if m.penalty == low]
        strategy = self.strategy
        if strategy == "ringall":
            return free
        if strategy == "linear" or len(free) == 1:
            chosen = free[0]
        elif strategy == "leastrecent":
            chosen = min(free, key=lambda m: m.last_call)
        elif strategy == "fewestcalls":
            chosen = min(free, key=lambda m: m.calls_taken)
        elif strategy == "random":
            chosen = free[self.rng.randrange(len(free))]
        else:  # rrmemory
            order = list(self.members.values())
            index = {id(m): i for i, m in enumerate(order)}
            after = [m for m in free if index[id(m)] > self.rr_last]
            chosen = after[0] if after else free[0]
        if strategy == "rrmemory":
            self.rr_last = list(self.members.values()).index(chosen)
        return [chosen]
