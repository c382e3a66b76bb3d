"""Queue membership administration and the QueueMember field blocks.

`AcdBase` holds the queues and devices and implements QueueAdd / QueueRemove / QueuePause with
their QueueMemberAdded / Removed / Pause / Status events and queue_log lines; callers leaving
unanswered (queue_exits.py) and the call flow (callflow.py) build on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from telephony_sim.acd import Caller, Device, Membership, Queue
from telephony_sim.clock import VirtualClock
from telephony_sim.pbx import Fields, Pbx, SimError
from telephony_sim.queue_log import QueueLog


def member_fields(m: Membership, now_epoch: float, asterisk_names: bool = True) -> Fields:
    """A member block: QueueMember* events use MemberName/Interface, QueueStatus Name/Location."""
    dev = m.device
    name_key, loc_key = ("MemberName", "Interface") if asterisk_names else ("Name", "Location")
    fields = [
        ("Queue", m.queue.name),
        (name_key, m.member_name),
        (loc_key, dev.interface),
        ("StateInterface", m.state_interface),
        ("Membership", "dynamic" if m.dynamic else "static"),
        ("Penalty", str(m.penalty)),
        ("CallsTaken", str(m.calls_taken)),
        ("LastCall", str(0 if m.last_call == -math.inf else int(m.last_call))),
        ("LastPause", str(int(m.last_pause))),
        ("LoginTime", str(int(m.login_time))),
        ("InCall", "1" if dev.call is not None and not dev.ringing else "0"),
        ("Status", str(dev.status)),
        ("Paused", "1" if m.paused else "0"),
        ("PausedReason", m.paused_reason),
    ]
    if asterisk_names:
        fields.append(("Ringinuse", "0"))
    wrap = dev.wrapuptime if dev.wrapuptime is not None else m.queue.wrapuptime
    fields.append(("Wrapuptime", str(int(wrap))))
    return fields


class AcdBase:
    """Queues, devices and member administration (QueueAdd, QueueRemove, QueuePause)."""

    def __init__(self, pbx: Pbx, clock: VirtualClock, queue_log: QueueLog | None = None) -> None:
        self.pbx = pbx
        self.clock = clock
        self.qlog = queue_log
        self.queues: dict[str, Queue] = {}
        self.by_exten: dict[str, Queue] = {}
        self.devices: dict[str, Device] = {}
        # Hook set by the engine: a scripted caller was connected (starts its transcript).
        self.on_connect: Callable[[Caller], None] | None = None

    # ------------------------------------------------------------------ configuration
    def add_queue(self, queue: Queue) -> None:
        """Register a queue under its name and its dial-plan extension."""
        self.queues[queue.name] = queue
        self.by_exten[queue.extension] = queue
        self.by_exten.setdefault(queue.name, queue)

    def _epoch(self, t: float) -> float:
        return self.pbx.epoch + t

    def set_status(self, dev: Device, status: int) -> None:
        """Change a device's state, announced by QueueMemberStatus for each of its queues."""
        dev.status = status
        if self.pbx.listeners:
            now_epoch = self.pbx.epoch_now()
            for m in dev.memberships.values():
                self.pbx.emit("QueueMemberStatus", member_fields(m, now_epoch))

    # ------------------------------------------------------------------ members
    def queue_add(
        self,
        queue: str,
        interface: str,
        member_name: str = "",
        penalty: int = 0,
        paused: bool = False,
        state_interface: str = "",
        reason: str = "",
        *,
        dynamic: bool = True,
    ) -> None:
        """QueueAdd: make ``interface`` a member of ``queue`` (creating a desk phone if new)."""
        q = self.queues.get(queue)
        if q is None:
            raise SimError("Unable to add interface to queue: No such queue")
        if interface in q.members:
            raise SimError("Unable to add interface: Already there")
        dev = self.devices.get(interface)
        if dev is None:
            dev = Device(
                interface, member_name or interface, "phone", state_interface=state_interface
            )
            self.devices[interface] = dev
        now = self.clock.now()
        m = Membership(q, dev, member_name, penalty, now, state_interface or dev.phone, dynamic)
        m.login_time = self._epoch(now)
        if paused:
            m.paused, m.paused_reason = True, reason
            m.last_pause = m.login_time
            m.set_staffed(False, now)
        q.members[interface] = m
        dev.memberships[q.name] = m
        if self.pbx.listeners:
            self.pbx.emit("QueueMemberAdded", member_fields(m, self.pbx.epoch_now()))
        if self.qlog is not None:
            # As app_queue's add_to_queue: data "PAUSED" for a member added paused.
            data = "PAUSED" if paused else ""
            self.qlog.write(self.pbx.epoch_now(), "NONE", q.name, m.member_name, "ADDMEMBER", data)
        if dev.available:
            self._offer(q)

    def queue_remove(self, queue: str, interface: str) -> None:
        """QueueRemove: ``interface`` leaves ``queue``."""
        q = self.queues.get(queue)
        if q is None:
            raise SimError("Unable to remove interface from queue: No such queue")
        m = q.members.pop(interface, None)
        if m is None:
            raise SimError("Unable to remove interface: Not there")
        m.device.memberships.pop(queue, None)
        m.set_staffed(False, self.clock.now())
        if self.pbx.listeners:
            self.pbx.emit("QueueMemberRemoved", member_fields(m, self.pbx.epoch_now()))
        if self.qlog is not None:
            self.qlog.write(self.pbx.epoch_now(), "NONE", queue, m.member_name, "REMOVEMEMBER", "")
        self._check_leave_empty(q)

    def queue_pause(
        self, interface: str, paused: bool, queue: str | None = None, reason: str = ""
    ) -> None:
        """QueuePause: pause or unpause a member in one queue or in all of its queues."""
        dev = self.devices.get(interface)
        if dev is None or not dev.memberships:
            raise SimError("Interface not found")
        if queue:
            m = dev.memberships.get(queue)
            if m is None:
                raise SimError("Interface not found")
            targets = [m]
        else:
            targets = list(dev.memberships.values())
        now = self.clock.now()
        for m in targets:
            m.paused = paused
            m.paused_reason = reason if paused else ""
            if paused:
                m.last_pause = self._epoch(now)
            m.set_staffed(not paused, now)
            if self.pbx.listeners:
                self.pbx.emit("QueueMemberPause", member_fields(m, self.pbx.epoch_now()))
            if self.qlog is not None:
                event = "PAUSE" if paused else "UNPAUSE"
                self.qlog.write(
                    self._epoch(now), "NONE", m.queue.name, m.member_name, event, reason
                )
        for m in targets:
            if paused:
                self._check_leave_empty(m.queue)
            elif dev.available:
                self._offer(m.queue)

    # Implemented by the call flow (callflow.Acd) and queue_exits.QueueExits.
    def _offer(self, queue: Queue) -> None:
        raise NotImplementedError

    def _check_leave_empty(self, queue: Queue) -> None:
        raise NotImplementedError
